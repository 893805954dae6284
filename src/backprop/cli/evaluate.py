"""``backprop evaluate MODEL``: accuracy and confusion matrix of a saved network on a test set.

The dataset defaults to the one the model was trained on (from the checkpoint's metadata: the
bundled sample, mnist or fashion-mnist), read from the folder it was trained from when that
still exists, else from ``--data-dir`` or the cache. A ``--data-dir`` that does not exist is
refused (it would otherwise download into a new folder).
The last line printed is ``test accuracy 0.9712``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from backprop.checkpoint import load_checkpoint
from backprop.cli._common import (
    DATASET_NAMES,
    check_dataset,
    class_names,
    describe_network,
    describe_test_data,
    load_data,
)
from backprop.datasets import DATASETS
from backprop.plots import plot_misclassified
from backprop.training import confusion_matrix, predict_labels


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="accuracy and confusion matrix of a saved model",
        description=(
            "Load a model saved by backprop train and print its accuracy and confusion "
            "matrix on the test set of a dataset (default: the one it was trained on)."
        ),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"{', '.join(DATASET_NAMES)} (default: the model's training dataset)",
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="folder holding the four IDX files"
    )
    parser.add_argument(
        "--misclassified",
        type=Path,
        metavar="PNG",
        help="also draw the misclassified test images into this PNG file",
    )
    parser.set_defaults(func=run)


def format_confusion_matrix(matrix: np.ndarray) -> str:
    """The matrix as text: rows are true classes, columns predicted ones, plus recall."""
    n = len(matrix)
    width = max(4, len(str(int(matrix.max(initial=0)))) + 1)
    lines = [
        "confusion matrix (rows: true class, columns: predicted class)",
        "true" + "".join(f"{j:>{width}}" for j in range(n)) + "  accuracy",
    ]
    for i, row in enumerate(matrix):
        total = row.sum()
        recall = f"{row[i] / total:.4f}" if total else "-"
        lines.append(f"{i:>4}" + "".join(f"{v:>{width}}" for v in row) + f"  {recall:>8}")
    return "\n".join(lines)


def _data_dir(args: argparse.Namespace, metadata: dict, dataset: str):
    """--data-dir, else the folder the model was trained from (if it still exists)."""
    if args.data_dir is not None:
        if DATASETS[dataset].bundled:
            raise ValueError(
                f"--data-dir is for --dataset mnist or fashion-mnist; the {dataset} dataset is "
                f"bundled (got --data-dir {args.data_dir})"
            )
        return args.data_dir
    saved = metadata.get("data_dir")
    if metadata.get("dataset") == dataset and isinstance(saved, str) and Path(saved).is_dir():
        return saved
    return None


def run(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.model)
    network = checkpoint.network
    dataset = args.dataset or checkpoint.metadata.get("dataset")
    if dataset is None:
        raise ValueError(
            f"{args.model}: does not say which dataset it was trained on; pass --dataset"
        )
    check_dataset(dataset)
    num_classes = network.config()["output_size"]
    if num_classes != DATASETS[dataset].num_classes:
        raise ValueError(
            f"{args.model}: the network has {num_classes} outputs, the {dataset} dataset has "
            f"{DATASETS[dataset].num_classes} classes"
        )
    (_, _), (x_test, t_test) = load_data(dataset, _data_dir(args, checkpoint.metadata, dataset))
    input_size = network.input_size
    if x_test[0].size != input_size:
        raise ValueError(
            f"{args.model}: the network takes {input_size} inputs, the {dataset} images have "
            f"{x_test[0].size} pixels"
        )
    print(f"model: {args.model} ({describe_network(network)})")
    print(describe_test_data(dataset, x_test))
    y = predict_labels(network, x_test)
    matrix = confusion_matrix(t_test, y, num_classes)
    print(format_confusion_matrix(matrix))
    if args.misclassified is not None:
        names = class_names(dataset, num_classes)
        path, count = plot_misclassified(x_test, t_test, y, args.misclassified, class_names=names)
        print(f"wrote {path} ({count} misclassified)")
    print(f"test accuracy {np.trace(matrix) / len(t_test):.4f}")
    return 0
