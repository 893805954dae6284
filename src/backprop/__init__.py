"""backprop: backpropagation from scratch, as in "Deep Learning from Scratch" chapter 5.

Public names are re-exported here; each lives in the module named after its concept.
"""

__version__ = "0.1.0"

from backprop.functions import (  # noqa: E402
    cross_entropy_error,
    identity_function,
    log_softmax,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    step_function,
    tanh,
)

__all__ = [
    "__version__",
    "cross_entropy_error",
    "identity_function",
    "log_softmax",
    "mean_squared_error",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
    "tanh",
]
