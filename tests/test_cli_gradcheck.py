"""``backprop gradcheck`` and ``backprop --version``.

The full check (hidden size 50, 39,760 parameters) takes seconds; these tests use a hidden
size of 2 or 3 on the same 784-input network, about 5,000 forward passes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from backprop import __version__
from backprop.cli import main
from backprop.datasets import cache_dir

# param, shape, mean |diff|, max rel err, worst index, backprop and numerical there, result
ROW = re.compile(r"^(W\d|b\d)\s+\(.*\)\s+\S+\s+\S+\s+\(.*\)\s+\S+\s+\S+\s+(PASS|FAIL)$")


def _rows(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in map(ROW.match, text.splitlines()) if m}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["gradcheck", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gradcheck_two_layer_net_all_pass(capsys):
    code, out, err = _run(capsys, "--hidden", "3")
    assert code == 0, out + err
    assert _rows(out) == {"W1": "PASS", "b1": "PASS", "W2": "PASS", "b2": "PASS"}
    assert "network: TwoLayerNet(W1=(784, 3), b1=(3,), W2=(3, 10), b2=(10,)" in out
    assert "2,395 parameters" in out
    assert re.search(r"backprop was [\d,]+× faster", out)
    assert "numerical side: central differences with h=0.0001 and 2h, Richardson" in out
    assert out.rstrip().endswith("all PASS")
    assert err == ""


def test_gradcheck_plain_uses_the_books_central_difference(capsys):
    code, out, _ = _run(capsys, "--hidden", "3", "--plain")
    assert code == 0, out
    assert "numerical side: central difference with h=0.0001\n" in out


def test_gradcheck_uses_real_mnist_by_default(capsys):
    code, out, _ = _run(capsys, "--hidden", "2")
    assert code == 0
    # MNIST's first three training images are a 5, a 0 and a 4 (the sample keeps them first)
    assert re.search(r"data: the first 3 training images of .*MNIST.* \(labels 5, 0, 4\)", out)


def test_gradcheck_reads_the_tests_own_cache():
    # conftest's autouse isolated_env: never the developer's ~/.cache/backprop or $BACKPROP_DATA
    assert "BACKPROP_DATA" not in os.environ
    assert cache_dir() == Path(os.environ["HOME"]) / "xdg-cache" / "backprop"


def test_gradcheck_converts_only_its_batch_to_float(capsys):
    # The sample's 12,000 images as float64 would take 72 MiB; as uint8 pixels, 9 MiB.
    tracemalloc.start()
    try:
        code, out, _ = _run(capsys, "--hidden", "1", "--batch-size", "2", "--data", "sample")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, out
    assert "data: the first 2 training images of the MNIST sample" in out
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_gradcheck_real_mnist_from_a_folder(capsys, mnist_dir):
    code, out, _ = _run(capsys, "--hidden", "2", "--batch-size", "4", "--data-dir", str(mnist_dir))
    assert code == 0
    assert f"data: the first 4 training images of MNIST in {mnist_dir} (labels 5, 0, 4, 1)" in out
    assert set(_rows(out).values()) == {"PASS"}


def test_gradcheck_random_data(capsys):
    code, out, _ = _run(capsys, "--hidden", "2", "--data", "random", "--seed", "3")
    assert code == 0
    assert "data: 3 random images and labels (seed 3)" in out
    assert set(_rows(out).values()) == {"PASS"}


def test_gradcheck_multi_layer_net(capsys):
    code, out, _ = _run(
        capsys,
        *("--network", "multi-layer", "--hidden", "2", "3", "--activation", "sigmoid"),
        *("--weight-init-std", "xavier", "--weight-decay", "0.1", "--batch-size", "2"),
    )
    assert code == 0, out
    assert _rows(out) == dict.fromkeys(["W1", "b1", "W2", "b2", "W3", "b3"], "PASS")
    assert "network: MultiLayerNet(W1=(784, 2), b1=(2,), W2=(2, 3)" in out


def test_gradcheck_exit_code_1_when_a_row_fails(capsys):
    # No two independently computed gradients agree to 1e-30: every row fails.
    code, out, _ = _run(capsys, "--hidden", "2", "--data", "random", "--tol", "1e-30")
    assert code == 1
    assert set(_rows(out).values()) == {"FAIL"}
    assert "\nFAILED\n" in out
    # the doctor: no step h makes them agree, so backpropagation is named, with the sweep
    assert "why it most likely failed:\n- no step h brings the numerical gradient" in out
    assert "error for a sweep of h" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--hidden", "0"], "--hidden sizes must be at least 1, got [0]"),
        (["--hidden", "3", "4"], "--network two-layer takes one --hidden size, got 2: [3, 4]"),
        (["--activation", "sigmoid"], "--activation applies to --network multi-layer only"),
        (["--weight-decay", "0.1"], "--weight-decay applies to --network multi-layer only"),
        (["--tol", "0"], "--tol must be positive, got 0.0"),
        (["--seed", "-1"], "--seed must be ≥ 0, got -1"),
        (["--data", "random", "--data-dir", "x"], "--data-dir goes with --data mnist"),
        (["--weight-init-std", "he"], "--weight-init-std must be a number for --network two-layer"),
        (["--weight-init-std", "-1"], "--weight-init-std must be a positive number, got '-1'"),
        (
            ["--network", "multi-layer", "--weight-decay", "-1"],
            "--weight-decay must be ≥ 0, got -1.0",
        ),
        (
            ["--data", "sample", "--batch-size", "20000"],
            "--batch-size 20000 is larger than the 10000 images of the MNIST sample",
        ),
    ],
)
def test_gradcheck_bad_arguments(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("backprop gradcheck: error: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("data", ["auto", "mnist"])
def test_gradcheck_missing_data_folder_is_an_error_not_a_download(capsys, tmp_path, data):
    folder = tmp_path / "none"
    code, out, err = _run(capsys, "--hidden", "2", "--data", data, "--data-dir", str(folder))
    assert code == 2
    assert err.startswith("backprop gradcheck: error: ")
    assert "train-images-idx3-ubyte" in err and str(folder) in err
    assert "downloading" not in err
    assert out == ""


def test_gradcheck_unknown_choice(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["gradcheck", "--network", "three-layer"])
    assert excinfo.value.code == 2
    assert "invalid choice: 'three-layer'" in capsys.readouterr().err


def test_help_lists_gradcheck(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    assert "gradcheck" in capsys.readouterr().out


# -- as a user runs it -------------------------------------------------------------------------


def _console_script() -> Path:
    script = Path(sys.executable).with_name("backprop")
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    return script


def test_python_m_backprop_version(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "backprop", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"backprop {__version__}"


def test_console_script_version(tmp_path):
    result = subprocess.run(
        [str(_console_script()), "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"backprop {__version__}"


def test_console_script_gradcheck(tmp_path):
    result = subprocess.run(
        [str(_console_script()), "gradcheck", "--hidden", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _rows(result.stdout) == dict.fromkeys(["W1", "b1", "W2", "b2"], "PASS")
    assert "faster" in result.stdout


# -- one layer, the doctor, the progress line ---------------------------------------------------

LAYER_ROW = re.compile(r"^(x|y|W|b)\s+\(.*\)\s+\S+\s+\S+\s+\(.*\)\s+(\S+)\s+(\S+)\s+(PASS|FAIL)$")


@pytest.mark.parametrize(
    ("layer", "rows"),
    [
        ("Affine", ["x", "W", "b"]),
        ("Relu", ["x"]),
        ("Sigmoid", ["x"]),
        ("MulLayer", ["x", "y"]),
        ("SoftmaxWithLoss", ["x"]),
    ],
)
def test_gradcheck_one_layer_shows_both_values_at_the_worst_index(capsys, layer, rows):
    code, out, err = _run(capsys, "--layer", layer)
    assert code == 0, out + err
    assert out.startswith(f"layer: {layer}")
    found = [m for m in map(LAYER_ROW.match, out.splitlines()) if m]
    assert [m.group(1) for m in found] == rows
    for m in found:
        assert float(m.group(2)) == pytest.approx(float(m.group(3)), rel=1e-4)
        assert m.group(4) == "PASS"


def test_gradcheck_bad_h_names_the_cause_and_draws_the_sweep(capsys, tmp_path):
    plot = tmp_path / "sweep.png"
    code, out, _ = _run(capsys, "--layer", "Sigmoid", "--h", "1e-9", "--plot-h", str(plot))
    assert code == 1
    assert "why it most likely failed:\n- the step h=1e-09 is too small" in out
    assert "error for a sweep of h (x, at its worst element and a few others):" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {plot}" in out


def test_gradcheck_progress_line(capsys):
    code, _, err = _run(capsys, "--layer", "Affine", "--progress", "on")
    assert code == 0
    assert "\rnumerical gradient: 148 / 148 evaluations (100%)" in err  # 2·2·(12 + 20 + 5)
    assert err.endswith("\n")


def test_gradcheck_h_must_be_sensible(capsys):
    code, _, err = _run(capsys, "--h", "0")
    assert code == 2
    assert "--h must be between 0 and 1, got 0.0" in err
