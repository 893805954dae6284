"""Pictures of training: learning curves and misclassified digits, as PNG files.

Book: the figures of 4.5.3 and 5.7.4 (the loss falling with the iterations; train and test
accuracy per epoch staying together, so the network does not overfit).

matplotlib is imported inside the functions, so ``import backprop`` stays light, and only
its object-oriented API with the Agg canvas is used: no display is needed and no global
state of pyplot (a notebook's backend, for one) is touched. Files are written atomically.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write

__all__ = ["plot_learning_curves", "plot_misclassified"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return Path(path)


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    ends = np.arange(1, len(values) + 1)
    return (cumulative[ends] - cumulative[ends - counts]) / counts


def plot_learning_curves(history, path: str | os.PathLike[str], *, title: str | None = None):
    """Draw the loss per iteration and the train/test accuracy per epoch; write a PNG.

    Parameters
    ----------
    history : backprop.training.History
        Uses ``loss``, ``epoch``, ``train_acc``, ``test_acc``.
    path : str or os.PathLike
        The PNG file to write.
    title : str, optional
        Title above both plots.

    Returns
    -------
    Path of the file written.
    """
    figure = _figure(8.0, 3.2)
    loss_axes, acc_axes = figure.subplots(1, 2)
    loss = np.asarray(history.loss, dtype=np.float64)
    iterations = np.arange(1, len(loss) + 1)
    if len(loss):
        window = max(1, min(len(loss) // 50, 100))
        loss_axes.plot(iterations, loss, color="tab:blue", alpha=0.25, linewidth=0.6)
        if window > 1:
            loss_axes.plot(
                iterations,
                _moving_average(loss, window),
                color="tab:blue",
                linewidth=1.4,
                label=f"mean of {window}",
            )
            loss_axes.legend(loc="upper right")
    loss_axes.set_xlabel("iteration")
    loss_axes.set_ylabel("loss")
    loss_axes.set_title("training loss (mini-batch)")
    loss_axes.set_ylim(bottom=0)
    loss_axes.grid(alpha=0.3)

    epochs = np.asarray(history.epoch, dtype=np.float64)
    acc_axes.plot(epochs, history.train_acc, marker="o", markersize=3, label="train")
    test = np.asarray(history.test_acc, dtype=np.float64)
    if test.size and not np.isnan(test).all():
        acc_axes.plot(epochs, test, marker="s", markersize=3, linestyle="--", label="test")
    acc_axes.set_xlabel("epoch")
    acc_axes.set_ylabel("accuracy")
    acc_axes.set_title("accuracy")
    acc_axes.set_ylim(top=1.0)
    acc_axes.grid(alpha=0.3)
    acc_axes.legend(loc="lower right")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_misclassified(
    x,
    t,
    y,
    path: str | os.PathLike[str],
    *,
    max_images: int = 36,
    class_names=None,
    image_shape: tuple[int, int] = (28, 28),
):
    """A grid of the first ``max_images`` samples whose prediction ``y`` differs from ``t``.

    Parameters
    ----------
    x : ndarray, shape (N, 784) or (N, 1, 28, 28); uint8 pixels or floats in [0, 1]
    t, y : ndarray of int, shape (N,)
        True and predicted labels.
    path : str or os.PathLike
        The PNG file to write.
    class_names : sequence of str, optional
        Names to print instead of the label numbers.

    Returns
    -------
    (Path of the file written, number of misclassified samples)
    """
    t, y = np.asarray(t), np.asarray(y)
    wrong = np.flatnonzero(t != y)
    shown = wrong[:max_images]
    columns = max(1, min(len(shown), 9))
    rows = max(1, math.ceil(len(shown) / columns))
    names = class_names if class_names is not None else [str(i) for i in range(10)]
    # One image of tiles (a single imshow is much faster than an axes per digit), each tile
    # with a margin on top for its caption.
    height, width = image_shape
    pad, caption = 2, 9
    tile_h, tile_w = height + caption + pad, width + pad
    sheet = np.zeros((rows * tile_h, columns * tile_w))
    for k, i in enumerate(shown):
        image = np.asarray(x[i], dtype=np.float64).reshape(image_shape)
        if np.asarray(x).dtype == np.uint8:
            image = image / 255
        top, left = (k // columns) * tile_h + caption, (k % columns) * tile_w
        sheet[top : top + height, left : left + width] = image
    figure = _figure(0.3 * columns * tile_w / 10 + 0.2, 0.3 * rows * tile_h / 10 + 0.4)
    axes = figure.add_subplot()
    axes.imshow(sheet, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    for k, i in enumerate(shown):
        top, left = (k // columns) * tile_h, (k % columns) * tile_w
        label = f"{names[t[i]]}→{names[y[i]]}"
        axes.text(
            left + width / 2,
            top + caption - 1.5,
            label,
            ha="center",
            va="bottom",
            fontsize=7,
            color="tab:red",
        )
    axes.set_title(
        f"misclassified: {len(wrong)} of {len(t)} (true→predicted, first {len(shown)})"
        if len(wrong)
        else f"no misclassified samples among {len(t)}",
        fontsize=9,
    )
    return _save(figure, path), len(wrong)
