"""Reference solution."""

import numpy as np


def numerical_gradient(f, x):
    # >>> numerical_gradient
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp_val = x[idx]
        x[idx] = tmp_val + h
        fxh1 = f(x)  # f(x + h)
        x[idx] = tmp_val - h
        fxh2 = f(x)  # f(x - h)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val  # restore x
    return grad
    # <<<


def function_2(x):
    return np.sum(x**2)


if __name__ == "__main__":
    print(numerical_gradient(function_2, np.array([3.0, 4.0])))  # [6. 8.]
