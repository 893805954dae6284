"""Tests of backprop.visualize: DOT text, pictures (Graphviz or matplotlib), explain."""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import backprop.autograd
from backprop import visualize
from backprop.autograd import Tensor, book_example, evaluate
from backprop.autograd.networks import TensorTwoLayerNet
from backprop.visualize import draw_graph, explain, layout, mimebundle, save_graph

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture
def apple():
    price, _ = book_example("apple")
    price.backward()
    return price


@pytest.fixture
def no_graphviz(monkeypatch):
    monkeypatch.setattr(visualize.render.shutil, "which", lambda name: None)


def assert_png(data: bytes) -> None:
    from PIL import Image

    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


# ---------------------------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------------------------


def edge_labels(dot: str) -> list[tuple[str, str]]:
    """(value, gradient) written on each edge of the pinned DOT, in edge order."""
    values = dict(re.findall(r'  e(\d+)v \[label="((?:[^"\\]|\\.)*)"', dot))
    grads = dict(re.findall(r'  e(\d+)g \[label="((?:[^"\\]|\\.)*)"', dot))
    keys = sorted({*values, *grads}, key=int)
    return [(values.get(k, ""), grads.get(k, "")) for k in keys]


def test_dot_of_the_apple_example_shows_values_and_gradients(apple):
    dot = draw_graph(apple)
    assert dot.startswith("digraph computational_graph {")
    assert dot.rstrip().endswith("}")
    for name in ("apple", "apple_num", "tax", "price"):
        assert f'label="{name}"' in dot
    assert dot.count('label="×", shape=circle') == 2
    # value above, gradient (red) below, edge by edge, as in the book's figure 5-16
    assert edge_labels(dot) == [
        ("100", "2.2"),
        ("2", "110"),
        ("apple_price = 200", "1.1"),
        ("1.1", "200"),
        ("220", "1"),
    ]
    assert dot.count("fontcolor=red") == 5
    # every label is pinned above (value) or below (gradient) its edge: the layout's
    assert "layout=neato" in dot and dot.count('!"') > 10


def test_dot_is_what_graphviz_draws_and_keeps_the_inputs_order(apple):
    lay = layout.compute(visualize.graph.build(apple))
    ys = {key: node.y for key, node in lay.nodes.items()}
    assert ys["v0"] < ys["v1"]  # apple above apple_num, as the book draws x above y
    assert lay.nodes["v2"].x == lay.nodes["f0"].x  # tax waits beside the first ×
    assert lay.nodes["f0"].x < lay.nodes["f1"].x < lay.nodes["out"].x


def test_dot_of_the_apple_orange_example():
    price, _ = book_example("apple-orange")
    price.backward()
    dot = draw_graph(price)
    assert 'label="+", shape=circle' in dot
    for text in ("715", "650", "3.3", "165", "450", "all_price = 650"):
        assert text in dot


def test_dot_before_backward_has_values_only():
    price, _ = book_example("apple")
    dot = draw_graph(price)
    assert "220" in dot
    assert "red" not in dot


def test_dot_of_arrays_shows_shape_dtype_and_small_values():
    x = Tensor(np.array([1.0, 2.0]), name="x")
    W = Tensor(np.arange(20, dtype=np.float32).reshape(2, 10), name="W")
    loss = (x * 3.0).sum() * W.sum()
    loss.backward()
    dot = draw_graph(loss)
    assert "(2,) float64\\n[1, 2]" in dot
    assert "(2, 10) float32\\nmin 0 … max 19" in dot  # 20 values: a summary
    assert "[0, 1, 2" not in dot
    m = Tensor(np.array([[1.0, 2.5], [3.0, 4.0]]), name="m")
    assert "(2, 2) float64\\n[[1, 2.5],\\n [3, 4]]" in draw_graph(m * 1.0)


def test_dot_names_intermediates_constants_and_fan_out():
    x = Tensor(3.0, name="x")
    y = x * x * 2.0
    y.backward()
    dot = draw_graph(y)
    assert '<font color="red">∂L/∂x = 12</font>' in dot  # the sum at a branch
    assert 'label="2", shape=plaintext, fontcolor=gray40' in dot  # a constant
    assert 'label="L", shape=plaintext' in dot  # an unnamed output


def test_dot_escapes_names():
    x = Tensor(1.0, name='a"<b>')
    y = x * 2.0
    dot = draw_graph(y)
    assert 'label="a\\"<b>"' in dot


def test_dot_of_a_leaf_and_bad_arguments():
    dot = draw_graph(Tensor(1.0, name="x"))
    assert 'v0 [label="x"' in dot
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="rankdir must be one of"):
        draw_graph(Tensor(1.0), rankdir="XY")


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


def test_save_dot_text(apple, tmp_path):
    path = tmp_path / "graph.dot"
    assert save_graph(apple, path) == "dot-text"
    assert path.read_text(encoding="utf-8") == draw_graph(apple)
    dot = draw_graph(apple, tmp_path / "graph.gv")
    assert (tmp_path / "graph.gv").read_text(encoding="utf-8") == dot


@pytest.mark.parametrize("name", ["graph.dot", "graph.png"])
def test_failed_save_keeps_the_previous_file_and_leaves_no_temporary(
    apple, tmp_path, no_graphviz, monkeypatch, name
):
    path = tmp_path / name
    path.write_bytes(b"previous picture")

    def full_disk(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="disk full"):
        save_graph(apple, path)
    assert path.read_bytes() == b"previous picture"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_png_fallback_without_graphviz(apple, tmp_path, no_graphviz):
    path = tmp_path / "graph.png"
    assert save_graph(apple, path) == "matplotlib"
    assert_png(path.read_bytes())


def test_svg_fallback_without_graphviz(apple, tmp_path, no_graphviz):
    path = tmp_path / "graph.svg"
    assert save_graph(apple, path) == "matplotlib"
    assert b"<svg" in path.read_bytes()


def test_matplotlib_engine_draws_fan_out_diamond_and_long_labels(tmp_path):
    a = Tensor(2.0, name="a")
    b = a * 3.0
    d = (b * (a + b)).exp().log() * a
    net = TensorTwoLayerNet(4, 3, 2, seed=0)
    loss = net.loss_tensor(np.ones((2, 4)), np.array([0, 1]))
    for i, out in enumerate([d, loss]):
        out.backward()
        path = tmp_path / f"g{i}.png"
        assert save_graph(out, path, engine="matplotlib") == "matplotlib"
        assert_png(path.read_bytes())


def test_graphviz_engine_required_but_missing(apple, tmp_path, no_graphviz):
    with pytest.raises(OSError, match="dot program is not on PATH"):
        save_graph(apple, tmp_path / "graph.svg", engine="graphviz")


def test_matplotlib_refuses_huge_graphs(tmp_path):
    x = Tensor(1.0)
    y = x
    for _ in range(visualize.MATPLOTLIB_MAX_NODES + 1):
        y = y + 1.0
    with pytest.raises(ValueError, match="install Graphviz"):
        save_graph(y, tmp_path / "big.png", engine="matplotlib")


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_graphviz_pictures(apple, tmp_path, suffix):
    path = tmp_path / f"graph{suffix}"
    assert save_graph(apple, path) == "graphviz"
    data = path.read_bytes()
    if suffix == ".png":
        assert_png(data)
    else:
        assert b"<svg" in data and b"2.2" in data


def test_bad_picture_arguments(apple, tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.svg, \.png, \.dot, \.gv or \.html"):
        save_graph(apple, tmp_path / "graph.jpg")
    with pytest.raises(ValueError, match="engine must be one of auto, graphviz, matplotlib"):
        save_graph(apple, tmp_path / "graph.png", engine="tikz")


def test_jupyter_display(apple):
    bundle = apple._repr_mimebundle_()
    assert bundle["text/plain"] == repr(apple)
    # text/html: the static SVG, then the script that turns it into the step-through
    html_text = bundle["text/html"]
    assert html_text.index("<svg") < html_text.index("<script>")
    assert 'class="bp-data"' in html_text and "2.2" in html_text
    # image/svg+xml: the same picture where no script runs (a notebook on a code host)
    assert bundle["image/svg+xml"].startswith("<svg") and "2.2" in bundle["image/svg+xml"]
    assert "<script" not in bundle["image/svg+xml"]
    assert mimebundle(apple).keys() == {"text/html", "image/svg+xml"}
    assert Tensor(1.0)._repr_mimebundle_() == {"text/plain": "Tensor(1.)"}
    y = Tensor(1.0)
    for _ in range(visualize.PAGE_MAX_NODES + 1):
        y = y * 1.0
    assert "×201" in y._repr_mimebundle_()["image/svg+xml"]  # a long chain: one node
    x = Tensor(1.0)
    y = x * 1.0
    for k in range(visualize.PAGE_MAX_NODES):
        y = y + x * float(k)
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}  # too big to show inline


def test_the_engine_does_not_import_the_drawing_code():
    for module in ("core.py", "ops.py", "expression.py"):
        source = (Path(backprop.autograd.__file__).parent / module).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("backprop.visualize"), module
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("backprop.visualize") for a in node.names)


# ---------------------------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------------------------


def test_explain_the_apple_example(apple, capsys):
    text = explain(apple)
    assert capsys.readouterr().out == text + "\n"
    lines = text.splitlines()
    assert "  mul: ∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2" in lines
    assert "  mul: ∂L/∂apple_num = ∂L/∂out × apple = 1.1 × 100 = 110" in lines
    assert "  mul: ∂L/∂tax = ∂L/∂out × apple_price = 1 × 200 = 200" in lines
    assert "  mul: ∂L/∂apple_price = ∂L/∂out × tax = 1 × 1.1 = 1.1" in lines
    assert lines[-1] == "result: ∂L/∂apple = 2.2, ∂L/∂apple_num = 110, ∂L/∂tax = 200"
    # backward order: the node nearest the output first
    assert text.index("∂L/∂tax") < text.index("∂L/∂apple =")


def test_explain_addition_and_the_chain_rule():
    z, _ = evaluate("(x + y) ** 2", {"x": 1, "y": 2})
    z.backward()
    text = explain(z, echo=False)
    assert "  add: ∂L/∂x = ∂L/∂out × 1 = 6 × 1 = 6" in text
    assert "  pow: ∂L/∂t = ∂L/∂out × c·t^(c−1) = 1 × 2·3^(2−1) = 6" in text
    assert "(L is the output z)" in text


def test_explain_in_korean(apple):
    text = explain(apple, lang="ko", echo=False)
    for term in ("역전파", "국소적 미분", "상류", "연쇄법칙", "곱셈 노드", "결과"):
        assert term in text
    assert "  곱셈 노드: ∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2" in text
    z, _ = evaluate("x + y", {"x": 1, "y": 2})
    z.backward()
    assert "덧셈 노드: ∂L/∂x = ∂L/∂out × 1 = 1 × 1 = 1" in explain(z, lang="ko", echo=False)


def test_explain_sums_at_a_branch_and_handles_negative_numbers():
    a = Tensor(-2.0, name="a")
    b = a * 3.0
    d = b * (a + b)
    d.backward()
    text = explain(d, echo=False)
    assert "upstream ∂L/∂out = -6 + (-8) = -14" in text
    assert "result: ∂L/∂a = -48 (used 2 times: -42 + (-6))" in text


def test_explain_arrays_and_rules_without_numbers():
    net = TensorTwoLayerNet(4, 3, 2, seed=0)
    loss = net.loss_tensor(np.ones((2, 4)), np.array([0, 1]))
    loss.backward()
    text = explain(loss, echo=False)
    assert "  affine: ∂L/∂W1 = xᵀ · ∂L/∂out = [[" in text  # 12 values are listed
    assert "  affine: ∂L/∂W2 = t2ᵀ · ∂L/∂out = [[" in text  # 6 values are listed
    assert "  affine: ∂L/∂b1 = Σ_batch ∂L/∂out = [" in text
    assert "  relu: ∂L/∂t1 = ∂L/∂out × (1 if t1 > 0 else 0) = [[" in text
    assert "  softmax_cross_entropy: ∂L/∂t3 = ∂L/∂out × (y − t)/N = [[-0.25, 0.25]" in text
    assert "∂L/∂x " not in text  # the images are a constant


def test_explain_needs_backward_first():
    z, _ = evaluate("x * 2", {"x": 1})
    with pytest.raises(ValueError, match=r"call output\.backward\(\) first"):
        explain(z)
    z.backward(retain_grad=False)
    with pytest.raises(ValueError, match="retain_grad=True"):
        explain(z)
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        explain(z, lang="fr")
    with pytest.raises(ValueError, match="leaf"):
        explain(Tensor(1.0))
