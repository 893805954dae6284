"""Networks built from layers: TwoLayerNet (5.7) and MultiLayerNet.

Book: 5.7.1-5.7.2 (TwoLayerNet with backpropagation), 6.1-6.4 (MultiLayerNet).

A network owns ``params`` (a dict of arrays: ``W1``, ``b1``, ...), ``layers`` (the nodes in
forward order) and ``lastLayer`` (``SoftmaxWithLoss``; also ``last_layer``). The layers hold
references to the very arrays in ``params``, so an optimizer that updates ``params`` in place
updates the network.

The API is the book's: ``predict(x)``, ``loss(x, t)``, ``accuracy(x, t)``,
``numerical_gradient(x, t)`` and ``gradient(x, t)``, which returns a dict with exactly the keys
of ``params``. ``loss_and_gradient(x, t)`` returns both from one forward pass (the book's
training loop runs a second forward pass only to log the loss).

Two engines compute the same networks: the layers here (``TwoLayerNet``, ``MultiLayerNet``)
and the automatic graph (``backprop.autograd.networks``: ``TensorTwoLayerNet``, ...). They are
siblings: both derive from ``NetworkBase`` (what is the same whichever engine finds the
gradients) and share the architecture (``_TwoLayer``, ``_MultiLayer``: sizes, initial
weights, configuration); this module does not import the Tensor networks.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np

from backprop._checks import check_real, check_targets
from backprop.gradient import numerical_gradient
from backprop.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss

__all__ = [
    "MultiLayerNet",
    "Network",
    "NetworkBase",
    "TwoLayerNet",
    "check_config_fits",
    "network_from_config",
]

DTYPES = ("float32", "float64")  # the dtypes a network computes in


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dt.name}")
    return dt


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _rng(seed, rng) -> np.random.Generator:
    if rng is not None and seed is not None:
        raise ValueError("give either seed or rng, not both")
    return rng if rng is not None else np.random.default_rng(seed)


def initial_std(weight_init_std, fan_in: int) -> float:
    """Standard deviation of a layer's initial weights from ``weight_init_std`` (6.2).

    "he" (or "relu"): √(2/n); "xavier" (or "sigmoid"): √(1/n); a number: itself. ``fan_in`` is
    the number n of inputs of the layer.
    """
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key in ("he", "relu"):
            return float(np.sqrt(2.0 / fan_in))
        if key in ("xavier", "sigmoid"):
            return float(np.sqrt(1.0 / fan_in))
        raise ValueError(
            f"weight_init_std must be 'he', 'xavier' or a number, got {weight_init_std!r}"
        )
    try:
        std = float(weight_init_std)
    except (TypeError, ValueError):
        std = float("nan")
    if not np.isfinite(std) or std <= 0:
        raise ValueError(f"weight_init_std must be a positive number, got {weight_init_std!r}")
    return std


_NETWORK_CLASSES: dict[str, type] = {}  # every concrete network class, by name


class NetworkBase:
    """What every network shares, whichever engine computes its gradients.

    A subclass fills ``params`` and implements ``predict``, ``loss`` and ``loss_and_gradient``
    (``gradient`` defaults to the second half of it) and ``config``. Each public class of the
    library with a ``config`` registers itself for ``network_from_config`` (checkpoints), so
    the registry needs no import of the classes it lists.
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        public = not cls.__name__.startswith("_") and cls.__module__.startswith("backprop.")
        if public and cls.config is not NetworkBase.config:
            _NETWORK_CLASSES[cls.__name__] = cls

    # -- the book's API ---------------------------------------------------------------------
    def predict(self, x) -> np.ndarray:
        """Scores (before softmax) for a batch ``x`` of shape (N, input_size)."""
        raise NotImplementedError

    def loss(self, x, t) -> float:
        """Mean cross-entropy loss of the batch; ``t`` labels (N,) or one-hot (N, C)."""
        raise NotImplementedError

    def loss_and_gradient(self, x, t) -> tuple[float, dict[str, np.ndarray]]:
        """The loss of the batch and the gradients, from a single forward pass."""
        raise NotImplementedError

    def gradient(self, x, t) -> dict[str, np.ndarray]:
        """Gradients by backpropagation: one forward, one backward pass."""
        return self.loss_and_gradient(x, t)[1]

    def accuracy(self, x, t) -> float:
        """Fraction of samples whose highest score is the target class."""
        scores = self.predict(x)
        where = f"{type(self).__name__}.accuracy"
        t = check_targets(t, scores.shape, where)  # the loss's own check of the targets
        if not np.isfinite(scores).all():
            raise ValueError(f"{where}: the scores are not finite (NaN or infinite input?)")
        y = np.argmax(scores, axis=1)
        if t.ndim == 2:
            t = np.argmax(t, axis=1)
        return float(np.mean(y == t))

    def numerical_gradient(self, x, t) -> dict[str, np.ndarray]:
        """Gradients by numerical differentiation (slow: 2 forward passes per parameter).

        Always computed in float64, on a float64 copy of a float32 network (in float32 the
        central difference keeps hardly a digit), and returned in the network's dtype.
        """
        network = self if self.dtype == np.float64 else self.astype(np.float64)

        def loss_w(_):
            return network.loss(x, t)

        return {
            key: numerical_gradient(loss_w, param).astype(self.dtype, copy=False)
            for key, param in network.params.items()
        }

    # -- parameters, dtype and configuration ------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.params.values())).dtype

    def astype(self, dtype) -> NetworkBase:
        """A copy of this network with parameters of ``dtype`` (float32 or float64)."""
        dt = _check_dtype(dtype)
        net = copy.copy(self)
        net.params = {k: v.astype(dt) for k, v in self.params.items()}
        net._build_layers()
        return net

    def load_params(self, params) -> None:
        """Replace every parameter with ``params`` (same names and shapes; copied, cast).

        Raises ValueError listing the names that are missing or extra and the shapes that
        differ: a checkpoint of another architecture is never loaded half-way.
        """
        problems = []
        missing = [k for k in self.params if k not in params]
        extra = [k for k in params if k not in self.params]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected {', '.join(extra)}")
        for k, v in self.params.items():
            if k in params and np.shape(params[k]) != v.shape:
                problems.append(f"{k} has shape {np.shape(params[k])}, expected {v.shape}")
        if problems:
            raise ValueError(
                f"{type(self).__name__}: the parameters do not fit this network: "
                + "; ".join(problems)
            )
        dt = self.dtype
        for k in self.params:
            value = np.asarray(params[k])
            if value.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}: parameter {k} has dtype {value.dtype}")
            self.params[k] = np.array(value, dtype=dt)
        self._build_layers()

    def config(self) -> dict:
        """The constructor arguments, as JSON-compatible values (for checkpoints)."""
        raise NotImplementedError

    def _class_name(self) -> str:
        """The name ``network_from_config`` knows this network by: its class's, or that of
        the nearest library class it derives from (a user's subclass saves as its parent)."""
        for cls in type(self).__mro__:
            if _NETWORK_CLASSES.get(cls.__name__) is cls:
                return cls.__name__
        raise TypeError(f"{type(self).__name__} is not a network class of the library")

    # -- hooks for subclasses ---------------------------------------------------------------
    @staticmethod
    def _sizes_from_config(config: dict) -> list[int]:
        """The layer sizes ``[input, hidden..., output]`` that ``config`` asks for, checked."""
        raise NotImplementedError

    def _build_layers(self) -> None:
        """Rebuild what holds references to the arrays of ``params`` (after they change)."""

    def _decay_loss(self) -> float:
        return 0.0

    def _add_decay_grads(self, grads) -> None:
        return None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({sizes}, dtype={self.dtype})"


class Network(NetworkBase):
    """A network of layers (5.7): ``layers`` in forward order, then ``lastLayer``.

    Subclasses fill ``params`` and implement ``_build_layers()``, which creates ``layers``
    (forward order) from ``params`` and lists in ``_grad_sources`` where each parameter's
    gradient is found after backward (param name, layer, attribute).
    """

    def __init__(self):
        super().__init__()
        self.layers: OrderedDict = OrderedDict()
        self.lastLayer = SoftmaxWithLoss()
        self._grad_sources: list[tuple[str, object, str]] = []

    @property
    def last_layer(self) -> SoftmaxWithLoss:
        """``lastLayer``, in snake case."""
        return self.lastLayer

    @last_layer.setter
    def last_layer(self, layer) -> None:
        self.lastLayer = layer

    def predict(self, x) -> np.ndarray:
        """Scores (before softmax) for a batch ``x`` of shape (N, input_size)."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t) -> float:
        """Mean cross-entropy loss of the batch; ``t`` labels (N,) or one-hot (N, C)."""
        y = self.predict(x)
        return float(self.lastLayer.forward(y, t)) + self._decay_loss()

    def gradient(self, x, t) -> dict[str, np.ndarray]:
        """Gradients by backpropagation (5.7.2): one forward pass, one backward pass."""
        # forward
        self.loss(x, t)

        # backward
        dout = 1
        dout = self.lastLayer.backward(dout)

        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)

        # the gradients each layer's backward left behind, by parameter name: for TwoLayerNet
        # grads['W1'], grads['b1'] = self.layers['Affine1'].dW, self.layers['Affine1'].db, ...
        grads = {}
        for key, layer, attr in self._grad_sources:
            grads[key] = getattr(layer, attr)
        self._add_decay_grads(grads)
        return grads

    def loss_and_gradient(self, x, t) -> tuple[float, dict[str, np.ndarray]]:
        """The loss of the batch and the gradients, from a single forward pass."""
        grads = self.gradient(x, t)
        return float(self.lastLayer.loss) + self._decay_loss(), grads

    def astype(self, dtype) -> Network:
        net = super().astype(dtype)
        net.lastLayer = SoftmaxWithLoss()  # not the original's: its cache is its own
        return net


class _TwoLayer(NetworkBase):
    """The book's two-layer network (5.7.2) whichever its engine: sizes, weights, config.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        784, 50, 10 for MNIST in the book.
    weight_init_std : float, "he" or "xavier"
        Standard deviation of the initial weights (biases start at 0); the book uses 0.01.
        "he" and "xavier" scale it to each layer's number of inputs (see ``initial_std``).
    seed, rng :
        Source of the initial weights: an int seed or a ``numpy.random.Generator``. The
        global NumPy random state is never used.
    dtype : float32 or float64
        Parameters' dtype; the network computes in it.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float | str = 0.01,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype="float64",
    ):
        super().__init__()
        self.input_size = _check_size("input_size", input_size)
        self.hidden_size = _check_size("hidden_size", hidden_size)
        self.output_size = _check_size("output_size", output_size)
        self.weight_init_std = weight_init_std
        dt = _check_dtype(dtype)
        gen = _rng(seed, rng)
        std1 = initial_std(weight_init_std, self.input_size)
        std2 = initial_std(weight_init_std, self.hidden_size)
        self.params["W1"] = (std1 * gen.standard_normal((input_size, hidden_size))).astype(dt)
        self.params["b1"] = np.zeros(hidden_size, dtype=dt)
        self.params["W2"] = (std2 * gen.standard_normal((hidden_size, output_size))).astype(dt)
        self.params["b2"] = np.zeros(output_size, dtype=dt)
        self._build_layers()

    @staticmethod
    def _sizes_from_config(config: dict) -> list[int]:
        names = ("input_size", "hidden_size", "output_size")
        return [_check_size(name, config.get(name)) for name in names]

    def config(self) -> dict:
        return {
            "class": self._class_name(),
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "output_size": self.output_size,
            "weight_init_std": self.weight_init_std,
            "dtype": self.dtype.name,
        }


class TwoLayerNet(_TwoLayer, Network):
    """The book's two-layer network (5.7.2): Affine → ReLU → Affine → SoftmaxWithLoss.

    ``TwoLayerNet(784, 50, 10)``; the arguments (sizes, ``weight_init_std``, ``seed`` or
    ``rng``, ``dtype``) are those of ``_TwoLayer``, shared with ``TensorTwoLayerNet``.
    """

    def _build_layers(self) -> None:
        p = self.params
        affine1 = Affine(p["W1"], p["b1"], compute_dx=False)  # nothing needs d(images)
        affine2 = Affine(p["W2"], p["b2"])
        self.layers = OrderedDict(Affine1=affine1, Relu1=Relu(), Affine2=affine2)
        for name, layer in self.layers.items():
            layer.name = name
        self._grad_sources = [
            ("W1", affine1, "dW"),
            ("b1", affine1, "db"),
            ("W2", affine2, "dW"),
            ("b2", affine2, "db"),
        ]


class _MultiLayer(NetworkBase):
    """A fully connected network of any depth (6.1-6.4) whichever its engine: (Affine →
    activation) × n → Affine. Sizes, weights, weight decay and configuration.

    Parameters
    ----------
    input_size : int
    hidden_size_list : list of int
        Sizes of the hidden layers, e.g. ``[100, 100, 100]``.
    output_size : int
    activation : "relu" or "sigmoid"
    weight_init_std : "he", "xavier" or float
        "he" (std √(2/n), for ReLU; alias "relu"), "xavier" (std √(1/n), for sigmoid; alias
        "sigmoid"), or a fixed standard deviation. n is the number of inputs of the layer.
    weight_decay_lambda : float
        L2 weight decay: adds ½λΣW² to the loss and λW to each weight's gradient.
    seed, rng, dtype : as in TwoLayerNet.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list,
        output_size: int,
        activation: str = "relu",
        weight_init_std="relu",
        weight_decay_lambda: float = 0.0,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype="float64",
    ):
        super().__init__()
        self.input_size = _check_size("input_size", input_size)
        if isinstance(hidden_size_list, (int, np.integer)):
            hidden_size_list = [hidden_size_list]
        self.hidden_size_list = [
            _check_size(f"hidden_size_list[{i}]", n) for i, n in enumerate(hidden_size_list)
        ]
        self.output_size = _check_size("output_size", output_size)
        if activation not in ("relu", "sigmoid"):
            raise ValueError(f"activation must be 'relu' or 'sigmoid', got {activation!r}")
        self.activation = activation
        self.weight_init_std = weight_init_std
        lam = check_real(type(self).__name__, "weight_decay_lambda", weight_decay_lambda, minimum=0)
        self.weight_decay_lambda = lam
        dt = _check_dtype(dtype)
        gen = _rng(seed, rng)
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        for i in range(1, len(sizes)):
            std = initial_std(weight_init_std, sizes[i - 1])
            W = std * gen.standard_normal((sizes[i - 1], sizes[i]))
            self.params[f"W{i}"] = W.astype(dt)
            self.params[f"b{i}"] = np.zeros(sizes[i], dtype=dt)
        self._build_layers()

    @staticmethod
    def _sizes_from_config(config: dict) -> list[int]:
        hidden = config.get("hidden_size_list")
        if isinstance(hidden, (int, np.integer)):
            hidden = [hidden]
        if not isinstance(hidden, (list, tuple)):
            raise ValueError(f"hidden_size_list must be a list of sizes, got {hidden!r}")
        return [
            _check_size("input_size", config.get("input_size")),
            *(_check_size(f"hidden_size_list[{i}]", n) for i, n in enumerate(hidden)),
            _check_size("output_size", config.get("output_size")),
        ]

    def _decay_loss(self) -> float:
        lam = self.weight_decay_lambda
        if not lam:
            return 0.0
        n = len(self.hidden_size_list) + 1
        return 0.5 * lam * sum(float(np.sum(self.params[f"W{i}"] ** 2)) for i in range(1, n + 1))

    def _add_decay_grads(self, grads) -> None:
        lam = self.weight_decay_lambda
        if lam:
            for key in grads:
                if key.startswith("W"):
                    grads[key] = grads[key] + lam * self.params[key]

    def config(self) -> dict:
        return {
            "class": self._class_name(),
            "input_size": self.input_size,
            "hidden_size_list": list(self.hidden_size_list),
            "output_size": self.output_size,
            "activation": self.activation,
            "weight_init_std": self.weight_init_std,
            "weight_decay_lambda": self.weight_decay_lambda,
            "dtype": self.dtype.name,
        }


class MultiLayerNet(_MultiLayer, Network):
    """A fully connected network of layers (6.1-6.4): (Affine → activation) × n → Affine.

    ``MultiLayerNet(784, [100, 100], 10)``; the arguments are those of ``_MultiLayer``
    (shared with ``TensorMultiLayerNet``).
    """

    def _build_layers(self) -> None:
        n = len(self.hidden_size_list) + 1
        activation = {"relu": Relu, "sigmoid": Sigmoid}[self.activation]
        self.layers = OrderedDict()
        self._grad_sources = []
        for i in range(1, n + 1):
            affine = Affine(self.params[f"W{i}"], self.params[f"b{i}"], compute_dx=i > 1)
            self.layers[f"Affine{i}"] = affine
            self._grad_sources += [(f"W{i}", affine, "dW"), (f"b{i}", affine, "db")]
            if i < n:
                self.layers[f"Activation{i}"] = activation()
        for name, layer in self.layers.items():
            layer.name = name


def _network_classes() -> dict[str, type]:
    """The network classes by name: every class defined with a ``config``.

    They register themselves (``NetworkBase.__init_subclass__``), so this module imports no
    engine but its own; ``import backprop`` defines the Tensor networks too.
    """
    return dict(_NETWORK_CLASSES)


def _check_config_fits(name: str, cls: type, config: dict, params: dict) -> None:
    """Raise ValueError unless ``config`` asks for parameters of the shapes of ``params``.

    Computed from the sizes alone, before anything is allocated: a damaged or hostile
    configuration (``hidden_size=10**9``) must not make the caller build a huge network.
    """
    shapes_from_config = getattr(cls, "_param_shapes_from_config", None)
    if shapes_from_config is not None:  # networks with other parameters than W and b
        expected = shapes_from_config(config)
    else:
        sizes = cls._sizes_from_config(config)
        expected = {}
        for i in range(1, len(sizes)):
            expected[f"W{i}"] = (sizes[i - 1], sizes[i])
            expected[f"b{i}"] = (sizes[i],)
    problems = []
    missing = [k for k in expected if k not in params]
    extra = [k for k in params if k not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    for k, shape in expected.items():
        if k in params and np.shape(params[k]) != shape:
            problems.append(f"{k} has shape {np.shape(params[k])}, the configuration says {shape}")
    if problems:
        listed = "; ".join(problems)
        message = f"the configuration of {name} does not fit the stored parameters: {listed}"
        raise ValueError(message)


def check_config_fits(config: dict, params) -> None:
    """Raise ValueError unless ``config`` (a ``Network.config()``) asks for parameters of
    exactly the shapes of ``params`` (name → anything with ``.shape``); nothing is allocated,
    so a checkpoint reader can check the shapes its file declares before reading the data."""
    config = dict(config)
    name = config.pop("class", None)
    classes = _network_classes()
    if name not in classes:
        known = ", ".join(sorted(classes))
        raise ValueError(f"unknown network class {name!r}; known classes: {known}")
    _check_config_fits(name, classes[name], config, params)


def network_from_config(config: dict, seed: int | None = None, params=None) -> Network:
    """Build a network from ``Network.config()``.

    Its parameters are freshly initialised, or, with ``params`` (dict of name → array), set
    to those; the configuration's sizes are then checked against the arrays' shapes before
    the network is built (ValueError listing the names and shapes that differ).
    """
    config = dict(config)
    name = config.pop("class", None)
    classes = _network_classes()
    if name not in classes:
        raise ValueError(
            f"unknown network class {name!r}; known classes: {', '.join(sorted(classes))}"
        )
    if params is not None:
        _check_config_fits(name, classes[name], config, params)
    try:
        network = classes[name](**config, seed=seed)
    except TypeError as exc:
        raise ValueError(f"invalid configuration for {name}: {exc}") from None
    if params is not None:
        network.load_params(params)
    return network


# -- Chapters 6 and 7 ---------------------------------------------------------------------------
# Networks with Dropout and Batch Normalization, whose forward pass differs between training and
# test (the book's ``train_flg``), and whose BatchNormalization layers keep running statistics
# (``buffers``: arrays that are saved in checkpoints but not trained).

from backprop.layers import BatchNormalization, Dropout  # noqa: E402 (this section's own)

__all__ += ["MultiLayerNetExtend", "NetworkWithModes"]


class NetworkWithModes(Network):
    """A ``Network`` whose layers may take ``train_flg`` (Dropout, BatchNormalization).

    * ``predict(x, train_flg=False)``, ``loss(x, t, train_flg=False)`` and ``accuracy`` run in
      test mode by default, as the book's networks do; ``gradient`` / ``loss_and_gradient``
      run in training mode. So a caller who forgets ``train_flg`` gets the test behaviour at
      evaluation and the training behaviour when learning, never random predictions.
    * ``buffers``: the running mean and variance of every BatchNormalization layer
      (``running_mean1``, ``running_var1``, ...); ``load_buffers`` restores them, and
      checkpoints save them beside ``params``.
    * ``numerical_gradient`` differentiates the training-mode loss with the *same* dropout
      masks in every evaluation (the mask generator is rewound each time), and leaves the
      running statistics as they were; a following ``gradient`` call draws those same masks.
    """

    def __init__(self):
        super().__init__()
        self.dropout_rng = np.random.default_rng()

    def _mode_layers(self):
        return [
            layer
            for layer in self.layers.values()
            if isinstance(layer, (Dropout, BatchNormalization))
        ]

    def _forward(self, x, train_flg: bool):
        for layer in self.layers.values():
            if isinstance(layer, (Dropout, BatchNormalization)):
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x

    def predict(self, x, train_flg: bool = False) -> np.ndarray:
        """Scores (before softmax); ``train_flg=True`` drops neurons and uses batch statistics."""
        return self._forward(x, train_flg)

    def loss(self, x, t, train_flg: bool = False) -> float:
        """Mean cross-entropy loss (plus weight decay); test mode unless ``train_flg``."""
        return float(self.last_layer.forward(self.predict(x, train_flg), t)) + self._decay_loss()

    def gradient(self, x, t) -> dict[str, np.ndarray]:
        """Gradients by backpropagation in training mode (dropout masks, batch statistics)."""
        return self.loss_and_gradient(x, t)[1]

    def loss_and_gradient(self, x, t) -> tuple[float, dict[str, np.ndarray]]:
        """The training-mode loss of the batch and the gradients, from one forward pass."""
        loss = self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {name: getattr(layer, attr) for name, layer, attr in self._grad_sources}
        self._add_decay_grads(grads)
        return loss, grads

    def numerical_gradient(self, x, t) -> dict[str, np.ndarray]:
        network = self if self.dtype == np.float64 else self.astype(np.float64)
        rng_state = self.dropout_rng.bit_generator.state
        buffers = dict(network.buffers)

        def loss_w(_):
            network.dropout_rng.bit_generator.state = rng_state
            return network.loss(x, t, train_flg=True)

        grads = {
            key: numerical_gradient(loss_w, param).astype(self.dtype, copy=False)
            for key, param in network.params.items()
        }
        network.load_buffers(buffers)
        self.dropout_rng.bit_generator.state = rng_state
        return grads

    # -- buffers ----------------------------------------------------------------------------
    def _batchnorm_layers(self) -> list[tuple[str, BatchNormalization]]:
        """(suffix, layer) for each BatchNormalization layer, e.g. ("1", BatchNorm1)."""
        return [
            (name.removeprefix("BatchNorm"), layer)
            for name, layer in self.layers.items()
            if isinstance(layer, BatchNormalization)
        ]

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """The running statistics of the BatchNormalization layers (not trained)."""
        out = {}
        for i, layer in self._batchnorm_layers():
            out[f"running_mean{i}"] = layer.running_mean
            out[f"running_var{i}"] = layer.running_var
        return out

    def load_buffers(self, buffers) -> None:
        """Set the running statistics from ``buffers`` (same names and shapes, else an error)."""
        expected = {k: v.shape for k, v in self.buffers.items()}
        problems = [f"missing {k}" for k in expected if k not in buffers]
        problems += [f"unexpected {k}" for k in buffers if k not in expected]
        problems += [
            f"{k} has shape {np.shape(buffers[k])}, expected {shape}"
            for k, shape in expected.items()
            if k in buffers and np.shape(buffers[k]) != shape
        ]
        if problems:
            raise ValueError(
                f"{type(self).__name__}: the buffers do not fit this network: "
                + "; ".join(problems)
            )
        for i, layer in self._batchnorm_layers():
            layer.running_mean = np.array(buffers[f"running_mean{i}"], dtype=self.dtype)
            layer.running_var = np.array(buffers[f"running_var{i}"], dtype=self.dtype)

    def _new_batchnorm(self, i, D: int) -> BatchNormalization:
        """BatchNorm{i} on params gamma{i}, beta{i}, keeping the running statistics of the
        layer it replaces (``_build_layers`` runs again after ``load_params``)."""
        old = self.layers.get(f"BatchNorm{i}") if hasattr(self, "_built") else None
        zeros = np.zeros(D, dtype=self.dtype)
        mean = old.running_mean if old is not None else zeros
        var = old.running_var if old is not None else zeros
        return BatchNormalization(
            self.params[f"gamma{i}"],
            self.params[f"beta{i}"],
            running_mean=np.asarray(mean, dtype=self.dtype),
            running_var=np.asarray(var, dtype=self.dtype),
        )

    def _new_dropout(self, ratio: float) -> Dropout:
        return Dropout(ratio, rng=self.dropout_rng)

    def astype(self, dtype) -> Network:
        buffers = self.buffers
        net = super().astype(dtype)
        net.load_buffers(buffers)
        return net


class MultiLayerNetExtend(NetworkWithModes, MultiLayerNet):
    """The book's ``MultiLayerNetExtend`` (6.3-6.4): MultiLayerNet with Dropout and BatchNorm.

    (Affine → [BatchNorm] → activation → [Dropout]) × n → Affine → SoftmaxWithLoss.

    Parameters
    ----------
    input_size, hidden_size_list, output_size, activation, weight_init_std,
    weight_decay_lambda : as in ``MultiLayerNet``.
    use_dropout : bool
        A Dropout layer after each hidden activation.
    dropout_ration : float
        The dropout ratio (the book's spelling of the argument).
    use_batchnorm : bool
        A BatchNormalization layer (γ = 1, β = 0 at first: params ``gamma1``, ``beta1``, ...)
        before each hidden activation.
    seed, rng, dtype : as in ``TwoLayerNet``; ``rng`` also seeds the dropout masks.

    ``predict(x, train_flg=False)``, ``loss(x, t, train_flg=False)`` as in the book; the
    gradient is always taken in training mode.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list,
        output_size: int,
        activation: str = "relu",
        weight_init_std="relu",
        weight_decay_lambda: float = 0.0,
        use_dropout: bool = False,
        dropout_ration: float = 0.5,
        use_batchnorm: bool = False,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype="float64",
    ):
        gen = _rng(seed, rng)
        self.use_dropout = bool(use_dropout)
        self.dropout_ration = float(dropout_ration)
        if not 0.0 <= self.dropout_ration < 1.0:
            raise ValueError(f"dropout_ration must be in [0, 1), got {dropout_ration!r}")
        self.use_batchnorm = bool(use_batchnorm)
        self.dropout_rng = gen.spawn(1)[0]
        MultiLayerNet.__init__(
            self,
            input_size,
            hidden_size_list,
            output_size,
            activation,
            weight_init_std,
            weight_decay_lambda,
            rng=gen,
            dtype=dtype,
        )

    def _build_layers(self) -> None:
        if self.use_batchnorm and "gamma1" not in self.params:
            dt = self.dtype
            for i, size in enumerate(self.hidden_size_list, start=1):
                self.params[f"gamma{i}"] = np.ones(size, dtype=dt)
                self.params[f"beta{i}"] = np.zeros(size, dtype=dt)
        n = len(self.hidden_size_list) + 1
        activation = {"relu": Relu, "sigmoid": Sigmoid}[self.activation]
        layers = OrderedDict()
        grad_sources = []
        for i in range(1, n + 1):
            affine = Affine(self.params[f"W{i}"], self.params[f"b{i}"], compute_dx=i > 1)
            layers[f"Affine{i}"] = affine
            grad_sources += [(f"W{i}", affine, "dW"), (f"b{i}", affine, "db")]
            if i == n:
                break
            if self.use_batchnorm:
                bn = self._new_batchnorm(i, self.hidden_size_list[i - 1])
                layers[f"BatchNorm{i}"] = bn
                grad_sources += [(f"gamma{i}", bn, "dgamma"), (f"beta{i}", bn, "dbeta")]
            layers[f"Activation{i}"] = activation()
            if self.use_dropout:
                layers[f"Dropout{i}"] = self._new_dropout(self.dropout_ration)
        for name, layer in layers.items():
            layer.name = name
        self.layers = layers
        self._built = True
        # The gradient dict lists the keys in params' order (W1, b1, ..., gamma1, beta1, ...).
        order = {key: k for k, key in enumerate(self.params)}
        self._grad_sources = sorted(grad_sources, key=lambda source: order[source[0]])

    @classmethod
    def _param_shapes_from_config(cls, config: dict) -> dict[str, tuple[int, ...]]:
        sizes = cls._sizes_from_config(config)
        shapes = {}
        for i in range(1, len(sizes)):
            shapes[f"W{i}"] = (sizes[i - 1], sizes[i])
            shapes[f"b{i}"] = (sizes[i],)
        if config.get("use_batchnorm"):
            for i in range(1, len(sizes) - 1):
                shapes[f"gamma{i}"] = shapes[f"beta{i}"] = (sizes[i],)
        return shapes

    def config(self) -> dict:
        return {
            **MultiLayerNet.config(self),
            "class": "MultiLayerNetExtend",
            "use_dropout": self.use_dropout,
            "dropout_ration": self.dropout_ration,
            "use_batchnorm": self.use_batchnorm,
        }
