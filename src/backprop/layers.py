"""Nodes of the computational graph: one class per operation, with ``forward`` and ``backward``.

Book: 5.4 (MulLayer, AddLayer), 5.5 (Relu, Sigmoid), 5.6 (Affine, SoftmaxWithLoss).

Every operation's local derivative is written exactly once, here. The layer API of the book uses
these classes directly (``MulLayer().forward(100, 2)``), the networks stack them, and the
automatic graph (``backprop.autograd``) creates one instance per recorded operation, so the
rule a reader sees in a class is the rule every part of the library runs.

Contract of a node
------------------
* ``__init__`` declares the cached state (``self.x = None``); ``forward(*inputs)`` computes the
  output and fills the cache; ``backward(dout)`` returns the gradient of each input: one array
  for one input, a tuple for two. Parameter gradients are stored as attributes (``dW``, ``db``).
* ``backward`` multiplies ``dout`` by the local derivative and never writes into ``dout``, the
  inputs or the cache: it always returns new arrays (or ``dout`` itself where the local
  derivative is 1). A node may be called again: ``forward`` replaces the cache.
* Binary elementwise nodes follow NumPy broadcasting; their backward sums the gradient back to
  each input's shape (``sum_to``), so ``dx.shape == x.shape`` always.
* The derivative of ReLU at the kink 0 is taken as 0 (as in the book's ``x <= 0`` mask).
* Nodes compute in the dtype they are given; ``Affine`` computes in its parameters' dtype.

Labels (``label``) and rules (``rules``) are text for the pictures and the explanations of the
graph (``backprop.visualize``); they describe the code below and are tested against it.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from backprop._checks import check_array, check_axis, check_same_shape
from backprop.functions import (
    check_targets,
    logsumexp_terms,
    mean_squared_error,
    relu,
    sample_as_batch,
    sigmoid,
    sum_to,
)

__all__ = [
    "AddLayer",
    "Affine",
    "Div",
    "Exp",
    "Layer",
    "Log",
    "MatMul",
    "Mean",
    "MeanSquaredErrorLoss",
    "MulLayer",
    "Neg",
    "Pow",
    "Relu",
    "Reshape",
    "Sigmoid",
    "SoftmaxWithLoss",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
]


def _operand(x):
    """Numbers and arrays as they are; lists and other array-likes as arrays (``[1, 2] + [3]``
    would otherwise concatenate lists)."""
    if isinstance(x, (np.ndarray, np.generic, int, float)):
        return x
    return np.asarray(x)


def _shape(x) -> tuple[int, ...]:
    return np.shape(x)


def _checking_inputs(forward):
    """``forward`` that first refuses inputs that are not real numbers (``check_array``)."""
    names = [p for p in inspect.signature(forward).parameters if p != "self"]

    @functools.wraps(forward)
    def checked(self, *inputs, **keywords):
        for i, x in enumerate(inputs):
            dtype = getattr(x, "dtype", None)
            if dtype is not None and dtype.kind in "biuf":  # the hot path: one attribute
                continue
            check_array(self.name, names[i] if i < len(names) else f"input {i}", x)
        return forward(self, *inputs, **keywords)

    checked.checks_inputs = True
    return checked


class Layer:
    """Base class of every node: ``forward(*inputs)`` then ``backward(dout)``.

    Subclasses set ``label`` (the symbol drawn in a graph) and ``rules`` (one text per input
    giving its local derivative, e.g. ``"∂L/∂x = ∂L/∂out × y"``).
    """

    label = "?"
    rules: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        # The node boundary, in one place: every forward refuses complex, object, text,
        # bytes and datetime inputs with the node's name (an O(1) dtype check per input).
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None and not getattr(forward, "checks_inputs", False):
            cls.forward = _checking_inputs(forward)

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    # -- helpers shared by the subclasses ---------------------------------------------------
    _name: str | None = None

    @property
    def name(self) -> str:
        """The layer's name in error messages: its key in a network (``Affine1``) or class."""
        return self._name or type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def _check_called(self, cached) -> None:
        if cached is None:
            raise ValueError(f"{self.name}.backward called before forward")

    def _check_dout(self, dout, shape: tuple[int, ...]):
        """``dout`` as an array of the output's shape, or a clear error."""
        dout = np.asarray(dout)
        if dout.shape != shape:
            raise ValueError(
                f"{self.name}.backward: dout must have the output's shape {shape}, "
                f"got dout.shape={dout.shape}"
            )
        return dout

    def _broadcast_shape(self, x, y) -> tuple[int, ...]:
        """Shape of an elementwise result of ``x`` and ``y``, or a clear error."""
        try:
            return np.broadcast_shapes(_shape(x), _shape(y))
        except ValueError:
            raise ValueError(
                f"{self.name}: x and y do not broadcast together "
                f"(x.shape={_shape(x)}, y.shape={_shape(y)})"
            ) from None

    def __repr__(self) -> str:
        return f"{self.name}()"


# ---------------------------------------------------------------------------------------------
# 5.4 Arithmetic nodes
# ---------------------------------------------------------------------------------------------


class AddLayer(Layer):
    """Addition node (덧셈 노드): out = x + y. The upstream gradient passes on unchanged (× 1)."""

    label = "+"
    rules = ("∂L/∂x = ∂L/∂out × 1", "∂L/∂y = ∂L/∂out × 1")

    def __init__(self):
        self.x_shape = None
        self.y_shape = None

    def forward(self, x, y):
        x, y = _operand(x), _operand(y)
        self._broadcast_shape(x, y)
        self.x_shape, self.y_shape = _shape(x), _shape(y)
        return x + y

    def backward(self, dout):
        self._check_called(self.x_shape)
        dout = self._check_dout(dout, np.broadcast_shapes(self.x_shape, self.y_shape))
        # dL/dx = dout · 1, dL/dy = dout · 1 (summed over broadcast axes)
        dx = dout if self.x_shape == _shape(dout) else sum_to(dout, self.x_shape)
        dy = dout if self.y_shape == _shape(dout) else sum_to(dout, self.y_shape)
        return dx, dy


class MulLayer(Layer):
    """Multiplication node (곱셈 노드): out = x · y. Each input gets dout × the *other* input."""

    label = "×"
    rules = ("∂L/∂x = ∂L/∂out × y", "∂L/∂y = ∂L/∂out × x")

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        x, y = _operand(x), _operand(y)
        self._broadcast_shape(x, y)
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        self._check_called(self.x)
        dout = self._check_dout(dout, self._broadcast_shape(self.x, self.y))
        # dL/dx = dout · y, dL/dy = dout · x (the inputs swap)
        dx = sum_to(dout * self.y, _shape(self.x))
        dy = sum_to(dout * self.x, _shape(self.y))
        return dx, dy


class Sub(Layer):
    """Subtraction: out = x − y."""

    label = "−"
    rules = ("∂L/∂x = ∂L/∂out × 1", "∂L/∂y = ∂L/∂out × (−1)")

    def __init__(self):
        self.x_shape = None
        self.y_shape = None

    def forward(self, x, y):
        x, y = _operand(x), _operand(y)
        self._broadcast_shape(x, y)
        self.x_shape, self.y_shape = _shape(x), _shape(y)
        return x - y

    def backward(self, dout):
        self._check_called(self.x_shape)
        dout = self._check_dout(dout, np.broadcast_shapes(self.x_shape, self.y_shape))
        # dL/dx = dout · 1, dL/dy = dout · (−1)
        return sum_to(dout, self.x_shape), sum_to(-dout, self.y_shape)


class Div(Layer):
    """Division: out = x / y."""

    label = "÷"
    rules = ("∂L/∂x = ∂L/∂out × 1/y", "∂L/∂y = ∂L/∂out × (−x/y²)")

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        x, y = _operand(x), _operand(y)
        self._broadcast_shape(x, y)
        zeros = np.count_nonzero(np.equal(y, 0))
        if zeros:
            raise ValueError(f"{self.name}: divide by zero encountered: y contains {zeros} zero(s)")
        self.x, self.y = x, y
        return x / y

    def backward(self, dout):
        self._check_called(self.x)
        dout = self._check_dout(dout, self._broadcast_shape(self.x, self.y))
        # dL/dx = dout / y, dL/dy = −dout · x / y²
        dx = dout / self.y
        dy = -dx * self.x / self.y
        return sum_to(dx, _shape(self.x)), sum_to(dy, _shape(self.y))


class Neg(Layer):
    """Negation: out = −x."""

    label = "neg"
    rules = ("∂L/∂x = ∂L/∂out × (−1)",)

    def __init__(self):
        self.x_shape = None

    def forward(self, x):
        x = _operand(x)
        self.x_shape = _shape(x)
        return -x

    def backward(self, dout):
        self._check_called(self.x_shape)
        return -self._check_dout(dout, self.x_shape)  # dL/dx = −dout


class Pow(Layer):
    """Power by a constant: out = x ** c."""

    rules = ("∂L/∂x = ∂L/∂out × c·x^(c−1)",)

    def __init__(self, c):
        if not np.isscalar(c) or isinstance(c, (bool, str)):
            raise TypeError(f"Pow: the exponent must be a number, got {c!r}")
        # A NumPy scalar would promote float32 data to its own dtype; a Python number does not.
        self.c = c.item() if isinstance(c, np.generic) else c
        self.x = None

    @property
    def label(self) -> str:
        return f"**{self.c:g}"

    def forward(self, x):
        x = _operand(x)
        self._check_base(x, self.c, "x ** c")
        self.x = x
        return self.x**self.c

    def backward(self, dout):
        self._check_called(self.x)
        dout = self._check_dout(dout, _shape(self.x))
        if self.c != 0:
            self._check_base(self.x, self.c - 1, "the derivative c·x^(c−1)")
        return dout * self.c * self.x ** (self.c - 1)  # dL/dx = dout · c·x^(c−1)

    def _check_base(self, x, c, what: str) -> None:
        """x ** c is a finite real number for every element, or a clear error (checked only
        for the exponents that can fail: negative or non-integer ones)."""
        integral = float(c).is_integer()
        if c >= 0 and integral:
            return
        if c < 0 and np.count_nonzero(np.equal(x, 0)):
            raise ValueError(
                f"{self.name}: {what} would divide by zero where x = 0 (c = {self.c:g})"
            )
        if not integral and np.count_nonzero(np.less(x, 0)):
            raise ValueError(
                f"{self.name}: {what} is not a real number where x < 0 (c = {self.c:g})"
            )
        if c < 0 and np.asarray(x).dtype.kind in "iub" and not isinstance(x, (int, bool)):
            raise TypeError(
                f"{self.name}: integer x to the negative power {c:g}; convert x to float first"
            )

    def __repr__(self) -> str:
        return f"Pow(c={self.c!r})"


class MatMul(Layer):
    """Matrix product: out = x · W (``x @ W``), for 1-D or 2-D operands.

    ``needs_input_grad`` says which gradients backward computes; the first layer of a network
    does not need dx (the gradient with respect to the images), so it is skipped there.
    """

    label = "matmul"
    rules = ("∂L/∂x = ∂L/∂out · Wᵀ", "∂L/∂W = xᵀ · ∂L/∂out")

    def __init__(self, needs_input_grad: tuple[bool, bool] = (True, True)):
        self.needs_input_grad = needs_input_grad
        self.x = None
        self.W = None

    def forward(self, x, W):
        x, W = np.asarray(x), np.asarray(W)
        if x.ndim not in (1, 2) or W.ndim not in (1, 2) or x.shape[-1] != W.shape[0]:
            raise ValueError(
                f"{self.name}: cannot multiply x of shape {x.shape} by W of shape {W.shape} "
                f"(needs 1-D or 2-D operands with x.shape[-1] == W.shape[0])"
            )
        self.x, self.W = x, W
        return x @ W

    def backward(self, dout):
        self._check_called(self.x)
        x, W = self.x, self.W
        dout = self._check_dout(dout, x.shape[:-1] + W.shape[1:])
        if x.ndim == 1 or W.ndim == 1:  # a 1-D x is one row, a 1-D W one column
            x2 = x.reshape(1, x.shape[0]) if x.ndim == 1 else x
            W2 = W.reshape(W.shape[0], 1) if W.ndim == 1 else W
            d2 = dout.reshape(x2.shape[0], W2.shape[1])
        else:
            x2, W2, d2 = x, W, dout
        dx = dW = None
        if self.needs_input_grad[0]:
            dx = (d2 @ W2.T).reshape(x.shape)  # dL/dx = dout · Wᵀ
        if self.needs_input_grad[1]:
            dW = (x2.T @ d2).reshape(W.shape)  # dL/dW = xᵀ · dout
        return dx, dW


# ---------------------------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------------------------


class Exp(Layer):
    """out = exp(x); its derivative is itself."""

    label = "exp"
    rules = ("∂L/∂x = ∂L/∂out × exp(x)",)

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        self._check_called(self.out)
        return self._check_dout(dout, _shape(self.out)) * self.out  # dL/dx = dout · exp(x)


class Log(Layer):
    """out = log(x) (natural logarithm)."""

    label = "log"
    rules = ("∂L/∂x = ∂L/∂out × 1/x",)

    def __init__(self):
        self.x = None

    def forward(self, x):
        x = np.asarray(x)
        if np.any(x <= 0):
            raise ValueError(f"{self.name}: x must be positive, got min(x)={np.min(x):g}")
        self.x = x
        return np.log(x)

    def backward(self, dout):
        self._check_called(self.x)
        return self._check_dout(dout, self.x.shape) / self.x  # dL/dx = dout / x


class Tanh(Layer):
    """out = tanh(x)."""

    label = "tanh"
    rules = ("∂L/∂x = ∂L/∂out × (1 − out²)",)

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        self._check_called(self.out)
        dout = self._check_dout(dout, _shape(self.out))
        return dout * (1 - self.out * self.out)  # dL/dx = dout · (1 − tanh²x)


class Relu(Layer):
    """ReLU (5.5.1): out = max(0, x). Gradient passes where x > 0 and stops where x ≤ 0."""

    label = "ReLU"
    rules = ("∂L/∂x = ∂L/∂out × (1 if x > 0 else 0)",)

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = relu(x)  # NaN stays NaN; the dtype of x is kept
        return self.out

    def backward(self, dout):
        self._check_called(self.out)
        dout = self._check_dout(dout, self.out.shape)
        # dL/dx = dout where x > 0, else 0 (out > 0 exactly where x > 0). A new array: the
        # book's version zeroes the caller's dout in place.
        return dout * (self.out > 0)

    @property
    def mask(self):
        """Where the gradient stops (x ≤ 0): the book's ``mask``."""
        return None if self.out is None else ~(self.out > 0)


class Sigmoid(Layer):
    """Sigmoid (5.5.2): out = 1 / (1 + exp(−x)); local derivative out · (1 − out)."""

    label = "sigmoid"
    rules = ("∂L/∂x = ∂L/∂out × out(1 − out)",)

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        self._check_called(self.out)
        dout = self._check_dout(dout, self.out.shape)
        return dout * (1.0 - self.out) * self.out  # dL/dx = dout · y(1 − y)


# ---------------------------------------------------------------------------------------------
# Shape and reduction nodes (used by the automatic graph)
# ---------------------------------------------------------------------------------------------


class Sum(Layer):
    """Sum over ``axis`` (all axes by default): each element gets the upstream gradient × 1."""

    label = "sum"
    rules = ("∂L/∂x = ∂L/∂out × 1 (copied to every summed element)",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims
        self.x_shape = None
        self.out_shape = None

    def forward(self, x):
        x = np.asarray(x)
        self.x_shape = x.shape
        axis = check_axis(self.name, self.axis, x.ndim)
        out = np.sum(x, axis=axis, keepdims=self.keepdims)
        self.out_shape = np.shape(out)
        return out

    def backward(self, dout):
        self._check_called(self.x_shape)
        dout = self._check_dout(dout, self.out_shape)
        if not self.keepdims and self.axis is not None:
            axes = (self.axis,) if np.isscalar(self.axis) else tuple(self.axis)
            ndim = len(self.x_shape)
            dout = np.expand_dims(dout, tuple(sorted(a % ndim for a in axes)))
        return np.broadcast_to(dout, self.x_shape).copy()  # dL/dx = dout · 1

    def __repr__(self) -> str:
        return f"Sum(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Mean(Sum):
    """Mean over ``axis``: each element gets the upstream gradient × 1/n."""

    label = "mean"
    rules = ("∂L/∂x = ∂L/∂out × 1/n (n = number of averaged elements)",)

    def __init__(self, axis=None, keepdims: bool = False):
        super().__init__(axis, keepdims)
        self.n = None

    def forward(self, x):
        out = super().forward(x)
        axes = check_axis(self.name, self.axis, len(self.x_shape))
        shape = self.x_shape
        self.n = math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)
        if self.n == 0:
            raise ValueError(
                f"{self.name}: the mean of no elements is undefined (x.shape={self.x_shape}, "
                f"axis={self.axis!r})"
            )
        return out / self.n

    def backward(self, dout):
        return super().backward(dout) / self.n  # dL/dx = dout / n

    def __repr__(self) -> str:
        return f"Mean(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Reshape(Layer):
    """Reshape; the gradient is reshaped back."""

    label = "reshape"
    rules = ("∂L/∂x = ∂L/∂out reshaped to x's shape",)

    def __init__(self, shape):
        self.shape = tuple(shape) if np.iterable(shape) else (shape,)
        self.x_shape = None
        self.out_shape = None

    def forward(self, x):
        x = np.asarray(x)
        try:
            out = x.reshape(self.shape)
        except (ValueError, TypeError):  # TypeError: a size that is not an integer
            raise ValueError(
                f"Reshape: cannot reshape an array of shape {x.shape} ({x.size} elements) "
                f"into shape {self.shape}"
            ) from None
        self.x_shape, self.out_shape = x.shape, out.shape
        return out

    def backward(self, dout):
        self._check_called(self.x_shape)
        return self._check_dout(dout, self.out_shape).reshape(self.x_shape)

    def __repr__(self) -> str:
        return f"Reshape(shape={self.shape!r})"


class Transpose(Layer):
    """Transpose (reverse or permute the axes); the gradient is permuted back."""

    label = "T"
    rules = ("∂L/∂x = ∂L/∂out with the axes permuted back",)

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)
        self.ndim = None
        self.out_shape = None

    def forward(self, x):
        x = np.asarray(x)
        self.ndim = x.ndim
        check_axis(self.name, self.axes, x.ndim, permutation=True)
        out = np.transpose(x, self.axes)
        self.out_shape = out.shape
        return out

    def backward(self, dout):
        self._check_called(self.ndim)
        dout = self._check_dout(dout, self.out_shape)
        if self.axes is None:
            return np.transpose(dout)
        return np.transpose(dout, np.argsort([a % self.ndim for a in self.axes]))

    def __repr__(self) -> str:
        return f"Transpose(axes={self.axes!r})"


# ---------------------------------------------------------------------------------------------
# 5.6 Affine and the loss layers
# ---------------------------------------------------------------------------------------------


class Affine(Layer):
    """Affine layer (5.6.2): out = x · W + b, for a batch ``x`` of shape (N, ...).

    Input of more than two dimensions (images N×C×H×W) is flattened to (N, D) and the
    gradient ``dx`` is given back in the original shape. The matrix product is the ``MatMul``
    node and the bias is an addition broadcast over the batch, so the rules are theirs:
    dx = dout · Wᵀ, dW = xᵀ · dout, db = Σ_batch dout.

    ``b=None`` makes a linear layer without bias, out = x · W (PyTorch's ``bias=False``):
    ``params`` and ``grads`` then hold ``W`` only and ``db`` stays None.

    ``compute_dx=False`` skips dx (``backward`` returns None): the first layer of a network
    never needs the gradient with respect to its input images.
    """

    label = "Affine"
    rules = ("∂L/∂x = ∂L/∂out · Wᵀ", "∂L/∂W = xᵀ · ∂L/∂out", "∂L/∂b = Σ_batch ∂L/∂out")

    def __init__(self, W, b=None, compute_dx: bool = True):
        W = np.asarray(W)
        b = None if b is None else np.asarray(b)
        if W.ndim != 2 or (b is not None and b.shape != (W.shape[1],)):
            raise ValueError(
                f"Affine: W must be 2-D (D, M) and b of shape (M,) or None, got "
                f"W.shape={W.shape}, b.shape={None if b is None else b.shape}"
            )
        if W.dtype.kind != "f" or (b is not None and b.dtype.kind != "f"):
            # x is cast to W's dtype: integer parameters would silently truncate it.
            raise TypeError(
                f"Affine: W and b must be floating-point arrays, got W.dtype={W.dtype}, "
                f"b.dtype={None if b is None else b.dtype}"
            )
        self.W = W
        self.b = b
        self.compute_dx = compute_dx
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None
        self._matmul = MatMul()

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W} if self.b is None else {"W": self.W, "b": self.b}

    @property
    def grads(self) -> dict[str, np.ndarray | None]:
        return {"W": self.dW} if self.b is None else {"W": self.dW, "b": self.db}

    def forward(self, x):
        x = np.asarray(x)
        W = self.W
        self.original_x_shape = x.shape
        if x.ndim != 2 or x.shape[1] != W.shape[0]:
            x = self._flatten(x)
        if x.dtype != W.dtype:  # the layer computes in its parameters' dtype
            x = x.astype(W.dtype)
        self._matmul.needs_input_grad = (self.compute_dx, True)
        out = self._matmul.forward(x, W)
        if self.b is not None:
            out += self.b  # a fresh array from the matmul: adding in place copies nothing
        self.x = x
        return out

    def _flatten(self, x: np.ndarray) -> np.ndarray:
        """N-d input (N, ...) as (N, D); or a clear error."""
        W = self.W
        if x.ndim < 2:
            raise ValueError(
                f"{self.name}: x must be a batch of shape (N, {W.shape[0]}), got "
                f"x.shape={x.shape} (W.shape={W.shape}); a single sample is x.reshape(1, -1)"
            )
        features = math.prod(x.shape[1:])
        if features != W.shape[0]:
            raise ValueError(
                f"{self.name}: x has {features} features, W expects {W.shape[0]} "
                f"(x.shape={x.shape}, W.shape={W.shape})"
            )
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        self._check_called(self.x)
        dout = self._check_dout(dout, (self.x.shape[0], self.W.shape[1]))
        dx, self.dW = self._matmul.backward(dout)  # dx = dout · Wᵀ, dW = xᵀ · dout
        if self.b is not None:
            self.db = sum_to(dout, self.b.shape)  # db = Σ over the batch (broadcast add)
        if dx is None or dx.shape == self.original_x_shape:
            return dx
        return dx.reshape(self.original_x_shape)

    def __repr__(self) -> str:
        b = None if self.b is None else self.b.shape
        return f"Affine(W={self.W.shape}, b={b}, dtype={self.W.dtype})"


class SoftmaxWithLoss(Layer):
    """Softmax followed by the cross-entropy error (5.6.3).

    ``forward(x, t)`` takes scores ``x`` of shape (N, C) (or (C,) for one sample) and targets
    ``t``, either integer labels (N,) or one-hot (N, C), and returns the mean loss over the
    batch. The loss is computed with log-sum-exp, exactly, so forward and backward agree to
    rounding error (the book's ``log(y + 1e-7)`` does not). ``backward(dout=1)`` returns
    (y − t) / N × dout. (N, C) targets may also be soft (label smoothing): for rows that do
    not sum to 1 the gradient is (y·Σt − t) / N × dout.
    """

    label = "Softmax-with-Loss"
    rules = ("∂L/∂x = ∂L/∂out × (y − t)/N",)

    def __init__(self):
        self.loss = None
        self.y = None  # softmax output
        self.t = None  # targets as given (labels or one-hot)
        self.one_hot = None
        self.t_sum = None
        self.in_shape = None

    def forward(self, x, t):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self.in_shape = x.shape
        if x.ndim == 1:
            x, t = sample_as_batch(x, t)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(
                f"SoftmaxWithLoss: x must be scores of shape (N, C) with N ≥ 1, or (C,), "
                f"got x.shape={x.shape}"
            )
        t = check_targets(t, x.shape, "SoftmaxWithLoss")
        self.one_hot = t.ndim == 2
        if self.one_hot:
            t = t.astype(x.dtype, copy=False)  # float64 one-hot must not turn dx into float64
        n = x.shape[0]
        # Non-finite scores give a non-finite loss, checked below: silence NumPy on the way.
        with np.errstate(under="ignore", over="ignore", invalid="ignore"):
            z, y, s = logsumexp_terms(x, axis=1)  # log-softmax = z − log s, softmax = y / s
            if self.one_hot:
                picked = float((t * z).sum())
                weight = t.sum(axis=1)  # 1 per row for one-hot targets; any ≥ 0 for soft ones
            else:
                picked = float(np.add.reduce(z[self._rows(n), t]))
            y /= s  # y is this call's own array
            log_s = np.log(s).ravel()
            log_s_total = (weight * log_s).sum() if self.one_hot else np.add.reduce(log_s)
            loss = (float(log_s_total) - picked) / n  # Python floats: no NumPy scalar math
        if not math.isfinite(loss):
            raise ValueError(
                f"SoftmaxWithLoss: the scores x contain {np.isnan(x).sum()} NaN and "
                f"{np.isinf(x).sum()} infinite values (x.shape={x.shape}); the network has "
                "diverged (often a learning rate that is too high) or its input is not finite"
            )
        self.y = y
        self.t = t
        self.t_sum = weight.reshape(-1, 1) if self.one_hot else None
        self.loss = x.dtype.type(loss)
        return self.loss

    def backward(self, dout=1):
        self._check_called(self.y)
        dout = self._check_dout(dout, ())
        n = self.y.shape[0]
        scale = self.y.dtype.type(dout / n)
        if self.one_hot:  # y·Σt − t: y − t when each row of t sums to 1
            dx = (self.y * self.t_sum - self.t) * scale
        else:
            dx = self.y * scale
            dx[self._rows(n), self.t] -= scale  # dx is our own fresh array
        return dx.reshape(self.in_shape)  # dL/dx = dout · (y − t)/N

    _arange = np.arange(0)

    def _rows(self, n: int) -> np.ndarray:
        """``np.arange(n)``, the row of each label, kept from the last call of the same size."""
        if len(self._arange) != n:
            self._arange = np.arange(n)
        return self._arange


class MeanSquaredErrorLoss(Layer):
    """Mean squared error as a loss layer: L = ½ Σ (y − t)² (the book's definition, 4.2.1).

    Summed over every element (the batch too): the loss is ``functions.mean_squared_error``.
    ``backward(dout=1)`` returns ∂L/∂y = (y − t) × dout and leaves ∂L/∂t = −(y − t) × dout in
    ``dt`` (the Tensor op gives it to a target that requires a gradient).
    """

    label = "MSE"
    rules = ("∂L/∂y = ∂L/∂out × (y − t)", "∂L/∂t = ∂L/∂out × (−(y − t))")

    def __init__(self):
        self.diff = None
        self.loss = None
        self.dt = None

    def forward(self, y, t):
        y, t = check_same_shape(self.name, y, t)
        if y.dtype.kind != "f":
            y = y.astype(np.float64)
        t = t.astype(y.dtype, copy=False)
        self.diff = y - t
        self.loss = y.dtype.type(mean_squared_error(y, t))
        return self.loss

    def backward(self, dout=1):
        self._check_called(self.diff)
        dout = self._check_dout(dout, ())
        dy = self.diff * self.diff.dtype.type(dout)  # dL/dy = dout · (y − t)
        self.dt = -dy  # dL/dt = dout · (−(y − t))
        return dy
