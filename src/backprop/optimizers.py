"""Optimizers: the rules that turn gradients into parameter updates.

Book: 4.5 and 5.7.4 (SGD, the update of the training loop), 6.1.3-6.1.6 (Momentum, AdaGrad,
Adam; RMSprop and Nesterov as in the book's ``common/optimizer.py``).

Contract
--------
* ``optimizer.update(params, grads)`` changes every array of ``params`` **in place**; ``grads``
  has the same keys (``network.gradient(x, t)`` returns exactly those). Layers hold references
  to the arrays in ``params``, so updating in place is what updates the network. Optimizers are
  the only code in the library that writes into arrays it did not create.
* The arithmetic runs in the parameters' dtype: float32 parameters stay float32, and no
  temporary larger than one parameter is made (the update is written with ``out=``).
* The state (velocities, squared-gradient sums, ...) is a dict of arrays per slot, keyed by
  parameter name, created on the first update. ``state_dict()`` / ``load_state_dict()`` give
  and take it together with the hyperparameters, as plain arrays and JSON-compatible numbers,
  for checkpoints.

Update rules (W a parameter, g = ∂L/∂W, all operations elementwise), each checked in
``tests/test_optimizers.py`` over 50 steps against the formula written out from its source and
against ``torch.optim``:

==========  =====================================================================
SGD         W ← W − lr·g
Momentum    v ← αv − lr·g;  W ← W + v                       (Polyak 1964)
Nesterov    v ← αv − lr·g;  W ← W + αv − lr·g  (the new v)  (Bengio et al. 2012, eq. 7)
AdaGrad     h ← h + g²;  W ← W − lr·g / (√h + ε)             (Duchi et al. 2011)
RMSprop     h ← ρh + (1 − ρ)g²;  W ← W − lr·g / (√h + ε)     (Tieleman & Hinton 2012)
Adam        m ← m + (1 − β₁)(g − m);  v ← v + (1 − β₂)(g² − v);
            W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)  (Kingma & Ba 2015, §2)
==========  =====================================================================

Hyperparameters are numbers: Python floats and ints, NumPy scalars and 0-d arrays (what
``10 ** np.random.uniform(-6, -2)`` in the book's chapter 6 gives) are all accepted; anything
else, or a value out of range, raises an error naming the optimizer and the argument.
A parameter may also be a Python number in the ``params`` dict (the book's
``ch06/optimizer_compare_naive.py`` optimizes ``params['x']`` and ``params['y']``): numbers
cannot change in place, so the dict entry is replaced by the new value, a float.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "OPTIMIZER_NAMES",
    "SGD",
    "AdaGrad",
    "Adam",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "get_optimizer",
]


def _number(owner: str, name: str, value) -> float:
    """``value`` (a Python or NumPy number, or a 0-d array) as a float, or a TypeError."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        got = (
            f"an array of shape {value.shape}"
            if isinstance(value, np.ndarray)
            else f"{value!r} ({type(value).__name__})"
        )
        raise TypeError(f"{owner}: {name} must be a number (float or 0-d array), got {got}")
    return float(value)


def _check_positive(owner: str, name: str, value) -> float:
    value = _number(owner, name, value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value!r}")
    return value


def _check_fraction(owner: str, name: str, value) -> float:
    value = _number(owner, name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")
    return value


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


class Optimizer:
    """Base class: validates ``update``'s arguments and manages the per-parameter state.

    Subclasses set ``slots`` (names of their state arrays, e.g. ``("v",)``) and implement
    ``_update(key, param, grad)``, which writes the new value into ``param``.
    """

    name = "Optimizer"
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float):
        self.lr = _check_positive(type(self).__name__, "lr", lr)
        self.iteration = 0  # number of update() calls so far
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        self._buffer: dict[str, np.ndarray] = {}  # scratch space, one array per parameter

    # -- public API -------------------------------------------------------------------------
    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes)."""
        if grads.keys() != params.keys():
            self._raise_keys(params, grads)
        for key, grad in grads.items():  # all checked first: nothing is updated half-way
            if type(grad) is not np.ndarray and not self._accepts(grad, params[key]):
                message = (
                    f"{type(self).__name__}.update: grads[{key!r}] must be a NumPy array of "
                    f"shape {np.shape(params[key])}, got {type(grad).__name__}"
                )
                raise TypeError(message)
        self.iteration += 1
        buffers = self._buffer
        for key, param in params.items():
            grad = grads[key]
            if type(param) is not np.ndarray and _is_number(param):
                # a number cannot change in place: replace the entry (as the book's dicts do)
                array = np.array(param, dtype=np.float64)
                self._update_array(key, array, np.asarray(grad, dtype=np.float64))
                params[key] = float(array)
                continue
            buffer = buffers.get(key)
            if (
                buffer is None
                or buffer.shape != param.shape
                or buffer.dtype != param.dtype
                or type(grad) is not np.ndarray
            ):
                self._update_array(key, param, grad)  # first sight, a number: the slow path
            elif grad.shape != param.shape:
                self._raise_shape(key, param, grad)
            else:
                self._update(key, param, grad, buffer)

    @staticmethod
    def _accepts(grad, param) -> bool:
        """A gradient that is not a plain ndarray: an ndarray subclass, or a number for a
        parameter that is a number or a 0-d array."""
        if isinstance(grad, np.ndarray):
            return True
        return _is_number(grad) and (_is_number(param) or np.ndim(param) == 0)

    def _update_array(self, key: str, param: np.ndarray, grad) -> None:
        if not isinstance(grad, np.ndarray):  # a number for a 0-d parameter
            grad = np.asarray(grad, dtype=param.dtype)
        buffer = self._buffer.get(key)
        if buffer is None or buffer.shape != param.shape or buffer.dtype != param.dtype:
            buffer = self._new_parameter(key, param, grad)
        elif grad.shape != param.shape:
            self._raise_shape(key, param, grad)
        self._update(key, param, grad, buffer)

    def hyperparameters(self) -> dict[str, float]:
        """The constructor's arguments: ``type(self)(**opt.hyperparameters())`` is a twin."""
        return {"lr": self.lr}

    def state_dict(self) -> dict:
        """Everything needed to continue later: name, hyperparameters, iteration, state.

        Returns ``{"name": str, "hyperparameters": {str: float}, "iteration": int,
        "state": {slot: {param_name: ndarray}}}``; the arrays are copies.
        """
        return {
            "name": self.name,
            "hyperparameters": self.hyperparameters(),
            "iteration": self.iteration,
            "state": {
                slot: {key: value.copy() for key, value in arrays.items()}
                for slot, arrays in self.state.items()
            },
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned (hyperparameters, iteration and state)."""
        owner = type(self).__name__
        name = state_dict.get("name", self.name)
        if name != self.name:
            raise ValueError(f"{owner}.load_state_dict: the state is of {name}, not {self.name}")
        hyper = dict(state_dict.get("hyperparameters", {}))
        unknown = sorted(set(hyper) - set(self.hyperparameters()))
        if unknown:
            raise ValueError(
                f"{owner}.load_state_dict: unknown hyperparameters {', '.join(unknown)}; "
                f"{owner} has {', '.join(self.hyperparameters())}"
            )
        twin = type(self)(**{**self.hyperparameters(), **hyper})  # validates the values
        state = state_dict.get("state", {})
        if set(state) != set(self.slots):
            raise ValueError(
                f"{owner}.load_state_dict: expected the state slots "
                f"{list(self.slots)}, got {sorted(state)}"
            )
        loaded: dict[str, dict[str, np.ndarray]] = {}
        for slot, arrays in state.items():
            loaded[slot] = {}
            for key, value in arrays.items():
                array = np.asarray(value)
                if array.dtype.kind != "f":
                    raise TypeError(
                        f"{owner}.load_state_dict: state {slot}/{key} must be a floating "
                        f"array, got dtype {array.dtype}"
                    )
                loaded[slot][key] = array.copy()
        iteration = state_dict.get("iteration", 0)
        if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)):
            raise TypeError(f"{owner}.load_state_dict: iteration must be an int, got {iteration!r}")
        for key in hyper:
            setattr(self, key, getattr(twin, key))
        self.iteration = int(iteration)
        self.state = loaded
        self._buffer = {}

    # -- helpers ----------------------------------------------------------------------------
    def _new_parameter(self, key: str, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """First sight of ``key``: check it, create its buffer and any missing state."""
        if not isinstance(param, np.ndarray) or param.dtype.kind != "f":
            raise TypeError(
                f"{type(self).__name__}.update: params[{key!r}] must be a floating NumPy "
                f"array (it is updated in place), got {type(param).__name__} "
                f"of dtype {getattr(param, 'dtype', None)}"
            )
        if np.shape(grad) != param.shape:
            self._raise_shape(key, param, grad)
        for slot in self.slots:
            arrays = self.state[slot]
            if key in arrays and arrays[key].shape != param.shape:
                raise ValueError(
                    f"{type(self).__name__}: state {slot}/{key} has shape {arrays[key].shape}, "
                    f"the parameter has shape {param.shape}"
                )
            if key not in arrays:
                arrays[key] = np.zeros_like(param)
            elif arrays[key].dtype != param.dtype:
                arrays[key] = arrays[key].astype(param.dtype)
        buffer = np.empty_like(param)
        self._buffer[key] = buffer
        return buffer

    def _raise_keys(self, params, grads) -> None:
        missing = [k for k in params if k not in grads]
        extra = [k for k in grads if k not in params]
        message = (
            f"{type(self).__name__}.update: grads must have the keys of params "
            f"({', '.join(params)}); missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
        raise ValueError(message)

    def _raise_shape(self, key, param, grad) -> None:
        message = (
            f"{type(self).__name__}.update: grads[{key!r}] has shape {np.shape(grad)}, "
            f"params[{key!r}] has shape {param.shape}"
        )
        raise ValueError(message)

    def _update(self, key: str, param: np.ndarray, grad: np.ndarray, buffer: np.ndarray):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent (6.1.2): W ← W − lr·∂L/∂W."""

    name = "SGD"

    def __init__(self, lr: float = 0.01):
        super().__init__(lr)

    def _update(self, key, param, grad, buffer):
        np.multiply(grad, self.lr, out=buffer)  # lr·g
        np.subtract(param, buffer, out=param)  # W ← W − lr·g


class Momentum(Optimizer):
    """Momentum (6.1.4): v ← αv − lr·g, W ← W + v. ``momentum`` is α.

    Equal to ``torch.optim.SGD(lr, momentum=α)``, whose buffer is −v/lr (for a fixed lr).
    """

    name = "Momentum"
    slots = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = _check_fraction(type(self).__name__, "momentum", momentum)

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum}

    def _update(self, key, param, grad, buffer):
        v = self.state["v"][key]
        np.multiply(v, self.momentum, out=v)  # αv
        np.multiply(grad, self.lr, out=buffer)
        np.subtract(v, buffer, out=v)  # v ← αv − lr·g
        np.add(param, v, out=param)  # W ← W + v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient (NAG), as in the book's ``common/optimizer.py``.

    v ← αv − lr·g, then W ← W + αv − lr·g with the *new* v: the momentum step looks ahead.
    This is Bengio et al. 2012 (eq. 7), the reformulation of Sutskever et al. 2013 in which
    W is the look-ahead point θ + αv, so the gradient is taken where the network is; written
    with the old velocity it is the book's W ← W + α²v − (1 + α)·lr·g, and it is exactly
    ``torch.optim.SGD(momentum=α, nesterov=True)`` (whose buffer is −v/lr).
    """

    name = "Nesterov"
    slots = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = _check_fraction(type(self).__name__, "momentum", momentum)

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum}

    def _update(self, key, param, grad, buffer):
        v, alpha = self.state["v"][key], self.momentum
        np.multiply(grad, self.lr, out=buffer)  # lr·g
        np.multiply(v, alpha, out=v)
        np.subtract(v, buffer, out=v)  # v ← αv − lr·g
        np.subtract(param, buffer, out=param)  # W ← W − lr·g
        np.multiply(v, alpha, out=buffer)
        np.add(param, buffer, out=param)  # W ← W + αv (the new v)


class AdaGrad(Optimizer):
    """AdaGrad (6.1.5): h ← h + g², W ← W − lr·g / (√h + ε); each weight's rate decays.

    ε is added outside the square root and h starts at 0, as in the book's code; this is
    ``torch.optim.Adagrad(lr, eps=ε)`` exactly (torch's default ε is 1e-10, the book's 1e-7).
    Duchi et al. (2011) write lr·g/√h; the ε only keeps the first step finite where g = 0.
    """

    name = "AdaGrad"
    slots = ("h",)

    def __init__(self, lr: float = 0.01, eps: float = 1e-7):
        super().__init__(lr)
        self.eps = _check_positive(type(self).__name__, "eps", eps)

    def hyperparameters(self):
        return {"lr": self.lr, "eps": self.eps}

    def _update(self, key, param, grad, buffer):
        h = self.state["h"][key]
        np.multiply(grad, grad, out=buffer)
        np.add(h, buffer, out=h)  # h ← h + g²
        _scaled_step(param, grad, h, self.lr, self.eps, buffer)


class RMSprop(Optimizer):
    """RMSprop: h ← ρh + (1 − ρ)g², W ← W − lr·g / (√h + ε). ``decay_rate`` is ρ.

    AdaGrad forgets nothing, so its steps shrink to zero; RMSprop keeps an exponential moving
    average of g² instead (mentioned in 6.1.5, code in the book's ``common/optimizer.py``).
    Equal to ``torch.optim.RMSprop(lr, alpha=ρ, eps=ε)`` (ε outside the root, h from 0).
    """

    name = "RMSprop"
    slots = ("h",)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float = 1e-7):
        super().__init__(lr)
        self.decay_rate = _check_fraction(type(self).__name__, "decay_rate", decay_rate)
        self.eps = _check_positive(type(self).__name__, "eps", eps)

    def hyperparameters(self):
        return {"lr": self.lr, "decay_rate": self.decay_rate, "eps": self.eps}

    def _update(self, key, param, grad, buffer):
        h = self.state["h"][key]
        np.multiply(h, self.decay_rate, out=h)
        np.multiply(grad, grad, out=buffer)
        np.multiply(buffer, 1 - self.decay_rate, out=buffer)
        np.add(h, buffer, out=h)  # h ← ρh + (1 − ρ)g²
        _scaled_step(param, grad, h, self.lr, self.eps, buffer)


class Adam(Optimizer):
    """Adam (6.1.6): Momentum and RMSprop together, with the bias of m and v corrected.

    m ← m + (1 − β₁)(g − m), v ← v + (1 − β₂)(g² − v),
    W ← W − lr_t · m / (√v + ε) with lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ) at step t.

    This is the book's form, the "more efficient order" of Kingma & Ba (2015, end of §2):
    the bias correction folded into the step size, ε added to √v. Algorithm 1 of the paper
    and ``torch.optim.Adam`` add ε to the corrected √v̂ = √v / √(1 − β₂ᵗ) instead; the two
    are equal with torch's ε set to ε / √(1 − β₂ᵗ), which changes with t. With the same
    ε = 1e-7, 50 steps of lr = 0.05 on gradients of order 1 end about 2e-6 apart (measured
    in the tests); the forms differ most in the first steps and where √v is as small as ε.
    """

    name = "Adam"
    slots = ("m", "v")

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ):
        super().__init__(lr)
        owner = type(self).__name__
        self.beta1 = _check_fraction(owner, "beta1", beta1)
        self.beta2 = _check_fraction(owner, "beta2", beta2)
        self.eps = _check_positive(owner, "eps", eps)

    def hyperparameters(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _update(self, key, param, grad, buffer):
        m, v = self.state["m"][key], self.state["v"][key]
        t = self.iteration
        lr_t = self.lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        np.subtract(grad, m, out=buffer)
        np.multiply(buffer, 1 - self.beta1, out=buffer)
        np.add(m, buffer, out=m)  # m ← m + (1 − β₁)(g − m)
        np.multiply(grad, grad, out=buffer)
        np.subtract(buffer, v, out=buffer)
        np.multiply(buffer, 1 - self.beta2, out=buffer)
        np.add(v, buffer, out=v)  # v ← v + (1 − β₂)(g² − v)
        _scaled_step(param, m, v, lr_t, self.eps, buffer)


def _scaled_step(param, numerator, h, lr, eps, buffer) -> None:
    """W ← W − lr · numerator / (√h + ε), computed in ``buffer``."""
    np.sqrt(h, out=buffer)
    np.add(buffer, eps, out=buffer)
    np.divide(numerator, buffer, out=buffer)
    np.multiply(buffer, lr, out=buffer)
    np.subtract(param, buffer, out=param)


_OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}
OPTIMIZER_NAMES = tuple(_OPTIMIZERS)


def get_optimizer(name: str, **hyperparameters) -> Optimizer:
    """An optimizer by name (case-insensitive: ``"sgd"``, ``"Adam"``, ...) with its arguments.

    >>> get_optimizer("momentum", lr=0.1)
    Momentum(lr=0.1, momentum=0.9)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {name!r}")
    cls = _OPTIMIZERS[key]
    try:
        return cls(**hyperparameters)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        accepted = ", ".join(cls().hyperparameters())
        given = ", ".join(hyperparameters)
        raise TypeError(
            f"{cls.__name__} takes the hyperparameters {accepted}, got {given}"
        ) from None
