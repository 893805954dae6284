"""Layers that break in the ways a learner's layer can (NumPy only); see tests/test_check.py."""

import numpy as np


class ReluRaising:
    def forward(self, x):
        self.mask = x <= 0
        return np.dot(x, np.ones((5, 5)))  # shapes (3, 4) and (5, 5) do not align

    def backward(self, dout):
        return dout


class SigmoidReturningNone:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        dx = dout * (1.0 - self.out) * self.out  # noqa: F841 - forgot to return it


class MulLayerOneGradient:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y  # dy is missing


class ReluForever:
    def forward(self, x):
        self.mask = x <= 0
        return np.maximum(x, 0)

    def backward(self, dout):
        while True:
            pass


class AffineForgettingDb:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        return np.dot(dout, self.W.T)


class NeedsAConfig:
    def __init__(self, config):
        self.config = config

    def forward(self, x):
        return x

    def backward(self, dout):
        return dout


class AddLayerForgettingReturn:
    def forward(self, x, y):
        out = x + y  # noqa: F841 - computed, never returned

    def backward(self, dout):
        return dout, dout
