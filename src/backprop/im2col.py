"""``im2col`` and ``col2im``: convolution as one matrix product (book 7.4.3).

Pure NumPy; knows nothing of layers. Images are in the book's N-C-H-W layout: a batch of N
images with C channels of height H and width W.

``im2col`` unrolls every (C, FH, FW) window of the padded input into one row, so that a
convolution with FN filters is ``col @ W.reshape(FN, -1).T``. Rows are ordered (n, y, x) —
image, output row, output column — and columns (c, i, j) — channel, kernel row, kernel
column — exactly as the book's ``common/util.py``. ``col2im`` is its adjoint (transpose):
it adds every row back onto the window it came from, so overlapping windows sum. That is
the gradient of ``im2col``: ∂L/∂x = col2im(∂L/∂col).

``unfold`` and ``fold`` are the same two operations with the windows laid out per image,
as PyTorch's ``torch.nn.functional.unfold`` / ``fold`` do: (N, C·FH·FW, out_h·out_w), one
column per window. Per image, a convolution is then ``W.reshape(FN, -1) @ cols[n]``, whose
result is already in N-C-H-W order. ``im2col`` is ``unfold`` with each image's matrix
transposed; the Convolution layer uses ``unfold`` because it is faster.

Speed: ``unfold`` copies every window position with whole output rows at a time, and
``fold`` loops over the FH × FW kernel positions only (25 for a 5×5 kernel), never over
images or pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["col2im", "conv_output_size", "fold", "im2col", "unfold"]


def integer_arg(who: str, name: str, value, low: int = 1) -> int:
    """``value`` as an int if it is an integer ≥ ``low`` (not a bool), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{who}: {name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output height (or width) of a convolution or pooling (7.2.4): (H + 2P − FH) / S + 1.

    Raises ValueError when the kernel is larger than the padded input or the stride does not
    divide H + 2P − FH (the message gives the fractional size it would have), and for sizes
    that are not integers (H ≥ 1, FH ≥ 1, S ≥ 1, P ≥ 0).
    """
    input_size = integer_arg("conv_output_size", "input_size", input_size)
    filter_size = integer_arg("conv_output_size", "filter_size", filter_size)
    stride = integer_arg("conv_output_size", "stride", stride)
    pad = integer_arg("conv_output_size", "pad", pad, 0)
    span = input_size + 2 * pad - filter_size
    if span < 0:
        raise ValueError(
            f"the kernel ({filter_size}) is larger than the padded input "
            f"({input_size} + 2·{pad} = {input_size + 2 * pad})"
        )
    if span % stride:
        raise ValueError(
            f"stride {stride} does not divide H + 2·pad − FH = {input_size} + 2·{pad} − "
            f"{filter_size} = {span}: the output size would be {span}/{stride} + 1 = "
            f"{span / stride + 1:g}; change pad or stride"
        )
    return span // stride + 1


def _shape_arg(who: str, input_shape) -> tuple[int, int, int, int]:
    """An image shape (N, C, H, W) of positive integers, or a clear error."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = ()
    if len(shape) != 4:
        raise ValueError(f"{who}: input_shape must be (N, C, H, W), got {input_shape!r}")
    return tuple(integer_arg(who, f"input_shape[{i}]", n) for i, n in enumerate(shape))


def _check_pad_value(who: str, x: np.ndarray, pad_value) -> None:
    """Refuse a ``pad_value`` that integer images cannot hold (−inf in uint8 would be 0)."""
    if x.dtype.kind not in "biu":
        return
    with np.errstate(invalid="ignore", over="ignore"):
        stored = np.asarray(pad_value).astype(x.dtype)
    if stored != pad_value:
        raise ValueError(
            f"{who}: pad_value {pad_value!r} cannot be stored in the input's dtype {x.dtype} "
            f"(it would become {stored}); convert the input to floating point first"
        )


def _check_args(shape, filter_h: int, filter_w: int, stride: int, pad: int, who: str):
    if len(shape) != 4:
        raise ValueError(f"{who}: the input must be N-C-H-W (4-D), got shape {tuple(shape)}")
    for name, value, low in (
        ("filter_h", filter_h, 1),
        ("filter_w", filter_w, 1),
        ("stride", stride, 1),
        ("pad", pad, 0),
    ):
        integer_arg(who, name, value, low)
    _, _, H, W = shape
    try:
        out_h = conv_output_size(H, filter_h, stride, pad)
        out_w = conv_output_size(W, filter_w, stride, pad)
    except ValueError as exc:
        raise ValueError(f"{who}: input shape {tuple(shape)}: {exc}") from None
    return out_h, out_w


def unfold(
    input_data, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0, *, pad_value=0
) -> np.ndarray:
    """The (C, filter_h, filter_w) windows of each image of ``input_data`` as columns.

    Parameters
    ----------
    input_data : ndarray, shape (N, C, H, W)
    filter_h, filter_w : int
        Window (kernel) size.
    stride, pad : int
        Step between windows; rows/columns of ``pad_value`` added on each side.
    pad_value : number
        0 for a convolution (the book); −inf for max pooling, so padding is never the max.

    Returns
    -------
    ndarray, shape (N, C·filter_h·filter_w, out_h·out_w), in the input's dtype:
    ``cols[n, (c, i, j), (y, x)] = x_padded[n, c, y·stride + i, x·stride + j]``.
    """
    x = np.asarray(input_data)
    _check_args(x.shape, filter_h, filter_w, stride, pad, "unfold")
    if pad:
        _check_pad_value("unfold", x, pad_value)
    return _unfold(x, filter_h, filter_w, stride, pad, pad, pad_value)


def _unfold(x, filter_h, filter_w, stride, pad_h, pad_w, pad_value=0) -> np.ndarray:
    """unfold with its own padding for height and width (checked by the caller)."""
    N, C, H, W = x.shape
    out_h = (H + 2 * pad_h - filter_h) // stride + 1
    out_w = (W + 2 * pad_w - filter_w) // stride + 1
    if pad_h or pad_w:
        padded = np.full((N, C, H + 2 * pad_h, W + 2 * pad_w), pad_value, dtype=x.dtype)
        padded[:, :, pad_h : pad_h + H, pad_w : pad_w + W] = x
        x = padded
    cols = np.empty((N, C, filter_h, filter_w, out_h, out_w), dtype=x.dtype)
    for i in range(filter_h):
        i_max = i + stride * out_h
        for j in range(filter_w):
            j_max = j + stride * out_w
            cols[:, :, i, j] = x[:, :, i:i_max:stride, j:j_max:stride]
    return cols.reshape(N, C * filter_h * filter_w, out_h * out_w)


def fold(cols, input_shape, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0):
    """Add each column of ``cols`` back onto its window: the adjoint of :func:`unfold`.

    Parameters
    ----------
    cols : ndarray, shape (N, C·filter_h·filter_w, out_h·out_w)
    input_shape : tuple (N, C, H, W)
        The shape of the images ``cols`` was made from.

    Returns
    -------
    ndarray, shape ``input_shape``, in ``cols``' dtype: each pixel the sum of the entries
    of ``cols`` that came from it (padding dropped).
    """
    cols = np.asarray(cols)
    input_shape = _shape_arg("fold", input_shape)
    out_h, out_w = _check_args(input_shape, filter_h, filter_w, stride, pad, "fold")
    N, C = input_shape[:2]
    expected = (N, C * filter_h * filter_w, out_h * out_w)
    if cols.shape != expected:
        raise ValueError(
            f"fold: cols must have shape {expected} for input_shape {input_shape}, "
            f"filter {filter_h}×{filter_w}, stride {stride}, pad {pad}; got {cols.shape}"
        )
    return _fold(cols.reshape(N, C, filter_h, filter_w, out_h, out_w), input_shape, stride, pad)


def _fold(windows, input_shape, stride: int, pad: int) -> np.ndarray:
    """windows (N, C, FH, FW, out_h, out_w), any memory layout → image of input_shape."""
    N, C, H, W = input_shape
    _, _, filter_h, filter_w, out_h, out_w = windows.shape
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=windows.dtype)
    for i in range(filter_h):
        i_max = i + stride * out_h
        for j in range(filter_w):
            j_max = j + stride * out_w
            img[:, :, i:i_max:stride, j:j_max:stride] += windows[:, :, i, j]
    if pad:
        img = img[:, :, pad : pad + H, pad : pad + W]
    return img


def im2col(
    input_data, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0, *, pad_value=0
) -> np.ndarray:
    """Unroll the (C, filter_h, filter_w) windows of ``input_data`` into rows (the book's).

    Parameters
    ----------
    input_data : ndarray, shape (N, C, H, W)
    filter_h, filter_w : int
        Window (kernel) size.
    stride, pad : int
        Step between windows; rows/columns of ``pad_value`` added on each side.
    pad_value : number
        0 for a convolution (the book); −inf for max pooling, so padding is never the max.

    Returns
    -------
    ndarray, shape (N·out_h·out_w, C·filter_h·filter_w), in the input's dtype.
    """
    x = np.asarray(input_data)
    _check_args(x.shape, filter_h, filter_w, stride, pad, "im2col")
    if pad:
        _check_pad_value("im2col", x, pad_value)
    cols = _unfold(x, filter_h, filter_w, stride, pad, pad, pad_value)  # checked above
    N, K, P = cols.shape
    # (N, out_h·out_w, C·FH·FW): each image's matrix transposed, one row per window.
    return cols.transpose(0, 2, 1).reshape(N * P, K)


def col2im(
    col, input_shape, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """Add the rows of ``col`` back onto their windows: the adjoint of :func:`im2col`.

    Parameters
    ----------
    col : ndarray, shape (N·out_h·out_w, C·filter_h·filter_w)
    input_shape : tuple (N, C, H, W)
        The shape of the images ``col`` was made from.

    Returns
    -------
    ndarray, shape ``input_shape``, in ``col``'s dtype: each pixel the sum of the entries
    of ``col`` that came from it (padding dropped).
    """
    col = np.asarray(col)
    input_shape = _shape_arg("col2im", input_shape)
    out_h, out_w = _check_args(input_shape, filter_h, filter_w, stride, pad, "col2im")
    N, C = input_shape[:2]
    expected = (N * out_h * out_w, C * filter_h * filter_w)
    if col.shape != expected:
        raise ValueError(
            f"col2im: col must have shape {expected} for input_shape {input_shape}, "
            f"filter {filter_h}×{filter_w}, stride {stride}, pad {pad}; got {col.shape}"
        )
    # (N, C, FH, FW, out_h, out_w): for each kernel position, an image-shaped slab.
    windows = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    return _fold(windows, input_shape, stride, pad)
