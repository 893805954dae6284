"""Make the MNIST sample bundled in ``src/backprop/datasets/data/``.

The sample is 1,000 images of each class from MNIST's training set and 200 of each class from
its test set, evenly spaced over each class's occurrences in the whole file, and kept in their
original order (so the classes stay interleaved as in MNIST). Spacing them out matters: the
two halves of MNIST's test set come from different writers, and the first half is harder (a
model that scores 0.945 on all 10,000 test images scores 0.928 on the first 5,000), so the
first N of each class would not represent the test set. No randomness: the same source gives
the same arrays, and the same zlib gives the same bytes (gzip level 9, no file name, mtime 0,
like ``gzip -9 -n``).

The source files are checked against MNIST's published SHA-256 sums (of the decompressed
content) before anything is written.

Usage, from the repository root::

    python tools/make_mnist_sample.py [--source ../shared/data/mnist] [--out DIR]
        [--train-per-class 1000] [--test-per-class 200]

It prints the SHA-256 of each written file's decompressed content (the values for
``MNIST_SAMPLE`` in ``backprop/datasets/mnist.py`` and for ``data/README.md``) and the total
size.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from backprop.datasets.idx import idx_bytes, read_idx_with_sha256, write_idx
from backprop.datasets.mnist import FILES, MNIST

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "mnist"
DEFAULT_OUT = ROOT / "src" / "backprop" / "datasets" / "data"


def _read(source: Path, name: str) -> np.ndarray:
    for candidate in (source / name, source / f"{name}.gz"):
        if candidate.is_file():
            array, digest = read_idx_with_sha256(candidate)
            if digest != MNIST.sha256[name]:
                message = f"{candidate}: not the original MNIST file (SHA-256 {digest})"
                raise SystemExit(message)
            return array
    message = f"{source}: {name} or {name}.gz not found"
    raise SystemExit(message)


def spread_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of ``per_class`` examples of each class, evenly spaced over that class's
    occurrences (first and last included), in increasing order."""
    chosen = []
    for k in range(10):
        where = np.flatnonzero(labels == k)
        if len(where) < per_class:
            message = f"class {k} has only {len(where)} examples, {per_class} requested"
            raise SystemExit(message)
        chosen.append(where[np.linspace(0, len(where) - 1, per_class).round().astype(int)])
    return np.sort(np.concatenate(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for (images_name, labels_name), per_class in (
        (FILES[:2], args.train_per_class),
        (FILES[2:], args.test_per_class),
    ):
        images = _read(args.source, images_name)
        labels = _read(args.source, labels_name)
        index = spread_per_class(labels, per_class)
        for name, array in ((images_name, images[index]), (labels_name, labels[index])):
            path = write_idx(args.out / f"{name}.gz", array)
            digest = hashlib.sha256(idx_bytes(array)).hexdigest()
            size = path.stat().st_size
            total += size
            print(f"{digest}  {name}  ({array.shape}, {size} bytes gzipped)")
    print(f"total {total} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
