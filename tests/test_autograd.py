"""Tests of backprop.autograd: every op against numerical_gradient, graph shapes, the engine."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from backprop import layers
from backprop.autograd import (
    Function,
    Tensor,
    affine,
    as_tensor,
    backward_order,
    exp,
    is_grad_enabled,
    log,
    matmul,
    mean,
    mean_squared_error,
    no_grad,
    power,
    relu,
    reshape,
    sigmoid,
    softmax_cross_entropy,
    sum_,
    tanh,
    transpose,
)
from backprop.autograd.networks import TensorMultiLayerNet, TensorTwoLayerNet
from backprop.gradient import gradient_check, numerical_gradient, relative_error
from backprop.networks import MultiLayerNet, TwoLayerNet


def check_gradients(fn, *arrays, rng, tol=1e-6):
    """Backward through ``fn`` with a random upstream gradient vs the central difference."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a.copy(), name=f"a{i}") for i, a in enumerate(arrays)]
    out = fn(*tensors)
    dout = rng.standard_normal(out.shape)
    out.backward(dout)

    def f(_):
        with no_grad():
            return float(np.sum(fn(*[Tensor(a) for a in arrays]).data * dout))

    for array, tensor in zip(arrays, tensors, strict=True):
        numeric = numerical_gradient(f, array)
        assert tensor.grad is not None
        assert tensor.grad.shape == array.shape
        assert tensor.grad.dtype == np.float64
        error, where = relative_error(tensor.grad, numeric)
        assert error < tol, f"relative error {error:.2e} at {where}"


def away_from_zero(rng, shape, low=0.2, high=1.5):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


# ---------------------------------------------------------------------------------------------
# Every op against numerical_gradient, float64, random shapes, broadcasting pairs
# ---------------------------------------------------------------------------------------------

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
}
SHAPES = ["scalar", "(n,)", "(1,n)", "(m,n)"]


def _shape(kind, m, n):
    return {"scalar": (), "(n,)": (n,), "(1,n)": (1, n), "(m,n)": (m, n)}[kind]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("left", SHAPES)
@pytest.mark.parametrize("right", SHAPES)
def test_binary_op_gradients_with_broadcasting(op, left, right, rng):
    m, n = rng.integers(2, 5, size=2)
    x = away_from_zero(rng, _shape(left, m, n))
    y = away_from_zero(rng, _shape(right, m, n))
    check_gradients(BINARY[op], x, y, rng=rng)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: 2.5 + x,
        lambda x: x + 2.5,
        lambda x: 3.0 - x,
        lambda x: x - 3.0,
        lambda x: 1.5 * x,
        lambda x: 2.0 / x,
        lambda x: x / 4.0,
        lambda x: np.full((3, 4), 0.5) * x,
        lambda x: x - np.arange(4.0),
        lambda x: np.arange(1.0, 5.0) / x,
    ],
)
def test_numbers_and_arrays_mix_on_either_side(fn, rng):
    check_gradients(fn, away_from_zero(rng, (3, 4)), rng=rng)


UNARY = {
    "neg": (lambda x: -x, "any"),
    "pow2": (lambda x: x**2, "any"),
    "pow3": (lambda x: power(x, 3), "any"),
    "pow_half": (lambda x: x**0.5, "positive"),
    "pow_minus1": (lambda x: x**-1, "any"),
    "exp": (exp, "any"),
    "exp_method": (lambda x: x.exp(), "any"),
    "log": (log, "positive"),
    "tanh": (tanh, "any"),
    "relu": (relu, "any"),
    "sigmoid": (sigmoid, "any"),
    "sum": (sum_, "any"),
    "sum_axis0": (lambda x: x.sum(axis=0), "any"),
    "sum_axis1_keepdims": (lambda x: x.sum(axis=1, keepdims=True), "any"),
    "sum_negative_axis": (lambda x: x.sum(axis=-1), "any"),
    "sum_axes": (lambda x: sum_(x, axis=(0, 1)), "any"),
    "mean": (mean, "any"),
    "mean_axis0": (lambda x: x.mean(axis=0), "any"),
    "mean_axis1_keepdims": (lambda x: mean(x, axis=1, keepdims=True), "any"),
    "reshape": (lambda x: reshape(x, (-1,)), "any"),
    "reshape_args": (lambda x: x.reshape(x.shape[1], x.shape[0]) * 1.0, "any"),
    "transpose": (transpose, "any"),
    "T": (lambda x: x.T, "any"),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_gradients(name, rng):
    fn, domain = UNARY[name]
    shape = tuple(rng.integers(2, 5, size=2))
    x = away_from_zero(rng, shape) if domain == "any" else rng.uniform(0.3, 2.0, shape)
    check_gradients(fn, x, rng=rng)


@pytest.mark.parametrize("name", ["neg", "pow2", "exp", "log", "tanh", "relu", "sigmoid", "sum"])
def test_unary_ops_on_scalars(name, rng):
    fn, _ = UNARY[name]
    check_gradients(fn, rng.uniform(0.3, 2.0), rng=rng)


def test_transpose_with_axes(rng):
    check_gradients(lambda x: x.transpose(2, 0, 1), rng.standard_normal((2, 3, 4)), rng=rng)
    check_gradients(lambda x: transpose(x, (1, 2, 0)), rng.standard_normal((2, 3, 4)), rng=rng)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,))])
def test_matmul_gradients(shapes, rng):
    x, W = (rng.standard_normal(s) for s in shapes)
    check_gradients(lambda a, b: a @ b, x, W, rng=rng)
    check_gradients(matmul, x, W, rng=rng)


def test_matmul_with_a_constant_skips_its_gradient(rng):
    W = Tensor(rng.standard_normal((4, 2)))
    y = rng.standard_normal((3, 4)) @ W  # ndarray @ Tensor
    assert isinstance(y, Tensor)
    assert y.creator.node.needs_input_grad == (False, True)
    y.sum().backward()
    assert W.grad.shape == (4, 2)


@pytest.mark.parametrize("x_shape", [(5, 4), (5, 2, 2)])
def test_affine_gradients(x_shape, rng):
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    check_gradients(affine, x, W, b, rng=rng)


def test_affine_without_bias(rng, torch):
    x, W = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    check_gradients(lambda x, W: affine(x, W), x, W, rng=rng)
    y = affine(Tensor(x), Tensor(W, name="W"))
    assert len(y.creator.inputs) == 2
    # torch.nn.functional.linear(x, Wᵀ) without bias is the reference
    expected = torch.nn.functional.linear(torch.tensor(x), torch.tensor(W.T)).numpy()
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-14)


def test_affine_does_not_compute_the_gradient_of_a_constant_input(rng):
    W = Tensor(rng.standard_normal((4, 3)))
    b = Tensor(np.zeros(3))
    y = affine(rng.standard_normal((5, 4)), W, b)
    assert y.creator.node.compute_dx is False
    y.sum().backward()
    assert W.grad.shape == (4, 3)
    assert b.grad.shape == (3,)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_softmax_cross_entropy_gradient(targets, rng):
    x = rng.standard_normal((5, 4))
    t = rng.integers(0, 4, 5)
    if targets == "one-hot":
        t = np.eye(4)[t]
    check_gradients(lambda s: softmax_cross_entropy(s, t), x, rng=rng)
    loss = softmax_cross_entropy(Tensor(x), t)
    assert loss.shape == ()


def test_softmax_cross_entropy_of_one_sample(rng):
    check_gradients(lambda s: softmax_cross_entropy(s, 2), rng.standard_normal(4), rng=rng)


def test_mean_squared_error_gradient(rng):
    t = rng.standard_normal((3, 2))
    check_gradients(lambda y: mean_squared_error(y, t), rng.standard_normal((3, 2)), rng=rng)
    loss = mean_squared_error(Tensor(np.array([1.0, 2.0])), np.array([0.0, 0.0]))
    assert loss.shape == ()
    assert float(loss) == pytest.approx(2.5)


def test_mean_squared_error_of_two_tensors_gives_both_gradients(rng, torch):
    y, t = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    check_gradients(mean_squared_error, y, t, rng=rng)
    ty, tt = Tensor(y), Tensor(t)
    mean_squared_error(ty, tt).backward()
    # torch: ½ Σ (y − t)² is 0.5 · mse_loss(reduction="sum")
    y_ref = torch.tensor(y, requires_grad=True)
    t_ref = torch.tensor(t, requires_grad=True)
    (0.5 * torch.nn.functional.mse_loss(y_ref, t_ref, reduction="sum")).backward()
    np.testing.assert_allclose(ty.grad, y_ref.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tt.grad, t_ref.grad.numpy(), rtol=1e-14)


def test_len_of_a_tensor():
    assert len(Tensor(np.zeros((5, 3)))) == 5
    assert len(Tensor([1.0, 2.0])) == 2
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d Tensor"):
        len(Tensor(1.0))


def test_a_composite_expression(rng):
    def fn(w, x, b):
        return (sigmoid(x @ w + b) * tanh(x).sum(axis=1, keepdims=True)).mean() ** 2

    check_gradients(
        fn,
        rng.standard_normal((3, 2)),
        rng.standard_normal((4, 3)),
        rng.standard_normal(2),
        rng=rng,
    )


# ---------------------------------------------------------------------------------------------
# The graph: nodes are the layer classes; fan-out, diamond, deep chain, order
# ---------------------------------------------------------------------------------------------


def test_every_recorded_node_is_a_fresh_instance_of_the_layer_classes():
    x, y = Tensor(2.0), Tensor(3.0)
    cases = [
        (x + y, layers.AddLayer),
        (x * y, layers.MulLayer),
        (x - y, layers.Sub),
        (x / y, layers.Div),
        (-x, layers.Neg),
        (x**2, layers.Pow),
        (x.exp(), layers.Exp),
        (x.log(), layers.Log),
        (x.tanh(), layers.Tanh),
        (x.relu(), layers.Relu),
        (x.sigmoid(), layers.Sigmoid),
        (x.sum(), layers.Sum),
        (x.mean(), layers.Mean),
        (x.reshape(1), layers.Reshape),
        (x.T, layers.Transpose),
    ]
    for out, cls in cases:
        assert isinstance(out.creator, Function)
        assert type(out.creator.node) is cls
        assert out.creator.label == out.creator.node.label
    assert (x * y).creator.node is not (x * y).creator.node


def test_apple_example_values_and_gradients():
    apple, apple_num, tax = Tensor(100.0), Tensor(2.0), Tensor(1.1)
    price = apple * apple_num * tax
    price.backward()
    assert float(price) == pytest.approx(220.0)
    assert apple.grad == pytest.approx(2.2)
    assert apple_num.grad == pytest.approx(110.0)
    assert tax.grad == pytest.approx(200.0)


def test_fan_out_x_times_x_adds_the_two_gradients():
    x = Tensor(3.0)
    y = x * x
    y.backward()
    assert x.grad == pytest.approx(6.0)
    assert y.creator.input_grads[0] == pytest.approx(3.0)  # each edge carries 3


def test_fan_out_accumulates_into_new_arrays(rng):
    x = Tensor(rng.standard_normal(3))
    y = x + x  # AddLayer hands the same upstream array to both inputs
    upstream = np.ones(3)
    y.backward(upstream)
    np.testing.assert_array_equal(x.grad, 2 * upstream)
    np.testing.assert_array_equal(upstream, np.ones(3))  # the caller's array is untouched


def test_diamond():
    a = Tensor(2.0, name="a")
    b = a * 3.0
    c = a + b
    d = b * c  # d = 3a · 4a = 12a², dd/da = 24a
    d.backward()
    assert a.grad == pytest.approx(48.0)
    assert b.grad == pytest.approx(c.data + 1 * b.data)  # ∂d/∂b = c + b (through c)


def test_diamond_against_numerical_gradient(rng):
    def fn(a):
        b = a.tanh()
        c = b * a
        d = b.exp() + c
        return (d * c).sum()

    check_gradients(fn, rng.standard_normal((2, 3)), rng=rng)


def test_deep_chain_of_20000_nodes_has_no_recursion_error():
    x = Tensor(0.5, name="x")
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.backward()
    assert x.grad == pytest.approx(1.0)
    assert float(y) == pytest.approx(20_000.5)
    assert len(backward_order(y)) == 20_000
    del y
    gc.collect()  # freeing the chain must not recurse either


def _random_graph(leaves, seed, n_ops):
    """A random DAG over ``leaves`` (reused values, fan-out, diamonds), the same for a seed."""
    choose = np.random.default_rng(seed)
    pool = list(leaves)
    for _ in range(n_ops):
        kind = choose.integers(0, 4)
        a = pool[choose.integers(len(pool))]
        b = pool[choose.integers(len(pool))]
        if kind == 0:
            pool.append(a + b)
        elif kind == 1:
            pool.append(a * b * 0.5)
        elif kind == 2:
            pool.append(a.tanh())
        else:
            pool.append(a - b.sigmoid())
    return sum(pool[-10:], start=0.0).sum()


def test_every_node_comes_after_its_parents_in_the_backward_order(rng):
    leaves = [Tensor(rng.uniform(0.5, 1.5, 3)) for _ in range(4)]
    out = _random_graph(leaves, seed=1, n_ops=150)
    order = backward_order(out)
    position = {id(f): i for i, f in enumerate(order)}
    assert order[0] is out.creator
    assert len(position) == len(order)  # each node once
    for i, f in enumerate(order):
        for x in f.inputs:
            if x.creator is not None:
                assert position[id(x.creator)] > i  # the parent is visited later


def test_random_graph_gradients_against_numerical_gradient(rng):
    arrays = [rng.uniform(0.5, 1.5, 3) for _ in range(3)]
    check_gradients(lambda *leaves: _random_graph(leaves, seed=2, n_ops=30), *arrays, rng=rng)


def test_no_grad_records_nothing():
    x = Tensor(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3.0 + 1.0
    assert is_grad_enabled()
    assert y.creator is None
    assert not y.requires_grad
    assert float(y) == 7.0
    with pytest.raises(ValueError, match="does not require a gradient"):
        y.backward()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert is_grad_enabled()


def test_backward_twice_accumulates_and_zero_grad_clears():
    x = Tensor(3.0)
    t = x * 2.0
    y = t * t  # y = 4x², dy/dx = 8x = 24
    y.backward()
    y.backward()
    assert x.grad == pytest.approx(48.0)
    assert t.grad == pytest.approx(24.0)  # intermediate grads accumulate the same way
    x.zero_grad()
    assert x.grad is None
    y.backward()
    assert x.grad == pytest.approx(24.0)
    y.zero_grad(graph=True)
    assert x.grad is None and t.grad is None and y.grad is None
    assert y.creator.input_grads is None
    y.backward()
    assert x.grad == pytest.approx(24.0)
    assert t.grad == pytest.approx(12.0)
    x.cleargrad()
    assert x.grad is None


def test_retain_grad_false_keeps_only_the_leaves():
    x = Tensor(3.0)
    t = x * 2.0
    y = t * t
    y.backward(retain_grad=False)
    assert x.grad == pytest.approx(24.0)
    assert t.grad is None and y.grad is None
    assert y.creator.input_grads is None


def test_non_scalar_output_needs_an_upstream_gradient(rng):
    y = Tensor(rng.standard_normal((2, 3))) * 2.0
    with pytest.raises(ValueError, match=r"shape \(2, 3\), not a scalar.*y.sum\(\).backward"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad must have the output's shape \(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))


def test_backward_on_a_leaf():
    x = Tensor(2.0)
    x.backward()
    assert x.grad == 1.0


# ---------------------------------------------------------------------------------------------
# Tensor basics, dtype and errors
# ---------------------------------------------------------------------------------------------


def test_tensor_data_and_dtypes():
    assert Tensor(1).dtype == np.float64  # integers become float64
    assert Tensor(True).dtype == np.float64
    x32 = Tensor(np.ones(3, dtype=np.float32))
    y = x32 * 2 + 1 - 0.5 / x32
    assert y.dtype == np.float32  # Python numbers take the Tensor's dtype
    y.sum().backward()
    assert x32.grad.dtype == np.float32
    a = np.ones(3)
    assert Tensor(a).data is a  # no copy


def test_tensor_errors():
    with pytest.raises(TypeError, match="real numbers"):
        Tensor("abc")
    with pytest.raises(TypeError, match="already a Tensor"):
        Tensor(Tensor(1.0))
    with pytest.raises(TypeError, match="name must be a string"):
        Tensor(1.0, name=3)
    with pytest.raises(TypeError, match="exponent of \\*\\* must be a number"):
        Tensor(2.0) ** Tensor(2.0)
    with pytest.raises(TypeError, match="exponent of \\*\\* must be a number"):
        2.0 ** Tensor(2.0)
    with pytest.raises(TypeError, match="only a one-element Tensor"):
        float(Tensor(np.ones(2)))


def test_broadcasting_error_is_clear():
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) do not broadcast"):
        Tensor(np.ones(3)) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2,\) do not broadcast"):
        Tensor(np.ones((2, 3))) * np.ones(2)


def test_matmul_shape_error_is_clear():
    with pytest.raises(ValueError, match=r"cannot multiply x of shape \(2, 3\) by W of shape"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_log_of_non_positive_is_an_error():
    with pytest.raises(ValueError, match="must be positive"):
        log(Tensor(np.array([1.0, 0.0])))


def test_ndarray_on_the_left_defers_to_the_tensor():
    y = np.arange(3.0) + Tensor(np.ones(3))
    assert isinstance(y, Tensor)
    y = np.float64(2.0) * Tensor(1.5)
    assert isinstance(y, Tensor) and float(y) == 3.0


def test_as_tensor_and_repr():
    x = Tensor(2.0, name="x")
    assert as_tensor(x) is x
    assert not as_tensor(3.0).requires_grad
    y = x * 2.0
    assert repr(y) == "Tensor(4., op='mul')"
    y.backward()
    assert repr(x) == "Tensor(2., name='x', grad=2.)"
    assert "shape=(10, 10)" in repr(Tensor(np.zeros((10, 10))))
    assert y.op == "mul" and x.op is None
    assert "Function('mul'" in repr(y.creator)


def test_detach_and_item():
    x = Tensor(np.array([2.0]))
    d = x.detach()
    assert d.data is x.data and not d.requires_grad
    assert x.item() == 2.0 and x.shape == (1,) and x.ndim == 1 and x.size == 1


# ---------------------------------------------------------------------------------------------
# TensorTwoLayerNet / TensorMultiLayerNet against the layer networks
# ---------------------------------------------------------------------------------------------


def _batch(rng, n=6, d=4, c=3):
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def _torch_loss_and_grads(torch, params, x, t, activation="relu", lam=0.0):
    """The same network computed by torch autograd in float64: the independent reference."""
    ws = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    n = len(ws) // 2
    h = torch.tensor(x, dtype=torch.float64)
    for i in range(1, n + 1):
        h = h @ ws[f"W{i}"] + ws[f"b{i}"]
        if i < n:
            h = torch.relu(h) if activation == "relu" else torch.sigmoid(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(t))
    loss = loss + 0.5 * lam * sum((ws[f"W{i}"] ** 2).sum() for i in range(1, n + 1))
    loss.backward()
    return loss.item(), {k: w.grad.numpy() for k, w in ws.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_two_layer_net_matches_the_layer_net(dtype, rng, torch):
    layer_net = TwoLayerNet(4, 5, 3, weight_init_std=0.5, seed=1, dtype=dtype)
    tensor_net = TensorTwoLayerNet(4, 5, 3, weight_init_std=0.5, seed=1, dtype=dtype)
    for key in layer_net.params:
        np.testing.assert_array_equal(layer_net.params[key], tensor_net.params[key])
    x, t = _batch(rng)
    x = x.astype(dtype)
    loss_l, grads_l = layer_net.loss_and_gradient(x, t)
    loss_t, grads_t = tensor_net.loss_and_gradient(x, t)
    assert loss_t == pytest.approx(loss_l, rel=1e-6)
    assert set(grads_t) == set(tensor_net.params)
    for key in grads_l:
        assert grads_t[key].dtype == np.dtype(dtype)
        np.testing.assert_allclose(grads_t[key], grads_l[key], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tensor_net.predict(x), layer_net.predict(x), rtol=1e-6)
    assert tensor_net.accuracy(x, t) == layer_net.accuracy(x, t)
    assert tensor_net.loss(x, t) == pytest.approx(layer_net.loss(x, t), rel=1e-6)
    # both against torch on the same weights (float32: to float32 rounding)
    loss_ref, grads_ref = _torch_loss_and_grads(torch, layer_net.params, x, t)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for loss, grads in ((loss_l, grads_l), (loss_t, grads_t)):
        assert loss == pytest.approx(loss_ref, rel=rtol)
        for key, value in grads.items():
            scale = np.abs(grads_ref[key]).max()
            np.testing.assert_allclose(value, grads_ref[key], rtol=rtol, atol=rtol * scale)


def test_tensor_two_layer_net_gradient_check(rng):
    net = TensorTwoLayerNet(4, 5, 3, weight_init_std=0.5, seed=2)
    x, t = _batch(rng)
    report = gradient_check(net, x, t)
    assert report.passed, str(report)
    numeric = net.numerical_gradient(x, t)
    grads = net.gradient(x, t)
    for key in grads:
        assert relative_error(grads[key], numeric[key])[0] < 1e-6


def test_tensor_net_sees_in_place_updates_and_converts(rng):
    net = TensorTwoLayerNet(4, 5, 3, weight_init_std=0.5, seed=3)
    x, t = _batch(rng)
    before = net.loss(x, t)
    for _ in range(20):
        grads = net.gradient(x, t)
        for key in net.params:  # plain SGD, in place, as the optimizers do
            net.params[key] -= 0.5 * grads[key]
    assert net.loss(x, t) < before
    net32 = net.astype("float32")
    assert isinstance(net32, TensorTwoLayerNet) and net32.dtype == np.float32
    assert net.dtype == np.float64
    assert net32.config()["class"] == "TensorTwoLayerNet"
    net2 = TensorTwoLayerNet(4, 5, 3, seed=0)
    net2.load_params(net.params)
    assert net2.loss(x, t) == pytest.approx(net.loss(x, t))


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_tensor_multi_layer_net_matches_the_layer_net(activation, rng, torch):
    kwargs = {"activation": activation, "weight_decay_lambda": 0.1, "seed": 4}
    layer_net = MultiLayerNet(4, [5, 6], 3, **kwargs)
    tensor_net = TensorMultiLayerNet(4, [5, 6], 3, **kwargs)
    x, t = _batch(rng)
    loss_l, grads_l = layer_net.loss_and_gradient(x, t)
    loss_t, grads_t = tensor_net.loss_and_gradient(x, t)
    assert loss_t == pytest.approx(loss_l, rel=1e-12)
    for key in grads_l:
        np.testing.assert_allclose(grads_t[key], grads_l[key], rtol=1e-10, atol=1e-14)
    assert tensor_net.config()["class"] == "TensorMultiLayerNet"
    loss_ref, grads_ref = _torch_loss_and_grads(torch, layer_net.params, x, t, activation, 0.1)
    assert loss_t == pytest.approx(loss_ref, rel=1e-12)
    for key in grads_t:
        np.testing.assert_allclose(grads_t[key], grads_ref[key], rtol=1e-10, atol=1e-14)


def test_loss_tensor_is_a_graph_of_the_network(rng):
    net = TensorTwoLayerNet(4, 5, 3, seed=5)
    x, t = _batch(rng)
    loss = net.loss_tensor(x, t)
    assert loss.name == "L"
    assert [f.name for f in backward_order(loss)] == [
        "softmax_cross_entropy",
        "affine",
        "relu",
        "affine",
    ]
    loss.backward()
    assert loss.creator.inputs[0].grad.shape == (6, 3)
