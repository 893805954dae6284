"""The library's side of each benchmark, written the way a user of ``backprop`` trains.

A training step is the body of ``backprop.training.Trainer``'s loop: the next batch of the
epoch's shuffled order, ``as_input`` (uint8 pixels → ``x / 255`` in the network's dtype),
``loss_and_gradient`` (one forward pass; its loss is the one logged), the finiteness check of
the loss, and ``optimizer.update(params, grads)`` (SGD in place). The full run is
``Trainer.train()`` itself.
"""

from __future__ import annotations

import math
import time

import numpy as np

from backprop.datasets import load_mnist
from backprop.networks import TwoLayerNet
from backprop.optimizers import SGD
from backprop.training import Trainer, as_input

__all__ = [
    "EpochSampler",
    "library_step",
    "library_train",
    "load_library_mnist",
]


class EpochSampler:
    """Batch indices as ``Trainer`` draws them by default: each epoch a fresh permutation of
    the training set, cut into consecutive batches (without replacement)."""

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator):
        self.n = n
        self.batch_size = batch_size
        self.rng = rng
        self.order = rng.permutation(n)
        self.position = 0

    def __call__(self) -> np.ndarray:
        start = self.position
        if start >= self.n:
            self.order = self.rng.permutation(self.n)
            start = 0
        self.position = start + self.batch_size
        return self.order[start : start + self.batch_size]

    def __repr__(self) -> str:
        return f"EpochSampler(n={self.n}, batch_size={self.batch_size})"


def library_step(network, x_train, t_train, *, batch_size, lr=0.1, seed=0, optimizer=None):
    """A zero-argument callable doing one training step as ``Trainer`` does; returns the loss.

    Batches are drawn as ``Trainer``'s default does (shuffled epochs, without replacement;
    about 2 µs per batch against 20 µs for the book's ``choice`` draw with replacement).
    ``optimizer`` defaults to the library's ``SGD(lr)``.
    """
    optimizer = SGD(lr=lr) if optimizer is None else optimizer
    params = network.params
    step = getattr(network, "loss_and_gradient", None)
    if step is None:  # pragma: no cover - every network of the library has it

        def step(x, t):
            grads = network.gradient(x, t)
            return network.loss(x, t), grads

    dtype = np.dtype(network.params[next(iter(network.params))].dtype)
    draw = EpochSampler(len(x_train), batch_size, np.random.default_rng(seed))
    t_train = np.asarray(t_train).astype(np.int64)

    def train_step():
        index = draw()
        x_batch = as_input(x_train[index], dtype)
        loss, grads = step(x_batch, t_train[index])
        if not math.isfinite(loss):
            raise FloatingPointError("the benchmark's training diverged")
        optimizer.update(params, grads)
        return loss

    return train_step


def load_library_mnist(data_dir):
    """MNIST through the library's loader as uint8 pixels."""
    return load_mnist(normalize=False, dtype=np.uint8, data_dir=data_dir, download=False)


def library_train(
    raw,
    *,
    iters_num=10000,
    batch_size=100,
    learning_rate=0.1,
    hidden_size=50,
    dtype="float32",
    seed=0,
):
    """The book's run with the library as ``backprop train`` runs it: ``Trainer(...).train()``
    on uint8 data, weights and data order from two streams spawned from ``seed``.
    """
    (x_train, t_train), (x_test, t_test) = raw
    t_train = t_train.astype(np.int64)
    t_test = t_test.astype(np.int64)
    # Seeds as `backprop train` draws them: one stream for the weights, one for the data order.
    init_seed, data_seed = np.random.SeedSequence(seed).spawn(2)
    network = TwoLayerNet(
        x_train.shape[1], hidden_size, 10, rng=np.random.default_rng(init_seed), dtype=dtype
    )
    start = time.perf_counter()
    trainer = Trainer(
        network,
        x_train,
        t_train,
        x_test,
        t_test,
        optimizer="sgd",
        optimizer_params={"lr": learning_rate},
        iters=iters_num,
        batch_size=batch_size,
        rng=np.random.default_rng(data_seed),
        progress="none",
    )
    history = trainer.train()
    loop_seconds = time.perf_counter() - start
    return {
        "loop_seconds": loop_seconds,
        "eval_seconds": float(sum(history.eval_seconds)),
        "evaluations": len(history.test_acc),
        "final_loss": float(history.loss[-1]),
        "train_accuracy": float(history.train_acc[-1]),
        "test_accuracy": float(history.test_acc[-1]),
        "trainer": "backprop.training.Trainer",
    }
