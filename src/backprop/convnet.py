"""Convolutional networks: the book's SimpleConvNet (7.5) and DeepConvNet (8.1).

Book: 7.5 (SimpleConvNet: conv - relu - pool - affine - relu - affine - softmax),
8.1.1 (DeepConvNet: six 3×3 convolutions, three poolings, two affine layers with dropout).

Same protocol as the other layer networks (``params``, ``predict``, ``loss``, ``accuracy``,
``gradient``, ``loss_and_gradient``, ``numerical_gradient``, ``config``, ``load_params``), so
the optimizers, the trainer and checkpoints work with them unchanged. Input is N-C-H-W, as
in the book; flat rows (N, C·H·W), which the trainer and the MNIST loader give, are reshaped
to ``input_dim``. ``predict(x, train_flg=False)`` is the book's; in test mode large batches
are computed in chunks of ``eval_batch_size`` (im2col of 10,000 images at once would take
gigabytes).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from backprop.im2col import conv_output_size
from backprop.layers import Affine, Convolution, Pooling, Relu
from backprop.networks import NetworkWithModes, _check_dtype, _check_size, _rng, initial_std

__all__ = ["DeepConvNet", "SimpleConvNet"]

CONV_PARAM_KEYS = ("filter_num", "filter_size", "pad", "stride")
EVAL_BATCH_SIZE = 500


def _check_input_dim(input_dim) -> tuple[int, int, int]:
    if not isinstance(input_dim, (list, tuple)) or len(input_dim) != 3:
        raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
    return tuple(_check_size(f"input_dim[{i}]", n) for i, n in enumerate(input_dim))


def _check_conv_param(name: str, conv_param) -> dict[str, int]:
    if not isinstance(conv_param, dict) or set(conv_param) != set(CONV_PARAM_KEYS):
        raise ValueError(
            f"{name} must be a dict with the keys {', '.join(CONV_PARAM_KEYS)}, got {conv_param!r}"
        )
    out = {key: conv_param[key] for key in CONV_PARAM_KEYS}
    for key in ("filter_num", "filter_size", "stride"):
        _check_size(f"{name}[{key!r}]", out[key])
    pad = out["pad"]
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"{name}['pad'] must be an integer ≥ 0, got {pad!r}")
    return {key: int(v) for key, v in out.items()}


def _conv_shape(name: str, shape, conv_param) -> tuple[int, int, int]:
    """(C, H, W) after a convolution with ``conv_param``; a clear error if it does not fit."""
    _, H, W = shape
    fs, pad, stride = conv_param["filter_size"], conv_param["pad"], conv_param["stride"]
    try:
        return (
            conv_param["filter_num"],
            conv_output_size(H, fs, stride, pad),
            conv_output_size(W, fs, stride, pad),
        )
    except ValueError as exc:
        raise ValueError(f"{name} on input (C, H, W) = {tuple(shape)}: {exc}") from None


def _pool_shape(name: str, shape) -> tuple[int, int, int]:
    """(C, H, W) after 2×2 max pooling with stride 2."""
    C, H, W = shape
    try:
        return C, conv_output_size(H, 2, 2), conv_output_size(W, 2, 2)
    except ValueError as exc:
        raise ValueError(
            f"{name} (2×2, stride 2) on input (C, H, W) = {tuple(shape)}: {exc}"
        ) from None


class _ConvNet(NetworkWithModes):
    """What SimpleConvNet and DeepConvNet share: N-C-H-W input, chunked test-mode predict."""

    input_dim: tuple[int, int, int]
    eval_batch_size = EVAL_BATCH_SIZE

    @property
    def input_size(self) -> int:
        """The number of input values per sample, C·H·W (784 for MNIST)."""
        return math.prod(self.input_dim)

    def _images(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 2 and x.shape[1] == self.input_size:
            return x.reshape(len(x), *self.input_dim)
        if x.ndim != 4 or x.shape[1:] != self.input_dim:
            dims = self.input_dim
            raise ValueError(
                f"{type(self).__name__}: x must be images (N, {', '.join(map(str, dims))}) "
                f"or flat rows (N, {self.input_size}), got x.shape={x.shape}"
            )
        return x

    def predict(self, x, train_flg: bool = False) -> np.ndarray:
        """Scores (before softmax) for images (N, C, H, W) or flat rows (N, C·H·W)."""
        x = self._images(x)
        step = self.eval_batch_size
        if train_flg or len(x) <= step:
            return self._forward(x, train_flg)
        return np.concatenate(
            [self._forward(x[i : i + step], False) for i in range(0, len(x), step)]
        )

    def describe(self) -> str:
        """One line: the class, its layers in short, and the dtype."""
        return f"{type(self).__name__} {self._summary()}, {self.dtype}"

    def _summary(self) -> str:
        raise NotImplementedError

    @staticmethod
    def _sizes_from_config(config: dict) -> list[int]:  # not used: shapes come from config
        raise NotImplementedError

    def _add_conv(self, layers, grad_sources, i: int, conv_param, compute_dx: bool):
        conv = Convolution(
            self.params[f"W{i}"],
            self.params[f"b{i}"],
            conv_param["stride"],
            conv_param["pad"],
            compute_dx=compute_dx,
        )
        layers[f"Conv{i}"] = conv
        grad_sources += [(f"W{i}", conv, "dW"), (f"b{i}", conv, "db")]

    def _add_affine(self, layers, grad_sources, i: int, name: str):
        affine = Affine(self.params[f"W{i}"], self.params[f"b{i}"])
        layers[name] = affine
        grad_sources += [(f"W{i}", affine, "dW"), (f"b{i}", affine, "db")]

    def _init_params(self, shapes: dict[str, tuple[int, ...]], stds: list[float], gen, dt):
        for i, std in enumerate(stds, start=1):
            W_shape = shapes[f"W{i}"]
            self.params[f"W{i}"] = (std * gen.standard_normal(W_shape)).astype(dt)
            self.params[f"b{i}"] = np.zeros(shapes[f"b{i}"], dtype=dt)

    @staticmethod
    def _finish(layers) -> None:
        for name, layer in layers.items():
            layer.name = name


class SimpleConvNet(_ConvNet):
    """The book's SimpleConvNet (7.5): conv - relu - pool - affine - relu - affine - softmax.

    Parameters
    ----------
    input_dim : (C, H, W)
        (1, 28, 28) for MNIST.
    conv_param : dict
        ``filter_num`` (30), ``filter_size`` (5), ``pad`` (0), ``stride`` (1).
    hidden_size, output_size : int
        100 and 10 in the book.
    weight_init_std : float, "he" or "xavier"
        0.01 in the book (see ``networks.initial_std``; n is each layer's number of inputs).
    seed, rng, dtype : as in ``TwoLayerNet``.

    The pooling is 2×2 with stride 2. Params: W1 (FN, C, FS, FS), b1 (FN,), W2 (FN·H'·W',
    hidden), b2, W3 (hidden, output), b3.
    """

    def __init__(
        self,
        input_dim=(1, 28, 28),
        conv_param=None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std=0.01,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype="float64",
    ):
        super().__init__()
        if conv_param is None:
            conv_param = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        config = {
            "input_dim": input_dim,
            "conv_param": conv_param,
            "hidden_size": hidden_size,
            "output_size": output_size,
        }
        shapes = self._param_shapes_from_config(config)
        self.input_dim = _check_input_dim(input_dim)
        self.conv_param = _check_conv_param("conv_param", conv_param)
        self.hidden_size = _check_size("hidden_size", hidden_size)
        self.output_size = _check_size("output_size", output_size)
        self.weight_init_std = weight_init_std
        gen = _rng(seed, rng)
        dt = _check_dtype(dtype)
        C, fs = self.input_dim[0], self.conv_param["filter_size"]
        fan_ins = [C * fs * fs, shapes["W2"][0], self.hidden_size]
        stds = [initial_std(weight_init_std, n) for n in fan_ins]
        self._init_params(shapes, stds, gen, dt)
        self._build_layers()

    @classmethod
    def _param_shapes_from_config(cls, config: dict) -> dict[str, tuple[int, ...]]:
        input_dim = _check_input_dim(config.get("input_dim", (1, 28, 28)))
        conv_param = config.get("conv_param")
        if conv_param is None:
            conv_param = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        conv_param = _check_conv_param("conv_param", conv_param)
        hidden = _check_size("hidden_size", config.get("hidden_size", 100))
        output = _check_size("output_size", config.get("output_size", 10))
        shape = _conv_shape("SimpleConvNet: the convolution", input_dim, conv_param)
        pooled = _pool_shape("SimpleConvNet: the pooling", shape)
        fn, fs = conv_param["filter_num"], conv_param["filter_size"]
        return {
            "W1": (fn, input_dim[0], fs, fs),
            "b1": (fn,),
            "W2": (math.prod(pooled), hidden),
            "b2": (hidden,),
            "W3": (hidden, output),
            "b3": (output,),
        }

    def _build_layers(self) -> None:
        layers, grads = OrderedDict(), []
        self._add_conv(layers, grads, 1, self.conv_param, compute_dx=False)
        layers["Relu1"] = Relu()
        layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self._add_affine(layers, grads, 2, "Affine1")
        layers["Relu2"] = Relu()
        self._add_affine(layers, grads, 3, "Affine2")
        self._finish(layers)
        self.layers, self._grad_sources = layers, grads

    def _summary(self) -> str:
        p = self.conv_param
        size = f"{p['filter_num']}×{p['filter_size']}×{p['filter_size']}"
        extra = "".join(
            f" {k} {p[k]}" for k, default in (("pad", 0), ("stride", 1)) if p[k] != default
        )
        return (
            f"{'×'.join(map(str, self.input_dim))} conv {size}{extra} - pool 2×2 - "
            f"{self.hidden_size} - {self.output_size}"
        )

    def config(self) -> dict:
        return {
            "class": "SimpleConvNet",
            "input_dim": list(self.input_dim),
            "conv_param": dict(self.conv_param),
            "hidden_size": self.hidden_size,
            "output_size": self.output_size,
            "weight_init_std": self.weight_init_std,
            "dtype": self.dtype.name,
        }


_DEEP_CONV_PARAMS = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)


class DeepConvNet(_ConvNet):
    """The book's DeepConvNet (8.1.1), about 99.4 % on MNIST.

    conv - relu - conv - relu - pool - conv - relu - conv - relu - pool -
    conv - relu - conv - relu - pool - affine - relu - dropout - affine - dropout - softmax

    Parameters
    ----------
    input_dim : (C, H, W)
    conv_param_1 ... conv_param_6 : dict
        The book's: 16, 16, 32, 32, 64, 64 filters of 3×3, pad 1 (pad 2 for the fourth).
    hidden_size, output_size : int
        50 and 10.
    dropout_ratio : float
        0.5, for both Dropout layers.
    seed, rng, dtype : as in ``TwoLayerNet``. Weights use He initialisation (6.2.2).
    """

    def __init__(
        self,
        input_dim=(1, 28, 28),
        conv_param_1=None,
        conv_param_2=None,
        conv_param_3=None,
        conv_param_4=None,
        conv_param_5=None,
        conv_param_6=None,
        hidden_size: int = 50,
        output_size: int = 10,
        dropout_ratio: float = 0.5,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype="float64",
    ):
        super().__init__()
        given = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        config = {
            "input_dim": input_dim,
            **{f"conv_param_{i}": p for i, p in enumerate(given, start=1)},
            "hidden_size": hidden_size,
            "output_size": output_size,
        }
        shapes = self._param_shapes_from_config(config)
        self.input_dim = _check_input_dim(input_dim)
        self.conv_params = [
            _check_conv_param(f"conv_param_{i}", p if p is not None else _DEEP_CONV_PARAMS[i - 1])
            for i, p in enumerate(given, start=1)
        ]
        self.hidden_size = _check_size("hidden_size", hidden_size)
        self.output_size = _check_size("output_size", output_size)
        self.dropout_ratio = float(dropout_ratio)
        if not 0.0 <= self.dropout_ratio < 1.0:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        gen = _rng(seed, rng)
        self.dropout_rng = gen.spawn(1)[0]
        dt = _check_dtype(dtype)
        # He initialisation: std √(2 / n) with n the number of inputs of each layer.
        fan_ins = [math.prod(shapes[f"W{i}"][1:]) for i in range(1, 7)]
        fan_ins += [shapes["W7"][0], self.hidden_size]
        stds = [initial_std("he", n) for n in fan_ins]
        self._init_params(shapes, stds, gen, dt)
        self._build_layers()

    @classmethod
    def _param_shapes_from_config(cls, config: dict) -> dict[str, tuple[int, ...]]:
        shape = _check_input_dim(config.get("input_dim", (1, 28, 28)))
        shapes = {}
        for i in range(1, 7):
            p = config.get(f"conv_param_{i}")
            p = _check_conv_param(
                f"conv_param_{i}", p if p is not None else _DEEP_CONV_PARAMS[i - 1]
            )
            fs = p["filter_size"]
            shapes[f"W{i}"] = (p["filter_num"], shape[0], fs, fs)
            shapes[f"b{i}"] = (p["filter_num"],)
            shape = _conv_shape(f"DeepConvNet: convolution {i}", shape, p)
            if i % 2 == 0:
                shape = _pool_shape(f"DeepConvNet: pooling {i // 2}", shape)
        hidden = _check_size("hidden_size", config.get("hidden_size", 50))
        output = _check_size("output_size", config.get("output_size", 10))
        shapes["W7"], shapes["b7"] = (math.prod(shape), hidden), (hidden,)
        shapes["W8"], shapes["b8"] = (hidden, output), (output,)
        return shapes

    def _build_layers(self) -> None:
        layers, grads = OrderedDict(), []
        for i, p in enumerate(self.conv_params, start=1):
            self._add_conv(layers, grads, i, p, compute_dx=i > 1)
            layers[f"Relu{i}"] = Relu()
            if i % 2 == 0:
                layers[f"Pool{i // 2}"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self._add_affine(layers, grads, 7, "Affine1")
        layers["Relu7"] = Relu()
        layers["Dropout1"] = self._new_dropout(self.dropout_ratio)
        self._add_affine(layers, grads, 8, "Affine2")
        layers["Dropout2"] = self._new_dropout(self.dropout_ratio)
        self._finish(layers)
        self.layers, self._grad_sources = layers, grads

    def _summary(self) -> str:
        filters = "-".join(str(p["filter_num"]) for p in self.conv_params)
        return (
            f"{'×'.join(map(str, self.input_dim))} conv {filters} (3 pools) - "
            f"{self.hidden_size} - {self.output_size}, dropout {self.dropout_ratio}"
        )

    def config(self) -> dict:
        return {
            "class": "DeepConvNet",
            "input_dim": list(self.input_dim),
            **{f"conv_param_{i}": dict(p) for i, p in enumerate(self.conv_params, start=1)},
            "hidden_size": self.hidden_size,
            "output_size": self.output_size,
            "dropout_ratio": self.dropout_ratio,
            "dtype": self.dtype.name,
        }
