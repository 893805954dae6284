"""History: what happened during training, as columns (the book's ``train_loss_list``,
``train_acc_list`` and ``test_acc_list`` of 5.7.4, plus iterations and timings).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write

__all__ = ["History"]

_EVAL_COLUMNS = (
    "epoch",
    "iteration",
    "train_acc",
    "test_acc",
    "val_acc",
    "train_seconds",
    "eval_seconds",
)
_NAN_COLUMNS = ("test_acc", "val_acc")  # NaN when there is no such data


@dataclasses.dataclass
class History:
    """What happened during training, as columns.

    Attributes
    ----------
    iterations_per_epoch : int
    loss : list of float
        The mini-batch loss of every iteration (index i is iteration i + 1).
    epoch, iteration, train_acc, test_acc, val_acc, train_seconds, eval_seconds : lists
        One entry per evaluation (at the end of every epoch, and when training stops in the
        middle of one): the epoch reached (``iteration / iterations_per_epoch``, fractional
        for a partial epoch), the iteration, the accuracies (``test_acc`` is NaN without test
        data, ``val_acc`` without a validation split), and the seconds spent training since
        the previous evaluation and evaluating.

    The book's names are properties: ``train_loss_list`` (the loss of every iteration),
    ``train_acc_list`` and ``test_acc_list`` (one entry per epoch).
    """

    iterations_per_epoch: int = 1
    loss: list[float] = dataclasses.field(default_factory=list)
    epoch: list[float] = dataclasses.field(default_factory=list)
    iteration: list[int] = dataclasses.field(default_factory=list)
    train_acc: list[float] = dataclasses.field(default_factory=list)
    test_acc: list[float] = dataclasses.field(default_factory=list)
    val_acc: list[float] = dataclasses.field(default_factory=list)
    train_seconds: list[float] = dataclasses.field(default_factory=list)
    eval_seconds: list[float] = dataclasses.field(default_factory=list)

    @property
    def train_loss_list(self) -> list[float]:
        return self.loss

    @property
    def train_acc_list(self) -> list[float]:
        return self.train_acc

    @property
    def test_acc_list(self) -> list[float]:
        return self.test_acc

    @property
    def elapsed_seconds(self) -> list[float]:
        """Seconds since the start of training at each evaluation (training + evaluating)."""
        return np.cumsum(np.add(self.train_seconds, self.eval_seconds)).tolist()

    def to_dict(self) -> dict:
        """JSON-compatible columns (NaN becomes None)."""
        data = dataclasses.asdict(self)
        for name in _NAN_COLUMNS:
            data[name] = [None if math.isnan(v) else v for v in getattr(self, name)]
        data["elapsed_seconds"] = self.elapsed_seconds
        return data

    @classmethod
    def from_dict(cls, data: dict) -> History:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        for name in _NAN_COLUMNS:
            if name in values:
                values[name] = [math.nan if v is None else v for v in values[name]]
        history = cls(**values)
        history._fill_missing_columns()
        return history

    def _fill_missing_columns(self) -> None:
        """Files written before a column existed: NaN for each evaluation."""
        for name in _NAN_COLUMNS:
            if not getattr(self, name) and self.epoch:
                setattr(self, name, [math.nan] * len(self.epoch))

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
            if name in ("loss", *_EVAL_COLUMNS):
                setattr(history, name, np.asarray(value).tolist())
        history._fill_missing_columns()
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
