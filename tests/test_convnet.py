"""SimpleConvNet and DeepConvNet (7.5, 8.1): gradients against numerical differentiation,
against the same network in torch, checkpoints with buffers, the train CLI, bad input."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import backprop
from backprop.checkpoint import load_checkpoint, save_checkpoint
from backprop.cli import main
from backprop.convnet import DeepConvNet, SimpleConvNet
from backprop.gradient import relative_error
from backprop.networks import MultiLayerNetExtend, network_from_config
from backprop.optimizers import Adam
from backprop.training import Trainer


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _conv(filters, pad=1):
    return {"filter_num": filters, "filter_size": 3, "pad": pad, "stride": 1}


def _tiny_simple(**kwargs):
    conv = {"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 1}
    return SimpleConvNet((2, 6, 6), conv, hidden_size=5, output_size=4, **kwargs)


def _tiny_deep(**kwargs):
    params = [_conv(1), _conv(2), _conv(1), _conv(2, pad=2), _conv(1), _conv(2)]
    return DeepConvNet((1, 4, 4), *params, hidden_size=5, output_size=3, **kwargs)


def _random_biases(net, rng):
    # Zero biases put ReLU inputs exactly at the kink (e.g. windows of padding only).
    for key, value in net.params.items():
        if key.startswith("b"):
            value[...] = rng.choice([-1.0, 1.0], value.shape) * rng.uniform(0.2, 0.5, value.shape)


def _assert_gradients(net, x, t):
    numeric = net.numerical_gradient(x, t)
    grads = net.gradient(x, t)
    assert list(grads) == list(net.params)
    for key in net.params:
        error, where = relative_error(grads[key], numeric[key])
        assert error < 1e-6, f"{key}: relative error {error:.1e} at {where}"


def test_simple_conv_net_gradient_matches_numerical(rng):
    net = _tiny_simple(weight_init_std=0.3, seed=1)
    _random_biases(net, rng)
    x = rng.standard_normal((3, 2, 6, 6))
    _assert_gradients(net, x, rng.integers(0, 4, 3))


def test_simple_conv_net_batch_of_one_and_flat_rows(rng):
    net = _tiny_simple(weight_init_std=0.3, seed=2)
    _random_biases(net, rng)
    x = rng.standard_normal((1, 72))
    _assert_gradients(net, x, rng.integers(0, 4, 1))
    np.testing.assert_array_equal(net.predict(x), net.predict(x.reshape(1, 2, 6, 6)))


def test_deep_conv_net_gradient_matches_numerical_with_its_dropout(rng):
    net = _tiny_deep(seed=3)
    _random_biases(net, rng)
    x = rng.standard_normal((2, 1, 4, 4))
    _assert_gradients(net, x, rng.integers(0, 3, 2))


def test_book_shapes(rng):
    net = SimpleConvNet(seed=0, dtype="float32")
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {
        "W1": (30, 1, 5, 5),
        "b1": (30,),
        "W2": (4320, 100),
        "b2": (100,),
        "W3": (100, 10),
        "b3": (10,),
    }
    deep = DeepConvNet(seed=0)
    assert deep.params["W4"].shape == (32, 32, 3, 3)
    assert deep.params["W7"].shape == (64 * 4 * 4, 50)
    assert deep.params["W8"].shape == (50, 10)
    assert np.std(deep.params["W2"]) == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.05)
    assert backprop.SimpleConvNet is SimpleConvNet


def test_simple_conv_net_matches_torch(rng, torch):
    net = _tiny_simple(weight_init_std=0.3, seed=4)
    _random_biases(net, rng)
    x = rng.standard_normal((3, 2, 6, 6))
    t = rng.integers(0, 4, 3)
    loss, grads = net.loss_and_gradient(x, t)
    F = torch.nn.functional
    p = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    h = F.max_pool2d(F.relu(F.conv2d(torch.tensor(x), p["W1"], p["b1"], padding=1)), 2, 2)
    h = F.relu(h.reshape(3, -1) @ p["W2"] + p["b2"])
    loss_t = F.cross_entropy(h @ p["W3"] + p["b3"], torch.tensor(t))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for key, value in p.items():
        np.testing.assert_allclose(grads[key], value.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_predict_is_test_mode_and_chunked(rng):
    net = _tiny_deep(seed=5)
    _random_biases(net, rng)
    x = rng.standard_normal((7, 1, 4, 4))
    net.eval_batch_size = 3  # 7 images in chunks of 3, 3, 1
    whole = np.concatenate([net._forward(x[i : i + 1], False) for i in range(7)])
    np.testing.assert_allclose(net.predict(x), whole, rtol=1e-12)
    assert not np.array_equal(net.predict(x, train_flg=True), net.predict(x, train_flg=True))


def test_float32_end_to_end(rng):
    net = _tiny_simple(seed=6, dtype="float32")
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    _, grads = net.loss_and_gradient(x, rng.integers(0, 4, 2))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.predict(x).dtype == np.float32


def test_bad_input_names_the_network_and_shapes(rng):
    net = SimpleConvNet(seed=0)
    with pytest.raises(ValueError, match=r"SimpleConvNet: x must be images \(N, 1, 28, 28\)"):
        net.predict(np.zeros((2, 3, 28, 28)))
    with pytest.raises(ValueError, match=r"SimpleConvNet: the convolution .*larger than"):
        SimpleConvNet((1, 4, 4), {"filter_num": 2, "filter_size": 5, "pad": 0, "stride": 1})
    with pytest.raises(ValueError, match=r"pooling .*stride 2 does not divide.*12.5"):
        SimpleConvNet((1, 29, 29))
    with pytest.raises(ValueError, match="conv_param must be a dict with the keys"):
        SimpleConvNet(conv_param={"filter_num": 3})
    with pytest.raises(ValueError, match=r"DeepConvNet: pooling 3 .*does not divide"):
        DeepConvNet((1, 24, 24))


@pytest.mark.parametrize(
    "make",
    [
        lambda: _tiny_simple(seed=7),
        lambda: _tiny_deep(seed=8),
        lambda: MultiLayerNetExtend(72, [6, 5], 4, use_batchnorm=True, use_dropout=True, seed=9),
    ],
)
def test_checkpoints_keep_params_and_buffers(rng, tmp_path, make):
    net = make()
    x = rng.standard_normal((4, net.input_size))
    t = rng.integers(0, 3, 4)
    trainer = Trainer(
        net,
        x,
        t,
        optimizer=Adam(lr=0.01),
        iters=3,
        mini_batch_size=2,
        verbose=False,
    )
    trainer.train()
    path = save_checkpoint(tmp_path / "model.npz", net)
    loaded = load_checkpoint(path).network
    assert type(loaded) is type(net)
    assert loaded.config() == net.config()
    for key in ("buffers", "params"):
        got, want = getattr(loaded, key), getattr(net, key)
        assert list(got) == list(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    if net.buffers:  # the statistics were trained: they are not the initial zeros
        assert np.any(net.buffers["running_var1"] != 0)


def test_config_that_does_not_fit_the_params_is_refused():
    net = _tiny_simple(seed=0)
    config = {**net.config(), "hidden_size": 6}
    with pytest.raises(ValueError, match=r"W2 has shape \(27, 5\), the configuration says"):
        network_from_config(config, params=net.params)


@pytest.mark.slow
def test_train_cli_multi_layer_net_extend(tmp_path):
    code, out, err = run_cli(
        "train",
        "--model",
        "multi-layer-net-extend",
        "--hidden",
        20,
        20,
        "--batchnorm",
        "--dropout",
        0.2,
        "--weight-decay",
        0.01,
        "--iters",
        30,
        "--out",
        tmp_path,
        "--quiet",
    )
    assert code == 0, err
    assert out.splitlines()[0].startswith("training MultiLayerNetExtend 784-20-20-10 (ReLU)")
    network = load_checkpoint(tmp_path / "model.npz").network
    assert network.use_batchnorm and network.use_dropout
    assert network.weight_decay_lambda == 0.01
    assert set(network.buffers) == {
        "running_mean1",
        "running_var1",
        "running_mean2",
        "running_var2",
    }
    code, out, err = run_cli("evaluate", tmp_path / "model.npz")
    assert code == 0, err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--batchnorm"], "need --model multi-layer-net-extend"),
        (["--model", "lenet"], "--model must be one of multi-layer-net-extend"),
        (["--model", "simple-conv-net", "--batchnorm"], "cannot be used with --model"),
        (["--model", "multi-layer-net-extend", "--dropout", "1.5"], "--dropout must be in"),
    ],
)
def test_train_cli_bad_model_options(argv, fragment, tmp_path):
    code, _, err = run_cli("train", *argv, "--iters", 1, "--out", tmp_path)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_train_cli_simple_conv_net_resume_evaluate(tmp_path):
    code, out, err = run_cli(
        "train",
        "--model",
        "simple-conv-net",
        "--iters",
        20,
        "--batch-size",
        50,
        "--out",
        tmp_path,
        "--quiet",
    )
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("training SimpleConvNet 1×28×28 conv 30×5×5 - pool 2×2 - 100 - 10")
    assert "Adam(lr=0.001" in first
    code, out, err = run_cli("train", "--resume", tmp_path / "model.npz", "--iters", 30, "--quiet")
    assert code == 0, err
    assert "from iteration 20" in out.splitlines()[0]
    code, out, err = run_cli("evaluate", tmp_path / "model.npz")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("test accuracy 0.")
    from PIL import Image

    from backprop.datasets import load_dataset

    (_, _), (x_test, _) = load_dataset("mnist-sample", normalize=False, dtype=np.uint8)
    Image.fromarray(255 - x_test[0].reshape(28, 28)).resize((84, 84)).save(tmp_path / "d.png")
    code, out, err = run_cli("predict", tmp_path / "model.npz", tmp_path / "d.png")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("predicted digit ")
