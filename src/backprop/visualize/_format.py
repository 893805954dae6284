"""How numbers and arrays are written in pictures, pages and explanations (one place)."""

from __future__ import annotations

import numpy as np

SMALL_ARRAY = 12  # arrays with at most this many elements show their values


def number(value: float) -> str:
    """A number as ``explain`` writes it: 6 significant digits, no ``-0``."""
    return f"{float(value) + 0.0:.6g}"  # + 0.0 turns −0 into 0


def in_formula(value) -> str:
    """A number inside a formula: negative numbers in parentheses, ``1 × (-2)``."""
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def _row(a: np.ndarray) -> str:
    text = np.array2string(
        a,
        separator=", ",
        formatter={"float_kind": lambda v: f"{v + 0.0:.4g}"},
        max_line_width=10**6,
    )
    return text.replace("\n", "")


def values(a: np.ndarray) -> str:
    """A small array's values on one line, 4 significant digits: ``[[1, 2], [3, 4.5]]``."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number(a)
    return _row(a)


def _chunks(row: np.ndarray, per_line: int = 6) -> list[str]:
    """A 1-D row's numbers, ``per_line`` a line: ``[1, 2, 3,`` `` 4, 5]``."""
    numbers = [f"{v + 0.0:.4g}" for v in row]
    lines = [", ".join(numbers[i : i + per_line]) for i in range(0, len(numbers), per_line)]
    return [line + "," for line in lines[:-1]] + lines[-1:] if lines else [""]


def value_rows(a: np.ndarray) -> list[str]:
    """A small array's values, one line per row of a 2-D array and at most 6 numbers a line:
    ``[[1, 2],`` `` [3, 4]]``."""
    a = np.asarray(a)
    if a.ndim == 0 or a.ndim > 2 or a.size == 0:
        return [values(a)]
    rows = [a] if a.ndim == 1 else list(a)
    lines = []
    for r, row in enumerate(rows):
        parts = _chunks(row)
        parts[0] = "[" + parts[0]
        parts[-1] += "]" + ("," if r < len(rows) - 1 else "")
        lines += parts
    if a.ndim == 2:
        lines = ["[" + lines[0]] + [" " + line for line in lines[1:]]
        lines[-1] += "]"
    return (
        [line if k == 0 else " " + line for k, line in enumerate(lines)] if a.ndim == 1 else lines
    )


def describe(a) -> str:
    """A value on one line: ``2.2``; ``[1, 2] (2,) float64``; ``array (100, 50) float32``."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number(a)
    if a.size <= SMALL_ARRAY:
        return f"{values(a)} {a.shape} {a.dtype}"
    return f"array {a.shape} {a.dtype}"


def shape_text(a) -> str:
    a = np.asarray(a)
    return f"{a.shape} {a.dtype}"


def summary(a) -> str:
    """A large array in a few characters: ``min -0.12 … max 0.3``."""
    a = np.asarray(a)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return "no finite values"
    return f"min {finite.min() + 0.0:.3g} … max {finite.max() + 0.0:.3g}"


def value_lines(a, shape: bool = True) -> list[str]:
    """A value for an edge label: the number; or shape and dtype, and the values if small,
    else a summary. ``shape=False`` (a gradient, which has its value's shape) leaves out the
    shape line."""
    a = np.asarray(a)
    if a.ndim == 0:
        return [number(a)]
    head = [shape_text(a)] if shape else []
    if a.size > SMALL_ARRAY:
        return [*head, summary(a)]
    return head + value_rows(a)


def write_text(text: str, stream) -> None:
    """Write ``text`` to a text stream; characters it cannot encode (∂ on an ASCII terminal,
    ``PYTHONIOENCODING=ascii``) are written as escapes instead of raising."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()
