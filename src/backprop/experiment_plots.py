"""Pictures of the chapter 6 experiments and of a convolutional network (7.6), as PNG files.

Each function draws what ``backprop.experiments`` (or a trained ``SimpleConvNet``) returns and
writes one PNG atomically; matplotlib is imported inside them (``backprop.plots``' helpers).
Small figures at 100 dpi, so that the README's copies stay well under 120 KB.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from backprop.experiments import book_function
from backprop.plots import _figure, _save

__all__ = [
    "plot_activation_histograms",
    "plot_batchnorm",
    "plot_feature_maps",
    "plot_filters",
    "plot_hyperparameters",
    "plot_optimizer_losses",
    "plot_optimizer_paths",
    "plot_overfitting",
]

_COLORS = {"SGD": "tab:blue", "Momentum": "tab:green", "AdaGrad": "tab:red", "Adam": "tab:purple"}


def plot_optimizer_paths(paths: dict, path: str | os.PathLike[str]) -> Path:
    """The four paths on the contour lines of f(x, y) = x²/20 + y² (the book's figure 6-8)."""
    figure = _figure(7, 4.8)
    axes = figure.subplots(2, 2, sharex=True, sharey=True).ravel()
    xs, ys = np.meshgrid(np.arange(-10, 10, 0.1), np.arange(-5, 5, 0.1))
    z = book_function(xs, ys)
    for ax, (name, points) in zip(axes, paths.items(), strict=False):
        ax.contour(xs, ys, z, levels=np.geomspace(0.1, 30, 10), colors="0.75", linewidths=0.7)
        ax.plot(points[:, 0], points[:, 1], "o-", color=_COLORS.get(name, "k"), ms=3, lw=1)
        ax.plot(0, 0, "+", color="k")
        ax.set_title(f"{name} ({len(points) - 1} steps)", fontsize=10)
        ax.set_xlim(-10, 10)
        ax.set_ylim(-5, 5)
    figure.suptitle("Optimizers on f(x, y) = x²/20 + y², from (−7, 2)", fontsize=11)
    return _save(figure, path)


def plot_optimizer_losses(losses: dict, path: str | os.PathLike[str], *, smooth: int = 20) -> Path:
    """Training loss per iteration for each optimizer (the book's figure 6-9)."""
    figure = _figure(6.4, 4)
    ax = figure.subplots()
    for name, values in losses.items():
        values = np.asarray(values, dtype=np.float64)
        kernel = np.ones(smooth) / smooth
        smoothed = np.convolve(values, kernel, mode="valid") if len(values) > smooth else values
        ax.plot(
            np.arange(len(smoothed)) + smooth - 1,
            smoothed,
            label=name,
            lw=1.2,
            color=_COLORS.get(name),
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"loss (mean of {smooth})")
    ax.set_ylim(0, 1.0)
    ax.legend()
    ax.set_title("MNIST, 5-layer network: loss per optimizer", fontsize=11)
    return _save(figure, path)


def plot_activation_histograms(activations: dict, path: str | os.PathLike[str]) -> Path:
    """One row per weight scale, one histogram per layer (figures 6-10 to 6-14)."""
    rows = len(activations)
    cols = len(next(iter(activations.values())))
    figure = _figure(1.7 * cols, 1.45 * rows)
    axes = figure.subplots(rows, cols, sharey="row", squeeze=False)
    for r, (label, outs) in enumerate(activations.items()):
        top = max(1.0, float(max(np.max(a) for a in outs)))
        for c, a in enumerate(outs):
            ax = axes[r, c]
            ax.hist(a.ravel(), bins=30, range=(0, top), color="tab:blue")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(f"layer {c + 1}", fontsize=9)
        axes[r, 0].set_ylabel(label, fontsize=8)
    figure.suptitle("Activations of 5 hidden layers by initial weight scale", fontsize=10)
    return _save(figure, path)


def plot_batchnorm(results: list, path: str | os.PathLike[str]) -> Path:
    """Training accuracy with (solid) and without (dashed) Batch Normalization per scale."""
    n = len(results)
    cols = 4 if n >= 4 else n
    rows = math.ceil(n / cols)
    figure = _figure(2.0 * cols, 1.55 * rows)
    axes = np.atleast_1d(figure.subplots(rows, cols, sharex=True, sharey=True)).ravel()
    for ax, row in zip(axes, results, strict=False):
        epochs = np.arange(1, len(row["batchnorm"]) + 1)
        ax.plot(epochs, row["batchnorm"], color="tab:blue", lw=1.3, label="Batch Norm")
        ax.plot(epochs, row["plain"], "--", color="tab:orange", lw=1.1, label="without")
        ax.set_title(f"W scale {row['scale']:.2g}", fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="lower right")
    figure.suptitle(
        "Training accuracy per epoch, with and without Batch Normalization", fontsize=10
    )
    return _save(figure, path)


def plot_overfitting(results: dict, path: str | os.PathLike[str]) -> Path:
    """Train (solid) and test (dashed) accuracy per epoch for each regularisation."""
    figure = _figure(3.0 * len(results), 3.2)
    axes = np.atleast_1d(figure.subplots(1, len(results), sharey=True))
    for ax, (label, curves) in zip(axes, results.items(), strict=True):
        epochs = np.arange(1, len(curves["train_acc"]) + 1)
        ax.plot(epochs, curves["train_acc"], color="tab:blue", lw=1.2, label="train")
        ax.plot(epochs, curves["test_acc"], "--", color="tab:orange", lw=1.2, label="test")
        gap = curves["train_acc"][-1] - curves["test_acc"][-1]
        ax.set_title(f"{label}\n(gap {gap:.2f})", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle("Overfitting on 300 training images (7-layer network)", fontsize=10)
    return _save(figure, path)


def plot_hyperparameters(trials: list, path: str | os.PathLike[str], *, best: int = 10) -> Path:
    """Left: validation accuracy over (lr, weight decay); right: the ``best`` trials' curves."""
    figure = _figure(9, 3.8)
    left, right = figure.subplots(1, 2)
    lr = np.array([t["lr"] for t in trials])
    wd = np.array([t["weight_decay"] for t in trials])
    acc = np.nan_to_num(np.array([t["val_acc"] for t in trials], dtype=np.float64))
    points = left.scatter(lr, wd, c=acc, cmap="viridis", vmin=0, vmax=max(acc.max(), 0.1), s=18)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("learning rate")
    left.set_ylabel("weight decay")
    left.set_title("validation accuracy per trial", fontsize=10)
    figure.colorbar(points, ax=left)
    for rank, trial in enumerate(trials[:best], start=1):
        epochs = np.arange(1, len(trial["val_curve"]) + 1)
        right.plot(
            epochs,
            trial["val_curve"],
            lw=1.1,
            label=f"{rank}: lr {trial['lr']:.1e}, wd {trial['weight_decay']:.1e}",
        )
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.set_ylim(0, 1)
    right.legend(fontsize=6, loc="upper left")
    right.set_title(f"the best {min(best, len(trials))} trials", fontsize=10)
    return _save(figure, path)


def plot_filters(W, path: str | os.PathLike[str], *, title: str, columns: int = 10) -> Path:
    """The first layer's filters W (FN, C, FH, FW) as gray images (7.6.1), channel 0."""
    W = np.asarray(W)
    n = W.shape[0]
    rows = math.ceil(n / columns)
    figure = _figure(0.62 * columns, 0.62 * rows + 0.35)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < n:
            ax.imshow(W[i, 0], cmap="gray_r", interpolation="nearest")
    figure.suptitle(title, fontsize=9)
    return _save(figure, path)


def plot_feature_maps(
    image, maps, path: str | os.PathLike[str], *, title: str, columns: int = 10
) -> Path:
    """An input image (C, H, W) or (H, W) and the feature maps (FN, H', W') a layer computes."""
    maps = np.asarray(maps)
    n = maps.shape[0]
    rows = math.ceil(n / columns) + 1
    figure = _figure(0.75 * columns, 0.75 * rows + 0.35)
    axes = figure.subplots(rows, columns)
    for ax in axes.ravel():
        ax.set_axis_off()
    image = np.asarray(image)
    axes[0, 0].imshow(image[0] if image.ndim == 3 else image, cmap="gray_r")
    axes[0, 0].set_title("input", fontsize=7)
    for i in range(n):
        ax = axes[1 + i // columns, i % columns]
        ax.imshow(maps[i], cmap="gray_r", interpolation="nearest")
    figure.suptitle(title, fontsize=9)
    return _save(figure, path)
