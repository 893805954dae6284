"""Property-based tests: hostile values for the nodes, functions, targets and networks.

Each input either gives the right number (checked against NumPy written out here) or one
ValueError/TypeError that names the node or function; never a NumPy error, a ZeroDivisionError,
a silently truncated complex number, or a loss of 0.0 for targets that name no class.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop import functions, layers
from backprop.gradient import numerical_diff, numerical_gradient
from backprop.networks import MultiLayerNet, TwoLayerNet
from backprop.training import accuracy as training_accuracy

_SETTINGS = settings(deadline=None, max_examples=40)

_BAD_VALUES = {
    "complex": np.array([1 + 2j, 3 - 1j]),
    "object": np.array([1.0, "a"], dtype=object),
    "str": np.array(["1.0", "2.0"]),
    "bytes": np.array([b"1", b"2"]),
    "datetime": np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"),
    "timedelta": np.array([1, 2], dtype="timedelta64[s]"),
    "python complex": 1 + 2j,
    "python str": "12",
    "None": None,
    "date": datetime.date(2024, 1, 1),
    "ragged": [[1.0], [1.0, 2.0]],
}


def _nodes():
    W = np.ones((2, 3))
    return {
        "AddLayer": (layers.AddLayer(), 2),
        "MulLayer": (layers.MulLayer(), 2),
        "Sub": (layers.Sub(), 2),
        "Div": (layers.Div(), 2),
        "Neg": (layers.Neg(), 1),
        "Pow": (layers.Pow(2), 1),
        "MatMul": (layers.MatMul(), 2),
        "Exp": (layers.Exp(), 1),
        "Log": (layers.Log(), 1),
        "Tanh": (layers.Tanh(), 1),
        "Relu": (layers.Relu(), 1),
        "Sigmoid": (layers.Sigmoid(), 1),
        "Sum": (layers.Sum(), 1),
        "Mean": (layers.Mean(), 1),
        "Reshape": (layers.Reshape((-1,)), 1),
        "Transpose": (layers.Transpose(), 1),
        "Affine": (layers.Affine(W, np.zeros(3)), 1),
        "SoftmaxWithLoss": (layers.SoftmaxWithLoss(), 2),
        "MeanSquaredErrorLoss": (layers.MeanSquaredErrorLoss(), 2),
    }


@pytest.mark.parametrize("bad", list(_BAD_VALUES), ids=list(_BAD_VALUES))
@pytest.mark.parametrize("node_name", list(_nodes()))
def test_every_node_refuses_values_that_are_not_real_numbers(node_name, bad):
    node, arity = _nodes()[node_name]
    good = np.ones((2, 2))
    for position in range(arity):
        inputs = [good] * arity
        inputs[position] = _BAD_VALUES[bad]
        with pytest.raises(TypeError, match=rf"^{node_name}: ") as info:
            node.forward(*inputs)
        if bad == "complex":
            assert "complex" in str(info.value)


@pytest.mark.parametrize(
    "function",
    [
        functions.sigmoid,
        functions.relu,
        functions.tanh,
        functions.softmax,
        functions.log_softmax,
        functions.step_function,
        functions.identity_function,
    ],
)
@pytest.mark.parametrize("bad", ["complex", "object", "str", "datetime"])
def test_every_function_refuses_values_that_are_not_real_numbers(function, bad):
    with pytest.raises(TypeError, match="must be"):
        function(_BAD_VALUES[bad])


@pytest.mark.parametrize("loss", [functions.cross_entropy_error, functions.softmax_cross_entropy])
@pytest.mark.parametrize("bad", ["complex", "str", "object"])
def test_losses_refuse_targets_that_are_not_numbers(loss, bad):
    with pytest.raises(TypeError, match=rf"^{loss.__name__}: "):
        loss(np.full((2, 2), 0.5), _BAD_VALUES[bad])


# -- axes -------------------------------------------------------------------------------------


_AXES = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.lists(st.integers(-4, 4), max_size=4).map(tuple),
    st.sampled_from([1.5, "0", True, (0, 1.0)]),
)


@_SETTINGS
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
        elements=st.floats(-10, 10),
    ),
    axis=_AXES,
)
def test_sum_and_mean_axes_are_checked_with_the_nodes_name(x, axis):
    for node_class, reference in ((layers.Sum, np.sum), (layers.Mean, np.mean)):
        node = node_class(axis=axis)
        try:
            out = node.forward(x)
        except (TypeError, ValueError) as exc:
            assert str(exc).startswith(f"{node_class.__name__}: "), exc
            continue
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(out, reference(x, axis=axis))
        dx = node.backward(np.ones(np.shape(out)))
        assert dx.shape == x.shape


@_SETTINGS
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)),
    axes=st.one_of(st.none(), st.lists(st.integers(-4, 4), max_size=4).map(tuple)),
)
def test_transpose_axes_are_checked_with_the_nodes_name(x, axes):
    node = layers.Transpose(axes)
    try:
        out = node.forward(x)
    except ValueError as exc:
        assert str(exc).startswith("Transpose: "), exc
        return
    np.testing.assert_array_equal(out, np.transpose(x, axes))
    assert node.backward(np.ones(out.shape)).shape == x.shape


def test_mean_of_nothing_is_refused_and_a_valid_empty_product_is_not():
    with pytest.raises(ValueError, match=r"Mean: the mean of no elements is undefined"):
        layers.Mean().forward(np.zeros((0, 3)))
    assert layers.Mean(axis=1).forward(np.zeros((0, 3))).shape == (0,)  # 0 means of 3 each
    node = layers.MatMul()
    assert node.forward(np.zeros(0), np.zeros(0)) == 0.0
    dx, dW = node.backward(np.float64(1.0))
    assert dx.shape == (0,) and dW.shape == (0,)
    out = node.forward(np.zeros((2, 0)), np.zeros((0, 3)))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))
    dx, dW = node.backward(np.ones((2, 3)))
    assert dx.shape == (2, 0) and dW.shape == (0, 3)


def test_division_by_zero_is_a_clear_error():
    for x, y in ((1, 0), (np.ones(2), np.array([1.0, 0.0])), (1.0, np.float64(0))):
        with pytest.raises(
            ValueError, match=r"^Div: divide by zero encountered: y contains 1 zero"
        ):
            layers.Div().forward(x, y)


@pytest.mark.parametrize("h", [0, 0.0, -1e-4, float("nan"), float("inf"), True, "1e-4", None])
def test_numerical_derivatives_refuse_a_bad_step(h):
    with pytest.raises(ValueError, match=r"^numerical_diff: h must be a positive finite number"):
        numerical_diff(lambda x: x * x, 1.0, h=h)
    with pytest.raises(ValueError, match=r"^numerical_gradient: h must be a positive"):
        numerical_gradient(lambda x: float(np.sum(x * x)), np.ones(2), h=h)


# -- targets: one check for the loss and the accuracy ----------------------------------------


def _targets(n: int, c: int):
    labels = hnp.arrays(
        np.int64, st.sampled_from([(n,), (n, 1), (n + 1,), ()]), elements=st.integers(-2, c + 1)
    )
    float_labels = hnp.arrays(
        np.float64, (n,), elements=st.sampled_from([0.0, 1.0, 0.5, -1.0, float(c), np.nan, np.inf])
    )
    one_hot = hnp.arrays(
        np.float64,
        st.sampled_from([(n, c), (n, c + 1), (n, 1)]),
        elements=st.sampled_from([0.0, 1.0, 0.5, -0.5, np.nan, 2.0]),
    )
    return st.one_of(labels, float_labels, one_hot)


def _outcome(function, *args):
    try:
        return ("ok", function(*args))
    except (ValueError, TypeError) as exc:
        return (type(exc).__name__, str(exc).split(": ", 1)[1])


@_SETTINGS
@given(data=st.data(), n=st.integers(1, 4), c=st.integers(2, 4))
def test_loss_and_accuracy_accept_and_refuse_the_same_targets(data, n, c):
    network = TwoLayerNet(3, 4, c, seed=0)
    x = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-3, 3)))
    t = data.draw(_targets(n, c))
    loss = _outcome(network.loss, x, t)
    acc = _outcome(network.accuracy, x, t)
    trainer_acc = _outcome(lambda *a: training_accuracy(*a, batch_size=2), network, x, t)
    assert loss[0] == acc[0], (loss, acc)
    if loss[0] == "ok":
        assert np.isfinite(loss[1]) and loss[1] > 0
        assert 0.0 <= acc[1] <= 1.0
        assert trainer_acc == acc
        scores = network.predict(x)
        labels = t if t.ndim == 1 else np.argmax(t, axis=1)  # the book's accuracy, written out
        assert acc[1] == np.mean(np.argmax(scores, axis=1) == labels)
    else:
        assert trainer_acc[0] != "ok" or np.asarray(t).ndim in (1, 2)


@pytest.mark.parametrize(
    ("t", "fragment"),
    [
        (np.array([[0.0, 0.0], [1.0, 0.0]]), "all-zero rows"),
        (np.array([[-1.0, 2.0], [1.0, 0.0]]), "must be ≥ 0"),
        (np.array([[np.nan, 1.0], [1.0, 0.0]]), "NaN"),
        (np.array([2, 0]), "labels must be in [0, 2)"),
        (np.array([-1, 0]), "labels must be in [0, 2)"),
        (np.array([[0], [1]]), "got t.shape=(2, 1)"),
        (np.array([[1, 0, 0], [0, 1, 0]]), "got t.shape=(2, 3)"),
    ],
)
def test_targets_that_name_no_class_are_refused_everywhere(t, fragment):
    network = TwoLayerNet(2, 3, 2, seed=0)
    x = np.ones((2, 2))
    scores = network.predict(x)
    calls = {
        "SoftmaxWithLoss": lambda: network.loss(x, t),
        "TwoLayerNet.accuracy": lambda: network.accuracy(x, t),
        "cross_entropy_error": lambda: functions.cross_entropy_error(functions.softmax(scores), t),
        "softmax_cross_entropy": lambda: functions.softmax_cross_entropy(scores, t),
    }
    for where, call in calls.items():
        with pytest.raises((ValueError, TypeError)) as info:
            call()
        assert str(info.value).startswith(f"{where}: "), info.value
        assert fragment in str(info.value)


def test_empty_batches_and_nan_scores_are_refused():
    network = TwoLayerNet(2, 3, 2, seed=0)
    with pytest.raises(ValueError, match="empty"):
        functions.cross_entropy_error(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="empty"):
        functions.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="empty"):
        functions.mean_squared_error(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="empty"):
        network.accuracy(np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"^accuracy: the batch is empty"):
        training_accuracy(network, np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="not finite"):
        network.accuracy(np.full((2, 2), np.nan), np.array([0, 0]))
    with pytest.raises(ValueError, match="non-finite"):
        functions.mean_squared_error(np.array([np.nan]), np.array([1.0]))


@pytest.mark.parametrize("lam", [float("nan"), float("inf"), -0.1, "0.1", True])
def test_weight_decay_lambda_must_be_a_finite_number(lam):
    with pytest.raises(ValueError, match="weight_decay_lambda must be"):
        MultiLayerNet(2, [3], 2, weight_decay_lambda=lam, seed=0)


@_SETTINGS
@given(
    x=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=4),
        elements=st.floats(-50, 50, width=32),
    )
)
def test_nodes_give_numpys_numbers_for_any_real_input(x):
    # The checks at the boundary let every real array through unchanged.
    assert layers.Relu().forward(x).dtype == x.dtype
    np.testing.assert_array_equal(layers.Relu().forward(x), np.maximum(x, 0))
    np.testing.assert_allclose(layers.Tanh().forward(x), np.tanh(x), rtol=1e-6)
    np.testing.assert_array_equal(layers.AddLayer().forward(x, x), x + x)
    np.testing.assert_allclose(layers.Sum(axis=0).forward(x), x.sum(axis=0), rtol=1e-5)


@pytest.mark.parametrize(
    ("c", "x", "fragment"),
    [
        (-1, 0, "would divide by zero where x = 0"),
        (-1, np.array([1.0, 0.0]), "would divide by zero where x = 0"),
        (0.5, np.array([-1.0, 4.0]), "is not a real number where x < 0"),
        (-2, np.array([1, 2]), "integer x to the negative power"),
    ],
)
def test_powers_that_are_not_real_numbers_are_refused(c, x, fragment):
    with pytest.raises((ValueError, TypeError), match=rf"^Pow: .*{fragment}"):
        layers.Pow(c).forward(x)


def test_the_derivative_of_a_root_at_zero_is_refused():
    node = layers.Pow(0.5)
    np.testing.assert_array_equal(node.forward(np.array([0.0, 4.0])), [0.0, 2.0])
    with pytest.raises(ValueError, match=r"^Pow: the derivative c·x\^\(c−1\) would divide by zero"):
        node.backward(np.ones(2))
    node = layers.Pow(2)
    node.forward(np.array([0.0, -3.0]))
    np.testing.assert_array_equal(node.backward(np.ones(2)), [0.0, -6.0])


def test_scores_without_classes_and_shapes_that_are_not_integers():
    for function in (functions.softmax, functions.log_softmax, functions.logsumexp):
        name = function.__name__
        with pytest.raises(ValueError, match=rf"^{name}: x has no classes along its last axis"):
            function(np.zeros((2, 0)))
        with pytest.raises(ValueError, match=rf"^{name}: x has no classes along axis 0"):
            function(np.zeros((0, 5)), axis=0)
        with pytest.raises(ValueError, match=rf"^{name}: x has no values \(x.shape=\(0, 5\)\)"):
            function(np.zeros((0, 5)), axis=None)
        with pytest.raises(ValueError, match=rf"^{name}: x has no classes along axis 0"):
            function(np.zeros((0, 5)), axis=(0, 1))
        assert function(np.zeros((0, 5))).shape[0] == 0  # an empty batch of 5 classes is fine
        x = np.arange(6.0).reshape(2, 3)
        np.testing.assert_array_equal(function(x, axis=[1]), function(x, axis=1))  # a list
    with pytest.raises(ValueError, match=r"^Reshape: cannot reshape an array of shape \(3,\)"):
        layers.Reshape((1.5,)).forward(np.ones(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_that_overflows_says_so_instead_of_a_warning(dtype):
    from backprop.layers import Exp

    x = np.array([1.0, 1000.0], dtype=dtype)
    with pytest.raises(FloatingPointError, match=r"Exp: exp\(x\) overflows .* reaches 1000"):
        Exp().forward(x)
    np.testing.assert_array_equal(Exp().forward(np.array([-1000.0, 0.0], dtype=dtype)), [0, 1])


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_names_an_axis_out_of_range(name):
    with pytest.raises(ValueError, match=rf"{name}: axis 5 is out of range .* 2 dimensions"):
        getattr(functions, name)(np.ones((2, 3)), axis=5)
