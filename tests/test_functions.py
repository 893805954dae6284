"""backprop.functions: values from the book, numerical stability, dtypes and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop.functions import (
    cross_entropy_error,
    identity_function,
    log_softmax,
    logsumexp,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    step_function,
    sum_to,
    tanh,
)

# The book's example (4.2.1): the network says "2" with probability 0.6, the answer is 2.
Y_BOOK = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
T_BOOK = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])

ELEMENTWISE = [identity_function, sigmoid, relu, tanh, softmax, log_softmax]


# -- values ------------------------------------------------------------------------------------


def test_identity_and_step_function():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(identity_function(x), x)
    np.testing.assert_array_equal(step_function(x), [0, 0, 1])
    assert step_function(x).dtype == np.int64


def test_sigmoid_values():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert sigmoid(0.0) == 0.5


def test_relu_values_and_kink():
    np.testing.assert_array_equal(relu(np.array([-2.0, -0.0, 0.0, 3.5])), [0.0, 0.0, 0.0, 3.5])


def test_tanh_values():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(tanh(x), np.tanh(x))


def test_softmax_1d_is_the_books_example():
    a = np.array([0.3, 2.9, 4.0])  # 3.5.1
    y = softmax(a)
    np.testing.assert_allclose(y, [0.01821127, 0.24519181, 0.73659691], rtol=0, atol=5e-9)
    assert y.sum() == pytest.approx(1.0, abs=1e-15)


def test_softmax_batched_rows_and_shift_invariance(rng):
    x = rng.standard_normal((4, 6))
    y = softmax(x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(y, softmax(x + 1000.0), rtol=1e-12)
    for row in range(4):
        np.testing.assert_allclose(y[row], softmax(x[row]), rtol=1e-15)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_softmax_log_softmax_and_logsumexp_over_any_axis(rng, axis):
    x = rng.standard_normal((3, 4)) * 5
    e = np.exp(x)  # the definitions, written out (safe at this scale)
    np.testing.assert_allclose(softmax(x, axis=axis), e / e.sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(
        log_softmax(x, axis=axis), x - np.log(e.sum(axis=axis, keepdims=True))
    )
    np.testing.assert_allclose(logsumexp(x, axis=axis), np.log(e.sum(axis=axis)), rtol=1e-14)
    kept = logsumexp(x, axis=axis, keepdims=True)
    assert kept.shape == np.log(e.sum(axis=axis, keepdims=True)).shape


def test_logsumexp_of_huge_values_is_finite_and_silent():
    x = np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]])
    with np.errstate(all="raise"):
        np.testing.assert_allclose(logsumexp(x), [1e4 + np.log(2), -1e4 + np.log(3)], rtol=1e-15)
    assert logsumexp(np.array([1.0, 2.0], dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(100, 10), (40, 10), (39, 10), (128, 32), (200, 33), (7, 3)])
def test_softmax_of_a_batch_of_short_rows_is_the_formula_written_out(rng, shape, dtype):
    """Short rows take the maximum down the columns: the same numbers, NaN and ±inf rows too."""
    x = (rng.standard_normal(shape) * 30).astype(dtype)
    x[1, 2] = np.nan
    x[2, :] = -np.inf
    x[3, 0] = np.inf
    x[4, :] = 1e4
    with np.errstate(invalid="ignore", over="ignore"):
        m = x.max(axis=1, keepdims=True)
        e = np.exp(x - m)
        expected = e / e.sum(axis=1, keepdims=True)
        got = softmax(x, axis=1)
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=2e-6 if dtype == np.float32 else 1e-14)
    assert np.isnan(got[1:4]).all(axis=1).tolist() == [True, True, True]
    np.testing.assert_allclose(got[4], np.full(shape[1], 1 / shape[1]), rtol=1e-6)


def test_log_softmax_is_log_of_softmax(rng):
    x = rng.standard_normal((3, 5))
    np.testing.assert_allclose(log_softmax(x), np.log(softmax(x)), rtol=1e-13)


def test_mean_squared_error_is_the_books_definition():
    assert mean_squared_error(Y_BOOK, T_BOOK) == pytest.approx(0.0975, rel=1e-14)
    # summed with ½, over a batch too
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.zeros((2, 2))
    assert mean_squared_error(y, t) == 0.5 * (1 + 4 + 9 + 16)


def test_cross_entropy_error_book_example_without_the_floor_bias():
    # The book adds 1e-7 inside the log and prints 0.510825457099338; the floor here only
    # applies to probabilities below eps, so the result is −log 0.6 exactly.
    assert cross_entropy_error(Y_BOOK, T_BOOK) == pytest.approx(-math.log(0.6), rel=1e-15)
    assert cross_entropy_error(Y_BOOK, 2) == pytest.approx(-math.log(0.6), rel=1e-15)


def test_cross_entropy_error_labels_equal_one_hot_and_mean_over_batch(rng):
    y = softmax(rng.standard_normal((5, 4)))
    t = rng.integers(0, 4, size=5)
    one_hot = np.eye(4)[t]
    expected = -np.mean(np.log(y[np.arange(5), t]))
    assert cross_entropy_error(y, t) == pytest.approx(expected, rel=1e-14)
    assert cross_entropy_error(y, one_hot) == pytest.approx(expected, rel=1e-14)
    assert cross_entropy_error(y[1], t[1]) == pytest.approx(-np.log(y[1, t[1]]), rel=1e-14)
    assert cross_entropy_error(y[1:2], t[1:2]) == pytest.approx(-np.log(y[1, t[1]]), rel=1e-14)


def test_softmax_cross_entropy_matches_the_two_step_loss(rng):
    x = rng.standard_normal((4, 3))
    t = rng.integers(0, 3, size=4)
    two_step = cross_entropy_error(softmax(x), t)
    assert softmax_cross_entropy(x, t) == pytest.approx(two_step, rel=1e-12)
    assert softmax_cross_entropy(x, np.eye(3)[t]) == pytest.approx(two_step, rel=1e-12)
    assert softmax_cross_entropy(x[0], t[0]) == pytest.approx(
        cross_entropy_error(softmax(x[0]), t[0]), rel=1e-12
    )


def test_float_labels_with_integral_values_are_accepted():
    y = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert cross_entropy_error(y, np.array([1.0, 0.0])) == cross_entropy_error(y, [1, 0])


@pytest.mark.parametrize(
    ("shape", "target"),
    [
        ((2, 3), (3,)),
        ((2, 3), (1, 3)),
        ((2, 3), (2, 1)),
        ((1, 1), (1,)),
        ((4, 1, 5), (4, 1, 5)),
        ((6,), (6,)),
    ],
)
def test_sum_to(rng, shape, target):
    x = rng.standard_normal(shape)
    y = sum_to(x, target)
    assert y.shape == target
    # the adjoint of broadcasting: <sum_to(x), v> == <x, broadcast(v)>
    v = rng.standard_normal(target)
    assert np.sum(y * v) == pytest.approx(np.sum(x * np.broadcast_to(v, shape)), rel=1e-12)


def test_sum_to_same_shape_returns_the_array_itself(rng):
    x = rng.standard_normal((2, 3))
    assert sum_to(x, (2, 3)) is x


def test_sum_to_bad_shapes():
    with pytest.raises(ValueError, match=r"sum_to: cannot sum shape \(3,\) to the larger"):
        sum_to(np.ones(3), (2, 3))
    with pytest.raises(ValueError, match=r"sum_to: shape \(2, 3\) does not broadcast from \(2,\)"):
        sum_to(np.ones((2, 3)), (2,))


# -- stability: finite results and no NumPy warning under errstate(all="raise") ---------------


def test_sigmoid_of_huge_inputs_is_exact_and_silent():
    with np.errstate(all="raise"):
        y = sigmoid(np.array([-1000.0, 1000.0, -1e308, 1e308]))
        y32 = sigmoid(np.array([-1000.0, 1000.0], dtype=np.float32))
    np.testing.assert_array_equal(y, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(y32, [0.0, 1.0])


def test_softmax_and_log_softmax_of_huge_logits_are_finite_and_silent():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    with np.errstate(all="raise"):
        y = softmax(x)
        logp = log_softmax(x)
        y32 = softmax(x.astype(np.float32))
    np.testing.assert_array_equal(y, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(logp, [[0.0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-15)
    assert np.all(np.isfinite(y32))


def test_cross_entropy_of_a_zero_probability_is_finite_and_silent():
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    with np.errstate(all="raise"):
        loss = cross_entropy_error(y, np.array([0, 0]))
        one_hot = cross_entropy_error(y, np.array([[1, 0], [1, 0]]))
    assert loss == pytest.approx(-np.log(1e-7) / 2)
    assert one_hot == loss


def test_softmax_cross_entropy_of_huge_logits_is_exact_and_silent():
    with np.errstate(all="raise"):
        loss = softmax_cross_entropy(np.array([[1e4, -1e4, 0.0]]), np.array([1]))
    assert loss == 2e4


# -- dtypes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_is_kept(rng, function, dtype):
    x = rng.standard_normal((3, 4)).astype(dtype)
    assert function(x).dtype == dtype


@pytest.mark.parametrize("function", [sigmoid, tanh, softmax, log_softmax])
def test_integer_input_is_computed_in_float64(function):
    assert function(np.array([[1, 2, 3]])).dtype == np.float64


@pytest.mark.parametrize("function", ELEMENTWISE)
def test_functions_do_not_modify_their_input(rng, function):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    function(x)
    np.testing.assert_array_equal(x, before)


def test_losses_return_python_floats(rng):
    y = softmax(rng.standard_normal((2, 3)).astype(np.float32))
    assert type(cross_entropy_error(y, [0, 1])) is float
    assert type(mean_squared_error(y, np.zeros_like(y))) is float
    assert type(softmax_cross_entropy(y, [0, 1])) is float


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"x must be a real numeric array, got dtype <U1"):
        sigmoid(np.array(["a"]))


# -- bad targets -------------------------------------------------------------------------------


def test_mean_squared_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"mean_squared_error: .* y.shape=\(10,\), t.shape=\(9,\)"):
        mean_squared_error(Y_BOOK, T_BOOK[:9])


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_target_shape_mismatch(loss):
    y = np.full((2, 3), 1 / 3)
    pattern = (
        rf"{loss.__name__}: targets t must be labels of shape \(2,\) or one-hot of shape "
        r"\(2, 3\) for outputs of shape \(2, 3\), got t.shape=\(3,\)"
    )
    with pytest.raises(ValueError, match=pattern):
        loss(y, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"got t.shape=\(2, 4\)"):
        loss(y, np.zeros((2, 4)))


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_single_sample_with_a_wrong_target_is_a_clear_error(loss):
    # The book's reshape turned these into a bare NumPy "cannot reshape" error.
    with pytest.raises(ValueError, match=r"got t.shape=\(3,\)"):
        loss(Y_BOOK, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"got t.shape=\(2, 10\)"):
        loss(Y_BOOK, np.zeros((2, 10)))


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_labels_outside_the_classes(loss):
    y = np.full((3, 4), 0.25)
    with pytest.raises(
        ValueError, match=r"labels must be in \[0, 4\) for 4 classes, got \[4, -1\]"
    ):
        loss(y, np.array([4, 0, -1]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\) for 10 classes, got \[10\]"):
        loss(Y_BOOK, 10)


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_non_integer_and_non_finite_labels(loss):
    y = np.full((2, 3), 1 / 3)
    with pytest.raises(TypeError, match=r"label targets must be integers, got dtype float64"):
        loss(y, np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match=r"label targets must be integers.*nan"):
        loss(y, np.array([np.nan, 1.0]))
    with pytest.raises(TypeError, match=r"label targets must be integers, got dtype bool"):
        loss(y, np.array([True, False]))


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_non_finite_one_hot_targets(loss):
    t = np.array([[0.0, 1.0, 0.0], [np.inf, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"one-hot targets t contain NaN or infinite values"):
        loss(np.full((2, 3), 1 / 3), t)


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_non_finite_outputs_are_an_error_not_a_nan_loss(loss):
    y = np.array([[0.5, np.nan, 0.5], [np.inf, 0.0, 0.0]])
    with pytest.raises(
        ValueError,
        match=rf"^{loss.__name__}: \w contains 1 NaN and 1 infinite values \(\w.shape=\(2, 3\)\)$",
    ):
        loss(y, np.array([0, 1]))


@pytest.mark.parametrize("loss", [cross_entropy_error, softmax_cross_entropy])
def test_outputs_of_three_dimensions(loss):
    with pytest.raises(ValueError, match=r"must be \(C,\) or \(N, C\), got \w.shape=\(2, 3, 4\)"):
        loss(np.ones((2, 3, 4)), np.zeros(2, dtype=int))
