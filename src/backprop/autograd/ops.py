"""Differentiable operations as functions: ``exp(x)``, ``sum_(x)``, ``affine(x, W, b)``, losses.

Book: 5.5 (ReLU, Sigmoid), 5.6 (Affine, Softmax-with-Loss), 4.2 (the loss functions).

Each function records one node of ``backprop.layers`` in the graph, like the operators of
``core``; the elementwise ones are also ``Tensor`` methods (``x.exp()`` is ``exp(x)``). Arrays
and numbers are accepted wherever a Tensor is and become constants.

``affine`` and the two losses serve networks: ``affine`` records the ``Affine`` layer as one
node (one matrix product and one bias for the whole batch, as in the layer network), and it
computes the gradient of ``x`` only when ``x`` requires one, so the first layer of a network
never computes the gradient with respect to the images. Loss targets ``t`` are constants.
"""

from __future__ import annotations

import numpy as np

# ``matmul`` lives in core beside the ``@`` operator; it is re-exported here so that every
# operation has its lowercase function in this module.
from backprop.autograd.core import Function, Tensor, as_tensor, matmul
from backprop.layers import Affine, MeanSquaredErrorLoss, SoftmaxWithLoss

__all__ = [
    "affine",
    "exp",
    "log",
    "matmul",
    "mean",
    "mean_squared_error",
    "relu",
    "reshape",
    "sigmoid",
    "softmax_cross_entropy",
    "sum_",
    "tanh",
    "transpose",
]


def exp(x) -> Tensor:
    """exp(x), elementwise (Exp)."""
    return as_tensor(x).exp()


def log(x) -> Tensor:
    """Natural logarithm, elementwise (Log); x must be positive."""
    return as_tensor(x).log()


def tanh(x) -> Tensor:
    """tanh(x), elementwise (Tanh)."""
    return as_tensor(x).tanh()


def relu(x) -> Tensor:
    """max(0, x), elementwise (Relu, 5.5.1); the derivative at 0 is 0."""
    return as_tensor(x).relu()


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(−x)), elementwise (Sigmoid, 5.5.2)."""
    return as_tensor(x).sigmoid()


def sum_(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes by default) (Sum). Named ``sum_`` not to shadow ``sum``."""
    return as_tensor(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes by default) (Mean)."""
    return as_tensor(x).mean(axis, keepdims)


def reshape(x, *shape) -> Tensor:
    """``x`` with a new shape (Reshape)."""
    return as_tensor(x).reshape(*shape)


def transpose(x, *axes) -> Tensor:
    """``x`` with its axes reversed or permuted (Transpose)."""
    return as_tensor(x).transpose(*axes)


class _AffineFunction(Function):
    """The Affine layer as one recorded node with inputs x, W and b (or x and W, no bias).

    The ``Affine`` node takes its parameters at construction and ``x`` in ``forward``; it
    leaves dW and db in attributes, which this Function returns as the gradients of W and b.
    """

    __slots__ = ()

    def forward(self, x, W, b=None):
        return self.node.forward(x)

    def backward(self, gy):
        dx = self.node.backward(gy)  # None when the node was told not to compute it
        if self.node.b is None:
            return dx, self.node.dW
        return dx, self.node.dW, self.node.db


def affine(x, W, b=None) -> Tensor:
    """x · W + b for a batch ``x`` (the Affine layer, 5.6.2); x · W when ``b`` is None.

    Parameters
    ----------
    x : Tensor or ndarray, shape (N, D) or (N, ...)
        A batch; more than two dimensions are flattened to (N, D).
    W : Tensor, shape (D, M)
    b : Tensor, shape (M,), or None
        None for a linear map without bias (PyTorch's ``Linear(bias=False)``).

    Returns
    -------
    Tensor, shape (N, M), in W's dtype.
    """
    x = as_tensor(x)
    W = as_tensor(W)
    if b is None:
        node = Affine(W.data, None, compute_dx=x.requires_grad)
        return _AffineFunction(node, "affine")(x, W)
    b = as_tensor(b, like=W)
    node = Affine(W.data, b.data, compute_dx=x.requires_grad)
    return _AffineFunction(node, "affine")(x, W, b)


def _targets(t):
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def softmax_cross_entropy(x, t) -> Tensor:
    """Mean cross-entropy error of softmax(x) over the batch (Softmax-with-Loss, 5.6.3).

    Parameters
    ----------
    x : Tensor, shape (N, C) or (C,)
        Scores (logits).
    t : ndarray
        Labels of shape (N,) or one-hot targets of shape (N, C); a constant.

    Returns
    -------
    Tensor, shape () — the scalar loss; ``loss.backward()`` gives ∂L/∂x = (y − t)/N.
    """
    return Function(SoftmaxWithLoss(), "softmax_cross_entropy", (_targets(t),))(as_tensor(x))


class _MeanSquaredErrorFunction(Function):
    """The MeanSquaredErrorLoss layer with two inputs, y and t: both get their gradient."""

    __slots__ = ()

    def backward(self, gy):
        dy = self.node.backward(gy)
        return dy, self.node.dt


def mean_squared_error(y, t) -> Tensor:
    """L = ½ Σ (y − t)², summed over every element as in the book (4.2.1).

    ``y`` and ``t`` (same shape) may both be Tensors: each that requires a gradient gets it,
    ∂L/∂y = y − t and ∂L/∂t = −(y − t). Arrays and numbers are constants. Returns a scalar
    Tensor.
    """
    y = as_tensor(y)
    return _MeanSquaredErrorFunction(MeanSquaredErrorLoss(), "mean_squared_error")(
        y, as_tensor(t, like=y)
    )


# -- Chapters 6 and 7 ---------------------------------------------------------------------------
# Convolution, max pooling, dropout and batch normalization on Tensors: each records one node
# of ``backprop.layers`` (Convolution, Pooling, Dropout, BatchNormalization), so the layer and
# the Tensor forms run the same forward and backward.

from backprop.layers import BatchNormalization, Convolution, Dropout, Pooling  # noqa: E402

__all__ += ["batch_norm", "conv2d", "dropout", "flatten", "max_pool2d"]


class _ConvolutionFunction(_AffineFunction):
    """The Convolution layer as one node with inputs x, W, b (its dW, db are their grads)."""

    __slots__ = ()


def conv2d(x, W, b, stride: int = 1, pad: int = 0) -> Tensor:
    """Convolution of images ``x`` with filters ``W`` plus bias ``b`` (7.4.3, im2col).

    Parameters
    ----------
    x : Tensor or ndarray, shape (N, C, H, W)
    W : Tensor, shape (FN, C, FH, FW)
    b : Tensor, shape (FN,)
    stride, pad : int

    Returns
    -------
    Tensor, shape (N, FN, out_h, out_w) with out_h = (H + 2·pad − FH) / stride + 1.
    """
    x = as_tensor(x)
    W = as_tensor(W)
    b = as_tensor(b, like=W)
    node = Convolution(W.data, b.data, stride, pad, compute_dx=x.requires_grad)
    return _ConvolutionFunction(node, "conv2d")(x, W, b)


def max_pool2d(x, pool_h: int, pool_w: int | None = None, stride: int | None = None, pad=0):
    """Max pooling of images ``x`` (N, C, H, W) (the Pooling layer, 7.4.4).

    ``pool_w`` defaults to ``pool_h`` and ``stride`` to ``pool_h`` (for square windows,
    non-overlapping ones, as the book's networks use them).
    """
    pool_w = pool_h if pool_w is None else pool_w
    stride = pool_h if stride is None else stride
    return Function(Pooling(pool_h, pool_w, stride, pad), "max_pool2d")(as_tensor(x))


def dropout(x, dropout_ratio: float = 0.5, train_flg: bool = True, *, inverted=False, rng=None):
    """Dropout (6.4.3): random 0/1 mask in training, × (1 − ratio) at test (the book's).

    ``inverted=True`` scales the kept neurons by 1 / (1 − ratio) in training and passes ``x``
    unchanged at test. ``rng`` (a ``numpy.random.Generator``) draws the mask.
    """
    node = Dropout(dropout_ratio, inverted=inverted, rng=rng)
    return Function(node, "dropout", (train_flg,))(as_tensor(x))


class _BatchNormFunction(Function):
    """BatchNormalization as one node with inputs x, gamma, beta."""

    __slots__ = ()

    def forward(self, x, gamma, beta):
        return self.node.forward(x, *self.constants)

    def backward(self, gy):
        dx = self.node.backward(gy)
        return dx, self.node.dgamma, self.node.dbeta


def batch_norm(
    x,
    gamma,
    beta,
    running_mean=None,
    running_var=None,
    momentum: float = 0.9,
    train_flg: bool = True,
    *,
    eps: float = 1e-6,
) -> Tensor:
    """Batch normalization (6.3): γ · (x − μ) / √(σ² + eps) + β.

    Training (``train_flg=True``) normalises with the batch's mean and variance and, when
    ``running_mean`` / ``running_var`` arrays are given, updates them **in place** (as
    PyTorch's ``batch_norm`` does) with running = momentum · running + (1 − momentum) · batch.
    At test time the running statistics are used (they are required then).
    ``x`` (N, D) with γ, β (D,); or (N, C, H, W) with γ, β (C,) (per channel).
    """
    x = as_tensor(x)
    gamma = as_tensor(gamma)
    beta = as_tensor(beta, like=gamma)
    if not train_flg and (running_mean is None or running_var is None):
        raise ValueError(
            "batch_norm: test mode (train_flg=False) needs running_mean and running_var"
        )
    node = BatchNormalization(gamma.data, beta.data, momentum, running_mean, running_var, eps=eps)
    out = _BatchNormFunction(node, "batch_norm", (train_flg,))(x, gamma, beta)
    if train_flg:
        for given, updated in ((running_mean, node.running_mean), (running_var, node.running_var)):
            if isinstance(given, np.ndarray):
                given[...] = updated
    return out


def flatten(x) -> Tensor:
    """Images (N, C, H, W) (or any (N, ...)) as rows (N, C·H·W) (Reshape)."""
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError(f"flatten: x must have a batch axis, got shape {x.shape}")
    return x.reshape(x.shape[0], -1)
