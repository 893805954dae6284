"""Shared fixtures: a seeded random generator and an isolated data cache for every test, and
the path of the real MNIST."""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, yet different for each test.

    Autouse, so that no test falls back on the global ``np.random`` state.
    """
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch) -> Path:
    """A fresh home and cache for every test, and mirrors that refuse connections.

    Autouse, so that no test reads the developer's ``~/.cache/backprop`` or ``$BACKPROP_DATA``
    (or downloads): a test that needs the real MNIST asks for ``mnist_dir`` and passes it.
    Returns the temporary home folder.
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    monkeypatch.delenv("BACKPROP_BENCH_MNIST", raising=False)
    # Port 9 (discard) on the loopback: a test that forgot its mirrors fails fast, offline.
    monkeypatch.setenv("BACKPROP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("BACKPROP_FASHION_MNIST_MIRRORS", "http://127.0.0.1:9/")
    return home


@pytest.fixture
def mnist_dir() -> Path:
    """The folder of the real MNIST files (``../shared/data/mnist``); skips when absent."""
    if not all((MNIST_DIR / name).is_file() for name in MNIST_FILES):
        pytest.skip(f"real MNIST not found in {MNIST_DIR}")
    return MNIST_DIR


def _missing(what: str) -> None:
    """Skip a test whose tool is missing on a user's machine; fail it in CI, where .ci/run
    installs every tool, so that a reference test can never be skipped there unnoticed."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: .ci/run should install it")
    pytest.skip(f"{what} is not installed")


@pytest.fixture
def torch():
    """The ``torch`` module, for reference tests against PyTorch."""
    try:
        import torch as torch_module
    except ImportError:
        _missing("PyTorch (pip install torch==2.13.0)")
    return torch_module


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, for page tests driven by Playwright."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        _missing("chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright (pip install playwright)")
    return path
