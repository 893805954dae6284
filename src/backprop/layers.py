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
            if i < len(names) and names[i] == "train_flg":  # a mode, checked by the layer
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
        if dout.dtype.kind not in "biuf":
            raise TypeError(
                f"{self.name}.backward: dout must be real numbers, got dtype {dout.dtype}"
            )
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
        with np.errstate(over="ignore", under="ignore"):  # exp(−1000) → 0 is right
            out = np.exp(x)
        if np.isinf(out).any():
            x = np.asarray(x)
            big = np.isinf(out) & np.isfinite(x)
            if big.any():  # a finite x whose exp exceeds the dtype: say so, never a bare inf
                limit = np.log(np.finfo(out.dtype).max)
                message = (
                    f"{self.name}: exp(x) overflows {out.dtype} for x > {limit:.1f}, and x "
                    f"reaches {np.max(x[big]):.6g} (x.shape={x.shape}); for softmax or a loss, "
                    "subtract the maximum first (log-sum-exp, as SoftmaxWithLoss does)"
                )
                raise FloatingPointError(message)
        self.out = out
        return out

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


# -- Chapters 6 and 7 ---------------------------------------------------------------------------
# 6.4.3 Dropout, 6.3 Batch Normalization, 7.4 Convolution and Pooling. Images are N-C-H-W.

from backprop.im2col import (  # noqa: E402 (this section's own)
    _unfold,
    col2im,
    conv_output_size,
    fold,
    im2col,
    integer_arg,
    unfold,
)

__all__ += ["BatchNormalization", "Convolution", "Dropout", "Pooling"]


def _check_train_flg(who: str, train_flg) -> bool:
    if not isinstance(train_flg, (bool, np.bool_)):
        raise TypeError(
            f"{who}: train_flg must be True (training) or False (test), got {train_flg!r}"
        )
    return bool(train_flg)


class Dropout(Layer):
    """Dropout (6.4.3): in training, each neuron is kept with probability 1 − ratio.

    ``forward(x, train_flg=True)``. The convention is the book's: training multiplies by a
    random 0/1 ``mask``; at test time (``train_flg=False``) every neuron is kept and the output
    is scaled by (1 − dropout_ratio), the expected fraction kept in training. With
    ``inverted=True`` (inverted dropout, as in PyTorch) training divides the kept neurons by
    (1 − dropout_ratio) instead and test time passes ``x`` unchanged; both give the same
    expected activations. Forgetting ``train_flg=False`` at test time gives random
    predictions: the networks (``MultiLayerNetExtend``) pass it for you.

    ``rng`` (a ``numpy.random.Generator``) draws the masks.
    """

    label = "Dropout"
    rules = ("∂L/∂x = ∂L/∂out × mask (training) or × (1 − ratio) (test)",)

    def __init__(self, dropout_ratio: float = 0.5, *, inverted: bool = False, rng=None):
        ratio = float(dropout_ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"Dropout: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio = ratio
        self.inverted = bool(inverted)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.mask = None
        self.scale = None  # the factor of the test mode, or of the kept neurons
        self.out_shape = None

    def forward(self, x, train_flg=True):
        x = np.asarray(x)
        train_flg = _check_train_flg(self.name, train_flg)
        keep = 1.0 - self.dropout_ratio
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        dtype = x.dtype
        self.out_shape = x.shape
        if train_flg:
            self.mask = self.rng.random(x.shape, dtype=np.float32) > self.dropout_ratio
            self.scale = dtype.type(1.0 / keep) if self.inverted else None
            out = x * self.mask
            return out * self.scale if self.inverted else out
        self.mask = None
        self.scale = None if self.inverted else dtype.type(keep)
        return x if self.inverted else x * self.scale

    def backward(self, dout):
        self._check_called(self.out_shape)
        dout = self._check_dout(dout, self.out_shape)
        if self.mask is not None:  # training: dL/dx = dout · mask (÷ (1 − ratio) if inverted)
            dx = dout * self.mask
            return dx * self.scale if self.scale is not None else dx
        return dout if self.scale is None else dout * self.scale  # test: dout · (1 − ratio)

    def __repr__(self) -> str:
        return f"{self.name}(dropout_ratio={self.dropout_ratio}, inverted={self.inverted})"


class BatchNormalization(Layer):
    """Batch Normalization (6.3): normalise each feature over the batch, then scale and shift.

    out = γ · (x − μ) / √(σ² + eps) + β, with μ, σ² the batch mean and variance in training
    (``forward(x, train_flg=True)``) and the running averages at test time
    (``train_flg=False``); training updates them as the book does:
    running = momentum · running + (1 − momentum) · batch value.

    Shapes: ``x`` (N, D) with γ, β of shape (D,); or images (N, C, H, W) with γ, β of shape
    (C,) (one mean and variance per channel over N, H and W, like PyTorch's BatchNorm2d) or of
    shape (C·H·W,) (each pixel its own feature: the book's ``x.reshape(N, -1)``).
    ``running_mean`` / ``running_var`` are new arrays after each training step (never
    modified in place); a network saves them in its checkpoints (``buffers``).
    """

    label = "BatchNorm"
    rules = (
        "∂L/∂x = (1/N)·γ/σ · (N·dout − Σdout − x̂·Σ(dout·x̂))",
        "∂L/∂γ = Σ dout · x̂",
        "∂L/∂β = Σ dout",
    )

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None, *, eps=1e-6):
        gamma, beta = np.asarray(gamma), np.asarray(beta)
        if gamma.ndim != 1 or beta.shape != gamma.shape:
            raise ValueError(
                f"BatchNormalization: gamma and beta must be 1-D of the same shape, got "
                f"gamma.shape={gamma.shape}, beta.shape={beta.shape}"
            )
        if gamma.dtype.kind != "f" or beta.dtype.kind != "f":
            raise TypeError(
                f"BatchNormalization: gamma and beta must be floating-point, got "
                f"{gamma.dtype} and {beta.dtype}"
            )
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        self.gamma = gamma
        self.beta = beta
        self.momentum = float(momentum)
        self.eps = float(eps)
        for name, value in (("running_mean", running_mean), ("running_var", running_var)):
            if value is not None and np.shape(value) != gamma.shape:
                raise ValueError(
                    f"BatchNormalization: {name} must have gamma's shape {gamma.shape}, "
                    f"got {np.shape(value)}"
                )
        self.running_mean = None if running_mean is None else np.asarray(running_mean)
        self.running_var = None if running_var is None else np.asarray(running_var)
        self.input_shape = None
        self.train_flg = None
        self.xn = None  # x̂, the normalised input, (M, D)
        self.std = None
        self.dgamma = None
        self.dbeta = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta}

    def _as_rows(self, x: np.ndarray) -> np.ndarray:
        """``x`` as (M, D) rows of features, D = gamma.size; or a clear error."""
        D = self.gamma.shape[0]
        if x.ndim == 2 and x.shape[1] == D:
            return x
        if x.ndim == 4 and x.shape[1] == D:  # per channel: (N, H, W, C) rows
            return x.transpose(0, 2, 3, 1).reshape(-1, D)
        if x.ndim >= 2 and math.prod(x.shape[1:]) == D:  # the book's per-pixel features
            return x.reshape(x.shape[0], D)
        raise ValueError(
            f"{self.name}: x of shape {x.shape} does not fit gamma of shape {self.gamma.shape} "
            f"(expected (N, {D}), (N, {D}, H, W), or (N, ...) with {D} features per sample)"
        )

    def _from_rows(self, rows: np.ndarray) -> np.ndarray:
        shape = self.input_shape
        if len(shape) == 4 and shape[1] == self.gamma.shape[0] and rows.shape[0] != shape[0]:
            N, C, H, W = shape
            return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
        return rows.reshape(shape)

    def forward(self, x, train_flg=True):
        x = np.asarray(x)
        train_flg = _check_train_flg(self.name, train_flg)
        if x.dtype != self.gamma.dtype:
            x = x.astype(self.gamma.dtype)
        rows = self._as_rows(x)
        self.input_shape = x.shape
        self.train_flg = train_flg
        D = rows.shape[1]
        if self.running_mean is None:
            self.running_mean = np.zeros(D, dtype=rows.dtype)
            self.running_var = np.zeros(D, dtype=rows.dtype)
        if train_flg:
            if rows.shape[0] < 2:
                raise ValueError(
                    f"{self.name}: training needs a batch of at least 2 samples to estimate "
                    f"the variance, got x.shape={x.shape}"
                )
            mu = rows.mean(axis=0)
            xc = rows - mu
            var = np.mean(xc * xc, axis=0)
            std = np.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean = (m * self.running_mean + (1 - m) * mu).astype(rows.dtype)
            self.running_var = (m * self.running_var + (1 - m) * var).astype(rows.dtype)
        else:
            xc = rows - self.running_mean
            std = np.sqrt(self.running_var + self.eps)
        xn = xc / std
        self.xn, self.std = xn, std
        return self._from_rows(self.gamma * xn + self.beta)

    def backward(self, dout):
        self._check_called(self.xn)
        dout = self._as_rows(self._check_dout(dout, self.input_shape))
        xn, std, gamma = self.xn, self.std, self.gamma
        self.dbeta = dout.sum(axis=0)  # dβ = Σ dout
        self.dgamma = np.sum(xn * dout, axis=0)  # dγ = Σ dout · x̂
        dxn = gamma * dout
        if not self.train_flg:  # μ, σ are constants at test time
            return self._from_rows(dxn / std)
        # The book's graph (xc = x − μ, std = √(var + eps)) folded into one line:
        # dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / std
        dx = (dxn - dxn.mean(axis=0) - xn * np.mean(dxn * xn, axis=0)) / std
        return self._from_rows(dx)

    def __repr__(self) -> str:
        return f"{self.name}(features={self.gamma.shape[0]}, momentum={self.momentum})"


class Convolution(Layer):
    """Convolution layer (7.4.3): FN filters W (FN, C, FH, FW) slide over x (N, C, H, W).

    ``forward`` unrolls the windows and computes one matrix product per image, as the book
    does with ``im2col``: out = W_col · col + b, of shape (N, FN, out_h, out_w) with
    out_h = (H + 2·pad − FH) / stride + 1. The windows are laid out per image (``unfold``,
    the transpose of the book's ``im2col`` rows), so the product is already in N-C-H-W order
    and no transpose is copied. ``backward`` is the Affine layer's rule on the unrolled
    matrix, and ``fold`` (the adjoint of ``unfold``, as ``col2im`` is of ``im2col``) adds
    dcol back onto x.
    ``compute_dx=False`` skips dx (the first layer of a network never needs it).
    """

    label = "Conv"
    rules = (
        "∂L/∂x = col2im(W_colᵀ · ∂L/∂out)",
        "∂L/∂W = Σₙ ∂L/∂out · colᵀ",
        "∂L/∂b = Σ ∂L/∂out",
    )

    def __init__(self, W, b, stride: int = 1, pad: int = 0, *, compute_dx: bool = True):
        W, b = np.asarray(W), np.asarray(b)
        if W.ndim != 4 or b.shape != (W.shape[0],):
            raise ValueError(
                f"Convolution: W must be (FN, C, FH, FW) and b of shape (FN,), got "
                f"W.shape={W.shape}, b.shape={b.shape}"
            )
        if W.dtype.kind != "f" or b.dtype.kind != "f":
            raise TypeError(
                f"Convolution: W and b must be floating-point, got {W.dtype} and {b.dtype}"
            )
        if W.size == 0:
            raise ValueError(
                f"Convolution: W needs at least one filter of one channel and one pixel, got "
                f"W.shape={W.shape} (FN, C, FH, FW)"
            )
        if not isinstance(compute_dx, (bool, np.bool_)):
            raise TypeError(f"Convolution: compute_dx must be True or False, got {compute_dx!r}")
        self.W = W
        self.b = b
        self.stride = integer_arg("Convolution", "stride", stride)
        self.pad = integer_arg("Convolution", "pad", pad, 0)
        self.compute_dx = bool(compute_dx)
        self.x_shape = None
        self.col = None
        self.col_W = None
        self.dW = None
        self.db = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "b": self.b}

    def output_shape(self, x_shape) -> tuple[int, int, int, int]:
        """(N, FN, out_h, out_w) for input of ``x_shape``, or a clear error."""
        FN, C, FH, FW = self.W.shape
        if len(x_shape) != 4:
            hint = " (flat rows: reshape them to (N, C, H, W))" if len(x_shape) == 2 else ""
            raise ValueError(
                f"{self.name}: x must be a batch of images (N, C, H, W), got x.shape="
                f"{tuple(x_shape)}{hint} (W.shape={self.W.shape})"
            )
        N, xc, H, W = x_shape
        if xc != C:
            raise ValueError(
                f"{self.name}: x has {xc} channels, W expects {C} "
                f"(x.shape={tuple(x_shape)}, W.shape={self.W.shape})"
            )
        try:
            out_h = conv_output_size(H, FH, self.stride, self.pad)
            out_w = conv_output_size(W, FW, self.stride, self.pad)
        except ValueError as exc:
            raise ValueError(
                f"{self.name}: x.shape={tuple(x_shape)}, W.shape={self.W.shape}, stride "
                f"{self.stride}, pad {self.pad}: {exc}"
            ) from None
        return N, FN, out_h, out_w

    def forward(self, x):
        x = np.asarray(x)
        N, FN, out_h, out_w = self.output_shape(x.shape)
        if x.dtype != self.W.dtype:
            x = x.astype(self.W.dtype)
        FH, FW = self.W.shape[2:]
        col = unfold(x, FH, FW, self.stride, self.pad)  # (N, C·FH·FW, oh·ow)
        col_W = self.W.reshape(FN, -1)  # (FN, C·FH·FW)
        out = np.matmul(col_W, col)  # (N, FN, oh·ow): already N-C-H-W
        out += self.b[:, None]
        self.x_shape, self.col, self.col_W = x.shape, col, col_W
        return out.reshape(N, FN, out_h, out_w)

    def backward(self, dout):
        self._check_called(self.col)
        N, FN, out_h, out_w = self.output_shape(self.x_shape)
        dout = self._check_dout(dout, (N, FN, out_h, out_w))
        dout = dout.reshape(N, FN, out_h * out_w)  # as out was
        self.db = dout.sum(axis=(0, 2))  # db = Σ dout
        # dW = Σₙ dout[n] · col[n]ᵀ, one product per image
        self.dW = np.matmul(dout, self.col.transpose(0, 2, 1)).sum(axis=0).reshape(self.W.shape)
        if not self.compute_dx:
            return None
        FH, FW = self.W.shape[2:]
        if self.stride == 1 and self.pad < min(FH, FW):
            # The same dx, computed as a convolution: with stride 1, col2im(W_colᵀ · dout)
            # is dout padded by FH − 1 − pad (FW − 1 − pad) convolved with the filters
            # flipped and their channels swapped. One unfold and one product instead of a
            # product and a fold, about twice as fast.
            W_flip = self.W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(self.x_shape[1], -1)
            cols = _unfold(
                dout.reshape(N, FN, out_h, out_w), FH, FW, 1, FH - 1 - self.pad, FW - 1 - self.pad
            )
            return np.matmul(W_flip, cols).reshape(self.x_shape)
        dcol = np.matmul(self.col_W.T, dout)  # dcol[n] = W_colᵀ · dout[n]
        return fold(dcol, self.x_shape, FH, FW, self.stride, self.pad)

    def __repr__(self) -> str:
        return (
            f"{self.name}(W={self.W.shape}, stride={self.stride}, pad={self.pad}, "
            f"dtype={self.W.dtype})"
        )


def _first_max(views):
    """Elementwise max of same-shape arrays and the index of the first one that holds it
    (``np.argmax``'s rule on ties), as int8 for up to 127 arrays. NaN-free input only: a
    NaN is the max for ``np.argmax`` but never ``>`` anything here."""
    index = np.int8 if len(views) <= np.iinfo(np.int8).max else np.intp
    best, won = views[0], np.zeros(views[0].shape, dtype=index)
    for k, v in enumerate(views[1:], start=1):
        better = v > best
        best = np.where(better, v, best)
        if k == 1 and index is np.int8:
            won = better.view(np.int8)  # 0 or 1: no copy
        else:
            np.copyto(won, k, where=better)
    return best, won


class Pooling(Layer):
    """Max pooling (7.4.4): the largest value of each pool_h × pool_w window, per channel.

    With stride == pool size and no padding, the windows tile x: the max is taken in two
    rounds on views of x, first across each window's columns (neighbouring elements), then
    across its rows, keeping which one won in each round (no copy of the windows);
    otherwise the windows come from ``im2col``. Padding is −∞ (never the max; the book pads
    with 0, which only differs for negative inputs).
    ``backward`` sends each dout to the position of its window's max (the first one on a
    tie), and 0 to the others.
    """

    label = "MaxPool"
    rules = ("∂L/∂x = ∂L/∂out at each window's argmax, 0 elsewhere",)

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0):
        self.pool_h = integer_arg("Pooling", "pool_h", pool_h)
        self.pool_w = integer_arg("Pooling", "pool_w", pool_w)
        self.stride = integer_arg("Pooling", "stride", stride)
        self.pad = integer_arg("Pooling", "pad", pad, 0)
        if self.pad >= min(self.pool_h, self.pool_w):
            raise ValueError(
                f"Pooling: pad ({pad}) must be smaller than the window ({pool_h}×{pool_w}), "
                "or a window could hold padding only"
            )
        self.x_shape = None
        self.arg_max = None
        self.x = None

    def output_shape(self, x_shape) -> tuple[int, int, int, int]:
        if len(x_shape) != 4:
            raise ValueError(
                f"{self.name}: x must be a batch of images (N, C, H, W), got x.shape="
                f"{tuple(x_shape)}"
            )
        N, C, H, W = x_shape
        try:
            out_h = conv_output_size(H, self.pool_h, self.stride, self.pad)
            out_w = conv_output_size(W, self.pool_w, self.stride, self.pad)
        except ValueError as exc:
            raise ValueError(
                f"{self.name}: x.shape={tuple(x_shape)}, pool {self.pool_h}×{self.pool_w}, "
                f"stride {self.stride}, pad {self.pad}: {exc}"
            ) from None
        return N, C, out_h, out_w

    def _tiles(self, x) -> bool:
        """Do the windows tile x exactly, and is x free of NaN (two-round pooling)?

        A NaN is the max of its window for ``np.argmax`` (and for PyTorch), but the rounds
        compare with ``>``, which a NaN never is: such input takes the ``im2col`` path.
        """
        if not (self.pad == 0 and self.stride == self.pool_h == self.pool_w):
            return False
        return x.size == 0 or not np.isnan(x.max())  # one fast reduction, no copy

    def forward(self, x):
        x = np.asarray(x)
        N, C, out_h, out_w = self.output_shape(x.shape)
        if x.dtype.kind != "f":  # integer images: −∞ padding and argmax ties need floats
            x = x.astype(np.float64)
        ph, pw = self.pool_h, self.pool_w
        if self._tiles(x):
            return self._forward_tiles(x)
        col = im2col(x, ph, pw, self.stride, self.pad, pad_value=-np.inf)
        windows = col.reshape(N, out_h, out_w, C, ph * pw).transpose(0, 3, 1, 2, 4)
        arg_max = np.argmax(windows, axis=-1)
        out = np.take_along_axis(windows, arg_max[..., None], axis=-1)[..., 0]
        self.x_shape, self.arg_max, self.x = x.shape, arg_max, x
        return out

    def _forward_tiles(self, x):
        """Windows that tile x: the max across each window's columns, then across its rows."""
        ph, pw = self.pool_h, self.pool_w
        N, C, H, W = x.shape
        out_h, out_w = H // ph, W // pw
        cols = x.reshape(N, C, H, out_w, pw)  # [..., j]: column j of every window
        row_max, self._col_won = _first_max([cols[..., j] for j in range(pw)])
        rows = row_max.reshape(N, C, out_h, ph, out_w)  # [:, :, :, i]: row i of every window
        out, self._row_won = _first_max([rows[:, :, :, i] for i in range(ph)])
        if np.may_share_memory(out, x):  # a 1×1 window: a view of x
            out = out.copy()
        self.x_shape, self.arg_max, self.x = x.shape, None, x
        return out

    def backward(self, dout):
        self._check_called(self.x_shape)
        N, C, out_h, out_w = self.output_shape(self.x_shape)
        dout = self._check_dout(dout, (N, C, out_h, out_w))
        ph, pw = self.pool_h, self.pool_w
        # dL/dx = dout at each window's argmax, 0 at the other positions
        dtype = np.result_type(dout, self.x)
        if self.arg_max is None:  # back through the two rounds: to the winning row, then column
            # dout × (won == i) is the fast way; but inf · 0 is NaN, so a dout that is not
            # finite is selected with np.where instead (the losers get exactly 0).
            finite = bool(np.isfinite(dout).all())

            def route(value, won, k, out):
                if finite:
                    np.multiply(value, won == k, out=out)
                else:
                    out[...] = np.where(won == k, value, 0)

            rows = np.empty((N, C, out_h, ph, out_w), dtype=dtype)
            for i in range(ph):
                route(dout, self._row_won, i, rows[:, :, :, i])
            rows = rows.reshape(N, C, out_h * ph, out_w)
            dx = np.empty((N, C, out_h * ph, out_w, pw), dtype=dtype)
            for j in range(pw):
                route(rows, self._col_won, j, dx[..., j])
            return dx.reshape(self.x_shape)
        dmax = np.zeros((N, C, out_h, out_w, ph * pw), dtype=dtype)
        np.put_along_axis(dmax, self.arg_max[..., None], dout[..., None], axis=-1)
        dcol = dmax.transpose(0, 2, 3, 1, 4).reshape(N * out_h * out_w, C * ph * pw)
        return col2im(dcol, self.x_shape, ph, pw, self.stride, self.pad)

    def __repr__(self) -> str:
        return (
            f"{self.name}(pool_h={self.pool_h}, pool_w={self.pool_w}, stride={self.stride}, "
            f"pad={self.pad})"
        )
