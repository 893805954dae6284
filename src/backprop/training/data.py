"""Data for the loop: mini-batch indices, per-batch conversion, checks of the arrays.

Book: 4.2.3 (mini-batches drawn with ``np.random.choice``) and 5.7.4. Here an epoch visits
every sample once in a fresh random order (``sample_with_replacement=True`` keeps the book's
draw), and uint8 images are converted per batch (``x / 255``), never as a whole.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_input", "check_data", "iterate_minibatches"]


def as_input(x: np.ndarray, dtype) -> np.ndarray:
    """A batch ``x`` as the network's input: uint8 pixels become ``x / 255`` in ``dtype``.

    Float input of another dtype is cast; float input of ``dtype`` is returned as it is.
    """
    if x.dtype == np.uint8:
        return np.divide(x, 255, dtype=dtype)
    if x.dtype != dtype:
        return x.astype(dtype)
    return x


def iterate_minibatches(
    n: int,
    batch_size: int,
    rng: np.random.Generator,
    *,
    sample_with_replacement: bool = False,
):
    """Index arrays of the mini-batches of one epoch over ``n`` samples.

    Without replacement: a random permutation cut into ``ceil(n / batch_size)`` batches (the
    last one has ``n % batch_size`` samples when that is not 0), so every sample is seen once.
    With replacement: as many batches of ``batch_size`` indices drawn by ``rng.choice(n,
    batch_size)``, the book's ``np.random.choice`` loop.
    """
    count = -(-n // batch_size)
    if sample_with_replacement:
        for _ in range(count):
            yield rng.choice(n, batch_size)
    else:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def check_data(x, t, x_name: str, t_name: str) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``t`` as arrays, or a clear error naming the argument at fault.

    ``x`` must be a non-empty batch (N, ...) of uint8 pixels or finite floats; ``t`` one
    integer label (N,) or one-hot row (N, C) per sample.
    """
    x, t = np.asarray(x), np.asarray(t)
    if x.ndim < 2:
        raise ValueError(f"{x_name} must be a batch of shape (N, ...), got shape {x.shape}")
    if x.dtype != np.uint8 and x.dtype.kind != "f":
        raise TypeError(f"{x_name} must be uint8 pixels (0..255) or floats, got dtype {x.dtype}")
    if len(x) == 0:
        raise ValueError(f"{x_name} is empty")
    if t.ndim not in (1, 2) or len(t) != len(x):
        raise ValueError(
            f"{t_name} must hold one label (N,) or one-hot row (N, C) per sample of "
            f"{x_name}, got {t_name}.shape={t.shape} for {x_name}.shape={x.shape}"
        )
    if t.ndim == 1 and t.dtype.kind not in "iu":
        raise TypeError(f"{t_name} labels must be integers, got dtype {t.dtype}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{x_name} contains NaN or infinite values")
    return x, t
