"""Reference solution."""

import numpy as np


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        # >>> Sigmoid.forward
        e = np.exp(-np.abs(x))  # exp of a number ≤ 0: cannot overflow
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.out = out
        return out
        # <<<

    def backward(self, dout):
        # >>> Sigmoid.backward
        dx = dout * (1.0 - self.out) * self.out
        return dx
        # <<<
