"""The reference for chapter 7: the book's SimpleConvNet as its readers run it, in plain NumPy.

Written here on purpose (not imported from the library), doing the same operations as the
book's ``common/util.py`` (``im2col``, ``col2im``), ``common/layers.py`` (``Convolution``,
``Pooling``; ``Affine``, ``Relu`` and ``SoftmaxWithLoss`` are chapter 5's, in
``reference.py``) and ``ch07/simple_convnet.py``:

* ``im2col`` pads the images, fills a float64 array (N, C, FH, FW, OH, OW) with one strided
  slice per filter offset, then transposes it to one row per output position;
  ``col2im`` adds the rows back into a padded float64 image the same way;
* ``Convolution`` multiplies the im2col matrix by the filters reshaped to columns; its
  backward computes ``db``, ``dW`` and, through ``col2im``, ``dx`` for every layer, the first
  included (whose ``dx`` nobody uses);
* ``Pooling`` (max) takes ``im2col`` rows of each window, ``max`` and ``argmax``; its backward
  scatters ``dout`` into a zero matrix at the arg-max and folds it back with ``col2im``;
* the network: parameters float64 from ``randn`` scaled by ``weight_init_std = 0.01``,
  Conv - Relu - Pool - Affine - Relu - Affine - SoftmaxWithLoss in an ``OrderedDict``,
  ``gradient()`` = ``loss()`` then the layers backward; the book's loader gives float32
  images (N, 1, 28, 28), which the float64 arithmetic upcasts.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

from benchmarks.reference import (
    BookAffine,
    BookRelu,
    BookSoftmaxWithLoss,
    book_load_mnist,
)

__all__ = [
    "BookConvolution",
    "BookPooling",
    "BookSimpleConvNet",
    "book_col2im",
    "book_conv_train",
    "book_im2col",
]


def book_im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """Images (N, C, H, W) → rows (N·OH·OW, C·FH·FW), one per output position."""
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))  # float64, as the book's
    for dy in range(filter_h):
        y_stop = dy + stride * out_h
        for dx in range(filter_w):
            x_stop = dx + stride * out_w
            col[:, :, dy, dx, :, :] = img[:, :, dy:y_stop:stride, dx:x_stop:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def book_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """Rows (N·OH·OW, C·FH·FW) → images (N, C, H, W), overlapping windows added up."""
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for dy in range(filter_h):
        y_stop = dy + stride * out_h
        for dx in range(filter_w):
            x_stop = dx + stride * out_w
            img[:, :, dy:y_stop:stride, dx:x_stop:stride] += col[:, :, dy, dx, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


class BookConvolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad
        self.x = None
        self.col = None
        self.col_W = None
        self.dW = None
        self.db = None

    def forward(self, x):
        FN, _, FH, FW = self.W.shape
        N, _, H, W = x.shape
        out_h = 1 + (H + 2 * self.pad - FH) // self.stride
        out_w = 1 + (W + 2 * self.pad - FW) // self.stride
        col = book_im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        out = out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)
        self.x = x
        self.col = col
        self.col_W = col_W
        return out

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return book_col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)

    def __repr__(self) -> str:
        return f"BookConvolution(W={self.W.shape})"


class BookPooling:
    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        self.pool_h = pool_h
        self.pool_w = pool_w
        self.stride = stride
        self.pad = pad
        self.x = None
        self.arg_max = None

    def forward(self, x):
        N, C, H, W = x.shape
        out_h = 1 + (H - self.pool_h) // self.stride
        out_w = 1 + (W - self.pool_w) // self.stride
        col = book_im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        arg_max = np.argmax(col, axis=1)
        out = np.max(col, axis=1)
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)
        self.x = x
        self.arg_max = arg_max
        return out

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size))
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape((*dout.shape, pool_size))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return book_col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)

    def __repr__(self) -> str:
        return f"BookPooling({self.pool_h}×{self.pool_w}, stride {self.stride})"


class BookSimpleConvNet:
    """``ch07/simple_convnet.py``: conv - relu - pool - affine - relu - affine - softmax."""

    def __init__(
        self,
        input_dim=(1, 28, 28),
        conv_param=None,
        hidden_size=100,
        output_size=10,
        weight_init_std=0.01,
        *,
        random,
    ):
        if conv_param is None:
            conv_param = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        filter_num = conv_param["filter_num"]
        filter_size = conv_param["filter_size"]
        filter_pad = conv_param["pad"]
        filter_stride = conv_param["stride"]
        input_size = input_dim[1]
        conv_output_size = (input_size - filter_size + 2 * filter_pad) / filter_stride + 1
        pool_output_size = int(filter_num * (conv_output_size / 2) * (conv_output_size / 2))

        self.params = {}
        self.params["W1"] = weight_init_std * random.randn(
            filter_num, input_dim[0], filter_size, filter_size
        )
        self.params["b1"] = np.zeros(filter_num)
        self.params["W2"] = weight_init_std * random.randn(pool_output_size, hidden_size)
        self.params["b2"] = np.zeros(hidden_size)
        self.params["W3"] = weight_init_std * random.randn(hidden_size, output_size)
        self.params["b3"] = np.zeros(output_size)

        self.layers = OrderedDict()
        self.layers["Conv1"] = BookConvolution(
            self.params["W1"], self.params["b1"], conv_param["stride"], conv_param["pad"]
        )
        self.layers["Relu1"] = BookRelu()
        self.layers["Pool1"] = BookPooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = BookAffine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = BookRelu()
        self.layers["Affine2"] = BookAffine(self.params["W3"], self.params["b3"])
        self.last_layer = BookSoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.last_layer.forward(y, t)

    def accuracy(self, x, t, batch_size=100):
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        acc = 0.0
        for i in range(int(x.shape[0] / batch_size)):
            tx = x[i * batch_size : (i + 1) * batch_size]
            tt = t[i * batch_size : (i + 1) * batch_size]
            y = np.argmax(self.predict(tx), axis=1)
            acc += np.sum(y == tt)
        return acc / x.shape[0]

    def gradient(self, x, t):
        self.loss(x, t)  # forward

        dout = 1
        dout = self.last_layer.backward(dout)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)

        grads = {}
        grads["W1"], grads["b1"] = self.layers["Conv1"].dW, self.layers["Conv1"].db
        grads["W2"], grads["b2"] = self.layers["Affine1"].dW, self.layers["Affine1"].db
        grads["W3"], grads["b3"] = self.layers["Affine2"].dW, self.layers["Affine2"].db
        return grads

    def __repr__(self) -> str:
        return f"BookSimpleConvNet(W1={self.params['W1'].shape})"


def book_conv_train(
    raw,
    *,
    iters_num=600,
    batch_size=100,
    learning_rate=0.1,
    seed=0,
):
    """A SimpleConvNet run holding its data as ``ch07/train_convnet.py`` does: the book's loader
    (``flatten=False``: float32 images (N, 1, 28, 28), one-hot float64 labels), batches by
    ``choice``, ``gradient`` + SGD, the loss again for the log, and after every epoch (and at
    the end) the accuracy of the whole training and test sets in the book's batches of 100,
    the evaluations the library's ``Trainer`` makes. Returns a dict of figures."""
    random = np.random.RandomState(seed)
    (x_train, t_train), (x_test, t_test) = book_load_mnist(raw, image_dtype="float32")
    x_train = x_train.reshape(-1, 1, 28, 28)
    x_test = x_test.reshape(-1, 1, 28, 28)
    network = BookSimpleConvNet(random=random)
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // batch_size, 1)
    start = time.perf_counter()
    eval_seconds = 0.0
    loss = train_acc = test_acc = float("nan")
    for i in range(iters_num):
        batch_mask = random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grads = network.gradient(x_batch, t_batch)
        for key in network.params:
            network.params[key] -= learning_rate * grads[key]
        loss = network.loss(x_batch, t_batch)
        if (i + 1) % iter_per_epoch == 0 or i + 1 == iters_num:
            eval_start = time.perf_counter()
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            eval_seconds += time.perf_counter() - eval_start
    return {
        "loop_seconds": time.perf_counter() - start,
        "eval_seconds": eval_seconds,
        "final_loss": float(loss),
        "train_accuracy": float(train_acc),
        "test_accuracy": float(test_acc),
    }
