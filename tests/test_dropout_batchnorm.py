"""Dropout and BatchNormalization (6.3, 6.4.3): the book's formulas written out here, the
numerical gradient, torch, the Tensor forms, MultiLayerNetExtend and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor, batch_norm, dropout
from backprop.gradient import numerical_gradient, relative_error
from backprop.layers import BatchNormalization, Dropout
from backprop.networks import MultiLayerNetExtend, network_from_config


def _numeric(f, x):
    return numerical_gradient(lambda _: f(), x)


# -- Dropout ------------------------------------------------------------------------------------


def test_dropout_train_and_test_follow_the_book(rng):
    x = rng.standard_normal((200, 50))
    layer = Dropout(0.3, rng=np.random.default_rng(0))
    out = layer.forward(x, train_flg=True)
    mask = layer.mask
    np.testing.assert_array_equal(out, x * mask)
    assert 0.6 < mask.mean() < 0.8  # kept with probability 0.7
    dout = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout * mask)
    np.testing.assert_allclose(layer.forward(x, train_flg=False), x * 0.7)
    np.testing.assert_allclose(layer.backward(dout), dout * 0.7)


def test_inverted_dropout_scales_in_training(rng):
    x = rng.standard_normal((4, 5))
    layer = Dropout(0.5, inverted=True, rng=np.random.default_rng(1))
    out = layer.forward(x)
    np.testing.assert_allclose(out, x * layer.mask / 0.5)
    np.testing.assert_array_equal(layer.forward(x, train_flg=False), x)


def test_dropout_backward_matches_numerical_gradient_with_a_fixed_mask(rng):
    x = rng.standard_normal((1, 7))  # batch 1
    layer = Dropout(0.4, inverted=True, rng=np.random.default_rng(2))
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    mask = layer.mask

    def loss():  # the same mask every time
        return np.sum(x * mask / 0.6 * dout)

    assert relative_error(dx, _numeric(loss, x))[0] < 1e-9


def test_dropout_keeps_float32_and_checks_its_arguments(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for inverted in (False, True):
        layer = Dropout(0.5, inverted=inverted)
        assert layer.forward(x).dtype == np.float32
        assert layer.forward(x, False).dtype == np.float32
    with pytest.raises(ValueError, match="dropout_ratio must be in"):
        Dropout(1.0)
    with pytest.raises(TypeError, match="train_flg must be True"):
        Dropout().forward(x, "test")


def test_dropout_tensor_agrees_with_the_layer(rng):
    x = Tensor(rng.standard_normal((3, 4)))
    y = dropout(x, 0.5, rng=np.random.default_rng(5))
    g = rng.standard_normal(y.shape)
    y.backward(g)
    mask = np.random.default_rng(5).random((3, 4), dtype=np.float32) > 0.5
    np.testing.assert_array_equal(y.data, x.data * mask)
    np.testing.assert_array_equal(x.grad, g * mask)
    np.testing.assert_allclose(dropout(x, 0.5, train_flg=False).data, x.data * 0.5)


# -- BatchNormalization -------------------------------------------------------------------------


def book_batchnorm_backward(x, gamma, dout, eps):
    """The book's ``BatchNormalization.__backward`` (6.3), step by step."""
    N = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc**2, axis=0)
    std = np.sqrt(var + eps)
    xn = xc / std
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = gamma * dout
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / N) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    dx = dxc - dmu / N
    return dx, dgamma, dbeta


@pytest.mark.parametrize("shape", [(3, 3), (5, 4), (3, 2, 3, 3), (1, 3, 2, 2)])
def test_batchnorm_backward_matches_numerical_gradient(rng, shape):
    D = shape[1]
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    layer = BatchNormalization(gamma, beta)
    out = layer.forward(x, train_flg=True)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    def loss():
        return np.sum(BatchNormalization(gamma, beta).forward(x, True) * dout)

    for name, grad, param in (
        ("x", dx, x),
        ("gamma", layer.dgamma, gamma),
        ("beta", layer.dbeta, beta),
    ):
        error, where = relative_error(grad, _numeric(loss, param))
        assert error < 1e-6, f"{name}: relative error {error:.1e} at {where}"


def test_batchnorm_matches_the_books_backward(rng):
    x = rng.standard_normal((6, 4))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    layer = BatchNormalization(gamma, beta)
    layer.forward(x)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    dx_book, dgamma_book, dbeta_book = book_batchnorm_backward(x, gamma, dout, layer.eps)
    np.testing.assert_allclose(dx, dx_book, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, dgamma_book, rtol=1e-12)
    np.testing.assert_allclose(layer.dbeta, dbeta_book, rtol=1e-12)


def test_batchnorm_test_mode_uses_running_statistics(rng):
    gamma, beta = np.ones(3), np.zeros(3)
    layer = BatchNormalization(gamma, beta, momentum=0.9)
    x = rng.standard_normal((8, 3)) * 2 + 5
    layer.forward(x, train_flg=True)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(layer.running_var, 0.1 * x.var(axis=0))
    out = layer.forward(x, train_flg=False)
    expected = (x - layer.running_mean) / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(out, expected)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)

    def loss():
        return np.sum(layer.forward(x, False) * dout)

    assert relative_error(dx, _numeric(loss, x))[0] < 1e-7


def test_batchnorm_matches_torch_per_channel(rng, torch):
    x = rng.standard_normal((4, 3, 2, 5))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    layer = BatchNormalization(gamma, beta, momentum=0.9, eps=1e-5)
    out = layer.forward(x, train_flg=True)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    yt = torch.nn.functional.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-5)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, gt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.dbeta, bt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean, rm.numpy(), rtol=1e-10)
    # torch keeps the unbiased variance in its running average; the book the biased one
    n = 4 * 2 * 5
    np.testing.assert_allclose(layer.running_var * n / (n - 1), rv.numpy(), rtol=1e-10)


def test_batchnorm_tensor_agrees_with_the_layer_and_updates_running_stats(rng):
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = np.zeros(3), np.ones(3)
    xt, gt, bt = Tensor(x), Tensor(gamma), Tensor(beta)
    y = batch_norm(xt, gt, bt, rm, rv)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    layer = BatchNormalization(gamma, beta, running_mean=np.zeros(3), running_var=np.ones(3))
    np.testing.assert_allclose(y.data, layer.forward(x), rtol=1e-12)
    np.testing.assert_allclose(xt.grad, layer.backward(g), rtol=1e-12)
    np.testing.assert_allclose(gt.grad, layer.dgamma, rtol=1e-12)
    np.testing.assert_allclose(rm, layer.running_mean)
    np.testing.assert_allclose(rv, layer.running_var)
    with pytest.raises(ValueError, match=r"test mode .* needs running_mean"):
        batch_norm(xt, gt, bt, train_flg=False)


def test_batchnorm_float32_and_bad_input(rng):
    gamma, beta = np.ones(4, np.float32), np.zeros(4, np.float32)
    layer = BatchNormalization(gamma, beta)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert layer.running_mean.dtype == np.float32
    layer.name = "BatchNorm1"
    with pytest.raises(ValueError, match=r"BatchNorm1: x of shape \(3, 5\) does not fit gamma"):
        layer.forward(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="at least 2 samples"):
        layer.forward(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="gamma and beta must be 1-D"):
        BatchNormalization(np.ones(3), np.zeros(4))


# -- MultiLayerNetExtend ------------------------------------------------------------------------


def _off_the_kinks(net, x, rng):
    """Biases that keep every ReLU input away from 0 (a central difference across a kink
    measures no derivative)."""
    for key in net.params:
        if key.startswith("b") or key.startswith("beta"):
            net.params[key][...] = rng.choice([-1.0, 1.0], net.params[key].shape) * 0.3


@pytest.mark.parametrize(
    "options",
    [
        {"use_batchnorm": True},
        {"use_dropout": True, "dropout_ration": 0.3},
        {"use_batchnorm": True, "use_dropout": True, "weight_decay_lambda": 0.1},
    ],
)
def test_multi_layer_net_extend_gradient_matches_numerical(rng, options):
    net = MultiLayerNetExtend(5, [6, 4], 3, seed=1, **options)
    x = rng.standard_normal((7, 5))
    t = rng.integers(0, 3, 7)
    _off_the_kinks(net, x, rng)
    numeric = net.numerical_gradient(x, t)  # rewinds the dropout masks: same masks below
    grads = net.gradient(x, t)
    assert list(grads) == list(net.params)
    for key in net.params:
        error, where = relative_error(grads[key], numeric[key])
        assert error < 1e-5, f"{key}: relative error {error:.1e} at {where}"


def test_multi_layer_net_extend_modes_and_buffers(rng):
    net = MultiLayerNetExtend(4, [5], 3, use_dropout=True, use_batchnorm=True, seed=0)
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 3, 6)
    # Test mode by default: deterministic predictions and accuracy.
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    assert not np.array_equal(net.predict(x, train_flg=True), net.predict(x, train_flg=True))
    before = {k: v.copy() for k, v in net.buffers.items()}
    net.gradient(x, t)
    assert set(net.buffers) == {"running_mean1", "running_var1"}
    assert not np.allclose(before["running_mean1"], net.buffers["running_mean1"])
    config = net.config()
    assert config["use_batchnorm"] and config["use_dropout"]
    rebuilt = network_from_config(config, params=net.params)
    rebuilt.load_buffers(net.buffers)
    np.testing.assert_allclose(rebuilt.predict(x), net.predict(x))
    with pytest.raises(ValueError, match="missing running_var1"):
        rebuilt.load_buffers({"running_mean1": np.zeros(5)})
    net32 = net.astype("float32")
    assert net32.buffers["running_mean1"].dtype == np.float32
    np.testing.assert_allclose(net32.predict(x.astype(np.float32)), net.predict(x), rtol=1e-4)
