"""Helpers shared by ``backprop train``, ``evaluate`` and ``predict``."""

from __future__ import annotations

import numpy as np

from backprop.datasets import DATASETS, load_dataset

DATASET_NAMES = tuple(DATASETS)


def check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"--dataset must be one of {', '.join(DATASET_NAMES)}, got {name!r}")
    return name


def load_data(name: str, data_dir):
    """``(x_train, t_train), (x_test, t_test)`` with the images as uint8 pixels (0..255).

    The trainer converts each batch to the network's dtype, so no float copy of the data set
    is made (for MNIST: 55 MB of uint8 instead of 220 MB of float32 or 440 MB of float64).
    """
    check_dataset(name)
    return load_dataset(name, normalize=False, dtype=np.uint8, data_dir=data_dir)


def describe_data(name: str, x_train, x_test) -> str:
    spec = DATASETS[name]
    where = " (bundled)" if spec.bundled else ""
    return f"data: {spec.title}{where}, {len(x_train):,} training and {len(x_test):,} test images"


def describe_test_data(name: str, x_test) -> str:
    spec = DATASETS[name]
    where = " (bundled)" if spec.bundled else ""
    return f"data: {spec.title}{where} test set, {len(x_test):,} images"


def describe_network(network) -> str:
    """E.g. ``TwoLayerNet 784-50-10 (ReLU), float32``."""
    if hasattr(network, "describe"):  # the convolutional networks describe themselves
        return network.describe()
    config = network.config()
    hidden = config.get("hidden_size_list") or [config.get("hidden_size")]
    sizes = "-".join(str(n) for n in [config["input_size"], *hidden, config["output_size"]])
    activation = {"relu": "ReLU", "sigmoid": "sigmoid"}[config.get("activation", "relu")]
    return f"{config['class']} {sizes} ({activation}), {network.dtype}"


def class_names(dataset: str | None, num_classes: int) -> list[str]:
    spec = DATASETS.get(dataset) if dataset else None
    if spec is not None and spec.num_classes == num_classes:
        return list(spec.class_names)
    return [str(i) for i in range(num_classes)]
