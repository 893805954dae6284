"""The scripts in ``examples/`` run from any folder and print the book's numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run_example(name: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,  # not the repository: the examples must not depend on the working folder
        check=False,
        timeout=600,  # a hang fails; a busy shared machine does not
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    return result.stdout


def test_buy_apple(tmp_path):
    out = _run_example("buy_apple.py", cwd=tmp_path)
    assert out.splitlines() == ["price: 220", "dapple: 2.2", "dapple_num: 110", "dtax: 200"]


def test_buy_apple_orange(tmp_path):
    out = _run_example("buy_apple_orange.py", cwd=tmp_path)
    assert out.splitlines() == [
        "price: 715",
        "dapple_num: 110",
        "dapple: 2.2",
        "dorange: 3.3",
        "dorange_num: 165",
        "dtax: 650",
    ]


def test_gradient_check_example_small(tmp_path):
    # The book's hidden size of 50 takes seconds; 3 hidden units check the same code path.
    out = _run_example("gradient_check.py", "--hidden", "3", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("TwoLayerNet(W1=(784, 3), b1=(3,), W2=(3, 10), b2=(10,)")
    assert "on 3 images of" in lines[0]
    rows = [line for line in lines if re.match(r"^(W|b)[12]\s", line)]
    assert [row.split()[0] for row in rows] == ["W1", "b1", "W2", "b2"]
    assert all(row.endswith("PASS") for row in rows)
    assert re.search(r"backprop was [\d,]+× faster", out)
    assert lines[-1] == "all PASS"


def test_train_neuralnet_learns_on_the_bundled_sample(tmp_path):
    # The book's 10,000 iterations take a minute; 101 run the same loop with 2 evaluations.
    out = _run_example("train_neuralnet.py", "--sample", "--iters", "101", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("TwoLayerNet(W1=(784, 50), b1=(50,), W2=(50, 10), b2=(10,)")
    assert lines[0].endswith("on the MNIST sample bundled with backprop")
    accuracies = [
        tuple(float(v) for v in line.split("|")[1].split(","))
        for line in lines
        if line.startswith("train acc, test acc | ")
    ]
    assert len(accuracies) == 2  # iterations 0 and 100 (100 per epoch of 10,000 images)
    assert accuracies[0][1] < 0.2 < 0.6 < accuracies[-1][1]  # chance, then learning
    assert re.fullmatch(r"final loss \d\.\d{4}", lines[-1])


def test_train_deepnet_runs_the_book_script_on_the_bundled_sample(tmp_path):
    # The book's 20 epochs take an hour or more; 3 iterations run the same script end to end.
    out = _run_example(
        "train_deepnet.py", "--sample", "--iters", "3", "--out", "deep.npz", cwd=tmp_path
    )
    lines = out.splitlines()
    assert re.fullmatch(r"test acc 0\.\d{4} after 3 iterations, [\d.]+ min", lines[-2])
    assert lines[-1] == "saved deep.npz"
    from backprop.checkpoint import load_checkpoint

    assert type(load_checkpoint(tmp_path / "deep.npz").network).__name__ == "DeepConvNet"
