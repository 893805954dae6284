"""Training (book 5.7.4 and ``common/trainer.py``): the loop, the pieces around it, history.

``Trainer`` runs the loop; ``train_step(x_batch, t_batch)`` is one step of it.
"""

from backprop.training.trainer import (
    History,
    Trainer,
    TrainingDiverged,
    accuracy,
    as_input,
    confusion_matrix,
    iterate_minibatches,
    predict_labels,
)

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
