"""backprop.layers: every node's backward against numerical_gradient, in-place safety, dtypes,
the book's apple examples and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from backprop import layers
from backprop.functions import softmax, softmax_cross_entropy
from backprop.gradient import gradient_check, numerical_gradient, relative_error
from backprop.layers import (
    AddLayer,
    Affine,
    Div,
    Exp,
    Log,
    MatMul,
    Mean,
    MeanSquaredErrorLoss,
    MulLayer,
    Neg,
    Pow,
    Relu,
    Reshape,
    Sigmoid,
    SoftmaxWithLoss,
    Sub,
    Sum,
    Tanh,
    Transpose,
)

# -- random inputs, kept away from the places where a derivative jumps or explodes -----------


def _sign(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def off_kink(rng, shape):
    """Values with |x| in [0.5, 2]: a step of 1e-4 never crosses ReLU's kink at 0, and the
    central difference's own error (h² f‴/6) stays far below the tolerance for x³ and 1/x."""
    return _sign(rng, shape) * rng.uniform(0.5, 2.0, size=shape)


def far_from_zero(rng, shape):
    """Values with |x| in [1, 2], for a divisor."""
    return _sign(rng, shape) * rng.uniform(1.0, 2.0, size=shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _dims(rng, k):
    return tuple(int(d) for d in rng.integers(1, 5, size=k))


# Each case: name -> make(rng, n) giving (layer, inputs); n is the batch size.
def _affine(rng, n):
    (d, m) = _dims(rng, 2)
    return Affine(rng.standard_normal((d, m)), rng.standard_normal(m)), [
        rng.standard_normal((n, d))
    ]


def _affine_images(rng, n):
    c, h, w = _dims(rng, 3)
    m = int(rng.integers(1, 5))
    W = rng.standard_normal((c * h * w, m))
    return Affine(W, rng.standard_normal(m)), [rng.standard_normal((n, c, h, w))]


def _softmax_labels(rng, n):
    c = int(rng.integers(2, 6))
    return SoftmaxWithLoss(), [rng.standard_normal((n, c)), rng.integers(0, c, size=n)]


def _softmax_one_hot(rng, n):
    c = int(rng.integers(2, 6))
    return SoftmaxWithLoss(), [rng.standard_normal((n, c)), np.eye(c)[rng.integers(0, c, size=n)]]


def _softmax_soft_targets(rng, n):
    # Soft (N, C) targets whose rows do not sum to 1: the gradient is (y·Σt − t)/N.
    c = int(rng.integers(2, 6))
    return SoftmaxWithLoss(), [rng.standard_normal((n, c)), rng.uniform(0.1, 1.0, (n, c))]


def _softmax_one_sample(rng, n):
    c = int(rng.integers(2, 6))
    return SoftmaxWithLoss(), [rng.standard_normal(c), rng.integers(0, c)]


def _mse(rng, n):
    shape = (n, *_dims(rng, 1))
    y = rng.standard_normal(shape)
    # |y − t| ≥ 0.5: no gradient element so small that the rounding error of the loss, divided
    # by the step h, is a noticeable fraction of it
    return MeanSquaredErrorLoss(), [y, y + off_kink(rng, shape)]


def _binary(layer_class, second=None, sample=off_kink):
    def make(rng, n):
        shape = (n, *_dims(rng, 1))
        y_shape = shape if second is None else second(shape)
        return layer_class(), [rng.standard_normal(shape), sample(rng, y_shape)]

    return make


def _unary(layer, sample=None):
    def make(rng, n):
        shape = (n, *_dims(rng, 2))
        return layer(), [(sample or off_kink)(rng, shape)]

    return make


def _matmul(x_ndim, w_ndim):
    def make(rng, n):
        d, m = _dims(rng, 2)
        x = rng.standard_normal((n, d) if x_ndim == 2 else (d,))
        W = rng.standard_normal((d, m) if w_ndim == 2 else (d,))
        return MatMul(), [x, W]

    return make


CASES = {
    "AddLayer": _binary(AddLayer),
    "AddLayer-broadcast": _binary(AddLayer, lambda shape: shape[1:]),
    "MulLayer": _binary(MulLayer),
    "MulLayer-broadcast": _binary(MulLayer, lambda shape: (1, shape[1])),
    "Sub": _binary(Sub),
    "Sub-broadcast": _binary(Sub, lambda shape: shape[1:]),
    "Div": _binary(Div, sample=far_from_zero),
    "Div-broadcast": _binary(Div, lambda shape: (shape[0], 1), sample=far_from_zero),
    "Neg": _unary(Neg),
    "Pow-3": _unary(lambda: Pow(3)),
    "Pow-0.5": _unary(lambda: Pow(0.5), positive),
    "Exp": _unary(Exp),
    "Log": _unary(Log, positive),
    "Tanh": _unary(Tanh),
    "Relu": _unary(Relu),
    "Sigmoid": _unary(Sigmoid),
    "Sum": _unary(Sum),
    "Sum-axis": _unary(lambda: Sum(axis=1)),
    "Sum-keepdims": _unary(lambda: Sum(axis=(0, 2), keepdims=True)),
    "Mean": _unary(Mean),
    "Mean-axis": _unary(lambda: Mean(axis=-1)),
    "Reshape": _unary(lambda: Reshape(-1)),
    "Transpose": _unary(Transpose),
    "Transpose-axes": _unary(lambda: Transpose((1, 2, 0))),
    "MatMul": _matmul(2, 2),
    "MatMul-vector-W": _matmul(2, 1),
    "MatMul-vector-x": _matmul(1, 2),
    "Affine": _affine,
    "Affine-images": _affine_images,
    "Affine-no-bias": lambda rng, n: (
        Affine(rng.standard_normal((4, 3)), None),
        [rng.standard_normal((n, 4))],
    ),
    "SoftmaxWithLoss-labels": _softmax_labels,
    "SoftmaxWithLoss-one-hot": _softmax_one_hot,
    "SoftmaxWithLoss-soft-targets": _softmax_soft_targets,
    "SoftmaxWithLoss-one-sample": _softmax_one_sample,
    "MeanSquaredErrorLoss": _mse,
}
# The issue's ≤ 1e-8 for the losses with labels or one-hot targets; soft targets make a larger
# loss, whose central difference carries more error: they get the general 1e-7.
LOSS_CASES = {name for name in CASES if "Loss" in name and "soft" not in name}


def _batch_sizes():
    return [pytest.param(1, id="batch1"), pytest.param(None, id="batchN")]


def _make(rng, name, n):
    return CASES[name](rng, int(rng.integers(2, 6)) if n is None else n)


def _param_names(layer):
    return list(getattr(layer, "params", {}))


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def _differentiated_inputs(inputs, grads):
    """Indices of the float inputs that backward returns a gradient for (not a loss's t)."""
    return [i for i, v in enumerate(inputs) if np.asarray(v).dtype.kind == "f" and i < len(grads)]


# -- backward against numerical_gradient -------------------------------------------------------


@pytest.mark.parametrize("n", _batch_sizes())
@pytest.mark.parametrize("name", CASES)
def test_backward_matches_numerical_gradient(rng, name, n):
    layer, inputs = _make(rng, name, n)
    out = layer.forward(*inputs)
    dout = rng.standard_normal(np.shape(out))  # random: a backward that ignores dout fails
    grads = _as_tuple(layer.backward(dout))
    param_grads = {k: np.copy(layer.grads[k]) for k in _param_names(layer)}

    def f(_):
        return float(np.sum(np.asarray(layer.forward(*inputs)) * dout))

    checked = []
    for i in _differentiated_inputs(inputs, grads):
        checked.append((f"input {i}", grads[i], numerical_gradient(f, inputs[i])))
    for key in _param_names(layer):
        checked.append((key, param_grads[key], numerical_gradient(f, layer.params[key])))
    assert checked
    tol = 1e-8 if name in LOSS_CASES else 1e-7
    for what, analytic, numeric in checked:
        assert np.shape(analytic) == np.shape(numeric), what
        assert np.asarray(analytic).dtype == np.float64, what
        error, index = relative_error(analytic, numeric)
        assert error <= tol, f"{name} {what}: max relative error {error:.2e} at {index}"


@pytest.mark.parametrize("name", CASES)
def test_gradient_check_passes_on_every_node(rng, name):
    layer, inputs = _make(rng, name, None)
    report = gradient_check(layer, *inputs, rng=rng)
    tol = 1e-8 if name in LOSS_CASES else 1e-7
    assert report.passed, str(report)
    assert max(row.max_rel_error for row in report.rows) <= tol


# -- nothing is modified in place --------------------------------------------------------------


def _cached_arrays(layer):
    return {
        key: value.copy()
        for key, value in vars(layer).items()
        if isinstance(value, np.ndarray) and key not in ("dW", "db", "dt")
    }


@pytest.mark.parametrize("name", CASES)
def test_forward_and_backward_modify_nothing_in_place(rng, name):
    layer, inputs = _make(rng, name, None)
    inputs = [np.asarray(v) for v in inputs]
    originals = [v.copy() for v in inputs]
    for v in inputs:
        v.flags.writeable = False  # any write into an input raises
    out = layer.forward(*inputs)
    cache = _cached_arrays(layer)
    dout = rng.standard_normal(np.shape(out))
    dout_copy = dout.copy()
    dout.flags.writeable = False  # any write into dout raises
    first = [None if g is None else np.copy(g) for g in _as_tuple(layer.backward(dout))]
    second = _as_tuple(layer.backward(dout))

    np.testing.assert_array_equal(dout, dout_copy)
    for value, original in zip(inputs, originals, strict=True):
        np.testing.assert_array_equal(value, original)
    for key, value in _cached_arrays(layer).items():
        np.testing.assert_array_equal(value, cache[key], err_msg=key)
    for g1, g2 in zip(first, second, strict=True):  # a second backward gives the same result
        np.testing.assert_array_equal(g1, g2)
    # no gradient is a view of an input or of the cache, where a caller could corrupt them
    for g in second:
        for other in [*inputs, *(v for v in vars(layer).values() if isinstance(v, np.ndarray))]:
            if g is not None and other is not getattr(layer, "dW", None):
                if other is not getattr(layer, "db", None):
                    assert not np.shares_memory(g, other)


def test_relu_backward_does_not_zero_the_callers_dout():
    # The book's Relu.backward does dout[self.mask] = 0, changing the caller's array.
    relu = Relu()
    relu.forward(np.array([[-1.0, 2.0], [3.0, -4.0]]))
    dout = np.array([[5.0, 6.0], [7.0, 8.0]])
    dx = relu.backward(dout)
    np.testing.assert_array_equal(dout, [[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(dx, [[0.0, 6.0], [7.0, 0.0]])
    assert not np.shares_memory(dx, dout)


def test_softmax_with_loss_backward_keeps_its_softmax(rng):
    layer = SoftmaxWithLoss()
    layer.forward(rng.standard_normal((3, 4)), np.array([0, 1, 2]))
    y = layer.y.copy()
    dx = layer.backward()
    assert not np.shares_memory(dx, layer.y)
    np.testing.assert_array_equal(layer.y, y)
    np.testing.assert_array_equal(layer.backward(), dx)


# -- dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_float32_in_float32_out(rng, name):
    layer, inputs = _make(rng, name, None)
    inputs = [v.astype(np.float32) if np.asarray(v).dtype.kind == "f" else v for v in inputs]
    if name.startswith("SoftmaxWithLoss-one-hot"):
        inputs[1] = inputs[1].astype(np.float64)  # float64 one-hot must not leak into dx
    for key in _param_names(layer):
        setattr(layer, key, layer.params[key].astype(np.float32))
    out = layer.forward(*inputs)
    assert np.asarray(out).dtype == np.float32
    dout = rng.standard_normal(np.shape(out)).astype(np.float32)
    grads = _as_tuple(layer.backward(dout))
    for i in _differentiated_inputs(inputs, grads):
        assert grads[i].dtype == np.float32, f"gradient of input {i}"
    for key in _param_names(layer):
        assert layer.grads[key].dtype == np.float32, key


def test_affine_computes_in_its_parameters_dtype(rng):
    W = rng.standard_normal((4, 3)).astype(np.float32)
    layer = Affine(W, np.zeros(3, dtype=np.float32))
    out = layer.forward(rng.standard_normal((2, 4)))  # float64 x
    assert out.dtype == np.float32
    pixels = rng.integers(0, 256, size=(2, 4), dtype=np.uint8)
    out = layer.forward(pixels)
    np.testing.assert_allclose(out, pixels.astype(np.float32) @ W, rtol=1e-6)


# -- the book's examples (5.4) -----------------------------------------------------------------


def test_buy_apple():
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)
    dapple_price, dtax = mul_tax_layer.backward(1)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    assert price == pytest.approx(220, rel=1e-15)
    assert dapple == pytest.approx(2.2, rel=1e-15)
    assert dapple_num == pytest.approx(110, rel=1e-15)
    assert dtax == 200


def test_buy_apple_orange():
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)
    dall_price, dtax = mul_tax_layer.backward(1)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    assert price == pytest.approx(715, rel=1e-15)
    assert dapple_num == pytest.approx(110, rel=1e-15)
    assert dapple == pytest.approx(2.2, rel=1e-15)
    assert dorange == pytest.approx(3.3, rel=1e-15)
    assert dorange_num == pytest.approx(165, rel=1e-15)
    assert dtax == 650


def test_add_node_passes_dout_unchanged_and_mul_node_swaps(rng):
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(3)
    add, mul = AddLayer(), MulLayer()
    np.testing.assert_array_equal(add.forward(x, y), x + y)
    for d in add.backward(dout):
        np.testing.assert_array_equal(d, dout)
    np.testing.assert_array_equal(mul.forward(x, y), x * y)
    dx, dy = mul.backward(dout)
    np.testing.assert_array_equal(dx, dout * y)
    np.testing.assert_array_equal(dy, dout * x)


# -- layer specifics ---------------------------------------------------------------------------


def test_relu_kink_has_derivative_zero():
    relu = Relu()
    np.testing.assert_array_equal(relu.forward(np.array([-1.0, 0.0, 1.0])), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(relu.backward(np.ones(3)), [0.0, 0.0, 1.0])


def test_sigmoid_backward_is_y_times_one_minus_y(rng):
    x = rng.standard_normal(5)
    layer = Sigmoid()
    y = layer.forward(x)
    np.testing.assert_allclose(layer.backward(np.ones(5)), y * (1 - y), rtol=1e-15)


def test_affine_restores_the_input_shape_and_keeps_the_params(rng):
    W, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    layer = Affine(W, b)
    assert layer.W is W and layer.b is b  # an optimizer updating params updates the layer
    x = rng.standard_normal((2, 3, 2, 2))
    out = layer.forward(x)
    np.testing.assert_allclose(out, x.reshape(2, 12) @ W + b, rtol=1e-14)
    dx = layer.backward(np.ones((2, 5)))
    assert dx.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(layer.db, [2.0] * 5)
    np.testing.assert_allclose(layer.dW, x.reshape(2, 12).T @ np.ones((2, 5)), rtol=1e-14)


def test_affine_without_dx(rng):
    layer = Affine(rng.standard_normal((3, 2)), np.zeros(2), compute_dx=False)
    layer.forward(rng.standard_normal((4, 3)))
    assert layer.backward(np.ones((4, 2))) is None
    assert layer.dW.shape == (3, 2) and layer.db.shape == (2,)


def test_affine_without_bias_is_torch_linear_without_bias(rng, torch):
    W = rng.standard_normal((4, 3))
    layer = Affine(W, b=None)
    assert layer.params == {"W": W} and list(layer.grads) == ["W"]
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    tx = torch.tensor(x, requires_grad=True)
    linear = torch.nn.Linear(4, 3, bias=False, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(W.T))
    out = linear(tx)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=1e-12, atol=1e-14)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.dW, linear.weight.grad.numpy().T, rtol=1e-12, atol=1e-14)
    assert layer.db is None
    assert repr(layer) == "Affine(W=(4, 3), b=None, dtype=float64)"


def test_softmax_with_loss_values(rng):
    x = rng.standard_normal((4, 3))
    t = np.array([2, 0, 1, 1])
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert loss == pytest.approx(softmax_cross_entropy(x, t), rel=1e-14)
    dx = layer.backward()
    np.testing.assert_allclose(dx, (softmax(x) - np.eye(3)[t]) / 4, rtol=1e-12, atol=1e-16)
    one_hot = SoftmaxWithLoss()
    assert one_hot.forward(x, np.eye(3)[t]) == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(one_hot.backward(), dx, rtol=1e-14, atol=1e-17)


def test_softmax_with_loss_uses_dout(rng):
    layer = SoftmaxWithLoss()
    layer.forward(rng.standard_normal((2, 3)), np.array([0, 2]))
    np.testing.assert_allclose(layer.backward(2.5), 2.5 * layer.backward(1), rtol=1e-15)
    np.testing.assert_allclose(layer.backward(np.array(-1.0)), -layer.backward(), rtol=1e-15)


def test_softmax_with_loss_single_sample(rng):
    x = rng.standard_normal(4)
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, 3)
    assert loss == pytest.approx(-np.log(softmax(x)[3]), rel=1e-14)
    dx = layer.backward()
    assert dx.shape == (4,)
    np.testing.assert_allclose(dx, softmax(x) - np.eye(4)[3], rtol=1e-14, atol=1e-16)
    assert layer.forward(x, np.eye(4)[3]) == loss
    assert layer.forward(x, np.array([3])) == loss


def test_softmax_with_loss_huge_logits_exact_and_silent():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    layer = SoftmaxWithLoss()
    with np.errstate(all="raise"):
        loss = layer.forward(x, np.array([1, 1]))
        dx = layer.backward()
        loss32 = SoftmaxWithLoss().forward(x.astype(np.float32), np.array([1, 1]))
    assert loss == 1e4  # (2e4 + 0) / 2, exactly: no 1e-7 floor in a log
    np.testing.assert_array_equal(dx, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])
    assert loss32 == np.float32(1e4)


def test_sigmoid_layer_huge_inputs_silent():
    layer = Sigmoid()
    with np.errstate(all="raise"):
        out = layer.forward(np.array([-1000.0, 1000.0]))
        dx = layer.backward(np.ones(2))
    np.testing.assert_array_equal(out, [0.0, 1.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0])


def test_mean_squared_error_loss(rng):
    y, t = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    layer = MeanSquaredErrorLoss()
    assert layer.forward(y, t) == pytest.approx(0.5 * np.sum((y - t) ** 2), rel=1e-14)
    np.testing.assert_allclose(layer.backward(), y - t, rtol=1e-15)
    np.testing.assert_allclose(layer.backward(3.0), 3 * (y - t), rtol=1e-15)


# -- bad input ---------------------------------------------------------------------------------

CONSTRUCTORS = {
    "AddLayer": AddLayer,
    "MulLayer": MulLayer,
    "Sub": Sub,
    "Div": Div,
    "Neg": Neg,
    "Pow": lambda: Pow(2),
    "MatMul": MatMul,
    "Exp": Exp,
    "Log": Log,
    "Tanh": Tanh,
    "Relu": Relu,
    "Sigmoid": Sigmoid,
    "Sum": Sum,
    "Mean": Mean,
    "Reshape": lambda: Reshape((2,)),
    "Transpose": Transpose,
    "Affine": lambda: Affine(np.ones((2, 2)), np.zeros(2)),
    "SoftmaxWithLoss": SoftmaxWithLoss,
    "MeanSquaredErrorLoss": MeanSquaredErrorLoss,
}


def test_every_node_class_is_covered_here():
    node_classes = {name for name in layers.__all__ if name != "Layer"}
    assert node_classes == set(CONSTRUCTORS)


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_backward_before_forward(name):
    layer = CONSTRUCTORS[name]()
    with pytest.raises(ValueError, match=rf"^{name}\.backward called before forward$"):
        layer.backward(np.ones(2))


def test_backward_before_forward_names_the_layer_in_a_network():
    layer = Affine(np.ones((2, 2)), np.zeros(2))
    layer.name = "Affine2"
    with pytest.raises(ValueError, match=r"^Affine2\.backward called before forward$"):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_every_node_has_a_repr(name):
    text = repr(CONSTRUCTORS[name]())
    assert text.startswith(name)
    assert "object at 0x" not in text


def test_affine_feature_mismatch_names_the_layer_and_both_shapes():
    layer = Affine(np.zeros((784, 50)), np.zeros(50))
    layer.name = "Affine1"
    with pytest.raises(
        ValueError,
        match=r"^Affine1: x has 783 features, W expects 784 "
        r"\(x.shape=\(100, 783\), W.shape=\(784, 50\)\)$",
    ):
        layer.forward(np.zeros((100, 783)))
    with pytest.raises(ValueError, match=r"Affine1: x has 3 features, W expects 784"):
        layer.forward(np.zeros((2, 1, 3)))


def test_affine_needs_a_batch():
    layer = Affine(np.zeros((4, 2)), np.zeros(2))
    with pytest.raises(
        ValueError,
        match=r"Affine: x must be a batch of shape \(N, 4\), got x.shape=\(4,\) "
        r"\(W.shape=\(4, 2\)\); a single sample is x.reshape\(1, -1\)",
    ):
        layer.forward(np.zeros(4))


def test_affine_bad_parameters():
    with pytest.raises(
        ValueError, match=r"W must be 2-D \(D, M\) .* W.shape=\(3, 2\), b.shape=\(3,\)"
    ):
        Affine(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"W.shape=\(3,\), b.shape=\(3,\)"):
        Affine(np.zeros(3), np.zeros(3))
    # integer weights would silently truncate float inputs to integers
    with pytest.raises(
        TypeError,
        match=r"W and b must be floating-point arrays, got W.dtype=int64, b.dtype=float64",
    ):
        Affine(np.ones((2, 2), dtype=np.int64), np.zeros(2))


@pytest.mark.parametrize(
    ("layer", "x", "out_shape"),
    [
        (Relu(), np.ones((2, 3)), (2, 3)),
        (Sigmoid(), np.ones((2, 3)), (2, 3)),
        (Affine(np.ones((3, 4)), np.zeros(4)), np.ones((2, 3)), (2, 4)),
    ],
    ids=["Relu", "Sigmoid", "Affine"],
)
def test_dout_of_the_wrong_shape(layer, x, out_shape):
    layer.forward(x)
    name = type(layer).__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}\.backward: dout must have the output's shape "
        rf"\({out_shape[0]}, {out_shape[1]}\), got dout.shape=\(3, 2\)$",
    ):
        layer.backward(np.ones((3, 2)))


@pytest.mark.parametrize("layer_class", [AddLayer, MulLayer])
def test_arithmetic_nodes_shape_errors(layer_class):
    layer = layer_class()
    name = layer_class.__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}: x and y do not broadcast together \(x.shape=\(2,\), y.shape=\(3,\)\)$",
    ):
        layer.forward(np.ones(2), np.ones(3))
    layer.forward(np.ones((2, 3)), np.ones(3))
    with pytest.raises(
        ValueError,
        match=rf"^{name}\.backward: dout must have the output's shape \(2, 3\), "
        r"got dout.shape=\(3,\)$",
    ):
        layer.backward(np.ones(3))


def test_softmax_with_loss_target_shape_mismatch():
    layer = SoftmaxWithLoss()
    with pytest.raises(
        ValueError,
        match=r"SoftmaxWithLoss: targets t must be labels of shape \(2,\) or one-hot of shape "
        r"\(2, 3\) for outputs of shape \(2, 3\), got t.shape=\(3,\)",
    ):
        layer.forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"got t.shape=\(2, 10\)"):
        layer.forward(np.zeros(10), np.zeros((2, 10)))


def test_softmax_with_loss_labels_outside_the_classes():
    with pytest.raises(
        ValueError, match=r"SoftmaxWithLoss: labels must be in \[0, 3\) for 3 classes, got \[3\]"
    ):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\) for 3 classes, got \[-1\]"):
        SoftmaxWithLoss().forward(np.zeros(3), -1)


def test_softmax_with_loss_non_finite_scores():
    x = np.array([[np.nan, 0.0, 1.0], [np.inf, -np.inf, 0.0]])
    with pytest.raises(
        ValueError,
        match=r"SoftmaxWithLoss: the scores x contain 1 NaN and 2 infinite values "
        r"\(x.shape=\(2, 3\)\); the network has diverged",
    ):
        SoftmaxWithLoss().forward(x, np.array([0, 1]))


def test_softmax_with_loss_non_finite_one_hot():
    t = np.array([[0.0, np.nan, 1.0]])
    with pytest.raises(
        ValueError, match=r"SoftmaxWithLoss: the one-hot targets t contain NaN or infinite"
    ):
        SoftmaxWithLoss().forward(np.zeros((1, 3)), t)


def test_softmax_with_loss_bad_scores_shape():
    with pytest.raises(ValueError, match=r"x must be scores of shape \(N, C\) .* x.shape=\(0, 3\)"):
        SoftmaxWithLoss().forward(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"got x.shape=\(2, 3, 4\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 3, 4)), np.zeros(2, dtype=int))


def test_softmax_with_loss_non_integer_labels():
    with pytest.raises(TypeError, match=r"SoftmaxWithLoss: label targets must be integers"):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0.5, 1.0]))


@pytest.mark.parametrize("layer_class", [SoftmaxWithLoss, MeanSquaredErrorLoss])
def test_loss_layer_dout_must_be_a_scalar(layer_class):
    layer = layer_class()
    layer.forward(
        np.zeros((2, 3)), np.array([0, 1]) if layer_class is SoftmaxWithLoss else np.zeros((2, 3))
    )
    with pytest.raises(
        ValueError,
        match=rf"{layer_class.__name__}\.backward: dout must have the output's shape \(\), "
        r"got dout.shape=\(2,\)",
    ):
        layer.backward(np.ones(2))


def test_mean_squared_error_loss_bad_input():
    layer = MeanSquaredErrorLoss()
    with pytest.raises(
        ValueError,
        match=r"MeanSquaredErrorLoss: t must have the shape of y, got y.shape=\(2, 3\), "
        r"t.shape=\(3, 2\)",
    ):
        layer.forward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"MeanSquaredErrorLoss: y contains non-finite values"):
        layer.forward(np.array([np.inf, 0.0]), np.zeros(2))
    with pytest.raises(ValueError, match=r"MeanSquaredErrorLoss: t contains non-finite values"):
        layer.forward(np.zeros(2), np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match=r"MeanSquaredErrorLoss: t must be numeric"):
        layer.forward(np.zeros(2), np.array(["a", "b"]))


def test_other_node_errors():
    with pytest.raises(ValueError, match=r"Log: x must be positive, got min\(x\)=0$"):
        Log().forward(np.array([1.0, 0.0]))
    with pytest.raises(
        ValueError, match=r"Reshape: cannot reshape an array of shape \(2, 3\) \(6 elements\)"
    ):
        Reshape((4,)).forward(np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"MatMul: cannot multiply x of shape \(2, 3\) by W of shape \(2, 3\)"
    ):
        MatMul().forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"Pow: the exponent must be a number, got 'a'"):
        Pow("a")


def test_arithmetic_nodes_take_lists_as_arrays():
    np.testing.assert_array_equal(AddLayer().forward([1, 2], [3, 4]), [4, 6])
    np.testing.assert_array_equal(MulLayer().forward([1, 2], 3), [3, 6])
    np.testing.assert_array_equal(Sub().forward([1, 2], [3, 4]), [-2, -2])
    np.testing.assert_array_equal(Div().forward([1, 2], [4, 4]), [0.25, 0.5])


@pytest.mark.parametrize(
    ("layer", "x"),
    [
        (Neg(), np.ones(3)),
        (Pow(2), np.ones(3)),
        (Exp(), np.ones(3)),
        (Log(), np.ones(3)),
        (Tanh(), np.ones(3)),
        (Sum(axis=0), np.ones((3, 2))),
        (Mean(axis=0), np.ones((3, 2))),
        (Reshape((3, 1)), np.ones(3)),
        (Transpose(), np.ones((3, 1))),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, np.ndarray) else str(v.shape),
)
def test_backward_rejects_a_dout_of_the_wrong_shape(layer, x):
    out = layer.forward(x)
    wrong = np.ones((*np.shape(out), 2))
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}\.backward: dout must have"):
        layer.backward(wrong)


def test_pow_with_a_numpy_scalar_exponent_keeps_float32():
    x = np.ones(3, dtype=np.float32)
    layer = Pow(np.float64(2))
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones(3, np.float32)).dtype == np.float32


# Chapters 6 and 7 (their own tests: test_conv.py, test_dropout_batchnorm.py)
CONSTRUCTORS.update(
    {
        "Dropout": layers.Dropout,
        "BatchNormalization": lambda: layers.BatchNormalization(np.ones(2), np.zeros(2)),
        "Convolution": lambda: layers.Convolution(np.ones((1, 1, 1, 1)), np.zeros(1)),
        "Pooling": lambda: layers.Pooling(1, 1),
    }
)
