"""The pieces around the loop, called at fixed points as Keras callbacks are.

Book: 5.7.4 prints the accuracies once per epoch; ``common/trainer.py`` (chapter 6) adds the
``verbose`` flag. Everything that is not the update itself is a :class:`Callback` here, each
replaceable and tested alone:

* :class:`ProgressBar`: a tqdm bar of the images processed (the notebook bar of ``tqdm.auto``
  in Jupyter, a text bar on stderr in a terminal, nothing in logs);
* :class:`EpochLog`: one fixed-format line per evaluation;
* :class:`ModelCheckpoint`: the network, optimizer, history and data order saved to a file;
* :class:`DivergenceStop`: stop when the loss becomes NaN, infinite, or explodes;
* :class:`EarlyStopping`: stop when a validation accuracy stops improving.

The trainer calls, in this order: ``on_train_begin(trainer)``; after every step
``on_batch_end(trainer, logs)`` with ``logs = {"iteration", "loss", "size"}`` (the step is
recorded in the history only when every callback returned); after every evaluation (each
epoch end, and where training stops) ``on_epoch_end(trainer, logs)`` with the evaluation's
numbers; and at the end, also after an error, ``on_train_end(trainer, logs)`` with
``logs = {"completed": bool}``. A callback stops training early by setting
``trainer.stop_training = True``, or at once by raising.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

__all__ = [
    "Callback",
    "DivergenceStop",
    "EarlyStopping",
    "EpochLog",
    "ModelCheckpoint",
    "ProgressBar",
    "TrainingDiverged",
    "progress_kind",
    "suggest_lr",
]


class Callback:
    """Does nothing at every point of the loop; subclasses override what they need."""

    def on_train_begin(self, trainer) -> None:
        pass

    def on_batch_end(self, trainer, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, logs: dict) -> None:
        pass

    def on_train_end(self, trainer, logs: dict) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ---------------------------------------------------------------------------------------------
# Progress and the epoch log
# ---------------------------------------------------------------------------------------------


def _in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_kind(stream: TextIO) -> str:
    """``"notebook"`` (Jupyter with ipywidgets: tqdm's widget bar), ``"terminal"`` (``stream``
    is a terminal, or Jupyter without ipywidgets, which shows text bars) or ``"none"``
    (a log file or a pipe, where a bar would only add noise)."""
    if _in_notebook():
        return "notebook" if importlib.util.find_spec("ipywidgets") else "terminal"
    isatty = getattr(stream, "isatty", None)
    return "terminal" if isatty is not None and isatty() else "none"


class ProgressBar(Callback):
    """A bar of the images processed, with the loss and the last test accuracy.

    Parameters
    ----------
    stream : text file, optional
        Where a text bar goes (default: standard error, looked up when training starts).
    kind : "auto", "notebook", "terminal" or "none"
        "auto" decides with :func:`progress_kind`.
    """

    KINDS = ("auto", "notebook", "terminal", "none")

    def __init__(self, stream: TextIO | None = None, *, kind: str = "auto"):
        if kind not in self.KINDS:
            raise ValueError(
                f"ProgressBar: kind must be one of {', '.join(self.KINDS)}, got {kind!r}"
            )
        self.stream = stream
        self.kind = kind
        self.bar = None
        self._test_acc = math.nan

    def on_train_begin(self, trainer) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        kind = progress_kind(stream) if self.kind == "auto" else self.kind
        if kind == "none":
            return
        if kind == "notebook":
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self.bar = tqdm(
            total=trainer.samples(trainer.target_iteration),
            initial=trainer.samples(trainer.iteration),
            unit="img",
            unit_scale=True,
            dynamic_ncols=True,
            leave=False,
            mininterval=0.25,
            file=stream,
        )
        self._test_acc = trainer.history.test_acc[-1] if trainer.history.test_acc else math.nan

    def on_batch_end(self, trainer, logs: dict) -> None:
        if self.bar is None:
            return
        self.bar.update(logs["size"])
        if logs["iteration"] % 25 == 0:
            acc = "" if math.isnan(self._test_acc) else f", test acc {self._test_acc:.4f}"
            self.bar.set_postfix_str(f"loss {logs['loss']:.4f}{acc}", refresh=False)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self._test_acc = logs["test_acc"]

    def on_train_end(self, trainer, logs: dict) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __repr__(self) -> str:
        return f"ProgressBar(kind={self.kind!r})"


class EpochLog(Callback):
    """One line per evaluation, e.g. ``epoch 1/3  iter 100  loss 0.8153  train acc 0.8734
    test acc 0.8755    1.2 s  9,002 img/s`` (``val acc`` too with a validation split).

    Parameters
    ----------
    stream : text file, optional
        Default: standard output, looked up at each line. Lines are written with
        ``tqdm.write``, so they appear above a progress bar instead of through it.
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def format(self, trainer, logs: dict) -> str:
        per_epoch = trainer.iterations_per_epoch
        total_epochs = -(-trainer.target_iteration // per_epoch)
        epoch_done = -(-logs["iteration"] // per_epoch)
        width = len(str(total_epochs))
        val = "" if math.isnan(logs["val_acc"]) else f"  val acc {logs['val_acc']:.4f}"
        test = "" if math.isnan(logs["test_acc"]) else f"  test acc {logs['test_acc']:.4f}"
        seconds = logs["train_seconds"]
        rate = logs["samples"] / seconds if seconds > 0 else math.inf
        return (
            f"epoch {epoch_done:>{width}}/{total_epochs}  "
            f"iter {logs['iteration']:>{len(str(trainer.target_iteration))}}  "
            f"loss {logs['loss']:.4f}  train acc {logs['train_acc']:.4f}{val}{test}  "
            f"{logs['elapsed_seconds']:5.1f} s  {rate:,.0f} img/s"
        )

    def on_epoch_end(self, trainer, logs: dict) -> None:
        from tqdm import tqdm

        stream = self.stream if self.stream is not None else sys.stdout
        tqdm.write(self.format(trainer, logs), file=stream)
        stream.flush()


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


class ModelCheckpoint(Callback):
    """Save the run (``trainer.save_checkpoint``) after evaluations, atomically.

    Parameters
    ----------
    path : str or os.PathLike
    interval : float
        Minimum seconds between two saves (0: after every evaluation). The first evaluation
        and the end of training are always saved. Each save is fsynced (milliseconds), so
        runs of many short epochs may want to save less often.

    Attributes: ``saved_iteration`` (the iteration of the last save, or None). The trainer's
    ``last_checkpoint`` is set to ``(path, iteration)`` after each save, for the messages of
    the other pieces (:class:`DivergenceStop` names the last good file).
    """

    def __init__(self, path: str | os.PathLike[str], *, interval: float = 0.0):
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not (interval >= 0)
        ):
            raise ValueError(
                f"ModelCheckpoint: interval must be a number of seconds ≥ 0, got {interval!r}"
            )
        self.path = Path(path)
        self.interval = float(interval)
        self.saved_iteration: int | None = None
        self._saved_at = -math.inf  # time.monotonic() of the last save

    def save(self, trainer) -> None:
        trainer.save_checkpoint(self.path)
        self._saved_at = time.monotonic()
        self.saved_iteration = trainer.iteration
        trainer.last_checkpoint = (self.path, trainer.iteration)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        due = time.monotonic() - self._saved_at >= self.interval
        if logs["final"] or due:
            self.save(trainer)

    def on_train_end(self, trainer, logs: dict) -> None:
        # Stopped early: the last evaluation may not have been saved, and EarlyStopping may
        # have put the best weights back after it was.
        if logs["completed"] and (
            self.saved_iteration != trainer.iteration or trainer.stop_training
        ):
            self.save(trainer)

    def __repr__(self) -> str:
        return f"ModelCheckpoint({str(self.path)!r}, interval={self.interval:g})"


# ---------------------------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------------------------


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite, or exploded; the message says where and
    which learning rate to try.

    Attributes: ``iteration`` (1-based, the step whose loss gave up), ``epoch``, ``loss``,
    ``checkpoint`` (path of the last good checkpoint, or None), ``lr`` and ``suggested_lr``
    (None when the optimizer has no ``lr``).
    """

    def __init__(
        self,
        message: str,
        iteration: int,
        epoch: int,
        checkpoint: Path | None,
        *,
        loss: float = math.nan,
        lr: float | None = None,
        suggested_lr: float | None = None,
    ):
        super().__init__(message)
        self.iteration = iteration
        self.epoch = epoch
        self.checkpoint = checkpoint
        self.loss = loss
        self.lr = lr
        self.suggested_lr = suggested_lr


def _default_lr(optimizer) -> float | None:
    try:
        parameter = inspect.signature(type(optimizer)).parameters.get("lr")
    except (TypeError, ValueError):
        return None
    if parameter is None or not isinstance(parameter.default, (int, float)):
        return None
    return float(parameter.default)


def suggest_lr(optimizer, safe_lr: float | None = None) -> float | None:
    """A learning rate to try after a divergence: a tenth of the one that diverged, and at
    most ``safe_lr``, a rate known to train the run (default: the optimizer's own default,
    SGD 0.01, Adam 0.001, ..., which trains every network of the library stably). None when
    the optimizer has no ``lr``."""
    lr = getattr(optimizer, "lr", None)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        return None
    suggestion = lr / 10
    cap = _default_lr(optimizer) if safe_lr is None else safe_lr
    if cap is not None and cap > 0:
        suggestion = min(suggestion, cap)
    return float(f"{suggestion:.3g}")


class DivergenceStop(Callback):
    """Stop with :class:`TrainingDiverged` when the loss gives up.

    The loss has diverged when a step's loss is NaN or infinite, or more than ``factor``
    times the run's initial loss (the loss of its first step, about log(classes) for an
    untrained softmax network: 2.3 for MNIST). A run whose learning rate is too high jumps
    there within a few steps (``backprop train --lr 10``: 29 to 350 against 2.3) and then
    often sits at chance with dead ReLUs; a healthy run stays under 5 times its first loss
    (AdaGrad and RMSprop on MNIST, the highest seen) and mostly far below.

    Parameters
    ----------
    factor : float
        How many times the initial loss counts as an explosion (default 10).
    safe_lr : float, optional
        A learning rate known to train this kind of run, the most that the message suggests
        (see :func:`suggest_lr`; e.g. the book's 0.1 for SGD on MNIST).
    """

    def __init__(self, factor: float = 10.0, *, safe_lr: float | None = None):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1:
            raise ValueError(f"DivergenceStop: factor must be a number > 1, got {factor!r}")
        if safe_lr is not None and not (isinstance(safe_lr, (int, float)) and safe_lr > 0):
            raise ValueError(f"DivergenceStop: safe_lr must be a positive number, got {safe_lr!r}")
        self.factor = float(factor)
        self.safe_lr = safe_lr
        self.reference: float | None = None

    def on_train_begin(self, trainer) -> None:
        losses = trainer.history.loss
        self.reference = losses[0] if losses and math.isfinite(losses[0]) else None

    def on_batch_end(self, trainer, logs: dict) -> None:
        loss = logs["loss"]
        if self.reference is None and math.isfinite(loss):
            self.reference = loss
            return
        if math.isnan(loss):
            what = "NaN"
        elif math.isinf(loss):
            what = "infinite"
        elif (
            self.reference is not None
            and self.reference > 0
            and loss > self.factor * (self.reference)
        ):
            what = (
                f"{loss:.4g}, more than {self.factor:g} times the initial loss {self.reference:.4g}"
            )
        else:
            return
        raise self.diverged(trainer, logs["iteration"], loss, what)

    def diverged(self, trainer, iteration: int, loss: float, what: str) -> TrainingDiverged:
        epoch = (iteration - 1) // trainer.iterations_per_epoch + 1
        lr = getattr(trainer.optimizer, "lr", None)
        suggestion = suggest_lr(trainer.optimizer, self.safe_lr)
        if suggestion is not None:
            cause = f"the learning rate lr={lr:g} is too high: try lr={suggestion:g}"
        else:
            cause = "the learning rate is probably too high"
        last = getattr(trainer, "last_checkpoint", None)
        if last is not None:
            kept = f"the last good checkpoint is {last[0]} (iteration {last[1]})"
        elif any(isinstance(c, ModelCheckpoint) for c in trainer.callbacks):
            kept = "no checkpoint was saved: it diverged before the first epoch ended"
        else:
            kept = "no checkpoint file was requested"
        message = (
            f"training stopped at iteration {iteration} (epoch {epoch}): the loss became "
            f"{what}, so the updates diverged; {cause}; {kept}"
        )
        return TrainingDiverged(
            message,
            iteration,
            epoch,
            None if last is None else last[0],
            loss=loss,
            lr=lr,
            suggested_lr=suggestion,
        )

    def __repr__(self) -> str:
        return f"DivergenceStop(factor={self.factor:g})"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` evaluations.

    Parameters
    ----------
    monitor : "val_acc", "test_acc", "train_acc" or "loss"
        What to watch: an accuracy (higher is better; ``val_acc`` needs
        ``Trainer(validation_split=...)``) or the epoch's mean training loss (lower is
        better). Watching ``test_acc`` chooses the model by the test set, which then no
        longer measures it fairly: prefer a validation split.
    patience : int
        Evaluations without improvement before stopping.
    min_delta : float
        The least change that counts as an improvement.
    restore_best_weights : bool
        Put the parameters of the best evaluation back into the network when stopping.

    Attributes: ``best``, ``best_iteration``, ``stopped_iteration`` (None if it did not stop).
    """

    MONITORS = ("val_acc", "test_acc", "train_acc", "loss")

    def __init__(
        self,
        monitor: str = "val_acc",
        *,
        patience: int = 3,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ):
        if monitor not in self.MONITORS:
            raise ValueError(
                f"EarlyStopping: monitor must be one of {', '.join(self.MONITORS)}, got {monitor!r}"
            )
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an integer ≥ 1, got {patience!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.sign = -1.0 if monitor == "loss" else 1.0
        self.best = math.nan
        self._best_score = -math.inf
        self.best_iteration: int | None = None
        self.stopped_iteration: int | None = None
        self._best_params: dict[str, np.ndarray] | None = None
        self._wait = 0

    def on_train_begin(self, trainer) -> None:
        self.best, self.best_iteration, self.stopped_iteration = math.nan, None, None
        self._best_score = -math.inf
        self._best_params, self._wait = None, 0

    def on_epoch_end(self, trainer, logs: dict) -> None:
        value = logs[self.monitor]
        if math.isnan(value):
            missing = (
                "validation split (give Trainer(..., validation_split=0.1))"
                if self.monitor == "val_acc"
                else "test data"
            )
            message = f"EarlyStopping: {self.monitor} has no value: the trainer has no {missing}"
            raise ValueError(message)
        score = self.sign * value
        if score > self._best_score + self.min_delta:
            self._best_score, self.best = score, value
            self.best_iteration, self._wait = trainer.iteration, 0
            if self.restore_best_weights:
                self._best_params = {k: v.copy() for k, v in trainer.network.params.items()}
            return
        self._wait += 1
        if self._wait >= self.patience:
            trainer.stop_training = True
            self.stopped_iteration = trainer.iteration
            if self._best_params is not None:
                for key, value in self._best_params.items():
                    np.copyto(trainer.network.params[key], value)

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"
