"""One layout for every picture: label boxes that meet no line, node or other label; the
pinned DOT and the matplotlib drawing use the same positions; Graphviz that takes too long."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from backprop import visualize
from backprop.autograd import Tensor, book_example, evaluate
from backprop.autograd.expression import EXAMPLES, example
from backprop.autograd.networks import TensorTwoLayerNet
from backprop.visualize import draw_graph, layout, save_graph
from backprop.visualize.graph import build

HAS_DOT = shutil.which("dot") is not None


def graphs(rng):
    """Graphs of every kind: the examples, fan-out, diamonds, constants, arrays, a chain."""
    out = []
    for name in EXAMPLES:
        built = example(name, seed=1)
        built.backward()
        out.append(built.output)
    a = Tensor(2.0, name="a")
    b = a * 3.0
    d = (b * (a + b)).exp().log() * a
    d.backward()
    out.append(d)
    x = Tensor(rng.normal(size=(2, 3)), name="x")
    y = ((x * x).sum() + (x * 2.0).mean()) * 0.5
    y.backward()
    out.append(y)
    for expression in ("x * x", "(x + y) ** 2", "x * y + y * x - x / y", "exp(x) * x * x"):
        z, _ = evaluate(expression, {"x": 1.5, "y": -0.5})
        z.backward()
        out.append(z)
    net = TensorTwoLayerNet(4, 3, 2, seed=0)
    loss = net.loss_tensor(np.ones((2, 4)), np.array([0, 1]))
    loss.backward()
    out.append(loss)
    chain = Tensor(0.3, name="x")
    for _ in range(40):
        chain = chain.sigmoid() + chain
    chain.backward()
    out.append(chain)
    return out


def test_no_label_sits_on_a_line_a_node_or_another_label(rng):
    for output in graphs(rng):
        lay = layout.compute(build(output))
        assert layout.overlaps(lay) == [], output
        for box in lay.edges:  # every label inside the picture
            for b in (box.value_box, box.grad_box):
                if b is not None:
                    assert 0 <= b[0] < b[2] <= lay.width and 0 <= b[1] < b[3] <= lay.height


def test_the_check_finds_labels_on_lines():
    price, _ = book_example("apple")
    price.backward()
    lay = layout.compute(build(price))
    box = lay.edges[0]
    x0, y0, x1, y1 = box.value_box
    shift = (y1 - y0) / 2 + layout.LABEL_GAP
    box.value_box = (x0, y0 + shift, x1, y1 + shift)  # pushed down onto its own line
    assert any("meets the line of edge 0" in p for p in layout.overlaps(lay))


def test_inputs_keep_their_order_from_top_to_bottom(rng):
    for output in graphs(rng):
        graph = build(output)
        lay = layout.compute(graph)
        for i, f in enumerate(graph.functions):
            lanes = [
                box.points[-2][1]
                for box, e in zip(lay.edges, graph.edges, strict=True)
                if e.target == f"f{i}"
            ]
            assert lanes == sorted(lanes), f.name  # first input on top
        for e, box in zip(graph.edges, lay.edges, strict=True):  # every edge goes right
            assert lay.nodes[e.source].x < lay.nodes[e.target].x
            xs = [p[0] for p in box.points]
            assert xs == sorted(xs)


def dot_positions(dot: str) -> dict[str, tuple[float, float]]:
    return {
        key: (float(x), float(y))
        for key, x, y in re.findall(r"  (\w+) \[.*?pos=\"([\d.]+),([\d.]+)!\"", dot)
    }


def test_the_dot_text_pins_the_layout():
    built = example("affine", seed=2)
    built.backward()
    graph = build(built.output)
    lay = layout.compute(graph)
    pins = dot_positions(draw_graph(built.output))
    for key, node in lay.nodes.items():
        assert pins[key] == pytest.approx((node.x, lay.height - node.y), abs=0.06)
    for box in lay.edges:
        for kind, b in (("v", box.value_box), ("g", box.grad_box)):
            if b is not None:
                center = ((b[0] + b[2]) / 2, lay.height - (b[1] + b[3]) / 2)
                assert pins[f"e{box.index}{kind}"] == pytest.approx(center, abs=0.06)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graphviz_draws_the_nodes_where_the_layout_put_them(tmp_path):
    price, _ = book_example("apple-orange")
    price.backward()
    lay = layout.compute(build(price))
    plain = subprocess.run(
        ["dot", "-Tplain"], input=draw_graph(price).encode(), capture_output=True, check=True
    ).stdout.decode()
    drawn = {
        parts[1]: (float(parts[2]) * 72, float(parts[3]) * 72)
        for parts in (line.split() for line in plain.splitlines())
        if parts[0] == "node"
    }
    # Graphviz may translate the whole picture; the offsets between nodes are the layout's.
    ox, oy = (
        drawn["out"][0] - lay.nodes["out"].x,
        drawn["out"][1] - (lay.height - lay.nodes["out"].y),
    )
    for key, node in lay.nodes.items():
        assert drawn[key] == pytest.approx((node.x + ox, lay.height - node.y + oy), abs=1.0)


def test_matplotlib_draws_the_same_layout(tmp_path, monkeypatch):
    price, _ = book_example("apple")
    price.backward()
    lay = layout.compute(build(price))
    texts = {}
    from matplotlib.axes import Axes

    original = Axes.text

    def record(self, x, y, s, *args, **kwargs):
        texts.setdefault(s, []).append((x, y))
        return original(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Axes, "text", record)
    save_graph(price, tmp_path / "graph.png", engine="matplotlib")
    for node in lay.nodes.values():
        assert (node.x, node.y) in texts[node.lines[0]]
    for box in lay.edges:
        b = box.value_box
        assert ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) in texts["\n".join(box.value)]


def test_graphviz_that_takes_too_long_falls_back_to_matplotlib(tmp_path, monkeypatch):
    x = Tensor(0.5, name="x")
    y = x
    for _ in range(40):  # a chain (drawn by matplotlib in the end: small, to be quick)
        y = y * 1.01
    y.backward()
    graph = build(y)
    assert 5 < visualize.render.graphviz_timeout(graph) < 10
    calls = []

    def slow(dot, fmt, executable, timeout):
        calls.append(timeout)
        raise subprocess.TimeoutExpired(executable, timeout)

    monkeypatch.setattr(visualize.render, "_graphviz", slow)
    monkeypatch.setattr(visualize.render.shutil, "which", lambda name: "/usr/bin/dot")
    with pytest.warns(RuntimeWarning, match=r"Graphviz took longer than \d s.*matplotlib instead"):
        assert save_graph(y, tmp_path / "chain.png") == "matplotlib"
    assert (tmp_path / "chain.png").read_bytes().startswith(b"\x89PNG")
    assert calls == [visualize.render.graphviz_timeout(graph)]
    with pytest.raises(OSError, match=r"longer than \d s"):
        save_graph(y, tmp_path / "chain.svg", engine="graphviz")
    assert not (tmp_path / "chain.svg").exists()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_a_100_node_chain_draws_quickly_with_graphviz(tmp_path):
    x = Tensor(0.5, name="x")
    y = x
    for _ in range(100):
        y = y * 1.01
    y.backward()
    assert save_graph(y, tmp_path / "chain.svg") == "graphviz"


def test_big_graphs_get_graphviz_own_layout():
    x = Tensor(1.0, name="x")
    y = x
    for _ in range(visualize.LAYOUT_MAX_NODES):
        y = y + 1.0
    dot = draw_graph(y)
    assert "layout=neato" not in dot and "rankdir=LR" in dot
