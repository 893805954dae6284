"""The library's side of each benchmark, written the way a user of ``backprop`` trains.

Two harnesses time one training step of the library:

* **Trainer** (``library_step``): ``backprop.training.Trainer.train_step(x_batch, t_batch)``
  on uint8 batches drawn as ``Trainer`` draws them (``iterate_minibatches``: shuffled epochs,
  without replacement). ``train_step`` converts the pixels (``x / 255`` in the network's
  dtype), computes the loss and the gradient in one pass and updates the parameters. The full
  run is ``Trainer.train()`` itself (``library_train``).
* **Book call** (``book_call_step``): the book's loop body (5.7.4) with the library's objects,
  ``grads = network.gradient(x_batch, t_batch)`` then ``optimizer.update(params, grads)`` on
  batches ``x_train[batch_mask]`` of a float32 array, ``batch_mask`` from ``choice`` (with
  replacement) as in the book.

Nothing here copies the library's loop: the step is the library's public call.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from backprop.datasets import load_mnist
from backprop.networks import TwoLayerNet
from backprop.optimizers import SGD
from backprop.training import Trainer, iterate_minibatches

__all__ = [
    "book_call_step",
    "epoch_batches",
    "library_conv_train",
    "library_convnet_class",
    "library_step",
    "library_train",
    "library_trainer",
    "load_library_mnist",
]


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator):
    """Endless batch indices as ``Trainer`` draws them: epoch after epoch of
    ``iterate_minibatches`` (a fresh permutation each, cut into consecutive batches)."""
    return itertools.chain.from_iterable(
        iterate_minibatches(n, batch_size, rng) for _ in itertools.count()
    )


def library_trainer(network, x_train, t_train, *, batch_size, lr=0.1, optimizer=None) -> Trainer:
    """A ``Trainer`` as a user builds it (the book's ``Trainer`` arguments), silent."""
    return Trainer(
        network,
        x_train,
        t_train,
        epochs=1,
        mini_batch_size=batch_size,
        optimizer="SGD" if optimizer is None else optimizer,
        optimizer_param={"lr": lr} if optimizer is None else None,
        verbose=False,
    )


def library_step(network, x_train, t_train, *, batch_size, lr=0.1, seed=0, optimizer=None):
    """A zero-argument callable doing one ``Trainer.train_step``; returns the loss.

    Batches are drawn as ``Trainer``'s default does (shuffled epochs, without replacement;
    about 2 µs per batch against 20 µs for the book's ``choice`` draw with replacement) from
    ``x_train`` as given (uint8 pixels: ``train_step`` converts each batch). ``optimizer``
    defaults to the library's ``SGD(lr)`` by name.
    """
    t_train = np.asarray(t_train).astype(np.int64)
    trainer = library_trainer(
        network, x_train, t_train, batch_size=batch_size, lr=lr, optimizer=optimizer
    )
    draw = epoch_batches(len(x_train), batch_size, np.random.default_rng(seed))
    train_step = trainer.train_step

    def step():
        index = next(draw)
        return train_step(x_train[index], t_train[index])

    return step


def book_call_step(network, x_train, t_train, *, batch_size, lr=0.1, seed=0):
    """A zero-argument callable doing the book's loop body with the library's objects.

    ``x_train`` is a float array of the network's dtype (the book's ``load_mnist`` gives
    float32 images), ``t_train`` labels. The step is the book's, word for word::

        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grads = network.gradient(x_batch, t_batch)
        optimizer.update(params, grads)
    """
    random = np.random.RandomState(seed)  # the book's np.random, without the global state
    optimizer = SGD(lr=lr)
    params = network.params
    train_size = x_train.shape[0]

    def step():
        batch_mask = random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grads = network.gradient(x_batch, t_batch)
        optimizer.update(params, grads)

    return step


def library_convnet_class():
    """The library's ``SimpleConvNet`` (chapter 7), or None where this version has none."""
    import importlib

    import backprop

    found = getattr(backprop, "SimpleConvNet", None)
    if found is not None:
        return found
    try:
        return importlib.import_module("backprop.convnet").SimpleConvNet
    except (ImportError, AttributeError):
        return None


def library_conv_train(
    raw, *, iters_num=600, batch_size=100, learning_rate=0.1, seed=0, dtype="float32"
):
    """A SimpleConvNet run as a user of the library runs it: ``Trainer(...).train()`` on
    uint8 data (flat rows, which the network reshapes to 1×28×28), evaluating the whole
    training and test sets after every epoch and at the end."""
    convnet = library_convnet_class()
    if convnet is None:
        raise RuntimeError("this version of backprop has no SimpleConvNet")
    (x_train, t_train), (x_test, t_test) = raw
    init_seed, data_seed = np.random.SeedSequence(seed).spawn(2)
    network = convnet(rng=np.random.default_rng(init_seed), dtype=dtype)
    start = time.perf_counter()
    trainer = Trainer(
        network,
        x_train,
        t_train.astype(np.int64),
        x_test,
        t_test.astype(np.int64),
        mini_batch_size=batch_size,
        optimizer="SGD",
        optimizer_param={"lr": learning_rate},
        verbose=False,
        iters=iters_num,
        rng=np.random.default_rng(data_seed),
    )
    history = trainer.train()
    return {
        "loop_seconds": time.perf_counter() - start,
        "eval_seconds": float(sum(history.eval_seconds)),
        "final_loss": float(history.loss[-1]),
        "train_accuracy": float(history.train_acc[-1]),
        "test_accuracy": float(history.test_acc[-1]),
        "trainer": "backprop.training.Trainer",
    }


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
        mini_batch_size=batch_size,
        optimizer="SGD",
        optimizer_param={"lr": learning_rate},
        verbose=False,
        iters=iters_num,
        rng=np.random.default_rng(data_seed),
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
