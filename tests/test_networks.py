"""backprop.networks: TwoLayerNet and MultiLayerNet against numerical differentiation, seeds,
float32 end to end and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd.networks import TensorMultiLayerNet, TensorTwoLayerNet
from backprop.datasets import load_mnist
from backprop.gradient import gradient_check, numerical_gradient, relative_error
from backprop.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from backprop.networks import (
    MultiLayerNet,
    Network,
    NetworkBase,
    TwoLayerNet,
    network_from_config,
)

TOL = 1e-7


def _batch(rng, n, d, c):
    return rng.standard_normal((n, d)), rng.integers(0, c, size=n)


def _keep_off_the_kink(network, x, rng, margin=2e-2):
    """Give each bias a random value that keeps every ReLU input at least ``margin`` from 0.

    With zero biases, a sample whose hidden units are all inactive feeds exactly 0 into the
    next ReLU; a central difference straddling the kink is no derivative of anything.
    """
    for layer in network.layers.values():
        out = layer.forward(x)
        if isinstance(layer, Affine):
            z = out - layer.b
            for j in range(z.shape[1]):
                for _ in range(1000):
                    b = rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.5)
                    if np.min(np.abs(z[:, j] + b)) >= margin:
                        break
                layer.b[j] = b  # the very array in network.params
            out = layer.forward(x)
            assert np.min(np.abs(out)) >= margin, "test setup: a ReLU input is near 0"
        x = out


def _richardson_numerical_gradient(network, x, t, h=1e-3):
    """``numerical_gradient`` at steps h and h/2, combined so that the O(h²) error cancels.

    The central difference's own error h²·f‴/6 is ~1e-10 on these small random networks at the
    book's h = 1e-4: on gradient entries near 1e-4 that alone is a relative error of ~1e-6, so a
    check at 1e-7 would test the numerical method, not backprop. (4·N(h/2) − N(h)) / 3 leaves an
    O(h⁴) error, ~1e-9 relative here.
    """

    def loss_w(_):
        return network.loss(x, t)

    result = {}
    for key, param in network.params.items():
        coarse = numerical_gradient(loss_w, param, h=h)
        fine = numerical_gradient(loss_w, param, h=h / 2)
        result[key] = fine + (fine - coarse) / 3
    return result


def _assert_gradients_match(network, x, t, rng):
    _keep_off_the_kink(network, x, rng)
    grads = network.gradient(x, t)
    assert list(grads) == list(network.params)
    for key in network.params:
        assert grads[key].shape == network.params[key].shape, key
    # The book's API, at the book's h: as close as the central difference itself can be.
    numeric = network.numerical_gradient(x, t)
    assert list(numeric) == list(network.params)
    for key in network.params:
        error, index = relative_error(grads[key], numeric[key])
        assert error <= 1e-5, f"{key}: max relative error {error:.2e} at {index} (book's h)"
    # With the method's own error removed, backprop must agree to 1e-7.
    numeric = _richardson_numerical_gradient(network, x, t)
    for key in network.params:
        error, index = relative_error(grads[key], numeric[key])
        assert error <= TOL, f"{key}: max relative error {error:.2e} at {index}"


# -- TwoLayerNet -------------------------------------------------------------------------------


def test_two_layer_net_structure(rng):
    network = TwoLayerNet(784, 50, 10, rng=rng)
    assert list(network.params) == ["W1", "b1", "W2", "b2"]
    assert network.params["W1"].shape == (784, 50)
    assert network.params["b1"].shape == (50,)
    assert network.params["W2"].shape == (50, 10)
    assert network.params["b2"].shape == (10,)
    np.testing.assert_array_equal(network.params["b1"], 0.0)
    assert network.params["W1"].std() == pytest.approx(0.01, rel=0.05)
    assert list(network.layers) == ["Affine1", "Relu1", "Affine2"]
    assert isinstance(network.layers["Affine1"], Affine)
    assert isinstance(network.layers["Relu1"], Relu)
    assert isinstance(network.last_layer, SoftmaxWithLoss)
    # the layers hold the very arrays of params: in-place updates reach them
    assert network.layers["Affine1"].W is network.params["W1"]
    assert network.layers["Affine2"].b is network.params["b2"]
    assert repr(network) == (
        "TwoLayerNet(W1=(784, 50), b1=(50,), W2=(50, 10), b2=(10,), dtype=float64)"
    )


def test_two_layer_net_predict_loss_accuracy(rng):
    network = TwoLayerNet(4, 5, 3, weight_init_std=1.0, rng=rng)
    x, t = _batch(rng, 6, 4, 3)
    y = network.predict(x)
    assert y.shape == (6, 3)
    W1, b1, W2, b2 = (network.params[k] for k in ("W1", "b1", "W2", "b2"))
    np.testing.assert_allclose(y, np.maximum(x @ W1 + b1, 0) @ W2 + b2, rtol=1e-13)
    loss = network.loss(x, t)
    assert type(loss) is float
    logp = y - y.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-logp[np.arange(6), t].mean(), rel=1e-13)
    expected = np.mean(np.argmax(y, axis=1) == t)
    assert network.accuracy(x, t) == expected
    assert network.accuracy(x, np.eye(3)[t]) == expected


@pytest.mark.parametrize("n", [1, 3])
def test_two_layer_net_gradient_matches_numerical_gradient(rng, n):
    network = TwoLayerNet(4, 5, 3, weight_init_std=1.0, rng=rng)
    x, t = _batch(rng, n, 4, 3)
    _assert_gradients_match(network, x, t, rng)
    _assert_gradients_match(network, x, np.eye(3)[t], rng)


def test_two_layer_net_loss_and_gradient(rng):
    network = TwoLayerNet(4, 5, 3, weight_init_std=1.0, rng=rng)
    x, t = _batch(rng, 3, 4, 3)
    loss, grads = network.loss_and_gradient(x, t)
    assert loss == network.loss(x, t)
    for key, value in network.gradient(x, t).items():
        np.testing.assert_array_equal(grads[key], value)


# -- the book's formulas and torch, as independent references ----------------------------------


def book_two_layer_net(params, x, t):
    """The book's TwoLayerNet (5.6-5.7) written out in plain NumPy, float64: the loss and the
    gradients by the formulas of its layers, not by the library's nodes."""
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    n = x.shape[0]
    T = np.eye(W2.shape[1])[t] if np.ndim(t) == 1 else t
    # forward: Affine1 → Relu1 → Affine2 → Softmax → cross entropy
    a1 = x @ W1 + b1
    z1 = np.maximum(a1, 0)
    a2 = z1 @ W2 + b2
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    loss = -np.sum(T * np.log(y)) / n
    # backward: (y − t)/N, then each layer's rule
    dout = (y - T) / n
    grads = {"W2": z1.T @ dout, "b2": dout.sum(axis=0)}
    dout = dout @ W2.T
    dout = dout * (a1 > 0)  # ReLU: the gradient passes where x > 0
    grads["W1"] = x.T @ dout
    grads["b1"] = dout.sum(axis=0)
    return loss, {k: grads[k] for k in ("W1", "b1", "W2", "b2")}


@pytest.mark.parametrize("cls", [TwoLayerNet, TensorTwoLayerNet])
@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_two_layer_net_is_the_books_formulas(rng, cls, targets):
    network = cls(4, 5, 3, weight_init_std=1.0, rng=rng)
    x, t = _batch(rng, 6, 4, 3)
    if targets == "one-hot":
        t = np.eye(3)[t]
    loss, grads = network.loss_and_gradient(x, t)
    expected_loss, expected = book_two_layer_net(network.params, x, t)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    assert network.loss(x, t) == pytest.approx(expected_loss, rel=1e-13)
    assert list(grads) == list(network.params)
    for key, value in network.gradient(x, t).items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("cls", [TwoLayerNet, TensorTwoLayerNet])
def test_float32_two_layer_net_is_the_books_formulas_to_float32_rounding(rng, cls):
    network = cls(20, 8, 4, weight_init_std=0.5, rng=rng, dtype="float32")
    x, t = rng.standard_normal((16, 20)).astype(np.float32), rng.integers(0, 4, 16)
    loss, grads = network.loss_and_gradient(x, t)
    expected_loss, expected = book_two_layer_net(network.params, x.astype(np.float64), t)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for key, value in grads.items():
        assert value.dtype == np.float32
        scale = np.abs(expected[key]).max()
        np.testing.assert_allclose(value, expected[key], rtol=0, atol=1e-5 * scale, err_msg=key)


def _torch_reference(torch, network, x, t, activation="relu", lam=0.0):
    """Loss and gradients of the same network (same weights) computed by torch, float64."""
    ws = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in network.params.items()
    }
    n_layers = len(ws) // 2
    h = torch.tensor(x, dtype=torch.float64)
    for i in range(1, n_layers + 1):
        h = h @ ws[f"W{i}"] + ws[f"b{i}"]
        if i < n_layers:
            h = torch.relu(h) if activation == "relu" else torch.sigmoid(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(t))
    loss = loss + 0.5 * lam * sum((ws[f"W{i}"] ** 2).sum() for i in range(1, n_layers + 1))
    loss.backward()
    return loss.item(), {k: w.grad.numpy() for k, w in ws.items()}


@pytest.mark.parametrize("cls", [MultiLayerNet, TensorMultiLayerNet])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_multi_layer_net_agrees_with_torch(rng, torch, cls, activation):
    network = cls(4, [5, 6], 3, activation=activation, weight_decay_lambda=0.1, rng=rng)
    x, t = _batch(rng, 7, 4, 3)
    loss, grads = network.loss_and_gradient(x, t)
    expected_loss, expected = _torch_reference(torch, network, x, t, activation, lam=0.1)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for key in network.params:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-10, atol=1e-14, err_msg=key)


def test_two_layer_net_agrees_with_torch(rng, torch):
    network = TwoLayerNet(4, 5, 3, weight_init_std=1.0, rng=rng)
    x, t = _batch(rng, 6, 4, 3)
    loss, grads = network.loss_and_gradient(x, t)
    expected_loss, expected = _torch_reference(torch, network, x, t)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for key in network.params:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-10, atol=1e-14, err_msg=key)


def test_gradient_runs_one_forward_pass(rng):
    network = TwoLayerNet(4, 5, 3, rng=rng)
    calls = []
    forward = network.lastLayer.forward
    network.lastLayer.forward = lambda *args: calls.append(1) or forward(*args)
    x, t = _batch(rng, 3, 4, 3)
    network.gradient(x, t)
    assert len(calls) == 1
    network.loss_and_gradient(x, t)
    assert len(calls) == 2
    assert network.last_layer is network.lastLayer  # the snake-case name of the book's


def test_layer_and_tensor_networks_are_siblings():
    for tensor_cls, layer_cls in (
        (TensorTwoLayerNet, TwoLayerNet),
        (TensorMultiLayerNet, MultiLayerNet),
    ):
        assert not issubclass(tensor_cls, layer_cls)
        assert not issubclass(tensor_cls, Network)  # no layers to empty
        assert issubclass(tensor_cls, NetworkBase) and issubclass(layer_cls, Network)
    assert not hasattr(TensorTwoLayerNet(2, 3, 2, seed=0), "layers")


@pytest.mark.slow
def test_two_layer_net_gradient_on_real_mnist(rng, mnist_dir):
    (x_train, t_train), _ = load_mnist(data_dir=mnist_dir, download=False)
    network = TwoLayerNet(784, 3, 10, rng=rng)
    report = gradient_check(network, x_train[:3], t_train[:3])
    assert report.passed, str(report)


# -- MultiLayerNet -----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("weight_init_std", ["he", "xavier", 0.5])
@pytest.mark.parametrize("weight_decay_lambda", [0.0, 0.1])
def test_multi_layer_net_gradient_matches_numerical_gradient(
    rng, activation, weight_init_std, weight_decay_lambda
):
    network = MultiLayerNet(
        4,
        [5, 3],
        3,
        activation=activation,
        weight_init_std=weight_init_std,
        weight_decay_lambda=weight_decay_lambda,
        rng=rng,
    )
    x, t = _batch(rng, 3, 4, 3)
    _assert_gradients_match(network, x, t, rng)


def test_multi_layer_net_structure(rng):
    network = MultiLayerNet(6, [5, 4, 3], 2, activation="sigmoid", rng=rng)
    assert list(network.params) == ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"]
    assert list(network.layers) == [
        "Affine1",
        "Activation1",
        "Affine2",
        "Activation2",
        "Affine3",
        "Activation3",
        "Affine4",
    ]
    assert all(isinstance(network.layers[f"Activation{i}"], Sigmoid) for i in (1, 2, 3))
    x, t = _batch(rng, 2, 6, 2)
    assert list(network.gradient(x, t)) == list(network.params)
    assert network.predict(x).shape == (2, 2)


@pytest.mark.parametrize(
    ("weight_init_std", "fan_in_scale"), [("he", 2.0), ("relu", 2.0), ("xavier", 1.0)]
)
def test_multi_layer_net_initial_scales(rng, weight_init_std, fan_in_scale):
    network = MultiLayerNet(400, [300], 10, weight_init_std=weight_init_std, rng=rng)
    assert network.params["W1"].std() == pytest.approx(np.sqrt(fan_in_scale / 400), rel=0.02)
    assert network.params["W2"].std() == pytest.approx(np.sqrt(fan_in_scale / 300), rel=0.05)


def test_multi_layer_net_weight_decay_adds_to_loss_and_gradient(rng):
    plain = MultiLayerNet(3, [4], 2, weight_init_std=1.0, seed=5)
    decayed = MultiLayerNet(3, [4], 2, weight_init_std=1.0, weight_decay_lambda=0.1, seed=5)
    x, t = _batch(rng, 2, 3, 2)
    squares = sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + 0.05 * squares, rel=1e-14)
    g_plain, g_decayed = plain.gradient(x, t), decayed.gradient(x, t)
    np.testing.assert_allclose(g_decayed["W1"], g_plain["W1"] + 0.1 * plain.params["W1"])
    np.testing.assert_array_equal(g_decayed["b1"], g_plain["b1"])


# -- seeds and the global random state ---------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda **kw: TwoLayerNet(5, 4, 3, **kw), lambda **kw: MultiLayerNet(5, [4, 4], 3, **kw)],
    ids=["TwoLayerNet", "MultiLayerNet"],
)
def test_same_seed_same_weights_and_global_state_untouched(make):
    np.random.seed(1234)  # noqa: NPY002 (the legacy global state is what is checked here)
    state = np.random.get_state()  # noqa: NPY002
    a, b, c = make(seed=7), make(seed=7), make(seed=8)
    d = make(rng=np.random.default_rng(7))
    e = make()  # fresh entropy, still not the global state
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0]
    np.testing.assert_array_equal(after[1], state[1])
    assert after[2:] == state[2:]
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
        np.testing.assert_array_equal(a.params[key], d.params[key])
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert not np.array_equal(a.params["W1"], e.params["W1"])


def test_seed_and_rng_together_is_an_error():
    with pytest.raises(ValueError, match=r"give either seed or rng, not both"):
        TwoLayerNet(2, 2, 2, seed=1, rng=np.random.default_rng(1))


def test_float32_and_float64_networks_share_their_seeded_weights():
    a = TwoLayerNet(5, 4, 3, seed=3)
    b = TwoLayerNet(5, 4, 3, seed=3, dtype="float32")
    np.testing.assert_array_equal(a.params["W1"].astype(np.float32), b.params["W1"])


# -- float32 end to end ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoLayerNet(6, 5, 3, weight_init_std=0.5, seed=0, dtype="float32"),
        lambda: MultiLayerNet(
            6, [5, 4], 3, activation="sigmoid", weight_decay_lambda=0.1, seed=0, dtype="float32"
        ),
    ],
    ids=["TwoLayerNet", "MultiLayerNet"],
)
@pytest.mark.parametrize("targets", ["labels", "one-hot float64", "one-hot float32", "one-hot int"])
def test_float32_end_to_end(rng, make, targets):
    network = make()
    x = rng.standard_normal((4, 6))  # float64 data: the network computes in its own dtype
    labels = rng.integers(0, 3, size=4)
    t = {
        "labels": labels,
        "one-hot float64": np.eye(3)[labels],
        "one-hot float32": np.eye(3, dtype=np.float32)[labels],
        "one-hot int": np.eye(3, dtype=np.int64)[labels],
    }[targets]
    assert network.dtype == np.float32
    assert all(p.dtype == np.float32 for p in network.params.values())
    assert network.predict(x).dtype == np.float32
    loss, grads = network.loss_and_gradient(x, t)
    assert np.isfinite(loss)
    for key, grad in grads.items():
        assert grad.dtype == np.float32, key
    for name, layer in network.layers.items():  # every cached activation is float32 too
        for attr, value in vars(layer).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert value.dtype == np.float32, f"{name}.{attr}"
    assert network.last_layer.y.dtype == np.float32


def test_numerical_gradient_of_a_float32_network_is_computed_in_float64(rng):
    network = TwoLayerNet(4, 5, 3, weight_init_std=1.0, rng=rng, dtype="float32")
    x, t = _batch(rng, 3, 4, 3)
    before = {k: v.copy() for k, v in network.params.items()}
    numeric = network.numerical_gradient(x, t)
    reference = network.astype("float64").numerical_gradient(x, t)
    grads = network.gradient(x, t)
    for key in network.params:
        assert numeric[key].dtype == np.float32
        np.testing.assert_array_equal(network.params[key], before[key])
        # float64 differences rounded to float32, not float32 differences (errors of ~1e-3)
        np.testing.assert_array_equal(numeric[key], reference[key].astype(np.float32))
        assert relative_error(grads[key], numeric[key])[0] <= 1e-5, key


def test_astype_copies(rng):
    network = TwoLayerNet(4, 3, 2, seed=1, dtype="float32")
    copy64 = network.astype("float64")
    assert copy64.dtype == np.float64 and network.dtype == np.float32
    assert copy64.layers["Affine1"].W is copy64.params["W1"]
    copy64.params["W1"] += 1.0
    assert not np.allclose(copy64.params["W1"], network.params["W1"])
    assert copy64.layers["Affine1"].W is not network.layers["Affine1"].W


def test_astype_and_dtype_choices():
    with pytest.raises(ValueError, match=r"dtype must be one of float32, float64, got float16"):
        TwoLayerNet(2, 2, 2, dtype="float16")
    with pytest.raises(ValueError, match=r"dtype must be one of float32, float64, got int64"):
        TwoLayerNet(2, 2, 2).astype(np.int64)


# -- stability ---------------------------------------------------------------------------------


def test_huge_scores_give_a_finite_loss_and_gradient_silently(rng):
    network = TwoLayerNet(3, 4, 3, weight_init_std=1.0, rng=rng)
    network.params["W2"][...] = 1e4 * np.sign(network.params["W2"])
    x = 10 * rng.standard_normal((2, 3))
    with np.errstate(all="raise"):
        loss, grads = network.loss_and_gradient(x, np.array([0, 1]))
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


# -- configuration and checkpoints -------------------------------------------------------------


@pytest.mark.parametrize(
    "network",
    [
        TwoLayerNet(4, 3, 2, weight_init_std=0.1, seed=0),
        MultiLayerNet(4, [3, 3], 2, activation="sigmoid", weight_init_std="xavier", seed=0),
    ],
    ids=["TwoLayerNet", "MultiLayerNet"],
)
def test_config_round_trip_and_load_params(network):
    copy = network_from_config(network.config(), seed=99)
    assert type(copy) is type(network)
    assert copy.config() == network.config()
    copy.load_params(network.params)
    for key in network.params:
        np.testing.assert_array_equal(copy.params[key], network.params[key])
        assert copy.params[key] is not network.params[key]
    x = np.ones((1, 4))
    np.testing.assert_array_equal(copy.predict(x), network.predict(x))


def test_load_params_rejects_other_architectures():
    network = TwoLayerNet(4, 3, 2, seed=0)
    params = dict(TwoLayerNet(4, 5, 2, seed=0).params)
    del params["b2"]
    params["W3"] = np.zeros(1)
    with pytest.raises(
        ValueError,
        match=r"TwoLayerNet: the parameters do not fit this network: missing b2; unexpected W3; "
        r"W1 has shape \(4, 5\), expected \(4, 3\); b1 has shape \(5,\), expected \(3,\)",
    ):
        network.load_params(params)


def test_network_from_config_with_params_checks_the_sizes_first():
    network = MultiLayerNet(4, [3, 3], 2, seed=0)
    copy = network_from_config(network.config(), params=network.params)
    for key in network.params:
        np.testing.assert_array_equal(copy.params[key], network.params[key])
    config = {**network.config(), "hidden_size_list": [3, 10**12]}  # would need TiBs
    with pytest.raises(
        ValueError,
        match=r"the configuration of MultiLayerNet does not fit the stored parameters: "
        r"W2 has shape \(3, 3\), the configuration says \(3, 1000000000000\); "
        r"b2 has shape \(3,\), the configuration says \(1000000000000,\); "
        r"W3 has shape \(3, 2\), the configuration says \(1000000000000, 2\)",
    ):
        network_from_config(config, params=network.params)


def test_network_from_config_errors():
    with pytest.raises(
        ValueError,
        match=r"unknown network class 'Big'; known classes: DeepConvNet, MultiLayerNet, "
        r"MultiLayerNetExtend, SimpleConvNet, TensorMultiLayerNet, TensorTwoLayerNet, TwoLayerNet",
    ):
        network_from_config({"class": "Big"})
    with pytest.raises(ValueError, match=r"invalid configuration for TwoLayerNet"):
        network_from_config({"class": "TwoLayerNet", "input_size": 2})


# -- bad input ---------------------------------------------------------------------------------


def test_input_features_mismatch_names_the_layer_and_both_shapes():
    network = TwoLayerNet(784, 50, 10, seed=0)
    with pytest.raises(
        ValueError,
        match=r"^Affine1: x has 783 features, W expects 784 "
        r"\(x.shape=\(100, 783\), W.shape=\(784, 50\)\)$",
    ):
        network.loss(np.zeros((100, 783)), np.zeros(100, dtype=int))


def test_multi_layer_features_mismatch_names_the_layer():
    network = MultiLayerNet(3, [2], 2, seed=0)
    with pytest.raises(ValueError, match=r"^Affine1: x has 4 features, W expects 3"):
        network.predict(np.zeros((1, 4)))


def test_targets_that_do_not_match_the_outputs():
    network = TwoLayerNet(4, 3, 2, seed=0)
    x = np.zeros((3, 4))
    with pytest.raises(
        ValueError,
        match=r"SoftmaxWithLoss: targets t must be labels of shape \(3,\) or one-hot of shape "
        r"\(3, 2\) for outputs of shape \(3, 2\), got t.shape=\(2,\)",
    ):
        network.loss(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"got t.shape=\(3, 10\)"):
        network.gradient(x, np.zeros((3, 10)))


def test_labels_outside_the_classes():
    network = TwoLayerNet(4, 3, 2, seed=0)
    with pytest.raises(
        ValueError, match=r"SoftmaxWithLoss: labels must be in \[0, 2\) for 2 classes, got \[2, 5\]"
    ):
        network.gradient(np.zeros((3, 4)), np.array([2, 0, 5]))


def test_non_finite_input_is_reported():
    network = TwoLayerNet(2, 3, 2, seed=0)
    x = np.array([[np.nan, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: the scores x contain 2 NaN"):
        network.loss(x, np.array([0, 1]))


def test_accuracy_target_count_mismatch():
    network = TwoLayerNet(2, 3, 2, seed=0)
    with pytest.raises(
        ValueError, match=r"TwoLayerNet.accuracy: targets t must be labels of shape \(2,\)"
    ):
        network.accuracy(np.zeros((2, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"got t.shape=\(\)"):
        network.accuracy(np.zeros((2, 2)), np.array(1))


def test_two_layer_net_takes_he_and_xavier_init():
    he = TwoLayerNet(400, 100, 10, weight_init_std="he", seed=0)
    xavier = TwoLayerNet(400, 100, 10, weight_init_std="xavier", seed=0)
    assert he.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    assert he.params["W2"].std() == pytest.approx(np.sqrt(2 / 100), rel=0.1)
    assert xavier.params["W1"].std() == pytest.approx(np.sqrt(1 / 400), rel=0.05)
    with pytest.raises(ValueError, match="weight_init_std must be 'he', 'xavier' or a number"):
        TwoLayerNet(4, 3, 2, weight_init_std="kaiming")
    with pytest.raises(ValueError, match="weight_init_std must be a positive number"):
        TwoLayerNet(4, 3, 2, weight_init_std=[0.1])


def test_backward_before_forward_in_a_network():
    network = TwoLayerNet(2, 3, 2, seed=0)
    with pytest.raises(ValueError, match=r"^Affine2\.backward called before forward$"):
        network.layers["Affine2"].backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"^SoftmaxWithLoss\.backward called before forward$"):
        network.last_layer.backward()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"input_size": 0}, r"input_size must be a positive integer, got 0"),
        ({"hidden_size_list": [3, -1]}, r"hidden_size_list\[1\] must be a positive integer"),
        ({"output_size": 2.5}, r"output_size must be a positive integer, got 2.5"),
        ({"activation": "tanh"}, r"activation must be 'relu' or 'sigmoid', got 'tanh'"),
        ({"weight_init_std": "glorot"}, r"weight_init_std must be 'he', 'xavier' or a number"),
        ({"weight_init_std": -1.0}, r"weight_init_std must be a positive number, got -1.0"),
        ({"weight_decay_lambda": -0.1}, r"weight_decay_lambda must be ≥ 0, got -0.1"),
    ],
)
def test_multi_layer_net_bad_arguments(kwargs, pattern):
    arguments = {"input_size": 3, "hidden_size_list": [3], "output_size": 2} | kwargs
    with pytest.raises(ValueError, match=pattern):
        MultiLayerNet(**arguments)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        ((0, 3, 2), r"input_size must be a positive integer, got 0"),
        ((3, True, 2), r"hidden_size must be a positive integer, got True"),
        ((3, 3, "2"), r"output_size must be a positive integer, got '2'"),
    ],
)
def test_two_layer_net_bad_sizes(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        TwoLayerNet(*args)
