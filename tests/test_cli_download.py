"""Tests for ``backprop download`` (src/backprop/cli/download.py).

Downloads come from ``file://`` mirrors in ``tmp_path`` (urllib serves them like HTTP) or from a
refused port on 127.0.0.1; no test touches the internet.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import main
from backprop.datasets import DATASETS, MNIST, cache_dir
from backprop.datasets.idx import idx_bytes
from backprop.datasets.mnist import FILES

REAL_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Make "mnist" a tiny made-up dataset served from a file:// mirror; return the mirror."""
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    sha256 = {}
    for name in FILES:
        n = 12 if name.startswith("train") else 6
        if "images" in name:
            array = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        else:
            array = (np.arange(n) % 10).astype(np.uint8)
        content = idx_bytes(array)
        (mirror / f"{name}.gz").write_bytes(gzip.compress(content))
        sha256[name] = hashlib.sha256(content).hexdigest()
    spec = dataclasses.replace(MNIST, sha256=sha256, mirrors=(mirror.as_uri() + "/",))
    monkeypatch.setitem(DATASETS, "mnist", spec)
    monkeypatch.delenv("BACKPROP_MNIST_MIRRORS")
    return mirror


def test_download_into_the_cache_prints_the_folder(tiny_mnist, capsys):
    assert main(["download"]) == 0
    out, err = capsys.readouterr()
    folder = cache_dir() / "mnist"
    assert out == f"{folder}\n"
    assert err.count("ok, SHA-256 verified") == 4
    assert f"mnist ready and verified in {folder}" in err
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.gz" for name in FILES)
    # Already there: verified again, nothing downloaded.
    assert main(["download"]) == 0
    assert "downloading" not in capsys.readouterr().err


def test_mirror_option_and_data_dir(tiny_mnist, tmp_path, capsys):
    target = tmp_path / "data"
    argv = ["download", "--data-dir", str(target), "--mirror", tiny_mnist.as_uri()]
    assert main(argv) == 0
    assert capsys.readouterr().out == f"{target}\n"
    assert len(list(target.iterdir())) == 4


def test_offline_is_one_line_and_exit_code_2(tmp_path, capsys):
    target = tmp_path / "empty"
    argv = ["download", "--data-dir", str(target), "--mirror", "http://127.0.0.1:9/"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    error_lines = [line for line in err.splitlines() if line.startswith("backprop download:")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("backprop download: error: MNIST: could not download")
    assert "Put the four files train-images-idx3-ubyte.gz" in error_lines[0]
    assert str(target) in error_lines[0]
    assert "Traceback" not in err
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_bad_timeout(capsys, value):
    assert main(["download", "--timeout", value]) == 2
    err = capsys.readouterr().err
    assert f"--timeout must be a positive number of seconds, got {float(value):g}" in err
    assert "Traceback" not in err


def test_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["download", "--dataset", "mnist-sample"])
    assert info.value.code == 2
    assert "choose from 'mnist', 'fashion-mnist'" in capsys.readouterr().err


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"{REAL_MNIST} not present")
def test_real_mnist_folder_verifies(capsys):
    assert main(["download", "--data-dir", str(REAL_MNIST)]) == 0
    assert capsys.readouterr().out == f"{REAL_MNIST}\n"
