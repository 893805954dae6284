"""The reference: the book's chapter 5 code, as its readers run it, inside the benchmark.

Written here on purpose (not imported from the library) with the semantics of the book's
``common/functions.py``, ``common/layers.py``, ``ch05/two_layer_net.py``, ``dataset/mnist.py``
and ``ch05/train_neuralnet.py``:

* parameters float64 from ``randn`` scaled by ``weight_init_std = 0.01``; layers in an
  ``OrderedDict``; ``Affine.backward`` computes ``dx`` for every layer, the first included;
  ``Relu`` copies and masks; ``SoftmaxWithLoss`` stores one-hot targets and its loss is
  ``cross_entropy_error`` with ``log(y + 1e-7)``;
* ``gradient()`` runs the forward pass through ``loss()``, then the layers backward;
* SGD on the params dict, ``params[key] -= learning_rate * grad[key]``;
* the training loop draws a batch with ``np.random.choice`` (with replacement), computes the
  gradient, updates, and calls ``loss()`` a second time to log the loss; every
  ``iter_per_epoch = max(train_size / batch_size, 1)`` iterations it evaluates the accuracy on
  the full training and test sets.

Two details are parameters: the images' dtype (the book's loader gives float32 and the float64
weights then make NumPy cast inside every matmul; ``float64`` images, the default here, are the
faster variant the benchmark's issue describes) and the random source (``np.random.RandomState``,
the same algorithms as the book's global ``np.random`` calls, without touching global state).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

__all__ = [
    "BookAffine",
    "BookRelu",
    "BookSoftmaxWithLoss",
    "BookTwoLayerNet",
    "book_cross_entropy_error",
    "book_load_mnist",
    "book_one_hot",
    "book_softmax",
    "book_train",
]


def book_softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)  # overflow guard, as in the book
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def book_cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:  # one-hot targets -> label indices
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class BookRelu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx

    def __repr__(self) -> str:
        return "BookRelu()"


class BookAffine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)  # computed for the first layer too, then thrown away
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = dx.reshape(*self.original_x_shape)
        return dx

    def __repr__(self) -> str:
        return f"BookAffine(W={self.W.shape})"


class BookSoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = book_softmax(x)
        self.loss = book_cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot targets
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx

    def __repr__(self) -> str:
        return "BookSoftmaxWithLoss()"


class BookTwoLayerNet:
    """``ch05/two_layer_net.py``: Affine → Relu → Affine → SoftmaxWithLoss, float64 params."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, *, random):
        self.params = {}
        self.params["W1"] = weight_init_std * random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = weight_init_std * random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

        self.layers = OrderedDict()
        self.layers["Affine1"] = BookAffine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = BookRelu()
        self.layers["Affine2"] = BookAffine(self.params["W2"], self.params["b2"])
        self.lastLayer = BookSoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def gradient(self, x, t):
        self.loss(x, t)  # forward

        dout = 1
        dout = self.lastLayer.backward(dout)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)

        grads = {}
        grads["W1"], grads["b1"] = self.layers["Affine1"].dW, self.layers["Affine1"].db
        grads["W2"], grads["b2"] = self.layers["Affine2"].dW, self.layers["Affine2"].db
        return grads

    def __repr__(self) -> str:
        return f"BookTwoLayerNet(W1={self.params['W1'].shape})"


def book_one_hot(labels, classes=10):
    """dataset/mnist.py's ``_change_one_hot_label``: a float64 zero matrix filled row by row."""
    T = np.zeros((labels.size, classes))
    for idx, row in enumerate(T):
        row[labels[idx]] = 1
    return T


def book_load_mnist(raw, *, image_dtype="float64", one_hot_label=True):
    """``load_mnist(normalize=True, one_hot_label=True)`` from raw uint8 arrays.

    Whole-dataset copies: images ``astype(image_dtype)`` then ``/= 255.0`` (the book's loader
    uses float32; see the module docstring), labels one-hot float64 (N, 10).
    """
    (x_train, t_train), (x_test, t_test) = raw
    out = []
    for x, t in ((x_train, t_train), (x_test, t_test)):
        x = x.astype(image_dtype)
        x /= 255.0
        out.append((x, book_one_hot(t) if one_hot_label else t.astype(np.int64)))
    return out[0], out[1]


def book_train(
    raw,
    *,
    iters_num=10000,
    batch_size=100,
    learning_rate=0.1,
    hidden_size=50,
    image_dtype="float64",
    seed=0,
):
    """``ch05/train_neuralnet.py`` on ``raw`` data; returns a dict of figures."""
    random = np.random.RandomState(seed)
    (x_train, t_train), (x_test, t_test) = book_load_mnist(raw, image_dtype=image_dtype)
    network = BookTwoLayerNet(
        input_size=x_train.shape[1], hidden_size=hidden_size, output_size=10, random=random
    )
    train_size = x_train.shape[0]
    train_loss_list = []
    train_acc_list = []
    test_acc_list = []
    iter_per_epoch = max(train_size / batch_size, 1)

    start = time.perf_counter()
    eval_seconds = 0.0
    for i in range(iters_num):
        batch_mask = random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)

        if i % iter_per_epoch == 0:
            eval_start = time.perf_counter()
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            eval_seconds += time.perf_counter() - eval_start
    return {
        "loop_seconds": time.perf_counter() - start,
        "eval_seconds": eval_seconds,
        "evaluations": len(test_acc_list),
        "final_loss": float(train_loss_list[-1]),
        "train_accuracy": float(train_acc_list[-1]),  # the last evaluation, as printed
        "test_accuracy": float(test_acc_list[-1]),
    }
