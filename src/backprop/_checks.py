"""Checks of user input shared by the functions, the nodes, the networks and the training loop.

One place decides what a valid array, axis, step or target is, so that ``loss`` and
``accuracy`` (and every node) accept and refuse the same things, each with a message naming
the function or node and the argument. Every check is O(1) or one vectorised pass: they run
on the hot path of training. NumPy only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "check_array",
    "check_axis",
    "check_classes",
    "check_real",
    "check_same_shape",
    "check_targets",
]

_KIND_NAMES = {
    "c": "complex",
    "O": "Python objects",
    "U": "text (str)",
    "S": "bytes",
    "M": "dates (datetime64)",
    "m": "time spans (timedelta64)",
    "V": "raw records (void)",
}


def _refuse_dtype(where: str, name: str, dtype: np.dtype) -> TypeError:
    kind = _KIND_NAMES.get(dtype.kind, str(dtype))
    extra = " (their imaginary part would be silently dropped)" if dtype.kind == "c" else ""
    return TypeError(
        f"{where}: {name} must be numeric (real: float, int or bool), got dtype {dtype}: "
        f"{kind}{extra}"
    )


def check_array(where: str, name: str, x) -> None:
    """Refuse ``x`` unless it is (convertible to) an array of real numbers.

    Float, integer and bool arrays and Python/NumPy real scalars pass in O(1); complex,
    object, text, bytes, datetime and record data raise a TypeError naming ``where`` and
    ``name``. Nothing is converted or copied: the caller converts as it always did.
    """
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is None:
        if isinstance(x, (bool, int, float)):  # numbers.Real would let Fraction through too
            return
        if isinstance(x, (complex, str, bytes)) or x is None:
            raise TypeError(
                f"{where}: {name} must be a real number or an array of them, got "
                f"{type(x).__name__} {x!r:.40}"
            )
        try:
            kind = np.asarray(x).dtype.kind
        except (ValueError, TypeError) as exc:  # ragged lists and the like
            raise TypeError(f"{where}: {name} is not an array of numbers: {exc}") from None
        if kind not in "biuf":
            raise _refuse_dtype(where, name, np.asarray(x).dtype)
        return
    if kind not in "biuf":
        raise _refuse_dtype(where, name, x.dtype)


def check_axis(where: str, axis, ndim: int, *, permutation: bool = False):
    """``axis`` (None, an int or a sequence of ints) checked against an array of ``ndim``
    dimensions: in range [−ndim, ndim), no axis twice; with ``permutation``, every axis once.

    Returns ``axis`` normalised (None, or a tuple of non-negative ints).
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (numbers.Integral, np.integer)) else axis
    try:
        axes = tuple(axes)
    except TypeError:
        raise TypeError(f"{where}: axis must be an int or a tuple of ints, got {axis!r}") from None
    if any(isinstance(a, bool) or not isinstance(a, (numbers.Integral, np.integer)) for a in axes):
        raise TypeError(f"{where}: axis must be an int or a tuple of ints, got {axis!r}")
    bad = [int(a) for a in axes if not -ndim <= a < ndim]
    if bad:
        raise ValueError(
            f"{where}: axis {bad[0]} is out of range for an array of {ndim} dimensions "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    normal = tuple(int(a) % ndim for a in axes)
    if len(set(normal)) != len(normal):
        raise ValueError(f"{where}: axis {axis!r} names the same axis twice")
    if permutation and len(normal) != ndim:
        raise ValueError(
            f"{where}: axes {axis!r} must list each of the {ndim} axes once (a permutation "
            f"of {tuple(range(ndim))})"
        )
    return normal


def check_classes(where: str, x, axis=-1):
    """Refuse scores with no class to choose from along ``axis`` (an axis of length 0, or no
    values at all for ``axis=None``): their softmax and log-sum-exp are undefined. ``axis`` is
    checked as ``check_axis`` does, and returned as NumPy takes it (an int stays an int, a
    list of axes becomes a tuple). O(1)."""
    shape = np.shape(x)
    axes = check_axis(where, axis, len(shape))
    if axes is None and math.prod(shape) == 0:
        raise ValueError(f"{where}: x has no values (x.shape={shape})")
    for a in axes or ():
        if shape[a] == 0:
            along = "its last axis" if a == len(shape) - 1 else f"axis {a}"
            raise ValueError(f"{where}: x has no classes along {along} (x.shape={shape})")
    return axis if axes is None or isinstance(axis, (numbers.Integral, np.integer)) else axes


def check_real(
    where: str, name: str, value, *, minimum: float | None = None, positive: bool = False
) -> float:
    """``value`` as a finite float (not a bool), at least ``minimum`` or > 0 if asked."""
    ok = isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )
    number = float(value) if ok else math.nan
    if (
        not math.isfinite(number)
        or (positive and number <= 0)
        or (minimum is not None and number < minimum)
    ):
        if positive:
            need = "a positive finite number"
        elif minimum is not None:
            need = f"≥ {minimum:g}" if math.isfinite(number) else f"a finite number ≥ {minimum:g}"
        else:
            need = "a finite number"
        raise ValueError(f"{where}: {name} must be {need}, got {value!r}")
    return number


def check_same_shape(where: str, y, t) -> tuple[np.ndarray, np.ndarray]:
    """Outputs ``y`` and regression targets ``t``: real, finite, same non-empty shape."""
    check_array(where, "y", y)
    check_array(where, "t", t)
    y, t = np.asarray(y), np.asarray(t)
    if y.shape != t.shape:
        raise ValueError(
            f"{where}: t must have the shape of y, got y.shape={y.shape}, t.shape={t.shape}"
        )
    if y.size == 0:
        raise ValueError(f"{where}: y and t are empty (shape {y.shape}): there is nothing to score")
    for name, value in (("y", y), ("t", t)):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(
                f"{where}: {name} contains non-finite values ({np.isnan(value).sum()} NaN, "
                f"{np.isinf(value).sum()} infinite; {name}.shape={value.shape})"
            )
    return y, t


def check_targets(t, shape: tuple[int, int | None], where: str) -> np.ndarray:
    """Targets ``t`` for scores of ``shape`` (N, C): labels (N,) in [0, C) or one-hot /
    soft targets (N, C), every loss and accuracy's one definition of valid targets.

    - labels: integers (or floats with integral values), 0 ≤ t < C;
    - one-hot or soft targets: real, finite, ≥ 0, every row with a positive sum (an all-zero
      row would silently contribute nothing);
    - N ≥ 1: the loss or accuracy of an empty batch is no number.

    ``C`` may be None when the number of classes is not known yet (then only the form is
    checked). Returns ``t`` as an array (integral float labels become int64); raises a
    ValueError/TypeError naming ``where`` for anything else.
    """
    check_array(where, "t", t)
    t = np.asarray(t)
    n, c = shape
    if n == 0:
        raise ValueError(f"{where}: the batch is empty (N=0): it has no loss or accuracy")
    if t.ndim == 2 and t.shape[0] == n and (c is None or t.shape[1] == c):
        if t.dtype.kind == "f" and not np.isfinite(t).all():
            raise ValueError(f"{where}: the one-hot targets t contain NaN or infinite values")
        if t.size == 0 or t.min() < 0:
            raise ValueError(
                f"{where}: one-hot or soft targets t must be ≥ 0 (class weights), got a "
                f"minimum of {t.min() if t.size else 'nothing'} (t.shape={t.shape})"
            )
        empty_rows = np.flatnonzero(t.sum(axis=1) <= 0)
        if empty_rows.size:
            raise ValueError(
                f"{where}: one-hot targets t have {empty_rows.size} all-zero rows (first: row "
                f"{empty_rows[0]}); each row must name its class"
            )
        return t
    if t.shape == (n,):
        integral = t.dtype.kind in "iu" or (
            t.dtype.kind == "f" and np.isfinite(t).all() and (t == np.round(t)).all()
        )
        if not integral:
            raise TypeError(
                f"{where}: label targets must be integers, got dtype {t.dtype}"
                + (f" with values such as {t[:5].tolist()}" if t.dtype.kind == "f" else "")
            )
        low, high = t.min(), t.max()
        if low < 0 or (c is not None and high >= c):
            bad = t[(t < 0) | (t >= (c if c is not None else np.inf))]
            valid = f"[0, {c}) for {c} classes" if c is not None else "≥ 0"
            raise ValueError(f"{where}: labels must be in {valid}, got {bad[:5].tolist()}")
        return t.astype(np.int64, copy=False)
    width = f"{c}" if c is not None else "C"
    raise ValueError(
        f"{where}: targets t must be labels of shape ({n},) or one-hot of shape ({n}, {width})"
        f" for outputs of shape {shape if c is not None else (n, 'C')}, got t.shape={t.shape}"
    )
