"""Resuming a run: one entry, :func:`resume`, that reads the checkpoint once and checks it.

A checkpoint written by :class:`~backprop.training.callbacks.ModelCheckpoint` holds the
network, the optimizer with its state, the history and the trainer's state
(:meth:`Trainer.state`: iteration, target, batch size, data order, ...). A file may come from
anyone, so that state is checked like user input: types, ranges and consistency with the
rest of the file and with the data given, each error naming the file and the field.

What resuming reproduces: with the same training data, a run interrupted at any saved point
and resumed continues with the same mini-batches and optimizer state, so its final weights
equal the uninterrupted run's bit for bit (on the same machine and NumPy/BLAS).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from backprop.checkpoint import METADATA_KEYS, load_checkpoint
from backprop.training.history import History
from backprop.training.trainer import MAX_ITERATIONS, Trainer

__all__ = ["ResumeConflict", "resume", "run_settings"]

# Options of Trainer that a resumed run takes from the checkpoint, not from the caller.
_FROM_CHECKPOINT = ("optimizer", "optimizer_param", "optimizer_params", "seed", "rng")
# The bit generators whose state is checked field by field (numpy.random.default_rng's).
_BIT_GENERATORS = ("PCG64", "PCG64DXSM")


class ResumeConflict(ValueError):
    """Settings asked for differ from the run's. ``conflicts``: ``(name, given, saved)``."""

    def __init__(self, path: Path, conflicts: list[tuple[str, object, object]]):
        self.path = path
        self.conflicts = conflicts
        listed = ", ".join(
            f"{name}={given!r} (saved: {saved!r})" for name, given, saved in conflicts
        )
        super().__init__(
            f"{path}: resuming continues the run with its own settings; these differ: {listed}"
        )


def run_settings(metadata: dict) -> dict:
    """The settings of the saved run: ``dataset``, ``hidden`` (sizes), ``activation``,
    ``dtype``, ``optimizer`` (lowercase name), ``lr``, ``batch_size``,
    ``sample_with_replacement``, ``seed``, ``data_dir`` (None where the file does not say)."""
    config = metadata.get("network") if isinstance(metadata.get("network"), dict) else {}
    training = metadata.get("training") if isinstance(metadata.get("training"), dict) else {}
    optimizer = metadata.get("optimizer") if isinstance(metadata.get("optimizer"), dict) else {}
    hidden = config.get("hidden_size_list") or [config.get("hidden_size")]
    hyperparameters = optimizer.get("hyperparameters")
    return {
        "dataset": metadata.get("dataset"),
        "hidden": list(hidden) if isinstance(hidden, (list, tuple)) else hidden,
        "activation": config.get("activation", "relu"),
        "dtype": metadata.get("dtype"),
        "optimizer": str(optimizer.get("name", "")).lower() or None,
        "lr": hyperparameters.get("lr") if isinstance(hyperparameters, dict) else None,
        "batch_size": training.get("batch_size"),
        "sample_with_replacement": training.get("sample_with_replacement"),
        "seed": metadata.get("seed"),
        "data_dir": metadata.get("data_dir"),
    }


def resume(
    path: str | os.PathLike[str],
    data,
    *,
    expect: dict | None = None,
    **overrides,
) -> Trainer:
    """A :class:`Trainer` that continues the run saved in ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written during training (``ModelCheckpoint``); read once.
    data : tuple or callable
        ``(x_train, t_train)`` or ``(x_train, t_train, x_test, t_test)``, or a function of
        the run's settings (:func:`run_settings`, e.g. to load its ``dataset``) returning one.
        The training data must be the run's (its size is checked).
    expect : dict, optional
        Settings the caller asks for (names of :func:`run_settings`; None values are
        ignored); any that differ from the run's raise :class:`ResumeConflict`.
    **overrides :
        Trainer options: ``epochs``/``iters`` are totals counted from the start of the run
        (default: the length it was started with); ``callbacks``, ``verbose``,
        ``eval_batch_size``, ``evaluate_sample_num_per_epoch``, ``metadata``. The batch
        size and sampling must equal the saved ones; the optimizer and the data order come
        from the file.

    Raises
    ------
    ValueError
        The file is not a checkpoint of a training run, its training state is invalid
        (naming the field), or the data or options do not fit it.
    """
    path = Path(path)
    refused = [name for name in _FROM_CHECKPOINT if name in overrides]
    if refused:
        raise TypeError(
            f"resume: {', '.join(refused)} come from the checkpoint {path}, not from arguments"
        )
    checkpoint = load_checkpoint(path)
    metadata = checkpoint.metadata
    state = _check_state(path, metadata, checkpoint.optimizer)
    settings = run_settings(metadata)
    conflicts = [
        (name, value, settings.get(name))
        for name, value in (expect or {}).items()
        if value is not None and value != settings.get(name)
    ]
    if conflicts:
        raise ResumeConflict(path, conflicts)

    for name, key in (
        ("mini_batch_size", "batch_size"),
        ("batch_size", "batch_size"),
        ("sample_with_replacement", "sample_with_replacement"),
    ):
        given = overrides.pop(name, None)
        if given is not None and given != state[key]:
            raise ResumeConflict(path, [(name, given, state[key])])
    if overrides.get("epochs") is None and overrides.get("iters") is None:
        overrides["epochs"] = None
        overrides["iters"] = state["target_iteration"]
    overrides.setdefault(
        "metadata",
        {k: v for k, v in metadata.items() if k not in (*METADATA_KEYS, "training", "metrics")},
    )
    arrays = data(settings) if callable(data) else data
    if not isinstance(arrays, (tuple, list)) or len(arrays) not in (2, 4):
        raise TypeError(
            "resume: data must be (x_train, t_train) or (x_train, t_train, x_test, t_test), "
            f"or a function returning one, got {type(arrays).__name__}"
        )
    x_train, t_train, x_test, t_test = (*arrays, None, None)[:4]
    trainer = Trainer(
        checkpoint.network,
        x_train,
        t_train,
        x_test,
        t_test,
        optimizer=checkpoint.optimizer,
        mini_batch_size=state["batch_size"],
        sample_with_replacement=state["sample_with_replacement"],
        validation_split=state["validation_split"],
        rng=np.random.Generator(getattr(np.random, state["data_rng_state"]["bit_generator"])()),
        **overrides,
    )
    if len(trainer.x_train) != state["train_size"]:
        raise ValueError(
            f"{path}: the run was trained on {state['train_size']:,} samples, the training data "
            f"given has {len(trainer.x_train):,}; resume with the same data"
        )
    trainer.iteration = state["iteration"]
    trainer.rng.bit_generator.state = state["data_rng_state"]
    trainer.history = _check_history(path, checkpoint.arrays, state)
    trainer.last_checkpoint = (path, state["iteration"])
    trainer.run_settings = settings
    return trainer


# ---------------------------------------------------------------------------------------------
# Checks of the saved state


def _field_error(path: Path, field: str, expected: str, value) -> ValueError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueError(f"{path}: training state field {field!r} must be {expected}, got {shown}")


def _integer(path: Path, state: dict, field: str, low: int, high: int) -> int:
    value = state.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _field_error(path, field, f"an integer from {low:,} to {high:,}", value)
    return value


def _check_state(path: Path, metadata: dict, optimizer) -> dict:
    """The trainer's state in the file, checked field by field; a clean copy."""
    state = metadata.get("training")
    if not isinstance(state, dict):
        raise ValueError(f"{path}: has no training state (not saved during training)")
    if optimizer is None:
        raise ValueError(f"{path}: has no optimizer state to resume with")
    clean: dict = {}
    clean["train_size"] = _integer(path, state, "train_size", 1, 2**62)
    clean["batch_size"] = _integer(path, state, "batch_size", 1, clean["train_size"])
    per_epoch = -(-clean["train_size"] // clean["batch_size"])
    if state.get("iterations_per_epoch") != per_epoch:
        raise _field_error(
            path,
            "iterations_per_epoch",
            f"{per_epoch:,} (train_size {clean['train_size']:,} / batch_size "
            f"{clean['batch_size']:,}, rounded up)",
            state.get("iterations_per_epoch"),
        )
    clean["iterations_per_epoch"] = per_epoch
    clean["target_iteration"] = _integer(path, state, "target_iteration", 1, MAX_ITERATIONS)
    clean["iteration"] = _integer(path, state, "iteration", 0, clean["target_iteration"])
    epoch = state.get("epoch", clean["iteration"] / per_epoch)
    if (
        isinstance(epoch, bool)
        or not isinstance(epoch, (int, float))
        or not math.isclose(epoch, clean["iteration"] / per_epoch, rel_tol=1e-9, abs_tol=1e-9)
    ):
        raise _field_error(path, "epoch", "iteration / iterations_per_epoch", epoch)
    swr = state.get("sample_with_replacement")
    if not isinstance(swr, bool):
        raise _field_error(path, "sample_with_replacement", "true or false", swr)
    clean["sample_with_replacement"] = swr
    split = state.get("validation_split", 0.0)
    if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 <= split < 1:
        raise _field_error(path, "validation_split", "a fraction from 0 to < 1", split)
    clean["validation_split"] = float(split)
    clean["data_rng_state"] = _check_rng_state(path, state.get("data_rng_state"))
    info = metadata.get("optimizer") or {}
    steps = info.get("iteration", 0) if isinstance(info, dict) else None
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_ITERATIONS:
        raise ValueError(
            f"{path}: optimizer field 'iteration' must be an integer from 0 to "
            f"{MAX_ITERATIONS:,}, got {steps!r}"
        )
    return clean


def _check_rng_state(path: Path, value) -> dict:
    field = "data_rng_state"
    if not isinstance(value, dict):
        raise _field_error(path, field, "a NumPy bit generator state (an object)", value)
    name = value.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise _field_error(path, f"{field}.bit_generator", " or ".join(_BIT_GENERATORS), name)
    inner = value.get("state")
    if not isinstance(inner, dict):
        raise _field_error(path, f"{field}.state", "an object with state and inc", inner)
    for key, high in (("state", 2**128), ("inc", 2**128)):
        number = inner.get(key)
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < high:
            raise _field_error(
                path, f"{field}.state.{key}", "an integer from 0 to 2**128 - 1", number
            )
    has = value.get("has_uint32")
    if has not in (0, 1) or isinstance(has, bool):
        raise _field_error(path, f"{field}.has_uint32", "0 or 1", has)
    extra = value.get("uinteger")
    if isinstance(extra, bool) or not isinstance(extra, int) or not 0 <= extra < 2**32:
        raise _field_error(path, f"{field}.uinteger", "an integer from 0 to 2**32 - 1", extra)
    return {
        "bit_generator": name,
        "state": {"state": inner["state"], "inc": inner["inc"]},
        "has_uint32": has,
        "uinteger": extra,
    }


def _check_history(path: Path, arrays: dict, state: dict) -> History:
    """The saved history, consistent with the state (one loss per iteration, ...)."""
    for key, value in arrays.items():
        if key.startswith("history/") and value.ndim > 1:
            raise ValueError(f"{path}: history entry {key!r} must be 1-D, got shape {value.shape}")
    saved_per_epoch = arrays.get("history/iterations_per_epoch")
    if saved_per_epoch is not None and (
        saved_per_epoch.ndim != 0 or int(saved_per_epoch) != state["iterations_per_epoch"]
    ):
        raise ValueError(
            f"{path}: history/iterations_per_epoch is {saved_per_epoch.tolist()!r}, the "
            f"training state says {state['iterations_per_epoch']}"
        )
    history = History.from_arrays(arrays)
    history.iterations_per_epoch = state["iterations_per_epoch"]
    if len(history.loss) != state["iteration"]:
        raise ValueError(
            f"{path}: the history holds {len(history.loss):,} losses, the training state says "
            f"{state['iteration']:,} iterations"
        )
    columns = ("epoch", "iteration", "train_acc", "test_acc", "val_acc")
    lengths = {name: len(getattr(history, name)) for name in (*columns, "train_seconds")}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise ValueError(f"{path}: the history's evaluation columns differ in length: {shown}")
    steps = history.iteration
    if any(not 0 < b <= state["iteration"] for b in steps) or steps != sorted(steps):
        raise ValueError(
            f"{path}: the history's evaluation iterations must rise from 1 to "
            f"{state['iteration']:,}, got {steps[:5]}{'...' if len(steps) > 5 else ''}"
        )
    return history
