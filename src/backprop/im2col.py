"""``im2col`` and ``col2im``: convolution as one matrix product (book 7.4.3).

Pure NumPy; knows nothing of layers. Images are in the book's N-C-H-W layout: a batch of N
images with C channels of height H and width W.

``im2col`` unrolls every (C, FH, FW) window of the padded input into one row, so that a
convolution with FN filters is ``col @ W.reshape(FN, -1).T``. Rows are ordered (n, y, x) —
image, output row, output column — and columns (c, i, j) — channel, kernel row, kernel
column — exactly as the book's ``common/util.py``. ``col2im`` is its adjoint (transpose):
it adds every row back onto the window it came from, so overlapping windows sum. That is
the gradient of ``im2col``: ∂L/∂x = col2im(∂L/∂col).

Speed: ``im2col`` takes the windows with ``sliding_window_view`` (a view, no copy) and makes
one copy while reordering them into rows; ``col2im`` loops over the FH × FW kernel positions
only (25 for a 5×5 kernel), never over images or pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["col2im", "conv_output_size", "im2col"]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output height (or width) of a convolution or pooling (7.2.4): (H + 2P − FH) / S + 1.

    Raises ValueError when the kernel is larger than the padded input or the stride does not
    divide H + 2P − FH (the message gives the fractional size it would have).
    """
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


def _check_args(shape, filter_h: int, filter_w: int, stride: int, pad: int, who: str):
    if len(shape) != 4:
        raise ValueError(f"{who}: the input must be N-C-H-W (4-D), got shape {tuple(shape)}")
    for name, value, low in (
        ("filter_h", filter_h, 1),
        ("filter_w", filter_w, 1),
        ("stride", stride, 1),
        ("pad", pad, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{who}: {name} must be an integer ≥ {low}, got {value!r}")
    _, _, H, W = shape
    try:
        out_h = conv_output_size(H, filter_h, stride, pad)
        out_w = conv_output_size(W, filter_w, stride, pad)
    except ValueError as exc:
        raise ValueError(f"{who}: input shape {tuple(shape)}: {exc}") from None
    return out_h, out_w


def im2col(
    input_data, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0, *, pad_value=0
) -> np.ndarray:
    """Unroll the (C, filter_h, filter_w) windows of ``input_data`` into rows.

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
    out_h, out_w = _check_args(x.shape, filter_h, filter_w, stride, pad, "im2col")
    N, C = x.shape[:2]
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=pad_value)
    # (N, C, H', W', FH, FW) view of every window; the stride picks every S-th one.
    windows = np.lib.stride_tricks.sliding_window_view(x, (filter_h, filter_w), axis=(2, 3))
    last_h, last_w = (out_h - 1) * stride + 1, (out_w - 1) * stride + 1
    windows = windows[:, :, :last_h:stride, :last_w:stride]
    # (N, out_h, out_w, C, FH, FW): the one copy, into the book's row order.
    col = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * out_h * out_w, C * filter_h * filter_w)
    return col


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
    input_shape = tuple(int(n) for n in input_shape)
    out_h, out_w = _check_args(input_shape, filter_h, filter_w, stride, pad, "col2im")
    N, C, H, W = input_shape
    expected = (N * out_h * out_w, C * filter_h * filter_w)
    if col.shape != expected:
        raise ValueError(
            f"col2im: col must have shape {expected} for input_shape {input_shape}, "
            f"filter {filter_h}×{filter_w}, stride {stride}, pad {pad}; got {col.shape}"
        )
    # (N, C, FH, FW, out_h, out_w): for each kernel position, an image-shaped slab.
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype)
    for i in range(filter_h):
        i_max = i + stride * out_h
        for j in range(filter_w):
            j_max = j + stride * out_w
            img[:, :, i:i_max:stride, j:j_max:stride] += col[:, :, i, j]
    return img[:, :, pad : pad + H, pad : pad + W]
