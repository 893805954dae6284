"""Layers with one deliberate mistake each, written as a learner would (NumPy only).

Each class name starts or ends with the book's layer it tries to be, so the checker compares
it with that layer; ``EXPECTED`` maps each class to the one diagnosis it must get.
Used by tests/test_check.py.
"""

import numpy as np


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax_loss(x, t):
    z = x - x.max(axis=1, keepdims=True)
    log_y = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.exp(log_y), -np.sum(t * log_y) / x.shape[0]


class MulLayerIgnoringDout:
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return self.y, self.x  # forgot "dout *"


class SigmoidSignFlipped:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (self.out - 1.0) * self.out  # y(y − 1) instead of y(1 − y)


class TransposedAffine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(dout.T, self.x)  # the transpose of xᵀ · dout
        self.db = np.sum(dout, axis=0)
        return dx


class SoftmaxWithLossMissingN:
    def __init__(self):
        self.y = self.t = None

    def forward(self, x, t):
        self.t = t
        self.y, loss = _softmax_loss(x, t)
        return loss

    def backward(self, dout=1):
        return (self.y - self.t) * dout  # forgot "/ batch_size"


class AffineBiasMean:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.mean(dout, axis=0)  # an extra 1/N
        return dx


class AffineBiasWrongAxis:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=1)  # over the outputs, not the batch
        return dx


class ReluChangingDout:
    """The book's own Relu: right values, but it zeroes the caller's dout."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class ReluChangingInput:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        x[self.mask] = 0  # no copy: the caller's x changes
        return x

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class SigmoidChangingCache:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, dout):
        self.out *= 1.0 - self.out  # the cache now holds y(1 − y)
        return dout * self.out


class AffineWrongShape:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.sum(np.dot(dout, self.W.T), axis=0)  # summed over the batch like db
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class ReluMaskInverted:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        return dout * self.mask  # passes where x <= 0


class SigmoidFromInput:
    def __init__(self):
        self.x = None

    def forward(self, x):
        self.x = x
        return _sigmoid(x)

    def backward(self, dout):
        return dout * self.x * (1.0 - self.x)  # x where the book has y = sigmoid(x)


class SigmoidOverflowing:
    """The book's sigmoid: right for small inputs, exp(1000) overflows."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class AffineInFloat32:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x.astype(np.float32)  # computes in float32 whatever it is given
        return np.dot(self.x, self.W.astype(np.float32)) + self.b.astype(np.float32)

    def backward(self, dout):
        dout = dout.astype(np.float32)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T.astype(np.float32))


EXPECTED = {
    "MulLayerIgnoringDout": "dout_ignored",
    "SigmoidSignFlipped": "sign_flipped",
    "TransposedAffine": "transposed",
    "SoftmaxWithLossMissingN": "batch_missing",
    "AffineBiasMean": "batch_extra",
    "AffineBiasWrongAxis": "bias_axis",
    "ReluChangingDout": "dout_modified",
    "ReluChangingInput": "input_modified",
    "SigmoidChangingCache": "cache_modified",
    "AffineWrongShape": "wrong_shape",
    "ReluMaskInverted": "mask_inverted",
    "SigmoidFromInput": "sigmoid_x",
    "SigmoidOverflowing": "overflow",
    "AffineInFloat32": "low_precision",
}
