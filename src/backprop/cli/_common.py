"""Helpers shared by ``backprop train``, ``evaluate`` and ``predict``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop.datasets import DATASETS, DatasetError, load_dataset

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
    if data_dir is not None:
        data_dir = check_data_dir(data_dir, name)
    try:
        return load_dataset(name, normalize=False, dtype=np.uint8, data_dir=data_dir)
    except DatasetError as exc:
        raise DatasetError(in_cli_words(str(exc))) from None


def check_data_dir(data_dir, dataset: str) -> Path:
    """``--data-dir`` as a Path, refused when it is not an existing folder (the loader would
    otherwise download into a new folder, hiding a typing mistake)."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise FileNotFoundError(
            f"--data-dir {data_dir}: the folder does not exist (to download {dataset} into "
            f"it: backprop download --dataset {dataset} --data-dir {data_dir})"
        )
    if not data_dir.is_dir():
        raise NotADirectoryError(f"--data-dir {data_dir}: not a folder")
    return data_dir


def in_cli_words(message: str) -> str:
    """A library message with its Python argument names as the command line spells them."""
    return message.replace("as data_dir= (--data-dir)", "with --data-dir").replace(
        "as data_dir=", "with --data-dir"
    )


def plural(count, word: str) -> str:
    """``1 epoch``, ``2 epochs``, ``1.5 epochs``, ``10,000 iterations``."""
    shown = f"{count:,}" if isinstance(count, int) else f"{count:.4g}"
    return f"{shown} {word}" + ("" if count == 1 else "s")


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
