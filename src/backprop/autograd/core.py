"""The automatic computational graph: ``Tensor``, ``Function``, ``backward`` and ``no_grad``.

Book: 5.1 (computational graphs), 5.2 (the chain rule), 5.3 (backpropagation through the
addition and multiplication nodes); the define-by-run design of the sequel (DeZero).

Every operation on a ``Tensor`` runs at once (define-by-run) and, unless gradients are off,
records a ``Function``: the inputs, the output and one fresh *node* from ``backprop.layers``
(``MulLayer()`` for ``*``, ``AddLayer()`` for ``+``, ...). The node computes the forward pass
and, later, the local derivative; no derivative is written a second time here, so the rule a
reader sees in ``layers`` is the rule ``backward`` applies.

``loss.backward()`` walks the recorded graph from the output back to the inputs in reverse
topological order (a heap keyed by generation, no recursion: a 20,000-node chain works), hands
each node the gradient of its output (the *upstream* gradient) and adds up the gradients that
arrive at a tensor used more than once (``x * x``, diamonds), always into new arrays.

Contract
--------
* ``Tensor(data, name=None, requires_grad=True)`` wraps an ndarray without copying it. Data is
  floating point: integers and booleans become float64. Numbers and arrays mix with Tensors on
  either side of ``+ - * / @`` and become constants (no gradient); a Python number takes the
  Tensor's dtype, so float32 stays float32. ``**`` takes a number as exponent.
* Broadcasting follows NumPy; each input's gradient has that input's shape (the binary nodes
  of ``layers`` sum it back over the broadcast axes with the one helper,
  ``functions.sum_to``).
* ``backward()`` needs a scalar output, or an explicit upstream gradient ``backward(grad)``.
  Gradients **accumulate**: calling ``backward`` twice adds the second pass to ``.grad``, as in
  PyTorch; ``zero_grad()`` (alias ``cleargrad()``) clears them.
* By default (``retain_grad=True``) every tensor of the graph keeps its ``.grad`` and every
  ``Function`` the gradients it sent to its inputs (``input_grads``), because the pictures and
  the explanations (``backprop.visualize``) show the gradient on every edge. Training code
  passes ``retain_grad=False``: then only leaves (tensors no operation created) keep ``.grad``.
* Inside ``with no_grad():`` operations compute values and record nothing.
* Gradient arrays may be shared between tensors (an addition hands the same upstream array to
  both inputs): treat ``.grad`` as read-only; the engine never writes into an array in place.
"""

from __future__ import annotations

import contextlib
import heapq
import weakref

import numpy as np

from backprop.layers import (
    AddLayer,
    Div,
    Exp,
    Log,
    MatMul,
    Mean,
    MulLayer,
    Neg,
    Pow,
    Relu,
    Reshape,
    Sigmoid,
    Sub,
    Sum,
    Tanh,
    Transpose,
)

__all__ = [
    "Function",
    "Tensor",
    "add",
    "as_tensor",
    "backward_order",
    "div",
    "is_grad_enabled",
    "matmul",
    "mul",
    "neg",
    "no_grad",
    "power",
    "register_display",
    "sub",
]

_grad_enabled = True
_display = None  # Tensor -> dict of MIME types, for notebooks; see register_display


def register_display(function) -> None:
    """Set the function that makes a Tensor's notebook display (``{mime type: data}``)."""
    global _display
    _display = function


def is_grad_enabled() -> bool:
    """Whether operations on Tensors are being recorded (False inside ``no_grad()``)."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Context manager: compute with Tensors without recording a graph (for evaluation).

    >>> with no_grad():
    ...     y = x * 2  # y.creator is None, y.requires_grad is False
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def _format_data(data: np.ndarray) -> str:
    if data.size <= 6:
        return np.array2string(data, precision=4, separator=", ")
    return f"shape={data.shape}, dtype={data.dtype}"


class Tensor:
    """An ndarray that remembers the operation that created it (define-by-run).

    Parameters
    ----------
    data : array_like
        Numbers or an ndarray, any shape (a 0-d array for a scalar). Not copied.
    name : str, optional
        Shown in pictures and explanations (``"x"``, ``"apple"``, ``"W1"``).
    requires_grad : bool
        Whether ``backward`` computes this tensor's gradient (True by default: in a graph
        for learning, every variable gets its gradient). Constants mixed into operations
        are created with False.

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
        ∂L/∂(this tensor), filled by ``backward``; same shape as ``data``.
    creator : Function or None
        The operation that produced this tensor; None for a leaf (a variable or constant).
    generation : int
        0 for leaves, 1 + the creator's generation otherwise (orders ``backward``).
    """

    __slots__ = ("__weakref__", "creator", "data", "generation", "grad", "name", "requires_grad")

    # ``ndarray (op) Tensor`` returns NotImplemented, so Python calls the Tensor's reflected
    # operator (__radd__, ...) instead of broadcasting the Tensor as an object array.
    __array_ufunc__ = None

    def __init__(self, data, name: str | None = None, requires_grad: bool = True):
        if isinstance(data, Tensor):
            raise TypeError(
                "Tensor: data is already a Tensor; use it directly, or Tensor(t.data) for a "
                "new leaf with the same values"
            )
        data = np.asarray(data)
        if data.dtype.kind in "biu":
            data = data.astype(np.float64)
        elif data.dtype.kind != "f":
            raise TypeError(f"Tensor: data must be real numbers, got dtype {data.dtype}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a string, got {type(name).__name__}")
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = bool(requires_grad)

    # -- array-like properties ------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __len__(self) -> int:
        """The size of the first axis, as ``len`` of an ndarray (a 0-d Tensor has none)."""
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor (a scalar has no length); use .size")
        return len(self.data)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def op(self) -> str | None:
        """The name of the operation that created this tensor (``"mul"``), None for a leaf."""
        return None if self.creator is None else self.creator.name

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def __float__(self) -> float:
        if self.data.size != 1:
            raise TypeError(f"float(): only a one-element Tensor converts, got shape {self.shape}")
        return self.item()

    def __repr__(self) -> str:
        parts = [_format_data(self.data)]
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        if self.creator is not None:
            parts.append(f"op={self.creator.name!r}")
        elif not self.requires_grad:
            parts.append("requires_grad=False")
        if self.grad is not None:
            parts.append(f"grad={_format_data(self.grad)}")
        return f"Tensor({', '.join(parts)})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter display: the graph that produced this tensor, through the display function
        registered with ``register_display`` (``backprop.visualize`` registers the
        step-through page); ``core`` itself imports no drawing code."""
        bundle = {"text/plain": repr(self)}
        if self.creator is not None and _display is not None:
            try:
                bundle.update(_display(self))
            except (ValueError, OSError):  # a display must not fail: the text remains
                pass
        return bundle

    # -- gradients ------------------------------------------------------------------------
    def backward(self, grad=None, *, retain_grad: bool = True) -> None:
        """Backpropagate from this tensor: fill ``.grad`` of every tensor it depends on.

        Parameters
        ----------
        grad : array_like, optional
            The upstream gradient ∂L/∂(this tensor), of this tensor's shape. Required unless
            the tensor is a scalar (one element), where it defaults to 1. Cast to this
            tensor's dtype.
        retain_grad : bool
            Keep the gradient of every intermediate tensor and edge (default, for pictures
            and explanations). False keeps only the leaves' gradients (less memory).

        Gradients accumulate: a second call adds to ``.grad`` (clear with ``zero_grad``).
        """
        if not self.requires_grad:
            raise ValueError(
                "backward: this tensor does not require a gradient (it was computed from "
                "constants only, or inside no_grad()); create the inputs as Tensor(..., "
                "requires_grad=True) outside no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: the output has shape {self.shape}, not a scalar, so the "
                    f"upstream gradient is ambiguous; pass it explicitly, e.g. "
                    f"y.backward(np.ones({self.shape})), or reduce first: y.sum().backward()"
                )
            grad = np.ones(self.data.shape, self.data.dtype)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(
                    f"backward: grad must have the output's shape {self.shape}, "
                    f"got grad.shape={grad.shape}"
                )
        if self.creator is None:  # a leaf: ∂L/∂L = grad
            self.grad = grad if self.grad is None else self.grad + grad
            return

        grads = {id(self): grad}  # gradients of this pass, by tensor, until they are complete
        for f in backward_order(self):
            out = f.output()
            gy = None if out is None else grads.pop(id(out), None)
            if gy is None:  # nothing flows back through this node
                continue
            if retain_grad:
                out.grad = _accumulate(out.grad, gy)
            gxs = f.backward(gy)
            if retain_grad:
                f.input_grads = (
                    gxs
                    if f.input_grads is None
                    else tuple(
                        a if b is None else _accumulate(a, b)
                        for a, b in zip(f.input_grads, gxs, strict=True)
                    )
                )
            for x, gx in zip(f.inputs, gxs, strict=True):
                if gx is None or not x.requires_grad:
                    continue
                if x.creator is None:
                    x.grad = _accumulate(x.grad, gx)
                else:
                    key = id(x)
                    previous = grads.get(key)
                    # fan-out: a tensor used twice receives the sum of both gradients
                    grads[key] = gx if previous is None else previous + gx

    def zero_grad(self, graph: bool = False) -> None:
        """Clear ``.grad`` (set it to None); ``graph=True`` clears every gradient in the graph
        that produced this tensor (tensors and edges), ready for a fresh ``backward``."""
        self.grad = None
        if graph:
            for f in backward_order(self):
                f.input_grads = None
                out = f.output()
                if out is not None:
                    out.grad = None
                for x in f.inputs:
                    x.grad = None

    def cleargrad(self) -> None:
        """Clear ``.grad`` (DeZero's name for ``zero_grad``)."""
        self.zero_grad()

    def detach(self) -> Tensor:
        """A new leaf with the same data (shared) and no history."""
        return Tensor(self.data, name=self.name, requires_grad=False)

    # -- operators: the nodes of 5.4 ------------------------------------------------------
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __neg__(self):
        return neg(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return power(self, exponent)

    def __rpow__(self, base):
        raise TypeError(
            f"{base!r} ** Tensor: the exponent of ** must be a number; a Tensor exponent is "
            f"not supported (write exp(x * log(base)) for a variable exponent)"
        )

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # -- methods: elementwise functions, reductions, shapes -------------------------------
    def exp(self) -> Tensor:
        return Function(Exp(), "exp")(self)

    def log(self) -> Tensor:
        return Function(Log(), "log")(self)

    def tanh(self) -> Tensor:
        return Function(Tanh(), "tanh")(self)

    def relu(self) -> Tensor:
        return Function(Relu(), "relu")(self)

    def sigmoid(self) -> Tensor:
        return Function(Sigmoid(), "sigmoid")(self)

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        return Function(Sum(axis, keepdims), "sum")(self)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        return Function(Mean(axis, keepdims), "mean")(self)

    def reshape(self, *shape) -> Tensor:
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        if len(shape) == 1 and np.iterable(shape[0]):
            shape = shape[0]
        return Function(Reshape(shape), "reshape")(self)

    def transpose(self, *axes) -> Tensor:
        """Reverse the axes, or permute them: ``t.transpose(1, 0)``/``t.transpose((1, 0))``."""
        if len(axes) == 1 and (axes[0] is None or np.iterable(axes[0])):
            axes = axes[0]
        return Function(Transpose(axes or None), "transpose")(self)

    @property
    def T(self) -> Tensor:
        return self.transpose()


def _accumulate(total, g):
    """``total + g`` as a new array (``g`` itself when nothing was there yet)."""
    g = np.asarray(g)
    return g if total is None else total + g


class Function:
    """One recorded operation: a node of ``backprop.layers`` applied to Tensors.

    ``Function(MulLayer(), "mul")(x, y)`` runs ``node.forward(x.data, y.data)`` and returns a
    new Tensor; if gradients are on and an input requires one, it records ``inputs``, the
    ``output`` (a weak reference: the output owns its creator, not the other way round) and
    the ``generation``. ``backward(gy)`` is ``node.backward(gy)`` as a tuple, one gradient per
    input (None where the node skipped it).

    Parameters
    ----------
    node : Layer
        A fresh node instance: it caches what its backward needs, so it serves one call.
    name : str
        The operation's name in explanations (``"mul"``); ``label`` is the node's symbol (×).
    constants : tuple
        Extra arguments of ``node.forward`` that are not Tensors and get no gradient, such as
        the targets ``t`` of a loss.
    """

    __slots__ = ("constants", "generation", "input_grads", "inputs", "name", "node", "output")

    def __init__(self, node, name: str, constants: tuple = ()):
        self.node = node
        self.name = name
        self.constants = constants
        self.inputs: tuple[Tensor, ...] = ()
        self.output = None
        self.generation = 0
        self.input_grads = None  # the gradients sent to the inputs (with retain_grad)

    @property
    def label(self) -> str:
        """The node's symbol for pictures (``×``, ``+``, ``**2``, ``Affine``)."""
        return self.node.label

    def __call__(self, *inputs: Tensor) -> Tensor:
        y = self.forward(*[x.data for x in inputs])
        if type(y) is not np.ndarray:  # NumPy returns scalars for 0-d results
            y = np.asarray(y)
        out = Tensor.__new__(Tensor)
        out.data = y
        out.name = None
        out.grad = None
        out.creator = None
        out.generation = 0
        out.requires_grad = False
        if _grad_enabled:
            for x in inputs:
                if x.requires_grad:
                    self.inputs = inputs
                    self.generation = max([x.generation for x in inputs])
                    self.output = weakref.ref(out)
                    out.creator = self
                    out.generation = self.generation + 1
                    out.requires_grad = True
                    break
        return out

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        return self.node.forward(*xs, *self.constants)

    def backward(self, gy: np.ndarray) -> tuple:
        gxs = self.node.backward(gy)
        return gxs if isinstance(gxs, tuple) else (gxs,)

    def __repr__(self) -> str:
        shapes = ", ".join(str(x.shape) for x in self.inputs)
        return f"Function({self.name!r}, node={self.node!r}, inputs=[{shapes}])"


def backward_order(output: Tensor) -> list[Function]:
    """The Functions that ``output`` depends on, in the order ``backward`` visits them.

    Every Function comes before the Functions that created its inputs (its parents), so when
    a node is reached, the gradient of its output is complete. Built iteratively with a heap
    keyed by generation (ties in creation order), so it is deterministic and has no
    recursion limit. Branches that need no gradient (constants only) are not visited.
    Reverse the list for the forward order.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"expected a Tensor, got {type(output).__name__}")
    order: list[Function] = []
    first = output.creator
    if first is None:
        return order
    heap = [(-first.generation, 0, first)]
    seen = {id(first)}
    count = 1
    while heap:
        f = heapq.heappop(heap)[2]
        order.append(f)
        for x in f.inputs:
            creator = x.creator
            if creator is not None and id(creator) not in seen:
                seen.add(id(creator))
                heapq.heappush(heap, (-creator.generation, count, creator))
                count += 1
    return order


# ---------------------------------------------------------------------------------------------
# The operators' ops: as_tensor and one function per operator
# ---------------------------------------------------------------------------------------------


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor (no gradient) holding it.

    A Python number takes the dtype of ``like`` (so ``x32 * 2`` stays float32), as NumPy
    treats Python scalars.
    """
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float)) and not isinstance(x, bool):
        return Tensor(np.asarray(x, dtype=like.data.dtype), requires_grad=False)
    return Tensor(x, requires_grad=False)


def _pair(x, y) -> tuple[Tensor, Tensor]:
    if isinstance(x, Tensor):
        return x, as_tensor(y, like=x)
    y = as_tensor(y)
    return as_tensor(x, like=y), y


def _binary(node, name: str, symbol: str, x, y) -> Tensor:
    x, y = _pair(x, y)
    try:
        return Function(node, name)(x, y)
    except ValueError:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise ValueError(
                f"{name}: shapes {x.shape} and {y.shape} do not broadcast for x {symbol} y; "
                f"NumPy broadcasting needs each trailing dimension to be equal or 1"
            ) from None
        raise


def add(x, y) -> Tensor:
    """x + y: the addition node (AddLayer)."""
    return _binary(AddLayer(), "add", "+", x, y)


def sub(x, y) -> Tensor:
    """x − y (Sub)."""
    return _binary(Sub(), "sub", "-", x, y)


def mul(x, y) -> Tensor:
    """x × y: the multiplication node (MulLayer)."""
    return _binary(MulLayer(), "mul", "*", x, y)


def div(x, y) -> Tensor:
    """x / y (Div)."""
    return _binary(Div(), "div", "/", x, y)


def neg(x) -> Tensor:
    """−x (Neg)."""
    return Function(Neg(), "neg")(as_tensor(x))


def power(x, c) -> Tensor:
    """x ** c for a number ``c`` (Pow)."""
    if isinstance(c, Tensor):
        raise TypeError(
            "power: the exponent of ** must be a number, got a Tensor (write "
            "exp(c * log(x)) for a variable exponent)"
        )
    return Function(Pow(c), "pow")(as_tensor(x))


def matmul(x, W) -> Tensor:
    """x @ W for 1-D or 2-D operands (MatMul); skips the gradient of a constant operand."""
    x, W = _pair(x, W)
    node = MatMul(needs_input_grad=(x.requires_grad, W.requires_grad))
    return Function(node, "matmul")(x, W)
