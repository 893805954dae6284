"""Training: mini-batches, the update loop, evaluation each epoch, and its History.

Book: 4.5.2-4.5.3 and 5.7.4 (the training loop of TwoLayerNet: a mini-batch, the gradient,
``params[key] -= lr * grad[key]``, the accuracy once per epoch) and the ``Trainer`` class of
``common/trainer.py`` (chapter 6).

What this module changes from the book's loop, and why
------------------------------------------------------
* **Epochs without replacement.** Each epoch visits every training sample once, in a fresh
  random order: ``ceil(N / batch_size)`` mini-batches, the last one smaller when ``batch_size``
  does not divide N. The book draws every batch with ``np.random.choice`` (with replacement)
  and evaluates when ``i % (N / batch_size) == 0``, a float test that never fires for batch
  sizes that do not divide N; ``sample_with_replacement=True`` keeps the book's draw, still
  with whole-number epochs of ``ceil(N / batch_size)`` iterations.
* **One forward pass per step.** The loss that is logged is the one computed for the gradient
  (``network.loss_and_gradient``) when the network has that method; the book runs a second
  forward pass only to print the loss.
* **Compact data.** Images may be kept as uint8 (pixel values 0..255, four or eight times
  smaller than floats); each mini-batch and each evaluation chunk is converted to the
  network's dtype on the fly (``x / 255``), so no float copy of the whole data set is ever
  made. Float data is cast per batch when its dtype differs from the network's.
* **Evaluation in chunks** of ``eval_batch_size`` samples, for the same reason.
* **Reproducible.** One ``seed`` (or ``rng``) decides the data order; with a network built
  from a seed too, two runs give bit-for-bit identical weights. Nothing touches NumPy's
  global random state.
* **Stops on divergence.** A loss that becomes NaN or infinite raises
  :class:`TrainingDiverged` naming the iteration and the likely cause; the last checkpoint
  written (once per epoch) is the last good state.

The network protocol
--------------------
``params`` (dict of arrays, updated in place by the optimizer), ``accuracy(x, t)`` and either
``loss_and_gradient(x, t)`` or both ``loss(x, t)`` and ``gradient(x, t)``. For checkpoints it
also needs ``config()`` and ``load_params(params)``. ``TwoLayerNet`` and ``MultiLayerNet`` have
all of them; the trainer never looks at a concrete class.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from backprop._atomic import atomic_write
from backprop.checkpoint import METADATA_KEYS, Checkpoint, load_checkpoint, save_checkpoint
from backprop.optimizers import Optimizer, get_optimizer

__all__ = [
    "History",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "as_input",
    "confusion_matrix",
    "iterate_minibatches",
    "predict_labels",
]

PROGRESS_MODES = ("auto", "bar", "log", "none")


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite; the message says where and what to try.

    Attributes: ``iteration`` (1-based, the step whose loss was not finite), ``epoch``,
    ``checkpoint`` (path of the last good checkpoint, or None).
    """

    def __init__(self, message: str, iteration: int, epoch: int, checkpoint: Path | None):
        super().__init__(message)
        self.iteration = iteration
        self.epoch = epoch
        self.checkpoint = checkpoint


# ---------------------------------------------------------------------------------------------
# Data helpers
# ---------------------------------------------------------------------------------------------


def as_input(x: np.ndarray, dtype) -> np.ndarray:
    """A batch ``x`` as the network's input: uint8 pixels become ``x / 255`` in ``dtype``.

    Float input of another dtype is cast; float input of ``dtype`` is returned as it is.
    """
    if x.dtype == np.uint8:
        return np.divide(x, 255, dtype=dtype)
    if x.dtype != dtype:
        return x.astype(dtype)
    return x


def iterate_minibatches(
    n: int,
    batch_size: int,
    rng: np.random.Generator,
    *,
    sample_with_replacement: bool = False,
):
    """Index arrays of the mini-batches of one epoch over ``n`` samples.

    Without replacement: a random permutation cut into ``ceil(n / batch_size)`` batches (the
    last one has ``n % batch_size`` samples when that is not 0), so every sample is seen once.
    With replacement: as many batches of ``batch_size`` indices drawn by ``rng.choice(n,
    batch_size)``, the book's ``np.random.choice`` loop.
    """
    count = -(-n // batch_size)
    if sample_with_replacement:
        for _ in range(count):
            yield rng.choice(n, batch_size)
    else:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def accuracy(network, x, t, *, batch_size: int = 5000, dtype=None) -> float:
    """``network.accuracy`` over ``x`` in chunks of ``batch_size``, each converted by
    :func:`as_input` (so uint8 data is never copied to floats as a whole).

    Parameters
    ----------
    x : ndarray, shape (N, ...), uint8 or float
    t : ndarray, shape (N,) labels or (N, C) one-hot
    dtype : the network's dtype (default: that of its first parameter)
    """
    dtype = _network_dtype(network) if dtype is None else np.dtype(dtype)
    n = len(x)
    if n == 0:
        return 0.0
    correct = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        chunk_accuracy = network.accuracy(as_input(x[start:stop], dtype), t[start:stop])
        correct += round(chunk_accuracy * (stop - start))
    return correct / n


def predict_labels(network, x, *, batch_size: int = 5000, dtype=None) -> np.ndarray:
    """The predicted class of every sample, ``argmax(network.predict(x))``, in chunks."""
    dtype = _network_dtype(network) if dtype is None else np.dtype(dtype)
    labels = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch_size):
        scores = network.predict(as_input(x[start : start + batch_size], dtype))
        labels[start : start + batch_size] = np.argmax(scores, axis=1)
    return labels


def confusion_matrix(t, y, num_classes: int | None = None) -> np.ndarray:
    """Counts ``m[i, j]`` of samples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    t, y : ndarray of int, shape (N,)
        True and predicted labels.
    num_classes : int, optional
        Default: 1 + the largest label in ``t`` or ``y``. Every label must lie in
        ``0 .. num_classes - 1`` (else a ValueError naming the first one outside).
    """
    t, y = np.asarray(t), np.asarray(y)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(
            f"confusion_matrix: t and y must be label vectors of the same length, "
            f"got t.shape={t.shape}, y.shape={y.shape}"
        )
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), y.max(initial=-1))) + 1
    for name, labels in (("t", t), ("y", y)):
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.size:
            message = (
                f"confusion_matrix: {name} holds the label {outside[0]}, outside "
                f"0..{num_classes - 1} (num_classes={num_classes})"
            )
            raise ValueError(message)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (t, y), 1)
    return matrix


def _network_dtype(network) -> np.dtype:
    dtype = getattr(network, "dtype", None)
    if dtype is None:
        dtype = next(iter(network.params.values())).dtype
    return np.dtype(dtype)


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------

_EVAL_COLUMNS = ("epoch", "iteration", "train_acc", "test_acc", "train_seconds", "eval_seconds")


@dataclasses.dataclass
class History:
    """What happened during training, as columns.

    Attributes
    ----------
    iterations_per_epoch : int
    loss : list of float
        The mini-batch loss of every iteration (index i is iteration i + 1).
    epoch, iteration, train_acc, test_acc, train_seconds, eval_seconds : lists
        One entry per evaluation (at the end of every epoch, and when training stops in the
        middle of one): the epoch reached (``iteration / iterations_per_epoch``, fractional
        for a partial epoch), the iteration, the accuracies (``test_acc`` is NaN without test
        data), and the seconds spent training since the previous evaluation and evaluating.
    """

    iterations_per_epoch: int = 1
    loss: list[float] = dataclasses.field(default_factory=list)
    epoch: list[float] = dataclasses.field(default_factory=list)
    iteration: list[int] = dataclasses.field(default_factory=list)
    train_acc: list[float] = dataclasses.field(default_factory=list)
    test_acc: list[float] = dataclasses.field(default_factory=list)
    train_seconds: list[float] = dataclasses.field(default_factory=list)
    eval_seconds: list[float] = dataclasses.field(default_factory=list)

    @property
    def elapsed_seconds(self) -> list[float]:
        """Seconds since the start of training at each evaluation (training + evaluating)."""
        return np.cumsum(np.add(self.train_seconds, self.eval_seconds)).tolist()

    def to_dict(self) -> dict:
        """JSON-compatible columns (NaN becomes None)."""
        data = dataclasses.asdict(self)
        data["test_acc"] = [None if math.isnan(v) else v for v in self.test_acc]
        data["elapsed_seconds"] = self.elapsed_seconds
        return data

    @classmethod
    def from_dict(cls, data: dict) -> History:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        if "test_acc" in values:
            values["test_acc"] = [math.nan if v is None else v for v in values["test_acc"]]
        return cls(**values)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The columns as arrays named ``history/<column>`` (for checkpoints)."""
        arrays = {"history/loss": np.asarray(self.loss, dtype=np.float64)}
        arrays["history/iterations_per_epoch"] = np.asarray(self.iterations_per_epoch)
        for name in _EVAL_COLUMNS:
            dtype = np.int64 if name == "iteration" else np.float64
            arrays[f"history/{name}"] = np.asarray(getattr(self, name), dtype=dtype)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> History:
        prefix = "history/"
        values = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        history = cls(iterations_per_epoch=int(values.pop("iterations_per_epoch", 1)))
        for name, value in values.items():
            if hasattr(history, name):
                setattr(history, name, np.asarray(value).tolist())
        return history

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the columns as JSON (atomically)."""
        with atomic_write(path, "w", encoding="utf-8") as file:
            json.dump(self.to_dict(), file, allow_nan=False)
            file.write("\n")
        return Path(path)

    def save_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write one row per iteration (atomically): ``iteration, epoch, loss, train_acc,
        test_acc, elapsed_seconds``; the last three are filled on the rows where the network
        was evaluated.
        """
        evaluations = {
            it: (train, test, elapsed)
            for it, train, test, elapsed in zip(
                self.iteration, self.train_acc, self.test_acc, self.elapsed_seconds, strict=True
            )
        }
        with atomic_write(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(
                ["iteration", "epoch", "loss", "train_acc", "test_acc", "elapsed_seconds"]
            )
            for i, loss in enumerate(self.loss, start=1):
                row = [i, f"{i / self.iterations_per_epoch:.4f}", repr(loss), "", "", ""]
                if i in evaluations:
                    train, test, elapsed = evaluations[i]
                    row[3:] = [repr(train), "" if math.isnan(test) else repr(test)]
                    row.append(f"{elapsed:.3f}")
                writer.writerow(row[:6])
        return Path(path)

    @classmethod
    def load_json(cls, path: str | os.PathLike[str]) -> History:
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))

    def __repr__(self) -> str:
        last = f", test_acc={self.test_acc[-1]:.4f}" if self.test_acc else ""
        return f"History(iterations={len(self.loss)}, evaluations={len(self.epoch)}{last})"


# ---------------------------------------------------------------------------------------------
# Progress display
# ---------------------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on stderr (mode "bar") and/or one log line per epoch on ``stream``."""

    def __init__(self, mode: str, stream: TextIO, total_items: int, done_items: int):
        self.mode = mode
        self.stream = stream
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(
                total=total_items,
                initial=done_items,
                unit="img",
                unit_scale=True,
                dynamic_ncols=True,
                leave=False,
                mininterval=0.25,
                file=sys.stderr,
            )

    def step(self, items: int, loss: float, test_acc: float, iteration: int) -> None:
        if self.bar is not None:
            self.bar.update(items)
            if iteration % 25 == 0:
                acc = "" if math.isnan(test_acc) else f", test acc {test_acc:.4f}"
                self.bar.set_postfix_str(f"loss {loss:.4f}{acc}", refresh=False)

    def line(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __repr__(self) -> str:
        return f"_Progress(mode={self.mode!r})"


# ---------------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------------


# What Trainer.state() records and from_checkpoint() needs.
_STATE_KEYS = (
    "iteration",
    "batch_size",
    "sample_with_replacement",
    "train_size",
    "data_rng_state",
)


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


class Trainer:
    """Train a network on mini-batches and evaluate it once per epoch (book 5.7.4, 6).

    Parameters
    ----------
    network :
        See the module docstring for the protocol.
    x_train : ndarray, shape (N, ...), uint8 pixels (0..255) or floats
    t_train : ndarray, shape (N,) integer labels or (N, C) one-hot
    x_test, t_test : ndarray, optional
        Evaluated after every epoch alongside the training set.
    optimizer : Optimizer or str
        An optimizer, or a name for :func:`get_optimizer` with ``optimizer_params``.
    optimizer_params : dict, optional
        Hyperparameters when ``optimizer`` is a name, e.g. ``{"lr": 0.1}``.
    epochs, iters : int
        Length of training, in epochs or iterations (give one; the default is 20 epochs, as
        the book's Trainer). Counted from the start of the run, so a resumed run stops
        where the uninterrupted one would have.
    batch_size : int
        Mini-batch size, 1..N.
    sample_with_replacement : bool
        Draw each batch with ``rng.choice(N, batch_size)``, the book's loop.
    seed, rng :
        Source of the data order: an int seed or a ``numpy.random.Generator``.
    eval_batch_size : int
        Chunk size of the evaluations.
    checkpoint : path, optional
        Save network, optimizer, history and data-order state here after every evaluation
        (atomically: the file always holds the last complete checkpoint).
    checkpoint_interval : float
        Minimum seconds between two checkpoints (0: after every evaluation); the first
        evaluation and the end of training are always saved. Each save is fsynced, which
        costs milliseconds, so runs of many short epochs may want to save less often.
    metadata : dict, optional
        Extra JSON-compatible values stored in the checkpoint (e.g. ``dataset``, ``seed``).
    progress : "auto", "bar", "log" or "none"
        "bar": a tqdm bar on stderr plus the epoch lines; "log": one line per epoch;
        "auto": "bar" when stderr is a terminal, else "log"; "none": silent.
    stream : text file, optional
        Where the epoch lines go (default: standard output).
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
        optimizer: Optimizer | str = "sgd",
        optimizer_param: dict | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        *,
        optimizer_params: dict | None = None,
        iters: int | None = None,
        batch_size: int | None = None,
        sample_with_replacement: bool = False,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        eval_batch_size: int = 5000,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float = 0.0,
        metadata: dict | None = None,
        progress: str | None = None,
        stream: TextIO | None = None,
    ):
        if batch_size is None:
            batch_size = 100 if mini_batch_size is None else mini_batch_size
        elif mini_batch_size is not None:
            raise ValueError("give mini_batch_size or batch_size, not both")
        if optimizer_params is None:
            optimizer_params = optimizer_param
        elif optimizer_param is not None:
            raise ValueError("give optimizer_param or optimizer_params, not both")
        if progress is None:
            progress = "auto" if verbose else "none"
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self._check_network(network)
        self.network = network
        self.dtype = _network_dtype(network)
        self.x_train, self.t_train = self._check_data(x_train, t_train, "x_train", "t_train")
        if (x_test is None) != (t_test is None):
            raise ValueError("give both x_test and t_test, or neither")
        self.x_test = self.t_test = None
        if x_test is not None:
            self.x_test, self.t_test = self._check_data(x_test, t_test, "x_test", "t_test")
        if isinstance(optimizer, Optimizer):
            if optimizer_params:
                raise ValueError("optimizer_params apply only when optimizer is given by name")
            self.optimizer = optimizer
        else:
            self.optimizer = get_optimizer(optimizer, **(optimizer_params or {}))
        n = len(self.x_train)
        if isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool):
            if not 1 <= batch_size <= n:
                raise ValueError(
                    f"batch_size must be between 1 and the number of training samples ({n}), "
                    f"got {batch_size}"
                )
        self.batch_size = _check_count("batch_size", batch_size)
        self.sample_with_replacement = bool(sample_with_replacement)
        self.iterations_per_epoch = -(-n // self.batch_size)
        if epochs is not None and iters is not None:
            raise ValueError(f"give epochs or iters, not both (got epochs={epochs}, iters={iters})")
        if iters is not None:
            self.target_iteration = _check_count("iters", iters)
        else:
            epochs = 20 if epochs is None else _check_count("epochs", epochs)
            self.target_iteration = epochs * self.iterations_per_epoch
        if rng is not None and seed is not None:
            raise ValueError("give either seed or rng, not both")
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.eval_batch_size = _check_count("eval_batch_size", eval_batch_size)
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        if not (isinstance(checkpoint_interval, (int, float)) and checkpoint_interval >= 0):
            raise ValueError(
                f"checkpoint_interval must be a number of seconds ≥ 0, got {checkpoint_interval!r}"
            )
        self.checkpoint_interval = float(checkpoint_interval)
        self.saved_checkpoint: Path | None = None  # the last one written successfully
        self._saved_at = -math.inf  # time.monotonic() of that save
        self._saved_iteration = 0
        self.metadata = dict(metadata or {})
        if progress not in PROGRESS_MODES:
            raise ValueError(
                f"progress must be one of {', '.join(PROGRESS_MODES)}, got {progress!r}"
            )
        self.progress = progress
        self.stream = stream
        self.iteration = 0
        self.history = History(iterations_per_epoch=self.iterations_per_epoch)
        self._epoch_rng_state = None

    # -- construction helpers ----------------------------------------------------------------
    @staticmethod
    def _check_network(network) -> None:
        has_step = hasattr(network, "loss_and_gradient") or (
            hasattr(network, "loss") and hasattr(network, "gradient")
        )
        if not (hasattr(network, "params") and hasattr(network, "accuracy") and has_step):
            raise TypeError(
                "Trainer: network must have params, accuracy(x, t) and loss_and_gradient(x, t) "
                f"(or loss and gradient), got {type(network).__name__}"
            )

    @staticmethod
    def _check_data(x, t, x_name: str, t_name: str) -> tuple[np.ndarray, np.ndarray]:
        x, t = np.asarray(x), np.asarray(t)
        if x.ndim < 2:
            raise ValueError(f"{x_name} must be a batch of shape (N, ...), got shape {x.shape}")
        if x.dtype != np.uint8 and x.dtype.kind != "f":
            raise TypeError(
                f"{x_name} must be uint8 pixels (0..255) or floats, got dtype {x.dtype}"
            )
        if len(x) == 0:
            raise ValueError(f"{x_name} is empty")
        if t.ndim not in (1, 2) or len(t) != len(x):
            raise ValueError(
                f"{t_name} must hold one label (N,) or one-hot row (N, C) per sample of "
                f"{x_name}, got {t_name}.shape={t.shape} for {x_name}.shape={x.shape}"
            )
        if t.ndim == 1 and t.dtype.kind not in "iu":
            raise TypeError(f"{t_name} labels must be integers, got dtype {t.dtype}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise ValueError(f"{x_name} contains NaN or infinite values")
        return x, t

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: Checkpoint | str | os.PathLike[str],
        x_train,
        t_train,
        x_test=None,
        t_test=None,
        /,
        **options,
    ) -> Trainer:
        """A trainer that continues the run saved in ``checkpoint``.

        The network, optimizer (with its state), history, iteration counter and data order
        come from the checkpoint; ``batch_size`` and ``sample_with_replacement`` default to
        the saved ones and must match them. ``epochs``/``iters`` are totals: a run saved at
        epoch 2 and resumed with ``epochs=3`` trains one more epoch; without either, the run
        continues to the length it was started with.

        What resuming reproduces: with the same training data, a run interrupted at any
        saved point (an epoch end, or the end of an ``iters`` run) and resumed continues
        with the same mini-batches and the same optimizer state, so its final weights equal
        the uninterrupted run's bit for bit (on the same machine and NumPy/BLAS).
        """
        if not isinstance(checkpoint, Checkpoint):
            checkpoint = load_checkpoint(checkpoint)
        path = checkpoint.path
        state = checkpoint.metadata.get("training")
        if not isinstance(state, dict):
            raise ValueError(f"{path}: has no training state (not saved by a Trainer)")
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise ValueError(f"{path}: its training state lacks {', '.join(missing)}")
        if checkpoint.optimizer is None:
            raise ValueError(f"{path}: has no optimizer state to resume with")
        if options.get("epochs") is None and options.get("iters") is None:
            options["epochs"] = None
            options["iters"] = state.get("target_iteration")
        options.setdefault("batch_size", state["batch_size"])
        options.setdefault("sample_with_replacement", state["sample_with_replacement"])
        for name in ("batch_size", "sample_with_replacement"):
            if options[name] != state[name]:
                raise ValueError(
                    f"{path}: the run was trained with {name}={state[name]!r}; resuming needs "
                    f"the same, got {options[name]!r}"
                )
        if "metadata" not in options:
            options["metadata"] = {
                k: v
                for k, v in checkpoint.metadata.items()
                if k not in METADATA_KEYS and k not in ("training", "metrics")
            }
        trainer = cls(
            checkpoint.network,
            x_train,
            t_train,
            x_test,
            t_test,
            optimizer=checkpoint.optimizer,
            **options,
        )
        trainer._restore(path, state, checkpoint.arrays)
        return trainer

    def _restore(self, path: Path, state: dict, arrays: dict) -> None:
        n = len(self.x_train)
        if state.get("train_size") != n:
            raise ValueError(
                f"{path}: the run was trained on {state.get('train_size')} samples, the "
                f"training data given has {n}; resume with the same data"
            )
        self.iteration = int(state["iteration"])
        try:
            self.rng.bit_generator.state = state["data_rng_state"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: cannot restore the data order: {exc}") from None
        self.history = History.from_arrays(arrays)
        self.history.iterations_per_epoch = self.iterations_per_epoch

    # -- the loop ---------------------------------------------------------------------------
    @property
    def epoch(self) -> float:
        """Epochs completed (fractional in the middle of one)."""
        return self.iteration / self.iterations_per_epoch

    def train(self) -> History:
        """Train until the requested epochs/iterations; return the :class:`History`.

        Raises :class:`TrainingDiverged` when the loss becomes NaN or infinite.
        """
        if self.iteration >= self.target_iteration:
            raise ValueError(
                f"nothing to do: training is already at iteration {self.iteration} "
                f"(epoch {self.epoch:g}) and was asked to stop at {self.target_iteration}; "
                "ask for more epochs or iterations"
            )
        mode = self.progress
        if mode == "auto":
            mode = "bar" if getattr(sys.stderr, "isatty", lambda: False)() else "log"
        stream = self.stream if self.stream is not None else sys.stdout
        progress = _Progress(
            mode,
            stream,
            self._items(self.target_iteration),
            self._items(self.iteration),
        )
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._loop(progress)
        finally:
            progress.close()
        return self.history

    def _items(self, iterations: int) -> int:
        """Samples processed by ``iterations`` steps (the last batch of an epoch is smaller)."""
        epochs, rest = divmod(iterations, self.iterations_per_epoch)
        return epochs * len(self.x_train) + rest * self.batch_size

    def _loop(self, progress: _Progress) -> None:
        network, optimizer = self.network, self.optimizer
        params = network.params
        step = getattr(network, "loss_and_gradient", None) or self._two_pass_step
        x_train, t_train, dtype = self.x_train, self.t_train, self.dtype
        n, batch_size = len(x_train), self.batch_size
        per_epoch = self.iterations_per_epoch
        losses = self.history.loss
        first_step = True
        test_acc = self.history.test_acc[-1] if self.history.test_acc else math.nan
        while self.iteration < self.target_iteration:
            start = self.iteration % per_epoch
            stop = min(per_epoch, start + self.target_iteration - self.iteration)
            # The state the epoch's batches are drawn from; a mid-epoch checkpoint stores it,
            # so that a resumed run draws the same batches again and skips the done ones.
            self._epoch_rng_state = self.rng.bit_generator.state
            batches = iterate_minibatches(
                n, batch_size, self.rng, sample_with_replacement=self.sample_with_replacement
            )
            first_loss, items = len(losses), 0
            started = time.perf_counter()
            for index in itertools.islice(batches, start, stop):
                x_batch = as_input(x_train[index], dtype)
                t_batch = t_train[index]
                try:
                    loss, grads = step(x_batch, t_batch)
                    loss = float(loss)  # a NumPy scalar would not go into JSON
                except ValueError:
                    if first_step or not self._diverged(x_batch):
                        raise
                    loss = math.nan
                if not math.isfinite(loss):
                    self._raise_diverged(loss)
                optimizer.update(params, grads)
                self.iteration += 1
                first_step = False
                losses.append(loss)
                items += len(index)
                progress.step(len(index), loss, test_acc, self.iteration)
            train_seconds = time.perf_counter() - started
            epoch_loss = float(np.mean(losses[first_loss:]))
            test_acc = self._evaluate_and_log(progress, train_seconds, epoch_loss, items)

    def train_step(self, x_batch, t_batch) -> float:
        """One step of the book's loop (5.7.4): the gradient of the batch, then the update.

        ``x_batch`` may be uint8 pixels (converted to ``x / 255`` in the network's dtype).
        Returns the batch's loss as a float (the one computed for the gradient).
        """
        x_batch = as_input(np.asarray(x_batch), self.dtype)
        step = getattr(self.network, "loss_and_gradient", None) or self._two_pass_step
        loss, grads = step(x_batch, t_batch)
        self.optimizer.update(self.network.params, grads)
        return float(loss)

    def _two_pass_step(self, x_batch, t_batch):
        grads = self.network.gradient(x_batch, t_batch)
        return self.network.loss(x_batch, t_batch), grads

    def _diverged(self, x_batch) -> bool:
        """After a ValueError from the loss: is it the network's numbers that blew up?"""
        if not all(np.isfinite(p).all() for p in self.network.params.values()):
            return True
        predict = getattr(self.network, "predict", None)
        return predict is not None and not np.isfinite(predict(x_batch)).all()

    def _raise_diverged(self, loss: float) -> None:
        iteration = self.iteration + 1
        epoch = self.iteration // self.iterations_per_epoch + 1
        lr = getattr(self.optimizer, "lr", None)
        cause = (
            f"the learning rate lr={lr:g} is probably too high (try {lr / 10:g})"
            if lr is not None
            else "the learning rate is probably too high"
        )
        if self.saved_checkpoint is not None:
            kept = (
                f"the last good checkpoint is {self.saved_checkpoint} "
                f"(iteration {self._saved_iteration})"
            )
        elif self.checkpoint is not None:
            kept = "no checkpoint was saved: it diverged before the first epoch ended"
        else:
            kept = "no checkpoint file was requested"
        value = "NaN" if math.isnan(loss) else "infinite"
        message = (
            f"training stopped at iteration {iteration} (epoch {epoch}): the loss became "
            f"{value}, so the updates diverged; {cause}; {kept}"
        )
        raise TrainingDiverged(message, iteration, epoch, self.saved_checkpoint)

    def evaluate(self, x, t) -> float:
        """Accuracy of the network on ``x``, ``t``, in chunks of ``eval_batch_size``."""
        return accuracy(self.network, x, t, batch_size=self.eval_batch_size, dtype=self.dtype)

    def _evaluate_and_log(
        self, progress: _Progress, train_seconds: float, epoch_loss: float, items: int
    ) -> float:
        started = time.perf_counter()
        train_acc = self.evaluate(self.x_train, self.t_train)
        test_acc = math.nan
        if self.x_test is not None:
            test_acc = self.evaluate(self.x_test, self.t_test)
        eval_seconds = time.perf_counter() - started
        h = self.history
        h.epoch.append(self.epoch)
        h.iteration.append(self.iteration)
        h.train_acc.append(train_acc)
        h.test_acc.append(test_acc)
        h.train_seconds.append(train_seconds)
        h.eval_seconds.append(eval_seconds)
        finished = self.iteration >= self.target_iteration
        due = time.monotonic() - self._saved_at >= self.checkpoint_interval
        if self.checkpoint is not None and (finished or due):
            self.save_checkpoint(self.checkpoint)
            self.saved_checkpoint = self.checkpoint
            self._saved_at = time.monotonic()
            self._saved_iteration = self.iteration
        total_epochs = -(-self.target_iteration // self.iterations_per_epoch)
        epoch_done = -(-self.iteration // self.iterations_per_epoch)
        width = len(str(total_epochs))
        test = "" if math.isnan(test_acc) else f"  test acc {test_acc:.4f}"
        rate = items / train_seconds if train_seconds > 0 else math.inf
        progress.line(
            f"epoch {epoch_done:>{width}}/{total_epochs}  "
            f"iter {self.iteration:>{len(str(self.target_iteration))}}  "
            f"loss {epoch_loss:.4f}  train acc {train_acc:.4f}{test}  "
            f"{h.elapsed_seconds[-1]:5.1f} s  {rate:,.0f} img/s"
        )
        return test_acc

    # -- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict:
        """The trainer's counters and data-order random state (JSON-compatible)."""
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
            f"batch_size={self.batch_size}, iteration={self.iteration}/"
            f"{self.target_iteration}, dtype={self.dtype})"
        )
