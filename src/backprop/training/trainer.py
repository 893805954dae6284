"""The training loop: ``train_step`` (one step of the book's 5.7.4 loop) and ``train``.

Book: 4.5.2-4.5.3 and 5.7.4 (a mini-batch, the gradient, ``params[key] -= lr * grad[key]``,
the accuracy once per epoch) and the ``Trainer`` class of ``common/trainer.py`` (chapter 6),
whose arguments work here: ``Trainer(network, x_train, t_train, x_test, t_test, epochs=20,
mini_batch_size=100, optimizer='SGD', optimizer_param={'lr': 0.01},
evaluate_sample_num_per_epoch=None, verbose=True)``, and afterwards ``train_loss_list``,
``train_acc_list`` and ``test_acc_list``.

What this loop changes from the book's, and why
-----------------------------------------------
* **Epochs without replacement.** Each epoch visits every training sample once, in a fresh
  random order: ``ceil(N / batch_size)`` mini-batches, the last one smaller when the batch
  size does not divide N. The book draws every batch with ``np.random.choice`` and evaluates
  when ``i % (N / batch_size) == 0``, a float test that never fires for batch sizes that do
  not divide N; ``sample_with_replacement=True`` keeps the book's draw, still with
  whole-number epochs of ``ceil(N / batch_size)`` iterations.
* **One forward pass per step** when the network has ``loss_and_gradient``: the logged loss
  is the one computed for the gradient.
* **Compact data.** uint8 images (0..255) are converted per batch and per evaluation chunk
  (``x / 255`` in the network's dtype); no float copy of the data set is made.
* **Reproducible.** One ``seed`` (or ``rng``) decides the data order; nothing touches
  NumPy's global random state.
* **Pieces around the loop** (progress, the epoch log, checkpoints, the divergence stop,
  early stopping) are :mod:`~backprop.training.callbacks`, called at fixed points.

The network protocol
--------------------
``params`` (dict of arrays, updated in place by the optimizer), ``accuracy(x, t)`` and either
``loss_and_gradient(x, t)`` or both ``loss(x, t)`` and ``gradient(x, t)``. Checkpoints also
need ``config()`` and ``load_params(params)``. The trainer never looks at a concrete class.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from pathlib import Path

import numpy as np

from backprop.checkpoint import save_checkpoint
from backprop.optimizers import Optimizer, get_optimizer
from backprop.training.callbacks import Callback, DivergenceStop, EpochLog, ProgressBar
from backprop.training.data import as_input, check_data, iterate_minibatches
from backprop.training.history import History
from backprop.training.metrics import accuracy, network_dtype

__all__ = ["MAX_ITERATIONS", "Trainer"]

# More steps than any run of this library needs (a day at 10,000 steps per second); a larger
# target, from an argument or a checkpoint, is a mistake that would run for ever.
MAX_ITERATIONS = 10**9


def check_count(name: str, value, minimum: int = 1, maximum: int = MAX_ITERATIONS) -> int:
    """``value`` as an int in ``minimum..maximum``, or a ValueError naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not minimum <= value <= maximum
    ):
        raise ValueError(f"{name} must be an integer from {minimum} to {maximum:,}, got {value!r}")
    return int(value)


class Trainer:
    """Train a network on mini-batches and evaluate it once per epoch (book 5.7.4, 6).

    Parameters (the book's, in its order)
    -------------------------------------
    network :
        See the module docstring for the protocol.
    x_train : ndarray, shape (N, ...), uint8 pixels (0..255) or floats
    t_train : ndarray, shape (N,) integer labels or (N, C) one-hot
    x_test, t_test : ndarray, optional
        Evaluated after every epoch alongside the training set.
    epochs : int
        Length of training in epochs (default 20, as the book's Trainer); counted from the
        start of the run, so a resumed run stops where the uninterrupted one would have.
    mini_batch_size : int
        Mini-batch size, 1..N (default 100).
    optimizer : str or Optimizer
        A name for :func:`~backprop.optimizers.get_optimizer` (``'SGD'``, ``'Adam'``, ...,
        any case) with ``optimizer_param``, or an optimizer instance.
    optimizer_param : dict, optional
        Hyperparameters when ``optimizer`` is a name, e.g. ``{'lr': 0.1}``.
    evaluate_sample_num_per_epoch : int, optional
        Evaluate on the first this many training and test samples after each epoch (the
        book's shortcut); the last evaluation always uses all of them.
    verbose : bool
        Show a progress bar and one line per epoch (:class:`ProgressBar`, :class:`EpochLog`).

    Options (the library's)
    -----------------------
    iters : int
        Length in iterations instead of epochs.
    sample_with_replacement : bool
        Draw each batch with ``rng.choice(N, batch_size)``, the book's loop.
    seed, rng :
        Source of the data order: an int seed or a ``numpy.random.Generator``.
    eval_batch_size : int
        Chunk size of the evaluations.
    validation_split : float
        Hold out this fraction of the training data (its last samples, as Keras does) and
        evaluate it every epoch as ``val_acc``, e.g. for :class:`EarlyStopping`.
    callbacks : list of Callback
        Pieces called around the loop. A :class:`DivergenceStop` is always there (pass one
        to change it), and with ``verbose`` a :class:`ProgressBar` and an :class:`EpochLog`
        (pass your own to replace them). Checkpoints: ``ModelCheckpoint(path)``.
    metadata : dict, optional
        Extra JSON-compatible values stored in checkpoints (e.g. ``dataset``, ``seed``).
    batch_size, optimizer_params :
        The earlier names of ``mini_batch_size`` and ``optimizer_param``.
    progress : str, optional
        The earlier form of ``verbose``: ``"auto"`` is ``verbose=True``, ``"log"`` the
        epoch lines only, ``"none"`` is ``verbose=False``.

    Attributes after :meth:`train`: ``history`` (a :class:`History`), ``train_loss_list``,
    ``train_acc_list``, ``test_acc_list`` (the book's names), ``iteration``.
    """

    def __init__(
        self,
        network,
        x_train,
        t_train,
        x_test=None,
        t_test=None,
        epochs: int | None = None,
        mini_batch_size: int | None = None,
        optimizer: Optimizer | str = "SGD",
        optimizer_param: dict | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        *,
        iters: int | None = None,
        sample_with_replacement: bool = False,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        eval_batch_size: int = 5000,
        validation_split: float = 0.0,
        callbacks: list[Callback] | tuple[Callback, ...] | None = None,
        metadata: dict | None = None,
        batch_size: int | None = None,
        optimizer_params: dict | None = None,
        progress: str | None = None,
    ):
        self.network = self._check_network(network)
        self.dtype = network_dtype(network)
        x_train, t_train = check_data(x_train, t_train, "x_train", "t_train")
        self.validation_split = self._check_split(validation_split, len(x_train))
        self.x_train, self.t_train, self.x_val, self.t_val = _split(
            x_train, t_train, self.validation_split
        )
        if (x_test is None) != (t_test is None):
            raise ValueError("give both x_test and t_test, or neither")
        self.x_test = self.t_test = None
        if x_test is not None:
            self.x_test, self.t_test = check_data(x_test, t_test, "x_test", "t_test")
        self.optimizer = self._make_optimizer(
            optimizer, _one_of("optimizer_param", optimizer_param, optimizer_params)
        )
        n = len(self.x_train)
        batch_size = _one_of("mini_batch_size", mini_batch_size, batch_size)
        self.batch_size = check_count("mini_batch_size", 100 if batch_size is None else batch_size)
        if self.batch_size > n:
            raise ValueError(
                f"mini_batch_size must be at most the number of training samples ({n:,}), "
                f"got {self.batch_size:,}"
            )
        self.sample_with_replacement = bool(sample_with_replacement)
        self.iterations_per_epoch = -(-n // self.batch_size)
        if epochs is not None and iters is not None:
            raise ValueError(f"give epochs or iters, not both (got epochs={epochs}, iters={iters})")
        if iters is not None:
            self.target_iteration = check_count("iters", iters)
        else:
            most = MAX_ITERATIONS // self.iterations_per_epoch
            epochs = check_count("epochs", 20 if epochs is None else epochs, maximum=most)
            self.target_iteration = epochs * self.iterations_per_epoch
        if rng is not None and seed is not None:
            raise ValueError("give either seed or rng, not both")
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.eval_batch_size = check_count("eval_batch_size", eval_batch_size)
        if evaluate_sample_num_per_epoch is not None:
            evaluate_sample_num_per_epoch = check_count(
                "evaluate_sample_num_per_epoch", evaluate_sample_num_per_epoch
            )
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        if progress is not None:  # the earlier option
            if progress not in ("auto", "bar", "log", "none"):
                raise ValueError(f"progress must be one of auto, bar, log, none, got {progress!r}")
            verbose = progress in ("auto", "bar")
            if progress == "log":  # the epoch lines without a bar
                callbacks = [*(callbacks or ()), EpochLog()]
        self.callbacks = _with_defaults(callbacks, verbose)
        self.metadata = dict(metadata or {})
        self.iteration = 0
        self.history = History(iterations_per_epoch=self.iterations_per_epoch)
        self.stop_training = False
        self.last_checkpoint: tuple[Path, int] | None = None  # set by ModelCheckpoint
        self._epoch_rng_state = None
        self.run_settings: dict | None = None  # the saved run's, when resumed

    # -- construction helpers ----------------------------------------------------------------
    @staticmethod
    def _check_network(network):
        has_step = hasattr(network, "loss_and_gradient") or (
            hasattr(network, "loss") and hasattr(network, "gradient")
        )
        if not (hasattr(network, "params") and hasattr(network, "accuracy") and has_step):
            raise TypeError(
                "Trainer: network must have params, accuracy(x, t) and loss_and_gradient(x, t) "
                f"(or loss and gradient), got {type(network).__name__}"
            )
        return network

    @staticmethod
    def _make_optimizer(optimizer, hyperparameters: dict | None) -> Optimizer:
        if isinstance(optimizer, Optimizer) or (
            hasattr(optimizer, "update") and not isinstance(optimizer, str)
        ):
            if hyperparameters:
                raise ValueError(
                    "optimizer_param applies only when optimizer is given by name, "
                    f"got an instance {optimizer!r}"
                )
            return optimizer
        return get_optimizer(optimizer, **(hyperparameters or {}))

    @staticmethod
    def _check_split(split, n: int) -> float:
        if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 <= split < 1:
            raise ValueError(f"validation_split must be a fraction from 0 to < 1, got {split!r}")
        held_out = round(n * split)
        if split > 0 and not 1 <= held_out < n:
            raise ValueError(
                f"validation_split={split:g} of {n:,} training samples holds out {held_out}; "
                "it must leave at least one sample on each side"
            )
        return float(split)

    # -- the book's names ----------------------------------------------------------------------
    @property
    def train_loss_list(self) -> list[float]:
        return self.history.loss

    @property
    def train_acc_list(self) -> list[float]:
        return self.history.train_acc

    @property
    def test_acc_list(self) -> list[float]:
        return self.history.test_acc

    @property
    def epoch(self) -> float:
        """Epochs completed (fractional in the middle of one)."""
        return self.iteration / self.iterations_per_epoch

    def samples(self, iterations: int) -> int:
        """Samples processed by ``iterations`` steps (the last batch of an epoch is smaller)."""
        epochs, rest = divmod(iterations, self.iterations_per_epoch)
        return epochs * len(self.x_train) + rest * self.batch_size

    # -- the loop ------------------------------------------------------------------------------
    def train_step(self, x_batch, t_batch) -> float:
        """One step of the book's loop (5.7.4): the gradient of the batch, then the update.

        ``x_batch`` may be uint8 pixels: it is converted to ``x / 255`` in the network's
        dtype. Returns the batch's loss as a float (the one computed for the gradient). A
        loss that is not finite is returned without updating the parameters (its gradient
        is no direction), so the network keeps its last finite weights.
        """
        x_batch = as_input(np.asarray(x_batch), self.dtype)
        network = self.network
        try:
            if hasattr(network, "loss_and_gradient"):
                loss, grads = network.loss_and_gradient(x_batch, t_batch)
            else:
                grads = network.gradient(x_batch, t_batch)
                loss = network.loss(x_batch, t_batch)
        except ValueError:
            # The layers refuse non-finite scores; when the weights or the scores blew up,
            # that is the divergence showing, anything else (a shape error) is a mistake.
            if not self._blew_up(x_batch):
                raise
            return math.nan
        loss = float(loss)  # a NumPy scalar would not go into JSON
        if math.isfinite(loss):
            self.optimizer.update(network.params, grads)
        return loss

    def _blew_up(self, x_batch) -> bool:
        if not all(np.isfinite(p).all() for p in self.network.params.values()):
            return True
        predict = getattr(self.network, "predict", None)
        with np.errstate(over="ignore", invalid="ignore"):
            return predict is not None and not np.isfinite(predict(x_batch)).all()

    def train(self) -> History:
        """Train until the requested epochs/iterations, or until a callback stops it.

        Raises :class:`TrainingDiverged` when the loss becomes NaN or infinite or explodes.
        """
        if self.iteration >= self.target_iteration:
            raise ValueError(
                f"nothing to do: training is already at iteration {self.iteration:,} "
                f"({_epochs(self.epoch)}) and was asked to stop at {self.target_iteration:,}; "
                "ask for more epochs or iterations"
            )
        self.stop_training = False
        completed = False
        self._call("on_train_begin")
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                while self.iteration < self.target_iteration and not self.stop_training:
                    self._train_epoch()
            completed = True
        finally:
            self._call("on_train_end", {"completed": completed})
        return self.history

    def _train_epoch(self) -> None:
        """The rest of the current epoch (all of it unless resumed mid-epoch), then evaluate."""
        start = self.iteration % self.iterations_per_epoch
        stop = min(self.iterations_per_epoch, start + self.target_iteration - self.iteration)
        # A mid-epoch checkpoint stores the state this epoch's batches were drawn from, so a
        # resumed run draws them again and skips the ones done.
        self._epoch_rng_state = self.rng.bit_generator.state
        batches = iterate_minibatches(
            len(self.x_train),
            self.batch_size,
            self.rng,
            sample_with_replacement=self.sample_with_replacement,
        )
        losses = self.history.loss
        first, samples, started = len(losses), 0, time.perf_counter()
        for index in itertools.islice(batches, start, stop):
            loss = self.train_step(self.x_train[index], self.t_train[index])
            # The step counts once every callback accepted it (DivergenceStop may raise).
            self._call(
                "on_batch_end", {"iteration": self.iteration + 1, "loss": loss, "size": len(index)}
            )
            self.iteration += 1
            losses.append(loss)
            samples += len(index)
            if self.stop_training:
                break
        train_seconds = time.perf_counter() - started
        self._evaluate(train_seconds, float(np.mean(losses[first:])), samples)

    def _evaluate(self, train_seconds: float, epoch_loss: float, samples: int) -> None:
        final = self.iteration >= self.target_iteration or self.stop_training
        n = None if final else self.evaluate_sample_num_per_epoch
        started = time.perf_counter()
        train_acc = self.evaluate(self.x_train[:n], self.t_train[:n])
        val_acc = test_acc = math.nan
        if self.x_val is not None:
            val_acc = self.evaluate(self.x_val, self.t_val)
        if self.x_test is not None:
            test_acc = self.evaluate(self.x_test[:n], self.t_test[:n])
        eval_seconds = time.perf_counter() - started
        h = self.history
        h.epoch.append(self.epoch)
        h.iteration.append(self.iteration)
        h.train_acc.append(train_acc)
        h.val_acc.append(val_acc)
        h.test_acc.append(test_acc)
        h.train_seconds.append(train_seconds)
        h.eval_seconds.append(eval_seconds)
        logs = {
            "epoch": self.epoch,
            "iteration": self.iteration,
            "loss": epoch_loss,
            "train_acc": train_acc,
            "val_acc": val_acc,
            "test_acc": test_acc,
            "train_seconds": train_seconds,
            "eval_seconds": eval_seconds,
            "elapsed_seconds": h.elapsed_seconds[-1],
            "samples": samples,
            "final": final,
        }
        self._call("on_epoch_end", logs)

    def _call(self, hook: str, logs: dict | None = None) -> None:
        arguments = (self,) if logs is None else (self, logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*arguments)

    def evaluate(self, x, t) -> float:
        """Accuracy of the network on ``x``, ``t``, in chunks of ``eval_batch_size``."""
        return accuracy(self.network, x, t, batch_size=self.eval_batch_size, dtype=self.dtype)

    # -- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict:
        """The trainer's counters and data-order random state (JSON-compatible); what
        :func:`~backprop.training.resume` checks and restores."""
        if self.iteration % self.iterations_per_epoch:  # in the middle of an epoch
            rng_state = self._epoch_rng_state
        else:
            rng_state = self.rng.bit_generator.state
        return {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "iterations_per_epoch": self.iterations_per_epoch,
            "batch_size": self.batch_size,
            "sample_with_replacement": self.sample_with_replacement,
            "validation_split": self.validation_split,
            "train_size": len(self.x_train),
            "target_iteration": self.target_iteration,
            "data_rng_state": rng_state,
        }

    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Save network, optimizer, history and training state to ``path`` (atomically)."""
        h = self.history
        metrics = {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "loss": h.loss[-1] if h.loss else None,
            "train_acc": h.train_acc[-1] if h.train_acc else None,
            "test_acc": h.test_acc[-1] if h.test_acc else None,
        }
        metadata = {**self.metadata, "training": self.state(), "metrics": metrics}
        return save_checkpoint(
            path, self.network, self.optimizer, metadata=metadata, arrays=h.to_arrays()
        )

    def __repr__(self) -> str:
        return (
            f"Trainer(network={type(self.network).__name__}, optimizer={self.optimizer!r}, "
            f"mini_batch_size={self.batch_size}, iteration={self.iteration}/"
            f"{self.target_iteration}, dtype={self.dtype})"
        )


def _one_of(name: str, value, earlier_name_value):
    """The book's argument ``name`` or its earlier library name, not both."""
    if earlier_name_value is None:
        return value
    if value is not None:
        earlier = {"mini_batch_size": "batch_size", "optimizer_param": "optimizer_params"}[name]
        raise ValueError(f"give {name} or {earlier}, not both")
    return earlier_name_value


def _split(x, t, split: float):
    """Training and validation parts: the last ``round(N * split)`` samples are held out."""
    held_out = round(len(x) * split)
    if held_out == 0:
        return x, t, None, None
    return x[:-held_out], t[:-held_out], x[-held_out:], t[-held_out:]


def _with_defaults(callbacks, verbose: bool) -> list[Callback]:
    """The given callbacks after the default pieces they do not replace."""
    given = list(callbacks or ())
    for callback in given:
        if not all(
            hasattr(callback, hook)
            for hook in ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")
        ):
            raise TypeError(
                f"callbacks: {callback!r} is not a Callback (it needs on_train_begin, "
                "on_batch_end, on_epoch_end and on_train_end)"
            )
    defaults: list[Callback] = [DivergenceStop()]
    if verbose:
        defaults += [ProgressBar(), EpochLog()]
    kept = [d for d in defaults if not any(isinstance(c, type(d)) for c in given)]
    return kept + given


def _epochs(value: float) -> str:
    """``1 epoch``, ``2 epochs``, ``1.5 epochs``."""
    return f"{value:.4g} epoch" + ("" if value == 1 else "s")
