"""Hand-written NumPy float32 floors: a plain training loop and the bare matmul chain.

``NumpyMLP`` is the fastest straightforward NumPy code for these networks that the benchmark
knows: float32 end to end, images kept uint8 and converted one batch at a time, no gradient for
the input images, the loss taken from the training forward pass, in-place elementwise work and
updates, evaluation in chunks. It is not a library API; it shows how close the library's layers
come to what NumPy itself allows.

``matmul_chain`` does only the matrix products of one training step (forward, weight gradients,
input gradients of every layer but the first) with the same shapes: the machine's limit for the
step, against which achieved GFLOP/s are compared.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["NumpyMLP", "matmul_chain", "numpy_train", "step_flops"]


def step_flops(sizes, batch_size: int) -> int:
    """Floating-point operations of the matmuls of one step (2·m·k·n per product).

    Forward: one product per layer; backward: dW for every layer, dx for all but the first.
    """
    flops = 0
    for i in range(1, len(sizes)):
        mkn = 2 * batch_size * sizes[i - 1] * sizes[i]
        flops += mkn * (3 if i > 1 else 2)
    return flops


def matmul_chain(sizes, batch_size: int, *, seed: int = 0, dtype=np.float32):
    """A zero-argument callable running the step's matmuls, nothing else."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal((sizes[i - 1], sizes[i])).astype(dtype) for i in range(1, len(sizes))
    ]
    x = rng.random((batch_size, sizes[0]), dtype=np.float32).astype(dtype)

    def chain():
        activations = [x]
        for W in weights:
            activations.append(activations[-1] @ W)
        dout = activations[-1]
        for i in range(len(weights) - 1, -1, -1):
            activations[i].T @ dout  # dW
            if i > 0:
                dout = dout @ weights[i].T  # dx
        return dout

    return chain


class NumpyMLP:
    """Affine/ReLU layers with a softmax cross-entropy head, float32, written for speed."""

    def __init__(self, sizes, *, seed=0, weight_init_std=0.01, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.W = []
        self.b = []
        for i in range(1, len(sizes)):
            std = weight_init_std if weight_init_std else np.sqrt(2.0 / sizes[i - 1])
            self.W.append((std * rng.standard_normal((sizes[i - 1], sizes[i]))).astype(dtype))
            self.b.append(np.zeros(sizes[i], dtype=dtype))

    def predict(self, x):
        a = x
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            a = a @ W
            a += b
            if i < len(self.W) - 1:
                np.maximum(a, 0, out=a)
        return a

    def step(self, x, t, lr):
        """One SGD step on a float32 batch; returns the batch's mean loss (a float)."""
        n = x.shape[0]
        acts = [x]
        a = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            a = a @ W
            a += b
            if i < last:
                np.maximum(a, 0, out=a)
            acts.append(a)
        # softmax cross-entropy on the scores, in place
        z = acts[-1]
        z -= z.max(axis=1, keepdims=True)
        rows = np.arange(n)
        picked = z[rows, t]
        np.exp(z, out=z)
        s = z.sum(axis=1)
        loss = float(np.mean(np.log(s) - picked))
        z /= s[:, None]
        z[rows, t] -= 1
        z *= self.dtype.type(1.0 / n)
        dout = z
        scale = self.dtype.type(lr)
        for i in range(last, -1, -1):
            dW = acts[i].T @ dout
            db = dout.sum(axis=0)
            if i > 0:
                dx = dout @ self.W[i].T
                dx *= acts[i] > 0  # ReLU backward; acts[i] is the ReLU output
            dW *= scale
            self.W[i] -= dW
            db *= scale
            self.b[i] -= db
            if i > 0:
                dout = dx
        return loss

    def accuracy(self, x_u8, t, chunk=10000):
        correct = 0
        scale = self.dtype.type(1 / 255)
        for i in range(0, x_u8.shape[0], chunk):
            x = np.multiply(x_u8[i : i + chunk], scale, dtype=self.dtype)
            correct += int(np.count_nonzero(self.predict(x).argmax(axis=1) == t[i : i + chunk]))
        return correct / x_u8.shape[0]

    def __repr__(self) -> str:
        return f"NumpyMLP(layers={len(self.W)}, dtype={self.dtype})"


def numpy_batch_step(model: NumpyMLP, x_u8, t, *, batch_size, lr, seed=0):
    """A zero-argument callable: draw a batch from uint8 images, convert it, one step."""
    rng = np.random.default_rng(seed)
    n = x_u8.shape[0]
    scale = model.dtype.type(1 / 255)
    t = np.asarray(t).astype(np.intp)

    def step():
        batch_mask = rng.integers(0, n, batch_size)
        x_batch = np.multiply(x_u8[batch_mask], scale, dtype=model.dtype)
        return model.step(x_batch, t[batch_mask], lr)

    return step


def numpy_call_step(model: NumpyMLP, x_train, t_train, *, batch_size, lr, seed=0):
    """A zero-argument callable: the book's batch draw from a float array, then one step.

    The floor for the book call (section 1b): the same ``np.random.choice`` and gather
    ``x_train[batch_mask]`` as the book's loop, then the fastest plain NumPy step above (no
    layers, no checks, updates fused into the backward pass).
    """
    random = np.random.RandomState(seed)  # the book's np.random, without the global state
    train_size = x_train.shape[0]
    t_train = np.asarray(t_train).astype(np.intp)

    def step():
        batch_mask = random.choice(train_size, batch_size)
        return model.step(x_train[batch_mask], t_train[batch_mask], lr)

    return step


def numpy_train(raw, *, iters_num=10000, batch_size=100, learning_rate=0.1, hidden_size=50, seed=0):
    """The book's training run with :class:`NumpyMLP` (uint8 data, float32 per batch)."""
    (x_train, t_train), (x_test, t_test) = raw
    t_train = t_train.astype(np.intp)
    t_test = t_test.astype(np.intp)
    model = NumpyMLP([x_train.shape[1], hidden_size, 10], seed=seed)
    step = numpy_batch_step(
        model, x_train, t_train, batch_size=batch_size, lr=learning_rate, seed=seed
    )
    iter_per_epoch = max(x_train.shape[0] / batch_size, 1)
    losses = []
    train_accs = []
    test_accs = []
    start = time.perf_counter()
    eval_seconds = 0.0
    for i in range(iters_num):
        losses.append(step())
        if i % iter_per_epoch == 0:
            eval_start = time.perf_counter()
            train_accs.append(model.accuracy(x_train, t_train))
            test_accs.append(model.accuracy(x_test, t_test))
            eval_seconds += time.perf_counter() - eval_start
    return {
        "loop_seconds": time.perf_counter() - start,
        "eval_seconds": eval_seconds,
        "evaluations": len(test_accs),
        "final_loss": losses[-1],
        "train_accuracy": train_accs[-1],
        "test_accuracy": test_accs[-1],
    }
