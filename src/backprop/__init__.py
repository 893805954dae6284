"""backprop: backpropagation from scratch, as in "Deep Learning from Scratch" chapter 5.

Public names are re-exported here; each lives in the module named after its concept:
``functions`` (activations, losses), ``gradient`` (numerical differentiation, gradient check),
``layers`` (the nodes: MulLayer, AddLayer, Relu, Sigmoid, Affine, SoftmaxWithLoss, ...),
``networks`` (TwoLayerNet, MultiLayerNet).
"""

__version__ = "0.1.0"

from backprop.functions import (
    cross_entropy_error,
    identity_function,
    log_softmax,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    step_function,
    sum_to,
    tanh,
)
from backprop.gradient import (
    GradientCheckReport,
    gradient_check,
    numerical_diff,
    numerical_gradient,
    relative_error,
)
from backprop.layers import (
    AddLayer,
    Affine,
    Layer,
    MeanSquaredErrorLoss,
    MulLayer,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)
from backprop.networks import MultiLayerNet, Network, TwoLayerNet, network_from_config

__all__ = [
    "AddLayer",
    "Affine",
    "GradientCheckReport",
    "Layer",
    "MeanSquaredErrorLoss",
    "MulLayer",
    "MultiLayerNet",
    "Network",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "TwoLayerNet",
    "__version__",
    "cross_entropy_error",
    "gradient_check",
    "identity_function",
    "log_softmax",
    "mean_squared_error",
    "network_from_config",
    "numerical_diff",
    "numerical_gradient",
    "relative_error",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
    "sum_to",
    "tanh",
]
