"""Optimizers: one hand-computed step each, convergence on a quadratic bowl, state, dtype."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop.networks import TwoLayerNet
from backprop.optimizers import (
    OPTIMIZER_NAMES,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSprop,
    get_optimizer,
)


def _step(optimizer, steps: int = 1) -> np.ndarray:
    """W = [1, −2] after ``steps`` updates with the constant gradient g = [0.5, 0.25]."""
    params = {"W": np.array([1.0, -2.0])}
    for _ in range(steps):
        optimizer.update(params, {"W": np.array([0.5, 0.25])})
    return params["W"]


# -- one step, computed by hand ---------------------------------------------------------------


def test_sgd_step():
    # W − lr·g = [1 − 0.05, −2 − 0.025]
    np.testing.assert_allclose(_step(SGD(lr=0.1)), [0.95, -2.025], rtol=0, atol=1e-15)


def test_momentum_two_steps():
    # v1 = −lr·g = [−0.05, −0.025], W1 = [0.95, −2.025];
    # v2 = 0.9·v1 − lr·g = [−0.095, −0.0475], W2 = W1 + v2 = [0.855, −2.0725]
    np.testing.assert_allclose(_step(Momentum(lr=0.1, momentum=0.9), 1), [0.95, -2.025])
    np.testing.assert_allclose(_step(Momentum(lr=0.1, momentum=0.9), 2), [0.855, -2.0725])


def test_nesterov_step():
    # v = [−0.05, −0.025]; W += α²v − (1 + α)·lr·g = 0.81·v − 0.19·g
    # W = [1 − 0.0405 − 0.095, −2 − 0.02025 − 0.0475] = [0.8645, −2.06775]
    np.testing.assert_allclose(_step(Nesterov(lr=0.1, momentum=0.9)), [0.8645, -2.06775])


def test_adagrad_two_steps():
    # h1 = g² = [0.25, 0.0625], √h1 = |g|: the first step is lr·sign(g) (up to ε)
    np.testing.assert_allclose(_step(AdaGrad(lr=0.1)), [0.9, -2.1], atol=1e-7)
    # h2 = 2g², step = lr·g/(√2·|g|) = 0.1/√2
    expected = np.array([0.9, -2.1]) - 0.1 / np.sqrt(2)
    np.testing.assert_allclose(_step(AdaGrad(lr=0.1), 2), expected, atol=1e-7)


def test_rmsprop_step():
    # h = (1 − 0.99)·g² = [0.0025, 0.000625], √h = [0.05, 0.025], g/√h = [10, 10]
    np.testing.assert_allclose(_step(RMSprop(lr=0.1, decay_rate=0.99)), [0.0, -3.0], atol=1e-5)


def test_adam_first_step_is_lr_times_sign():
    # m = 0.1·g, v = 0.001·g², lr_t = lr·√0.001/0.1, so lr_t·m/√v = lr·sign(g)
    np.testing.assert_allclose(_step(Adam(lr=0.001)), [0.999, -2.001], atol=1e-9)


# -- convergence ------------------------------------------------------------------------------

A = np.array([1.0, 10.0])  # f(W) = ½ Σ aᵢWᵢ², an elongated bowl with its minimum at 0


@pytest.mark.parametrize(
    ("name", "lr", "steps", "tol"),
    [
        ("sgd", 0.1, 300, 1e-6),
        ("momentum", 0.05, 300, 1e-6),
        ("nesterov", 0.05, 300, 1e-6),
        ("adagrad", 0.5, 500, 1e-6),
        ("rmsprop", 0.01, 1000, 1e-3),
        ("adam", 0.05, 1000, 1e-3),
    ],
)
def test_converges_on_a_quadratic_bowl(name, lr, steps, tol):
    optimizer = get_optimizer(name, lr=lr)
    params = {"W": np.array([3.0, -2.0])}
    for _ in range(steps):
        optimizer.update(params, {"W": A * params["W"]})  # ∂f/∂W = a·W
    assert 0.5 * np.sum(A * params["W"] ** 2) < tol


# -- in place, dtype --------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_float32_stays_float32_and_updates_in_place(name, rng):
    params = {
        "W": rng.standard_normal((4, 3)).astype(np.float32),
        "b": np.zeros(3, dtype=np.float32),
    }
    arrays = dict(params)
    optimizer = get_optimizer(name)
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        optimizer.update(params, grads)
    for key, value in params.items():
        assert value is arrays[key]
        assert value.dtype == np.float32
    for arrays_of_slot in optimizer.state.values():
        assert all(a.dtype == np.float32 for a in arrays_of_slot.values())


def test_update_reaches_the_network_layers():
    network = TwoLayerNet(4, 5, 3, seed=0)
    x, t = np.ones((2, 4)), np.array([0, 2])
    before = network.params["W1"].copy()
    SGD(lr=0.5).update(network.params, network.gradient(x, t))
    assert network.layers["Affine1"].W is network.params["W1"]
    assert not np.array_equal(network.layers["Affine1"].W, before)


# -- state_dict -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_state_dict_round_trip_continues_identically(name, rng):
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(5)]
    first = get_optimizer(name, lr=0.01)
    for g in grads[:3]:
        first.update(params, g)
    state = first.state_dict()
    json.dumps({k: v for k, v in state.items() if k != "state"})  # the rest is JSON
    second = get_optimizer(state["name"], **state["hyperparameters"])
    second.load_state_dict(state)
    assert second.iteration == 3
    copy = {k: v.copy() for k, v in params.items()}
    for g in grads[3:]:
        first.update(params, g)
        second.update(copy, g)
    for key in params:
        assert np.array_equal(params[key], copy[key])


def test_state_dict_arrays_are_copies():
    optimizer = Momentum()
    params = {"W": np.ones(2)}
    optimizer.update(params, {"W": np.ones(2)})
    state = optimizer.state_dict()
    state["state"]["v"]["W"][:] = 99
    assert not np.any(optimizer.state["v"]["W"] == 99)


def test_load_state_dict_rejects_another_optimizer():
    with pytest.raises(ValueError, match="the state is of Adam, not Momentum"):
        Momentum().load_state_dict(Adam().state_dict())


def test_load_state_dict_rejects_unknown_hyperparameters():
    with pytest.raises(ValueError, match="unknown hyperparameters beta1"):
        SGD().load_state_dict({"name": "SGD", "hyperparameters": {"beta1": 0.9}, "state": {}})


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_lr_must_be_positive(lr):
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number > 0, got"):
        SGD(lr=lr)


def test_lr_must_be_a_number():
    with pytest.raises(TypeError, match=r"Adam: lr must be a number, got '0\.1'"):
        Adam(lr="0.1")


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (Momentum, {"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
        (RMSprop, {"decay_rate": -0.1}, r"decay_rate must be in \[0, 1\)"),
        (Adam, {"beta2": 1.5}, r"beta2 must be in \[0, 1\)"),
        (AdaGrad, {"eps": 0}, "eps must be a finite number > 0"),
    ],
)
def test_hyperparameters_are_checked(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_get_optimizer_lists_the_names():
    with pytest.raises(ValueError, match="one of sgd, momentum, nesterov, adagrad, rmsprop, adam"):
        get_optimizer("adamw")


def test_get_optimizer_is_case_insensitive_and_names_hyperparameters():
    assert isinstance(get_optimizer("AdaGrad"), AdaGrad)
    with pytest.raises(TypeError, match="SGD takes the hyperparameters lr, got momentum"):
        get_optimizer("sgd", momentum=0.9)


def test_update_checks_keys_and_shapes():
    optimizer = SGD()
    params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        optimizer.update(params, {"W": np.ones((2, 2)), "c": np.ones(2)})
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(2, 3\), params\['W'\]"):
        optimizer.update(params, {"W": np.ones((2, 3)), "b": np.ones(2)})


@pytest.mark.parametrize("grad", [None, [1.0, 2.0]], ids=["None", "list"])
@pytest.mark.parametrize("later", [False, True], ids=["first-update", "later-update"])
def test_update_refuses_a_gradient_that_is_not_an_array(grad, later):
    optimizer = Adam()
    params = {"W": np.ones(2), "b": np.ones(2)}
    if later:
        optimizer.update(params, {"W": np.ones(2), "b": np.ones(2)})
    before = {key: value.copy() for key, value in params.items()}
    with pytest.raises(
        TypeError,
        match=rf"Adam.update: grads\['b'\] must be a NumPy array of shape \(2,\), "
        rf"got {type(grad).__name__}",
    ):
        optimizer.update(params, {"W": np.ones(2), "b": grad})
    # Nothing was updated half-way.
    assert optimizer.iteration == int(later)
    for key, value in params.items():
        np.testing.assert_array_equal(value, before[key])


def test_update_refuses_integer_parameters():
    with pytest.raises(TypeError, match="must be a floating NumPy array"):
        SGD().update({"W": np.ones(2, dtype=np.int64)}, {"W": np.ones(2)})


def test_repr_shows_the_hyperparameters():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)"
