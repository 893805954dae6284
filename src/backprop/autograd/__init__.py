"""The automatic computational graph (define-by-run autograd) on the nodes of ``layers``.

Book: 5.1-5.3 (computational graphs, chain rule, backpropagation), 5.4-5.6 (the nodes).

``core`` holds ``Tensor``, ``Function``, ``backward`` and the operators; ``ops`` the other
operations as functions; ``expression`` the safe expression parser and the book's shopping
graphs. The Tensor networks live in ``backprop.autograd.networks`` (imported on demand: they
build on ``backprop.networks``, which may itself use this package).
"""

from backprop.autograd.core import (
    Function,
    Tensor,
    add,
    as_tensor,
    backward_order,
    div,
    is_grad_enabled,
    matmul,
    mul,
    neg,
    no_grad,
    power,
    sub,
)
from backprop.autograd.expression import BOOK_EXAMPLES, book_example, evaluate
from backprop.autograd.ops import (
    affine,
    exp,
    log,
    mean,
    mean_squared_error,
    relu,
    reshape,
    sigmoid,
    softmax_cross_entropy,
    sum_,
    tanh,
    transpose,
)

__all__ = [
    "BOOK_EXAMPLES",
    "Function",
    "Tensor",
    "add",
    "affine",
    "as_tensor",
    "backward_order",
    "book_example",
    "div",
    "evaluate",
    "exp",
    "is_grad_enabled",
    "log",
    "matmul",
    "mean",
    "mean_squared_error",
    "mul",
    "neg",
    "no_grad",
    "power",
    "relu",
    "reshape",
    "sigmoid",
    "softmax_cross_entropy",
    "sub",
    "sum_",
    "tanh",
    "transpose",
]

# Chapters 6 and 7
from backprop.autograd.ops import batch_norm, conv2d, dropout, flatten, max_pool2d

__all__ += ["batch_norm", "conv2d", "dropout", "flatten", "max_pool2d"]
