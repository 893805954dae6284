"""Reference solution."""

import numpy as np


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)  # no overflow (3.5.2)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """y: softmax output (N, C); t: one-hot labels (N, C). The mean over the batch."""
    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None  # softmax output
        self.t = None  # one-hot labels

    def forward(self, x, t):
        # >>> SoftmaxWithLoss.forward
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss
        # <<<

    def backward(self, dout=1):
        # >>> SoftmaxWithLoss.backward
        batch_size = self.t.shape[0]
        dx = (self.y - self.t) * dout / batch_size
        return dx
        # <<<
