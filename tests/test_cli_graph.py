"""Tests of ``backprop graph``: expressions, the book's examples, pictures, bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from backprop import visualize
from backprop.autograd.expression import EXAMPLES
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


def test_dot_to_stdout_alone(capsys):
    code, out, err = run(capsys, "--example", "apple", "-o", "-", "--explain")
    assert code == 0
    assert out.startswith("digraph computational_graph {") and out.rstrip().endswith("}")
    assert 'label="2.2", shape=plaintext, fontcolor=red' in out
    assert "∂price/∂apple = 2.2" in err and "mul: ∂L/∂apple" in err  # the summary: stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_dot_to_stdout_pipes_into_graphviz(tmp_path):
    graph = subprocess.run(
        [sys.executable, "-m", "backprop", "graph", "--example", "apple", "-o", "-"],
        capture_output=True,
        check=True,
    )
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.stdout, capture_output=True, check=True)
    assert b"<svg" in svg.stdout and b"2.2" in svg.stdout


@pytest.mark.parametrize("suffix", [".dot", ".png", ".svg", ".html"])
def test_writes_the_picture(capsys, tmp_path, suffix):
    path = tmp_path / f"graph{suffix}"
    code, _, err = run(capsys, "--example", "apple-orange", "-o", str(path))
    assert code == 0
    assert path.stat().st_size > 0
    assert f"wrote {path}" in err


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_writes_every_format(capsys, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    paths = [f"{name}.{suffix}" for suffix in ("svg", "png", "dot", "html")]
    argv = ["--example", name, "--seed", "3", "--explain"]
    code, out, err = run(capsys, *argv, *[a for p in paths for a in ("-o", p)])
    assert code == 0, err
    assert "∂L/∂" in out and "result: " in out
    for path in paths:
        assert (tmp_path / path).stat().st_size > 0
    assert (tmp_path / f"{name}.html").stat().st_size < 300_000
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_example_variables_and_seed(capsys):
    code, out, _ = run(capsys, "--example", "relu", "--var", "x=1,-2,3", "--var", "dout=4,5,6")
    assert code == 0
    assert "∂L/∂x = [4, 0, 6]" in out
    assert "mask = (x <= 0) = [False,  True, False]" in out
    _, first, _ = run(capsys, "--example", "affine", "--seed", "7")
    _, again, _ = run(capsys, "--example", "affine", "--seed", "7")
    _, other, _ = run(capsys, "--example", "affine", "--seed", "8")
    assert first == again != other
    code, _, err = run(capsys, "--example", "relu", "--var", "q=1")
    assert code == 2 and "its variables are: x, dout" in err


def test_bad_output_paths_are_one_line_and_write_nothing(capsys, tmp_path, monkeypatch):
    missing = tmp_path / "no" / "such" / "graph.html"
    code, out, err = run(capsys, "--example", "apple", "-o", str(missing))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "no").exists()
    # A folder the user may not write to (simulated: the tests may run as root).
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    code, _, err = run(capsys, "--example", "apple", "-o", str(tmp_path / "graph.svg"))
    assert code == 2 and err.count("\n") == 1 and "is not writable" in err
    assert list(tmp_path.iterdir()) == []


def test_too_big_an_expression_still_writes_a_page(capsys, tmp_path):
    expression = "+".join(f"x*{k}" for k in range(1, 80))  # 239 nodes
    path = tmp_path / "big.html"
    code, _, err = run(capsys, expression, "--var", "x=1", "-o", str(path))
    assert code == 0
    assert "too many to draw on the page" in err
    assert "too many to draw legibly" in path.read_text(encoding="utf-8")


def test_an_ascii_terminal_does_not_crash(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backprop",
            "graph",
            "(x + y) ** 2",
            "--var",
            "x=1",
            "--var",
            "y=2",
            "--explain",
            "--lang",
            "ko",
            "-o",
            str(tmp_path / "g.html"),
        ],
        capture_output=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert b"\\u2202z/\\u2202x = 6" in result.stdout  # ∂ written as an escape
    assert b"Traceback" not in result.stderr


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
        (["x", "--var", "x=1", "-o", "graph.jpg"], "must end in .svg, .png, .dot, .gv, .html"),
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
