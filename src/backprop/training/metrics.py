"""Metrics of a trained network: accuracy, predicted labels, the confusion matrix.

Book: 4.5.3 (``accuracy``, computed per epoch on the training and test sets) and 5.7.4. Each
function works through the network protocol (``predict`` / ``accuracy``) and evaluates in
chunks, converting each chunk with :func:`~backprop.training.data.as_input`, so uint8 data is
never copied to floats as a whole.
"""

from __future__ import annotations

import numpy as np

from backprop.training.data import as_input

__all__ = ["accuracy", "confusion_matrix", "network_dtype", "predict_labels"]


def accuracy(network, x, t, *, batch_size: int = 5000, dtype=None) -> float:
    """``network.accuracy`` over ``x`` in chunks of ``batch_size``, each converted by
    :func:`as_input` (so uint8 data is never copied to floats as a whole).

    Parameters
    ----------
    x : ndarray, shape (N, ...), uint8 or float
    t : ndarray, shape (N,) labels or (N, C) one-hot
    dtype : the network's dtype (default: that of its first parameter)
    """
    dtype = network_dtype(network) if dtype is None else np.dtype(dtype)
    n = len(x)
    if n == 0:
        return 0.0
    correct = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        chunk_accuracy = network.accuracy(as_input(x[start:stop], dtype), t[start:stop])
        correct += round(chunk_accuracy * (stop - start))
    return correct / n


def predict_labels(network, x, *, batch_size: int = 5000, dtype=None) -> np.ndarray:
    """The predicted class of every sample, ``argmax(network.predict(x))``, in chunks."""
    dtype = network_dtype(network) if dtype is None else np.dtype(dtype)
    labels = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch_size):
        scores = network.predict(as_input(x[start : start + batch_size], dtype))
        labels[start : start + batch_size] = np.argmax(scores, axis=1)
    return labels


def confusion_matrix(t, y, num_classes: int | None = None) -> np.ndarray:
    """Counts ``m[i, j]`` of samples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    t, y : ndarray of int, shape (N,)
        True and predicted labels.
    num_classes : int, optional
        Default: 1 + the largest label in ``t`` or ``y``. Every label must lie in
        ``0 .. num_classes - 1`` (else a ValueError naming the first one outside).
    """
    t, y = np.asarray(t), np.asarray(y)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(
            f"confusion_matrix: t and y must be label vectors of the same length, "
            f"got t.shape={t.shape}, y.shape={y.shape}"
        )
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), y.max(initial=-1))) + 1
    for name, labels in (("t", t), ("y", y)):
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.size:
            message = (
                f"confusion_matrix: {name} holds the label {outside[0]}, outside "
                f"0..{num_classes - 1} (num_classes={num_classes})"
            )
            raise ValueError(message)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (t, y), 1)
    return matrix


def network_dtype(network) -> np.dtype:
    """The dtype of the network's parameters (its ``dtype`` attribute if it has one)."""
    dtype = getattr(network, "dtype", None)
    if dtype is None:
        dtype = next(iter(network.params.values())).dtype
    return np.dtype(dtype)
