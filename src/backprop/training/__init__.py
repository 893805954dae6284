"""Training (book 5.7.4 and ``common/trainer.py``): the loop, the pieces around it, history.

* :mod:`~backprop.training.trainer`: :class:`Trainer`, with ``train_step(x_batch, t_batch)``
  (one step of the book's loop) and ``train()``;
* :mod:`~backprop.training.callbacks`: progress, the epoch log, checkpoints, the divergence
  stop and early stopping, called around the loop at fixed points;
* :mod:`~backprop.training.history` and :mod:`~backprop.training.metrics`: what happened,
  ``accuracy``, ``predict_labels``, ``confusion_matrix``;
* :mod:`~backprop.training.data`: mini-batches and the per-batch uint8 conversion;
* :mod:`~backprop.training.resuming`: :func:`resume`, continuing a saved run.

>>> trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=17,  # doctest: +SKIP
...                   mini_batch_size=100, optimizer='SGD', optimizer_param={'lr': 0.1})
>>> trainer.train()  # doctest: +SKIP
"""

from backprop.training.callbacks import (
    Callback,
    DivergenceStop,
    EarlyStopping,
    EpochLog,
    ModelCheckpoint,
    ProgressBar,
    TrainingDiverged,
    suggest_lr,
)
from backprop.training.data import as_input, iterate_minibatches
from backprop.training.history import History
from backprop.training.metrics import accuracy, confusion_matrix, predict_labels
from backprop.training.resuming import ResumeConflict, resume, run_settings
from backprop.training.trainer import MAX_ITERATIONS, Trainer

__all__ = [
    "MAX_ITERATIONS",
    "Callback",
    "DivergenceStop",
    "EarlyStopping",
    "EpochLog",
    "History",
    "ModelCheckpoint",
    "ProgressBar",
    "ResumeConflict",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "as_input",
    "confusion_matrix",
    "iterate_minibatches",
    "predict_labels",
    "resume",
    "run_settings",
    "suggest_lr",
]
