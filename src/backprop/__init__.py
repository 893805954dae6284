"""backprop: backpropagation from scratch, as in "Deep Learning from Scratch" chapter 5.

Public names are re-exported here; each lives in the module named after its concept:
``functions`` (activations, losses), ``gradient`` (numerical differentiation, gradient check),
``layers`` (the nodes: MulLayer, AddLayer, Relu, Sigmoid, Affine, SoftmaxWithLoss, ...),
``networks`` (TwoLayerNet, MultiLayerNet), ``autograd`` (Tensor: the automatic graph),
``visualize`` (draw_graph, explain), ``datasets`` (load_mnist), ``optimizers``, ``training``
(Trainer), ``checkpoint`` and ``plots``. Importing ``backprop`` loads NumPy only: matplotlib,
tqdm and Pillow are imported by the functions that need them.
"""

__version__ = "0.1.0"

from backprop.autograd import Tensor, no_grad
from backprop.autograd.networks import TensorMultiLayerNet, TensorTwoLayerNet
from backprop.check import check_layer
from backprop.checkpoint import load_checkpoint, save_checkpoint
from backprop.datasets import DatasetError, load_dataset, load_fashion_mnist, load_mnist
from backprop.functions import (
    cross_entropy_error,
    identity_function,
    log_softmax,
    logsumexp,
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
from backprop.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer
from backprop.plots import plot_learning_curves
from backprop.training import History, Trainer, TrainingDiverged
from backprop.visualize import draw_graph, explain, save_graph

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AddLayer",
    "Affine",
    "DatasetError",
    "GradientCheckReport",
    "History",
    "Layer",
    "MeanSquaredErrorLoss",
    "Momentum",
    "MulLayer",
    "MultiLayerNet",
    "Nesterov",
    "Network",
    "RMSprop",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "Tensor",
    "TensorMultiLayerNet",
    "TensorTwoLayerNet",
    "Trainer",
    "TrainingDiverged",
    "TwoLayerNet",
    "__version__",
    "check_layer",
    "cross_entropy_error",
    "draw_graph",
    "explain",
    "get_optimizer",
    "gradient_check",
    "identity_function",
    "load_checkpoint",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "log_softmax",
    "logsumexp",
    "mean_squared_error",
    "network_from_config",
    "no_grad",
    "numerical_diff",
    "numerical_gradient",
    "plot_learning_curves",
    "relative_error",
    "relu",
    "save_checkpoint",
    "save_graph",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
    "sum_to",
    "tanh",
]

# Chapters 6 and 7: dropout, batch normalization, convolution and pooling, and their networks.
from backprop.convnet import DeepConvNet, SimpleConvNet
from backprop.im2col import col2im, im2col
from backprop.layers import BatchNormalization, Convolution, Dropout, Pooling
from backprop.networks import MultiLayerNetExtend

__all__ += [
    "BatchNormalization",
    "Convolution",
    "DeepConvNet",
    "Dropout",
    "MultiLayerNetExtend",
    "Pooling",
    "SimpleConvNet",
    "col2im",
    "im2col",
]
