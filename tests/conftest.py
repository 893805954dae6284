"""Shared fixtures: a seeded random generator for every test and the path of the real MNIST."""

from __future__ import annotations

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


@pytest.fixture
def mnist_dir() -> Path:
    """The folder of the real MNIST files (``../shared/data/mnist``); skips when absent."""
    if not all((MNIST_DIR / name).is_file() for name in MNIST_FILES):
        pytest.skip(f"real MNIST not found in {MNIST_DIR}")
    return MNIST_DIR
