"""Datasets for the book's experiments: MNIST, Fashion-MNIST and a bundled MNIST sample.

Book 3.6.1 ("MNIST dataset"): ``load_mnist(normalize=True, flatten=True, one_hot_label=False)``
returns ``(x_train, t_train), (x_test, t_test)``; here ``x`` is ``(N, 784)`` float64 in [0, 1]
by default and ``t`` is ``(N,)`` int64.

- :mod:`backprop.datasets.mnist`: the loaders, where files are looked for, checksums;
- :mod:`backprop.datasets.idx`: the IDX file format;
- :mod:`backprop.datasets.download`: mirrors, progress line, verified atomic downloads.

Stdlib and NumPy only, no pickle, and nothing happens at import time.
"""

from backprop.datasets.idx import DatasetError, read_idx, write_idx
from backprop.datasets.mnist import (
    DATASETS,
    FASHION_MNIST,
    MNIST,
    MNIST_SAMPLE,
    DatasetSpec,
    cache_dir,
    download_dataset,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
)

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "MNIST_SAMPLE",
    "DatasetError",
    "DatasetSpec",
    "cache_dir",
    "download_dataset",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
    "write_idx",
]
