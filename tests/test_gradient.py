"""backprop.gradient: numerical differentiation and the gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.functions import softmax, softmax_cross_entropy
from backprop.gradient import (
    GradientCheckReport,
    gradient_check,
    numerical_diff,
    numerical_gradient,
    relative_error,
)
from backprop.layers import Affine, MulLayer, Relu, Sigmoid, SoftmaxWithLoss
from backprop.networks import MultiLayerNet, TwoLayerNet


def function_1(x):
    """The book's 4.3.2 example: y = 0.01x² + 0.1x."""
    return 0.01 * x**2 + 0.1 * x


def function_2(x):
    """The book's 4.3.3 example: f(x0, x1) = x0² + x1²."""
    return np.sum(x**2)


# -- numerical_diff ----------------------------------------------------------------------------


def test_numerical_diff_book_values():
    # The book prints 0.1999999999990898 and 0.2999999999986347 (true values 0.2 and 0.3).
    assert numerical_diff(function_1, 5) == pytest.approx(0.2, abs=1e-11)
    assert numerical_diff(function_1, 10) == pytest.approx(0.3, abs=1e-11)


def test_numerical_diff_is_a_central_difference():
    # exact for a quadratic up to rounding; a forward difference would be off by h
    assert numerical_diff(lambda x: x * x, 3.0) == pytest.approx(6.0, abs=1e-9)


# -- numerical_gradient ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "expected"),
    [((3.0, 4.0), (6.0, 8.0)), ((0.0, 2.0), (0.0, 4.0)), ((3.0, 0.0), (6.0, 0.0))],
)
def test_numerical_gradient_book_values(point, expected):
    grad = numerical_gradient(function_2, np.array(point))
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4)])
def test_numerical_gradient_any_shape(rng, shape):
    x = rng.standard_normal(shape)
    c = rng.standard_normal(shape)
    grad = numerical_gradient(lambda z: np.sum(c * z**3), x)
    assert grad.shape == x.shape
    assert grad.dtype == x.dtype
    # the central difference of a cubic is exact but for its known O(h²) term, c·h²
    np.testing.assert_allclose(grad, 3 * c * x**2 + c * 1e-8, rtol=1e-9, atol=1e-10)


def test_numerical_gradient_on_a_non_contiguous_view(rng):
    base = rng.standard_normal((4, 6))
    view = base[::2, 1::2]
    grad = numerical_gradient(lambda z: np.sum(z**2), view)
    np.testing.assert_allclose(grad, 2 * view, rtol=1e-9)


def test_numerical_gradient_restores_x_exactly(rng):
    x = rng.standard_normal((3, 3))
    before = x.copy()
    numerical_gradient(function_2, x)
    np.testing.assert_array_equal(x, before)  # bit for bit, not approximately


def test_numerical_gradient_restores_x_when_f_raises(rng):
    x = rng.standard_normal(4)
    before = x.copy()
    calls = []

    def f(z):
        calls.append(z.copy())
        if len(calls) == 3:  # while element 1 is perturbed
            raise RuntimeError("boom")
        return np.sum(z)

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert calls[2][1] != before[1]  # it really was perturbed when f raised


def test_numerical_gradient_reads_x_through_a_closure(rng):
    # The book's style: f ignores its argument and reads the perturbed array directly.
    W = rng.standard_normal((2, 3))
    grad = numerical_gradient(lambda _: np.sum(W**2), W)
    np.testing.assert_allclose(grad, 2 * W, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_numerical_gradient_refuses_integer_arrays(dtype):
    x = np.array([3, 4]).astype(dtype)
    with pytest.raises(TypeError, match=rf"x must be a floating-point array, got dtype {x.dtype}"):
        numerical_gradient(function_2, x)


def test_numerical_gradient_refuses_non_arrays():
    with pytest.raises(TypeError, match=r"x must be a NumPy array of floats .* got list"):
        numerical_gradient(function_2, [3.0, 4.0])


def test_numerical_gradient_refuses_read_only_arrays():
    x = np.array([3.0, 4.0])
    x.flags.writeable = False
    with pytest.raises(ValueError, match=r"x must be writeable"):
        numerical_gradient(function_2, x)


def test_numerical_gradient_non_finite_f():
    x = np.array([1.0, 2.0])
    with pytest.raises(
        ValueError, match=r"f returned a non-finite value \(nan, nan\) at index \(0,\)"
    ):
        numerical_gradient(lambda z: float("nan"), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


# -- relative_error ----------------------------------------------------------------------------


def test_relative_error_definition():
    a = np.array([[1.0, 2.0], [10.0, -4.0]])
    b = np.array([[1.0, 2.2], [10.0, -4.0]])
    err, index = relative_error(a, b)
    assert err == pytest.approx(0.2 / 2.2, rel=1e-12)
    assert index == (0, 1)


def test_relative_error_is_absolute_below_tiny():
    err, _ = relative_error(np.array([1e-9]), np.array([2e-9]), tiny=1e-4)
    assert err == pytest.approx(1e-9 / 1e-4)
    assert relative_error(np.zeros(3), np.zeros(3)) == (0.0, (0,))
    assert relative_error(np.zeros((0, 2)), np.zeros((0, 2))) == (0.0, ())


def test_relative_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"relative_error: shapes differ, \(2,\) vs \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))


# -- gradient_check on networks ----------------------------------------------------------------


def test_gradient_check_two_layer_net_passes(rng):
    network = TwoLayerNet(5, 4, 3, weight_init_std=1.0, rng=rng)
    x = rng.standard_normal((3, 5))
    t = rng.integers(0, 3, size=3)
    report = gradient_check(network, x, t)
    assert isinstance(report, GradientCheckReport)
    assert report.passed
    assert [row.name for row in report.rows] == ["W1", "b1", "W2", "b2"]
    assert [row.shape for row in report.rows] == [(5, 4), (4,), (4, 3), (3,)]
    assert all(row.max_rel_error <= 1e-7 for row in report.rows)
    assert report["W2"].shape == (4, 3)
    with pytest.raises(KeyError):
        report["W3"]
    assert report.speedup > 0
    assert report.numerical_seconds > 0
    assert repr(report) == "GradientCheckReport(passed=True, rows=4, tol=1e-07)"


def test_gradient_check_report_text(rng):
    network = TwoLayerNet(4, 3, 2, weight_init_std=1.0, rng=rng)
    report = gradient_check(network, rng.standard_normal((2, 4)), np.array([0, 1]))
    text = str(report)
    lines = text.splitlines()
    assert (
        lines[0] == "gradient check of TwoLayerNet (float64, PASS when max relative error ≤ 1e-07)"
    )
    assert lines[1] == (
        "numerical side: central differences with h=0.0001 and 2h, Richardson-extrapolated"
    )
    header = "param shape mean |diff| max rel err worst index backprop numerical result"
    assert lines[2].split() == header.split()
    for line, name in zip(lines[3:7], ["W1", "b1", "W2", "b2"], strict=True):
        assert line.startswith(name)
        assert line.endswith("PASS")
    assert "(one central difference): backprop was" in lines[7]
    assert "faster" in lines[7]
    assert lines[-1] == "all PASS"


def test_richardson_makes_the_numerical_side_accurate_enough_for_deeper_nets():
    # A three-layer He-initialised net on which the plain central difference's O(h²) error
    # alone exceeds 1e-7 (seen on real MNIST; here on fixed random data and weights).
    rng = np.random.default_rng(0)
    network = MultiLayerNet(30, [20, 20], 10, "sigmoid", weight_init_std="he", rng=rng)
    x, t = rng.standard_normal((3, 30)), np.array([1, 4, 7])
    plain = gradient_check(network, x, t, richardson=False)
    refined = gradient_check(network, x, t)
    assert refined.passed
    assert not plain.passed  # the central difference's own error, not backpropagation's
    assert refined.method.endswith("Richardson-extrapolated")
    assert plain.method == "central difference with h=0.0001"
    worst_plain = max(row.max_rel_error for row in plain.rows)
    worst_refined = max(row.max_rel_error for row in refined.rows)
    assert worst_refined < worst_plain / 5


def test_gradient_check_works_in_float64_and_leaves_the_network_alone(rng):
    network = MultiLayerNet(4, [3], 2, weight_init_std=1.0, rng=rng, dtype="float32")
    before = {k: v.copy() for k, v in network.params.items()}
    x = rng.standard_normal((2, 4)).astype(np.float32)
    report = gradient_check(network, x, np.array([1, 0]))
    assert report.passed  # impossible in float32: the check ran on a float64 copy
    assert network.dtype == np.float32
    for key, value in network.params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[key])


def test_gradient_check_one_hot_targets(rng):
    network = TwoLayerNet(4, 3, 3, weight_init_std=1.0, rng=rng)
    t = np.eye(3)[[2, 0]]
    assert gradient_check(network, rng.standard_normal((2, 4)), t).passed


class _ForgetfulNet(TwoLayerNet):
    """A network whose gradient() forgets b2."""

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        del grads["b2"]
        return grads


def test_gradient_check_gradient_keys_must_match_params(rng):
    network = _ForgetfulNet(3, 2, 2, rng=rng)
    with pytest.raises(
        ValueError,
        match=r"gradient\(\) returned the keys \['W1', 'W2', 'b1'\], the network's params are "
        r"\['W1', 'W2', 'b1', 'b2'\]",
    ):
        gradient_check(network, np.ones((1, 3)), np.array([0]))


def test_gradient_check_network_needs_x_and_t(rng):
    network = TwoLayerNet(3, 2, 2, rng=rng)
    with pytest.raises(TypeError, match=r"expected the inputs x and targets t, got 1 positional"):
        gradient_check(network, np.ones((1, 3)))


def test_gradient_check_unknown_model():
    with pytest.raises(TypeError, match=r"expected a network .* or a layer .* got str"):
        gradient_check("model", np.ones(3))


# -- gradient_check on layers ------------------------------------------------------------------


class SigmoidIgnoringDout(Sigmoid):
    """Wrong on purpose: the book's mistake of assuming dout == 1."""

    def backward(self, dout):
        return super().backward(np.ones_like(dout))


class AffineWithoutBias(Affine):
    """Wrong on purpose: db is always zero."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.zeros_like(self.db)
        return dx


class ReluMaskedTheWrongWay(Relu):
    """Wrong on purpose: passes the gradient where x < 0."""

    def backward(self, dout):
        return np.where(self.mask, dout, 0.0)


def test_gradient_check_layer_passes_and_names_rows(rng):
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    layer = Affine(W, b)
    report = gradient_check(layer, rng.standard_normal((2, 4)), rng=rng)
    assert report.passed
    assert [row.name for row in report.rows] == ["x", "W", "b"]
    assert report.title == "gradient check of Affine"


def test_gradient_check_layer_catches_a_backward_that_ignores_dout(rng):
    # With dout == 1 this backward would be right; the random upstream gradient exposes it.
    report = gradient_check(SigmoidIgnoringDout(), rng.standard_normal((3, 4)), rng=rng)
    assert not report.passed
    assert report["x"].max_rel_error > 0.1
    text = str(report)
    assert "FAIL" in text
    assert "FAILED" in text.splitlines()
    assert [cause.code for cause in report.causes] == ["backprop"]


@pytest.mark.parametrize(
    ("make_layer", "failing"),
    [
        (lambda rng: AffineWithoutBias(rng.standard_normal((4, 3)), np.ones(3)), "b"),
        (lambda rng: ReluMaskedTheWrongWay(), "x"),
    ],
)
def test_gradient_check_layer_reports_the_wrong_gradient(rng, make_layer, failing):
    x = rng.choice([-1.0, 1.0], size=(2, 4)) * rng.uniform(0.5, 2.0, size=(2, 4))
    report = gradient_check(make_layer(rng), x, rng=rng)
    assert not report[failing].passed
    assert [row.name for row in report.rows if not row.passed] == [failing]


def test_gradient_check_layer_leaves_the_callers_layer_alone(rng):
    W = rng.standard_normal((3, 2)).astype(np.float32)
    layer = Affine(W, np.zeros(2, dtype=np.float32), compute_dx=False)
    report = gradient_check(layer, rng.standard_normal((2, 3)), rng=rng)
    assert report.passed
    assert layer.W is W and layer.W.dtype == np.float32
    assert layer.x is None and layer.dW is None
    assert layer.compute_dx is False


def test_gradient_check_layer_holds_labels_constant(rng):
    x = rng.standard_normal((3, 4))
    report = gradient_check(SoftmaxWithLoss(), x, np.array([0, 3, 1]), rng=rng)
    assert [row.name for row in report.rows] == ["x"]
    assert report["x"].max_rel_error <= 1e-8


def test_gradient_check_layer_needs_inputs():
    with pytest.raises(TypeError, match=r"give the layer's forward inputs"):
        gradient_check(Relu())


class _WrongShapeRelu(Relu):
    def backward(self, dout):
        return super().backward(dout)[:1]


def test_gradient_check_layer_wrong_gradient_shape(rng):
    with pytest.raises(
        ValueError,
        match=r"_WrongShapeRelu.backward returned a gradient of shape \(1, 3\) for x, which has "
        r"shape \(2, 3\)",
    ):
        gradient_check(_WrongShapeRelu(), rng.uniform(0.5, 1.0, size=(2, 3)), rng=rng)


# -- the doctor: why a check failed --------------------------------------------------------


def _net_and_batch(rng):
    network = TwoLayerNet(5, 4, 3, weight_init_std=1.0, rng=rng)
    return network, rng.standard_normal((3, 5)), rng.integers(0, 3, size=3)


def test_rows_show_both_gradients_at_the_worst_index(rng):
    network, x, t = _net_and_batch(rng)
    report = gradient_check(network, x, t)
    expected = network.gradient(x, t)
    for row in report.rows:
        assert row.backprop_at_worst == pytest.approx(expected[row.name][row.worst_index])
        assert row.numerical_at_worst == pytest.approx(row.backprop_at_worst, rel=1e-7)
    assert report.causes == [] and report.h_sweep == []  # the doctor runs on a FAIL only


def test_doctor_names_a_relu_input_at_the_kink(rng):
    # Element (0, 0) is 1e-5 from the kink, closer than 2h = 2e-4: the central difference
    # averages the slopes 0 and 1 there, while backprop's 1 is right.
    x = np.array([[1e-5, 1.0, -2.0], [0.5, -0.3, 2.0]])
    report = gradient_check(Relu(), x, rng=rng)
    assert not report.passed
    assert report["x"].worst_index == (0, 0)
    assert [c.code for c in report.causes] == ["relu_kink"]
    assert "Relu: its input at (0, 0) is 1e-05, within 2h=0.0002 of the kink at 0" in str(report)


def test_doctor_finds_the_kink_inside_a_network(rng):
    network, x, t = _net_and_batch(rng)
    hidden = x @ network.params["W1"] + network.params["b1"]
    network.params["b1"][1] -= hidden[2, 1] - 3e-5  # the pre-activation (2, 1) is now 3e-5
    report = gradient_check(network, x, t)
    assert not report.passed
    assert report.causes[0].code == "relu_kink"
    assert report.causes[0].message.startswith("Relu1: its input at (2, 1) is 3e-05")


class _Float32Net:
    """A learner's network without astype: the check cannot lift it to float64."""

    def __init__(self, rng):
        self.params = {"W": rng.standard_normal((5, 3)).astype(np.float32)}

    def loss(self, x, t):
        return softmax_cross_entropy(x.astype(np.float32) @ self.params["W"], t)

    def gradient(self, x, t):
        x = x.astype(np.float32)
        y = softmax(x @ self.params["W"])
        y[np.arange(len(t)), t] -= 1  # the book's formula, in float32
        return {"W": x.T @ y / len(t)}


def test_doctor_names_float32(rng):
    x, t = rng.standard_normal((3, 5)), np.array([0, 2, 1])
    report = gradient_check(_Float32Net(rng), x, t)
    assert not report.passed
    assert [c.code for c in report.causes] == ["dtype"]
    assert "low precision: W (float32)" in report.causes[0].message
    assert "astype(np.float64)" in report.causes[0].action


@pytest.mark.parametrize(("h", "code"), [(1e-10, "h_too_small"), (0.5, "h_too_large")])
def test_doctor_names_a_bad_step_and_shows_the_sweep(rng, h, code):
    network, x, t = _net_and_batch(rng)
    report = gradient_check(network, x, t, h=h)
    assert not report.passed
    assert [c.code for c in report.causes] == [code]
    sweep = dict(report.h_sweep)
    assert sorted(sweep) == sorted(10.0**-k for k in range(1, 11))
    best = min(sweep, key=sweep.get)
    assert 1e-6 <= best <= 1e-2 and sweep[best] <= 1e-7  # the bottom of the U
    assert sweep[1e-1] > 1e3 * sweep[best] and sweep[1e-10] > 1e3 * sweep[best]  # its arms
    text = str(report)
    assert f"the step h={h:g} is too {code.rsplit('_', 1)[1]}" in text
    assert "use the book's h=1e-4" in text and f"lowest at h={best:g}" in text
    assert "← best" in text and "#" in text  # the table and its bar chart


class _DropoutLikeNet(TwoLayerNet):
    """A loss with fresh noise on every call, as a dropout layer in training mode."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = np.random.default_rng(5)

    def loss(self, x, t):
        return super().loss(x, t) + 1e-3 * self.noise.standard_normal()

    def astype(self, dtype):
        return self


def test_doctor_names_randomness_in_forward(rng):
    network = _DropoutLikeNet(5, 4, 3, weight_init_std=1.0, rng=rng)
    report = gradient_check(network, rng.standard_normal((3, 5)), np.array([0, 1, 2]))
    assert not report.passed
    assert report.causes[0].code == "random"
    assert "forward is random" in str(report)


def test_gradient_check_reports_progress(rng):
    network, x, t = _net_and_batch(rng)
    calls = []
    gradient_check(network, x, t, progress=lambda done, total: calls.append((done, total)))
    total = 2 * 2 * sum(p.size for p in network.params.values())  # ±h, and 2h for Richardson
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_doctor_names_integer_data(rng):
    # x ± 1e-4 does not exist in an integer array: x cannot be checked, and the report says so
    report = gradient_check(MulLayer(), np.array([100, 3]), np.array([2.0, 1.5]), rng=rng)
    assert not report.passed
    assert not report["x"].passed and report["y"].passed
    assert [c.code for c in report.causes] == ["dtype"]
    assert "integer data: x (int64)" in report.causes[0].message
