"""Data for the benchmarks: real MNIST as raw uint8 arrays, or a synthetic stand-in.

Every contender of a benchmark starts from the same raw arrays (images ``(N, 784)`` uint8,
labels ``(N,)`` uint8) and converts them the way its own code would: the book's reference
normalizes whole copies, PyTorch makes float32 tensors, the library keeps uint8 or float32.

The reader here is deliberately plain (gzip or raw IDX, header checked, nothing else): it is the
benchmark's own, so the reference and PyTorch runs do not depend on the library's loader, which
the library's run uses instead (``backprop.datasets`` when present).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST_FILES",
    "RawData",
    "find_mnist_dir",
    "load_raw_mnist",
    "read_idx",
    "synthetic_data",
]

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

RawData = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _file_in(folder: Path, name: str) -> Path | None:
    for candidate in (folder / (name + ".gz"), folder / name):
        if candidate.is_file():
            return candidate
    return None


def find_mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The first folder holding the four MNIST files, or None.

    Looked for in order: ``data_dir``; ``$BACKPROP_BENCH_MNIST``; ``shared/data/mnist`` beside
    or above the current folder (the layout of this project's workspace); the library's cache
    folder (``$BACKPROP_DATA/mnist`` or ``~/.cache/backprop/mnist``).
    """
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(Path(data_dir))
    if os.environ.get("BACKPROP_BENCH_MNIST"):
        candidates.append(Path(os.environ["BACKPROP_BENCH_MNIST"]))
    here = Path.cwd()
    candidates += [here / "shared/data/mnist", here.parent / "shared/data/mnist"]
    cache = os.environ.get("BACKPROP_DATA")
    candidates.append(Path(cache) / "mnist" if cache else Path.home() / ".cache/backprop/mnist")
    for folder in candidates:
        if all(_file_in(folder, name) for name in MNIST_FILES):
            return folder.resolve()
    return None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """One IDX file (raw or gzip) as a uint8 array of the shape its header gives."""
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != 0x08:
        message = f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})"
        raise ValueError(message)
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        message = f"{path}: header says shape {shape}, file holds {array.size} values"
        raise ValueError(message)
    return array.reshape(shape)


def load_raw_mnist(folder: str | os.PathLike[str]) -> RawData:
    """``(x_train, t_train), (x_test, t_test)``: images (N, 784) uint8, labels (N,) uint8."""
    folder = Path(folder)
    arrays = []
    for name in MNIST_FILES:
        path = _file_in(folder, name)
        if path is None:
            message = f"MNIST file {name}(.gz) not found in {folder}"
            raise FileNotFoundError(message)
        arrays.append(read_idx(path))
    x_train, t_train, x_test, t_test = arrays
    return (
        (x_train.reshape(len(x_train), -1), t_train),
        (x_test.reshape(len(x_test), -1), t_test),
    )


def synthetic_data(
    n_train: int, n_test: int, *, features: int = 784, classes: int = 10, seed: int = 0
) -> RawData:
    """Random uint8 "images" whose label is learnable (it depends on the pixels).

    Same shapes and dtypes as :func:`load_raw_mnist`; used by ``--smoke`` and when MNIST is not
    found. The label is the arg-max of a fixed random projection, so training makes progress.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n_train + n_test, features), dtype=np.uint8)
    projection = rng.standard_normal((features, classes))
    t = np.argmax((x / 255.0 - 0.5) @ projection, axis=1).astype(np.uint8)
    return (x[:n_train], t[:n_train]), (x[n_train:], t[n_train:])
