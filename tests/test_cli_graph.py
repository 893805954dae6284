"""Tests of ``backprop graph``: expressions, the book's examples, pictures, bad input."""

from __future__ import annotations

import re

import pytest

from backprop import visualize
from backprop.cli import main


def run(capsys, *argv):
    code = main(["graph", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_expression_prints_value_and_gradients(capsys):
    code, out, err = run(capsys, "(x + y) ** 2", "--var", "x=1", "--var", "y=2")
    assert code == 0
    assert out.splitlines() == ["z = (x + y) ** 2 = 9", "∂z/∂x = 6", "∂z/∂y = 6"]
    assert err == ""


def test_vector_variables(capsys):
    code, out, _ = run(capsys, "sum(v * v)", "--var", "v=1,2,3")
    assert code == 0
    assert "∂z/∂v = [2, 4, 6]" in out


def test_apple_example(capsys):
    code, out, _ = run(capsys, "--example", "apple")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("price = 220")
    assert lines[1:] == ["∂price/∂apple = 2.2", "∂price/∂apple_num = 110", "∂price/∂tax = 200"]


def test_apple_orange_example(capsys):
    code, out, _ = run(capsys, "--example", "apple-orange")
    assert code == 0
    assert out.splitlines()[0].startswith("price = 715")
    for line in ("∂price/∂orange = 3.3", "∂price/∂orange_num = 165", "∂price/∂tax = 650"):
        assert line in out


def test_explain_in_english_and_korean(capsys):
    code, out, _ = run(capsys, "--example", "apple", "--explain")
    assert code == 0
    assert "mul: ∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2" in out
    code, out, _ = run(capsys, "x + y", "--var", "x=1", "--var", "y=2", "--explain", "--lang", "ko")
    assert code == 0
    assert "덧셈 노드: ∂L/∂x = ∂L/∂out × 1 = 1 × 1 = 1" in out
    assert "연쇄법칙" in out


def test_dot_to_stdout(capsys):
    code, out, _ = run(capsys, "--example", "apple", "-o", "-")
    assert code == 0
    assert "digraph computational_graph {" in out
    assert '<font color="red">2.2</font>' in out


@pytest.mark.parametrize("suffix", [".dot", ".png", ".svg"])
def test_writes_the_picture(capsys, tmp_path, suffix):
    path = tmp_path / f"graph{suffix}"
    code, _, err = run(capsys, "--example", "apple-orange", "-o", str(path))
    assert code == 0
    assert path.stat().st_size > 0
    assert f"wrote {path}" in err


def test_png_without_graphviz(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(visualize.render.shutil, "which", lambda name: None)
    path = tmp_path / "graph.png"
    code, _, err = run(capsys, "(x + y) ** 2", "--var", "x=1", "--var", "y=2", "-o", str(path))
    assert code == 0
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "(matplotlib)" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["__import__('os')"], "unknown function '__import__'"),
        (["__import__('os').system('echo hacked')"], "not allowed"),
        (["os.system('echo hacked')", "--var", "os=1"], "attribute access|calling 'os.system'"),
        (["lambda: 0"], "lambda"),
        (["x[0]", "--var", "x=1,2"], "subscripts"),
        (["x.real", "--var", "x=1"], "attribute access"),
        (["open('/etc/passwd')"], "unknown function 'open'"),
        (["q * 2", "--var", "x=1"], "unknown name 'q'"),
        (["x +", "--var", "x=1"], "invalid syntax"),
        (["v * 2", "--var", "v=1,2"], "wrap it in sum"),
        (["x ** 0.5", "--var", "x=0"], "divide by zero"),
        (["x", "--var", "x"], "expected NAME=VALUE"),
        (["x", "--var", "x=abc"], "not a number"),
        (["x", "--var", "x=1", "-o", "graph.jpg"], "must end in"),
        (["x", "--example", "apple"], "not both"),
        ([], "give an expression"),
    ],
)
def test_bad_input_is_one_line_without_traceback(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "hacked" not in out
    assert err.count("\n") == 1
    assert err.startswith("backprop graph: error: ")
    assert "Traceback" not in err
    assert re.search(message, err)


def test_unknown_example_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", "--example", "banana"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
