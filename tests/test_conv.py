"""im2col/col2im, Convolution and Pooling (7.4): against loops written here, against
torch.nn.functional, against the numerical gradient, the Tensor forms, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor, conv2d, flatten, max_pool2d
from backprop.gradient import numerical_gradient, relative_error
from backprop.im2col import col2im, conv_output_size, fold, im2col, unfold
from backprop.layers import BatchNormalization, Convolution, Dropout, Pooling

# (N, C, H, W, FN, FH, FW, stride, pad): batch 1, strides, paddings, non-square kernels
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 7, 7, 4, 3, 3, 2, 1),
    (1, 2, 6, 8, 3, 2, 4, 2, 1),
    (3, 2, 5, 6, 2, 1, 2, 1, 2),
    (2, 1, 9, 9, 2, 5, 5, 2, 2),
    (2, 3, 6, 7, 2, 2, 3, 1, 1),  # stride 1, non-square: dx as a convolution
]


def loop_conv(x, W, b, stride, pad):
    """The convolution by its definition (7.2.2): a sum over each window, pixel by pixel."""
    N, _, H, Wd = x.shape
    FN, _, FH, FW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (H + 2 * pad - FH) // stride + 1
    out_w = (Wd + 2 * pad - FW) // stride + 1
    out = np.zeros((N, FN, out_h, out_w))
    for n in range(N):
        for f in range(FN):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, :, i * stride : i * stride + FH, j * stride : j * stride + FW]
                    out[n, f, i, j] = np.sum(window * W[f]) + b[f]
    return out


def loop_max_pool(x, ph, pw, stride, pad):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    out_h = (H + 2 * pad - ph) // stride + 1
    out_w = (W + 2 * pad - pw) // stride + 1
    out = np.zeros((N, C, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def _numeric(f, x):
    return numerical_gradient(lambda _: f(), x)


def _case_arrays(rng, case):
    N, C, H, W, FN, FH, FW, stride, pad = case
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((FN, C, FH, FW))
    b = rng.standard_normal(FN)
    return x, Wt, b, stride, pad


# -- im2col / col2im ----------------------------------------------------------------------------


def test_im2col_shape_and_rows_match_the_book(rng):
    x = rng.standard_normal((2, 3, 7, 7))  # the book's example: (9, 75) per image
    col = im2col(x, 5, 5, stride=1, pad=0)
    assert col.shape == (2 * 3 * 3, 3 * 5 * 5)
    # Row (n, y, x) is the window at (y, x) of image n, flattened as (c, i, j).
    np.testing.assert_array_equal(col[4], x[0, :, 1:6, 1:6].ravel())
    np.testing.assert_array_equal(col[9 + 8], x[1, :, 2:7, 2:7].ravel())


def test_col2im_is_the_adjoint_of_im2col(rng):
    # <im2col(x), c> = <x, col2im(c)> for every x and c: col2im is im2col's transpose.
    for N, C, H, W, _, FH, FW, stride, pad in CONV_CASES:
        x = rng.standard_normal((N, C, H, W))
        col = im2col(x, FH, FW, stride, pad)
        c = rng.standard_normal(col.shape)
        lhs = np.sum(col * c)
        rhs = np.sum(x * col2im(c, x.shape, FH, FW, stride, pad))
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_col2im_counts_window_overlaps():
    ones = np.ones((1, 1, 3, 3))
    col = im2col(ones, 2, 2)
    counts = col2im(np.ones_like(col), ones.shape, 2, 2)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_unfold_is_im2col_per_image_and_fold_its_adjoint(rng):
    # unfold gives each image's windows as columns (torch.nn.functional.unfold's layout):
    # the book's im2col rows of image n are unfold(x)[n] transposed.
    for N, C, H, W, _, FH, FW, stride, pad in CONV_CASES:
        x = rng.standard_normal((N, C, H, W))
        cols = unfold(x, FH, FW, stride, pad)
        rows = im2col(x, FH, FW, stride, pad)
        assert cols.shape == (N, C * FH * FW, rows.shape[0] // N)
        np.testing.assert_array_equal(cols.transpose(0, 2, 1).reshape(rows.shape), rows)
        c = rng.standard_normal(cols.shape)
        lhs = np.sum(cols * c)
        rhs = np.sum(x * fold(c, x.shape, FH, FW, stride, pad))
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_unfold_and_fold_match_torch(torch, rng):
    F = torch.nn.functional
    for N, C, H, W, _, FH, FW, stride, pad in CONV_CASES:
        x = rng.standard_normal((N, C, H, W))
        cols = unfold(x, FH, FW, stride, pad)
        ref = F.unfold(torch.from_numpy(x), (FH, FW), padding=pad, stride=stride).numpy()
        np.testing.assert_allclose(cols, ref, rtol=0, atol=1e-12)
        c = rng.standard_normal(cols.shape)
        back = F.fold(torch.from_numpy(c), (H, W), (FH, FW), padding=pad, stride=stride)
        np.testing.assert_allclose(fold(c, x.shape, FH, FW, stride, pad), back.numpy(), atol=1e-12)


def test_fold_names_a_wrong_cols_shape():
    with pytest.raises(ValueError, match=r"fold: cols must have shape \(1, 9, 4\)"):
        fold(np.zeros((1, 9, 5)), (1, 1, 4, 4), 3, 3)


def test_im2col_keeps_float32(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    assert im2col(x, 3, 3, pad=1).dtype == np.float32
    assert col2im(im2col(x, 3, 3, pad=1), x.shape, 3, 3, pad=1).dtype == np.float32


def test_conv_output_size_errors_say_the_size():
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(7, 3, 2, 1) == 4
    with pytest.raises(ValueError, match=r"would be 27/2 \+ 1 = 14.5"):
        conv_output_size(28, 1, stride=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(3, 7, pad=1)


# -- Convolution --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_forward_matches_the_loop_definition(rng, case):
    x, W, b, stride, pad = _case_arrays(rng, case)
    out = Convolution(W, b, stride, pad).forward(x)
    np.testing.assert_allclose(out, loop_conv(x, W, b, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_backward_matches_numerical_gradient(rng, case):
    x, W, b, stride, pad = _case_arrays(rng, case)
    layer = Convolution(W, b, stride, pad)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    def loss():
        return np.sum(Convolution(W, b, stride, pad).forward(x) * dout)

    for name, grad, param in (("x", dx, x), ("W", layer.dW, W), ("b", layer.db, b)):
        error, where = relative_error(grad, _numeric(loss, param))
        assert error < 1e-7, f"{name}: relative error {error:.1e} at {where}"


@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_matches_torch(rng, torch, case):
    x, W, b, stride, pad = _case_arrays(rng, case)
    layer = Convolution(W, b, stride, pad)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    yt = torch.nn.functional.conv2d(xt, Wt, bt, stride=stride, padding=pad)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.db, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_convolution_float32_and_compute_dx(rng):
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    W = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    b = np.zeros(3, np.float32)
    layer = Convolution(W, b, compute_dx=False)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)) is None
    assert layer.dW.dtype == np.float32


def test_convolution_bad_input_names_the_layer_and_shapes(rng):
    layer = Convolution(np.zeros((4, 3, 5, 5)), np.zeros(4), stride=1, pad=0)
    layer.name = "Conv1"
    with pytest.raises(ValueError, match=r"Conv1: x has 1 channels, W expects 3 .*\(4, 3, 5, 5\)"):
        layer.forward(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"Conv1: x must be a batch of images .*flat rows"):
        layer.forward(np.zeros((2, 192)))
    with pytest.raises(ValueError, match=r"Conv1: .*larger than the padded input"):
        layer.forward(np.zeros((2, 3, 4, 4)))
    strided = Convolution(np.zeros((4, 3, 2, 2)), np.zeros(4), stride=2)
    with pytest.raises(ValueError, match=r"stride 2 does not divide .* would be .*4.5"):
        strided.forward(np.zeros((1, 3, 9, 9)))
    with pytest.raises(ValueError, match="W must be \\(FN, C, FH, FW\\)"):
        Convolution(np.zeros((4, 3, 5)), np.zeros(4))
    with pytest.raises(ValueError, match="stride must be an integer ≥ 1"):
        Convolution(np.zeros((4, 3, 5, 5)), np.zeros(4), stride=0)
    with pytest.raises(ValueError, match="backward called before forward"):
        Convolution(np.zeros((1, 1, 1, 1)), np.zeros(1)).backward(np.zeros((1, 1, 1, 1)))


# -- Pooling ------------------------------------------------------------------------------------

POOL_CASES = [  # (N, C, H, W, ph, pw, stride, pad)
    (1, 1, 4, 4, 2, 2, 2, 0),  # tiles: the reshape path
    (2, 3, 6, 8, 2, 2, 2, 0),
    (2, 2, 6, 6, 3, 3, 3, 0),
    (1, 2, 7, 7, 3, 3, 2, 1),  # overlapping windows and padding: the im2col path
    (2, 1, 5, 6, 2, 3, 1, 0),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_forward_matches_the_loop(rng, case):
    N, C, H, W, ph, pw, stride, pad = case
    x = rng.standard_normal((N, C, H, W))
    out = Pooling(ph, pw, stride, pad).forward(x)
    np.testing.assert_array_equal(out, loop_max_pool(x, ph, pw, stride, pad))


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_backward_matches_numerical_gradient(rng, case):
    N, C, H, W, ph, pw, stride, pad = case
    # Distinct values far apart: each max is strictly the largest, by more than h.
    x = rng.permutation(N * C * H * W).reshape(N, C, H, W) * 0.1
    layer = Pooling(ph, pw, stride, pad)
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)

    def loss():
        return np.sum(Pooling(ph, pw, stride, pad).forward(x) * dout)

    error, where = relative_error(dx, _numeric(loss, x))
    assert error < 1e-7, f"relative error {error:.1e} at {where}"


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_matches_torch(rng, torch, case):
    N, C, H, W, ph, pw, stride, pad = case
    x = rng.standard_normal((N, C, H, W))
    layer = Pooling(ph, pw, stride, pad)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, (ph, pw), stride=stride, padding=pad)
    yt.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, yt.detach().numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pooling_tie_goes_to_the_first_max():
    x = np.zeros((1, 1, 2, 2))
    layer = Pooling(2, 2, stride=2)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_pooling_float32_and_bad_input(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    layer = Pooling(2, 2, stride=2)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    layer.name = "Pool1"
    with pytest.raises(ValueError, match=r"Pool1: x must be a batch of images"):
        layer.forward(np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"Pool1: .*stride 2 does not divide.*2.5"):
        layer.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"pad .* must be smaller than the window"):
        Pooling(2, 2, stride=2, pad=2)


# -- the Tensor forms ---------------------------------------------------------------------------


def test_conv2d_and_max_pool2d_tensors_agree_with_the_layers(rng):
    x, W, b, stride, pad = _case_arrays(rng, (2, 3, 7, 7, 4, 3, 3, 2, 1))
    xt, Wt, bt = Tensor(x, name="x"), Tensor(W, name="W"), Tensor(b, name="b")
    y = max_pool2d(conv2d(xt, Wt, bt, stride, pad).relu(), 2)
    z = flatten(y)
    assert z.shape == (2, 4 * 2 * 2)
    g = rng.standard_normal(z.shape)
    z.backward(g)
    conv, pool = Convolution(W, b, stride, pad), Pooling(2, 2, stride=2)
    h = conv.forward(x)
    out = pool.forward(np.maximum(h, 0))
    np.testing.assert_array_equal(z.data, out.reshape(2, -1))
    dh = pool.backward(g.reshape(out.shape)) * (h > 0)
    dx = conv.backward(dh)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-12)
    np.testing.assert_allclose(Wt.grad, conv.dW, rtol=1e-12)
    np.testing.assert_allclose(bt.grad, conv.db, rtol=1e-12)
    assert z.creator.inputs[0].creator.name == "max_pool2d"


def test_conv2d_skips_the_gradient_of_constant_images(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    W = Tensor(rng.standard_normal((2, 1, 3, 3)))
    out = conv2d(x, W, Tensor(np.zeros(2)))
    out.sum().backward()
    assert W.grad.shape == (2, 1, 3, 3)


CHAPTER_6_7_NODES = {
    "Dropout": lambda: Dropout(),
    "BatchNormalization": lambda: BatchNormalization(np.ones(2), np.zeros(2)),
    "Convolution": lambda: Convolution(np.ones((1, 1, 1, 1)), np.zeros(1)),
    "Pooling": lambda: Pooling(1, 1),
}


@pytest.mark.parametrize("name", CHAPTER_6_7_NODES)
def test_new_nodes_backward_before_forward_and_repr(name):
    layer = CHAPTER_6_7_NODES[name]()
    with pytest.raises(ValueError, match=rf"^{name}\.backward called before forward$"):
        layer.backward(np.ones(2))
    assert repr(layer).startswith(f"{name}(")
    assert layer.label != "?" and len(layer.rules) >= 1


def _random_geometry(rng, pool: bool = False):
    """A random (N, C, H, W, FH, FW, stride, pad) whose stride divides, batch 1 included."""
    while True:
        N, C = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        FH, FW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if pool and pad >= min(FH, FW):
            continue
        H = (int(rng.integers(1, 5)) - 1) * stride + FH - 2 * pad
        W = (int(rng.integers(1, 5)) - 1) * stride + FW - 2 * pad
        if H >= 1 and W >= 1:
            return N, C, H, W, FH, FW, stride, pad


def test_convolution_random_geometries_against_loop_and_numerical_gradient(rng):
    for _ in range(8):
        N, C, H, W, FH, FW, stride, pad = _random_geometry(rng)
        x, Wt, b, stride, pad = _case_arrays(
            rng, (N, C, H, W, int(rng.integers(1, 4)), FH, FW, stride, pad)
        )
        layer = Convolution(Wt, b, stride, pad)
        out = layer.forward(x)
        np.testing.assert_allclose(out, loop_conv(x, Wt, b, stride, pad), rtol=1e-12, atol=1e-12)
        dout = rng.standard_normal(out.shape)
        dx = layer.backward(dout)

        def loss(x=x, Wt=Wt, b=b, stride=stride, pad=pad, dout=dout):
            return np.sum(Convolution(Wt, b, stride, pad).forward(x) * dout)

        for grad, param in ((dx, x), (layer.dW, Wt), (layer.db, b)):
            assert relative_error(grad, _numeric(loss, param))[0] < 1e-7, (x.shape, Wt.shape)


def test_pooling_random_geometries_against_loop_and_numerical_gradient(rng):
    for _ in range(8):
        N, C, H, W, ph, pw, stride, pad = _random_geometry(rng, pool=True)
        x = rng.permutation(N * C * H * W).reshape(N, C, H, W) * 0.1
        layer = Pooling(ph, pw, stride, pad)
        out = layer.forward(x)
        np.testing.assert_array_equal(out, loop_max_pool(x, ph, pw, stride, pad))
        dout = rng.standard_normal(out.shape)
        dx = layer.backward(dout)

        def loss(x=x, ph=ph, pw=pw, stride=stride, pad=pad, dout=dout):
            return np.sum(Pooling(ph, pw, stride, pad).forward(x) * dout)

        assert relative_error(dx, _numeric(loss, x))[0] < 1e-7, (x.shape, ph, pw, stride, pad)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_tiling_pooling_sends_dout_to_the_first_max_of_each_window(rng, size):
    # Many ties (rounded values): each window's gradient goes to np.argmax's choice, the
    # first maximum in row-major order, as the loop below finds it.
    x = np.round(rng.standard_normal((2, 3, 2 * size, 3 * size)))
    layer = Pooling(size, size, stride=size)  # windows that tile x
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    expected = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*out.shape):
        window = x[n, c, i * size : (i + 1) * size, j * size : (j + 1) * size]
        a, b = divmod(int(np.argmax(window)), size)
        expected[n, c, i * size + a, j * size + b] = dout[n, c, i, j]
        assert out[n, c, i, j] == window.max()
    np.testing.assert_array_equal(dx, expected)
    assert not np.may_share_memory(out, x)


def _argmax_pool(x, size, dout):
    """The book's rule written out: each window's max and np.argmax's position (a NaN is
    the max of its window; the first one on a tie)."""
    out = np.zeros(dout.shape)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * size : (i + 1) * size, j * size : (j + 1) * size]
        a, b = divmod(int(np.argmax(window)), size)
        out[n, c, i, j] = window[a, b]
        dx[n, c, i * size + a, j * size + b] = dout[n, c, i, j]
    return out, dx


def test_pooling_keeps_a_nan_as_argmax_does(rng):
    # A NaN anywhere in a window is that window's max, as for np.argmax, the book's
    # Pooling and torch's max_pool2d; never silently dropped by the tiling path.
    x = rng.standard_normal((2, 2, 4, 6))
    x[0, 0, 1, 0] = x[1, 1, 2, 5] = np.nan
    layer = Pooling(2, 2, stride=2)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    expected_out, expected_dx = _argmax_pool(x, 2, dout)
    np.testing.assert_array_equal(out, expected_out)  # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(layer.backward(dout), expected_dx)


def test_tiling_pooling_backward_keeps_an_infinite_dout_where_it_belongs():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    layer = Pooling(2, 2, stride=2)
    dout = np.ones((1, 1, 2, 2))
    dout[0, 0, 0, 0] = np.inf
    layer.forward(x)
    with np.errstate(all="raise"):  # no inf · 0
        dx = layer.backward(dout)
    assert dx[0, 0, 1, 1] == np.inf
    assert np.count_nonzero(dx) == 4 and np.isfinite(dx).sum() == 15


def test_pooling_windows_wider_than_127(rng):
    x = rng.standard_normal((1, 1, 130, 260))
    layer = Pooling(130, 130, stride=130)
    out = layer.forward(x)
    dout = np.array([[[[1.0, 2.0]]]])
    _, expected_dx = _argmax_pool(x, 130, dout)
    np.testing.assert_array_equal(out[0, 0, 0], [x[0, 0, :, :130].max(), x[0, 0, :, 130:].max()])
    np.testing.assert_array_equal(layer.backward(dout), expected_dx)


def test_pooling_integer_images_with_padding_lose_no_gradient():
    # uint8 cannot hold the −∞ padding: the layer pools in floating point, so a real 0 is
    # never beaten by (or tied with) the padding.
    x = np.array([[[[0, 1, 2], [3, 0, 4], [5, 6, 0]]]], np.uint8)
    layer = Pooling(2, 2, stride=1, pad=1)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, loop_max_pool(x.astype(float), 2, 2, 1, 1))
    assert layer.backward(np.ones(out.shape)).sum() == out.size
    with pytest.raises(ValueError, match=r"im2col: pad_value -inf cannot be stored.*uint8"):
        im2col(x, 2, 2, 1, 1, pad_value=-np.inf)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: conv_output_size(5, 3, 0), "conv_output_size: stride must be an integer ≥ 1"),
        (lambda: conv_output_size(5.0, 3), "input_size must be an integer ≥ 1, got 5.0"),
        (lambda: conv_output_size(5, 3, 1, -1), "pad must be an integer ≥ 0"),
        (lambda: fold(np.zeros((1, 4, 4)), (1, 1, 2.5, 3), 2, 2), r"input_shape\[2\]"),
        (lambda: col2im(np.zeros((4, 4)), (1, 1, 3), 2, 2), "input_shape must be"),
        (
            lambda: Convolution(np.ones((0, 3, 3, 3)), np.zeros(0)),
            r"at least one filter.*W.shape=\(0, 3, 3, 3\)",
        ),
        (lambda: Convolution(np.ones((2, 1, 0, 3)), np.zeros(2)), "at least one filter"),
        (
            lambda: Convolution(np.ones((1, 1, 2, 2)), np.zeros(1)).forward(np.ones((1, 1, 0, 4))),
            r"Convolution: x.shape=\(1, 1, 0, 4\)",
        ),
    ],
)
def test_sizes_that_are_not_positive_integers_are_refused(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_backward_refuses_a_dout_that_is_not_real_numbers(rng):
    conv = Convolution(rng.standard_normal((2, 1, 2, 2)), np.zeros(2))
    pool = Pooling(2, 2, stride=2)
    for layer in (conv, pool):
        out = layer.forward(rng.standard_normal((1, 1, 4, 4)))
        for bad in (out.astype(complex), out.astype(object)):
            with pytest.raises(TypeError, match=r"backward: dout must be real numbers"):
                layer.backward(bad)
    with pytest.raises(TypeError, match="compute_dx must be True or False"):
        Convolution(np.ones((1, 1, 2, 2)), np.zeros(1), compute_dx="no")
