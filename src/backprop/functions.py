"""Pure NumPy functions of chapters 3-5: activations and losses.

Book: "Deep Learning from Scratch" (밑바닥부터 시작하는 딥러닝) 3.2, 3.5, 4.2.

These functions know nothing of layers or training. Each one is numerically stable for any
finite input: nothing here overflows, divides by zero or takes the log of zero, so they run
silently under ``np.errstate(all="raise")``. They keep the floating dtype they are given
(float32 stays float32); integer input is computed in float64.
"""

from __future__ import annotations

import numpy as np

from backprop._checks import (
    check_array,
    check_classes,
    check_same_shape,
    check_targets,
)

__all__ = [
    "cross_entropy_error",
    "identity_function",
    "log_softmax",
    "logsumexp",
    "mean_squared_error",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
    "sum_to",
    "tanh",
]


def _as_float(x, name: str = "x") -> np.ndarray:
    """``x`` as a floating ndarray (float arrays pass through without a copy)."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")


def identity_function(x):
    """y = x (the output activation for regression, 3.5)."""
    check_array("identity_function", "x", x)
    return np.asarray(x)


def step_function(x) -> np.ndarray:
    """y = 1 if x > 0 else 0 (the perceptron's activation, 3.2.2), as int64."""
    check_array("step_function", "x", x)
    return (np.asarray(x) > 0).astype(np.int64)


def sigmoid(x) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), written so that exp never overflows.

    For x ≥ 0 it is 1 / (1 + e^-x); for x < 0 the equal form e^x / (1 + e^x). Either way the
    exponent is ≤ 0, so ``sigmoid(±1000)`` is exactly 1 and 0 with no warning.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):  # e^-1000 → 0 is the right answer, not an error
        e = np.exp(-np.abs(x))  # in (0, 1]: cannot overflow
        y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return y.astype(x.dtype, copy=False)


def relu(x) -> np.ndarray:
    """y = max(0, x), in x's dtype; NaN stays NaN. The ``Relu`` layer computes its forward
    here. The derivative at the kink is taken as 0 everywhere in this library."""
    check_array("relu", "x", x)
    return np.maximum(x, 0)  # a Python 0 keeps the dtype of x (float32 stays float32)


def tanh(x) -> np.ndarray:
    """y = tanh(x) (stable in NumPy for any finite input)."""
    return np.tanh(_as_float(x))


def logsumexp_terms(x: np.ndarray, axis: int = -1):
    """The one log-sum-exp of the library: ``z = x − max x``, ``e = exp z``, ``s = Σ e``.

    log Σ exp x = max x + log s, softmax(x) = e / s and log softmax(x) = z − log s: the
    maximum is subtracted first, so exp never overflows and s ≥ 1 (its log is finite). ``s``
    keeps the reduced axis (keepdims). ``softmax``, ``log_softmax``, ``logsumexp``,
    ``softmax_cross_entropy`` and the ``SoftmaxWithLoss`` layer all start here. exp(−2e4)
    underflows to 0, the right answer: callers run this under ``np.errstate(under="ignore")``.
    """
    # (The ufunc methods: np.max and np.sum add a Python layer that costs more than the
    # arithmetic on a (100, 10) batch.)
    z = x - _row_max(x, axis)
    e = np.exp(z)
    return z, e, np.add.reduce(e, axis=axis, keepdims=True)


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """``np.max(x, axis, keepdims=True)``; for a batch of short rows, taken down the columns.

    NumPy reduces short contiguous rows one row at a time: the maximum of each row of a
    (100, 10) batch takes 4-6 µs, the same maximum over a transposed copy about 1.5 µs (it runs
    down 100 columns at once). Both give the same values, NaN included.
    """
    if x.ndim == 2 and axis in (1, -1) and x.shape[1] <= 32 and x.shape[0] >= 4 * x.shape[1]:
        columns = np.ascontiguousarray(x.T)
        return np.maximum.reduce(columns, axis=0).reshape(x.shape[0], 1)
    return np.maximum.reduce(x, axis=axis, keepdims=True)


def logsumexp(x, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log Σ exp(x) over ``axis`` (the last by default), finite for any finite input."""
    x = _as_float(x)
    axis = check_classes("logsumexp", x, axis)
    with np.errstate(under="ignore"):
        _, _, s = logsumexp_terms(x, axis)
    out = np.max(x, axis=axis, keepdims=True) + np.log(s)
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x, axis: int = -1) -> np.ndarray:
    """Softmax over ``axis`` (the last by default): 1-D input is one sample, 2-D a batch (3.5.2).

    The maximum is subtracted first (``logsumexp_terms``), so logits of ±1e4 give finite
    probabilities.
    """
    axis = check_classes("softmax", x, axis)
    with np.errstate(under="ignore"):
        _, e, s = logsumexp_terms(_as_float(x), axis)
    e /= s  # e is a fresh array
    return e


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) over ``axis`` via log-sum-exp: finite for any finite input."""
    axis = check_classes("log_softmax", x, axis)
    with np.errstate(under="ignore"):
        z, _, s = logsumexp_terms(_as_float(x), axis)
    z -= np.log(s)  # z is a fresh array
    return z


def mean_squared_error(y, t) -> float:
    """E = ½ Σ (y − t)², the book's definition (4.2.1): summed, not averaged, with the ½.

    Parameters
    ----------
    y, t : ndarray, same shape
        Outputs and targets. A batch is summed over too, as in the book.
    """
    y, t = check_same_shape("mean_squared_error", y, t)
    d = _as_float(y, "y") - _as_float(t, "t")
    return float(0.5 * np.sum(d * d))  # the MeanSquaredErrorLoss layer's forward too


def _check_finite(x: np.ndarray, where: str, name: str) -> None:
    """A loss of NaN or infinite inputs is no number: say so instead of returning nan."""
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{where}: {name} contains {np.isnan(x).sum()} NaN and {np.isinf(x).sum()} "
            f"infinite values ({name}.shape={x.shape})"
        )


def sample_as_batch(x: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
    """One sample's scores ``x`` (C,) and target as a batch of one: x (1, C), t (1,) or (1, C).

    A label (scalar or shape (1,)) becomes shape (1,), a one-hot row (C,) becomes (1, C); any
    other ``t`` is returned unchanged for ``check_targets`` to reject with a clear message.
    """
    t = np.asarray(t)
    if t.ndim == 0:
        t = t.reshape(1)
    elif t.shape == x.shape:
        t = t.reshape(1, -1)
    return x.reshape(1, -1), t


def cross_entropy_error(y, t, eps: float = 1e-7) -> float:
    """E = −Σ t log y, averaged over the batch (4.2.2, 4.2.4).

    Parameters
    ----------
    y : ndarray, shape (C,) or (N, C)
        Probabilities (softmax outputs).
    t : ndarray
        One-hot targets of the same shape as ``y``, or integer labels of shape () / (N,).
    eps : float
        Floor inside the log, as in the book, so that a probability of 0 gives a large finite
        loss instead of inf. (``softmax_cross_entropy`` takes logits and needs no floor.)
    """
    y = _as_float(y, "y")
    if y.ndim == 1:
        y, t = sample_as_batch(y, t)
    if y.ndim != 2:
        raise ValueError(f"cross_entropy_error: y must be (C,) or (N, C), got y.shape={y.shape}")
    t = check_targets(t, y.shape, "cross_entropy_error")
    _check_finite(y, "cross_entropy_error", "y")
    n = y.shape[0]
    if t.shape == y.shape:
        return float(-np.sum(t * np.log(np.maximum(y, eps))) / n)
    return float(-np.sum(np.log(np.maximum(y[np.arange(n), t], eps))) / n)


def softmax_cross_entropy(x, t) -> float:
    """Cross-entropy of softmax(x) computed from the logits with log-sum-exp.

    Exact for any finite logits (no ``+1e-7`` floor): this is the loss SoftmaxWithLoss uses,
    so its forward and backward agree to rounding error.
    """
    x = _as_float(x, "x")
    if x.ndim == 1:
        x, t = sample_as_batch(x, t)
    if x.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: x must be (C,) or (N, C), got x.shape={x.shape}")
    t = check_targets(t, x.shape, "softmax_cross_entropy")
    _check_finite(x, "softmax_cross_entropy", "x")
    logp = log_softmax(x)
    n = x.shape[0]
    if t.shape == x.shape:
        return float(-np.sum(t * logp) / n)
    return float(-np.sum(logp[np.arange(n), t]) / n)


def sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``x`` down to ``shape``: the backward of NumPy broadcasting.

    When an input of shape ``shape`` was broadcast to ``x.shape`` in the forward pass, its
    gradient is the upstream gradient summed over the broadcast axes. Returns ``x`` itself
    (no copy) when the shapes already agree.
    """
    x = np.asarray(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if x.shape[1:] == shape:  # the common case: a bias broadcast over the batch axis
        return np.add.reduce(x, axis=0)
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    y = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(y.shape[lead:])
    if y.shape != shape:
        raise ValueError(f"sum_to: shape {x.shape} does not broadcast from {shape}")
    return y
