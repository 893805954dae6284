"""The experiments of chapter 6, as functions that run them and return the numbers.

Book: 6.1.7-6.1.8 (SGD, Momentum, AdaGrad and Adam on f(x, y) = x²/20 + y² and on MNIST),
6.2.2-6.2.3 (activation histograms for weight scales), 6.3.2 (with and without Batch
Normalization), 6.4.1-6.4.3 (overfitting on 300 samples, weight decay, dropout), 6.5.3 (a
random search of the learning rate and the weight decay).

Every function takes the data and a ``seed``, trains with the library's ``Trainer`` and
networks, and returns plain numbers (lists and arrays) that ``backprop.experiment_plots`` draws
and ``backprop experiment`` writes to CSV. The default settings are the book's; the ``progress``
argument shows a tqdm bar on stderr. Nothing here draws or writes files.
"""

from __future__ import annotations

import math

import numpy as np

from backprop.functions import relu, sigmoid
from backprop.networks import MultiLayerNet, MultiLayerNetExtend, initial_std
from backprop.optimizers import SGD, AdaGrad, Adam, Momentum
from backprop.training import Trainer, TrainingDiverged

__all__ = [
    "BOOK_MNIST_LRS",
    "BOOK_PATH_LRS",
    "batchnorm_comparison",
    "compare_optimizers",
    "hyperparameter_search",
    "optimizer_paths",
    "overfitting",
    "weight_init_activations",
]

OPTIMIZERS = {"SGD": SGD, "Momentum": Momentum, "AdaGrad": AdaGrad, "Adam": Adam}
BOOK_PATH_LRS = {"SGD": 0.95, "Momentum": 0.1, "AdaGrad": 1.5, "Adam": 0.3}  # 6.1.7
BOOK_MNIST_LRS = {"SGD": 0.01, "Momentum": 0.01, "AdaGrad": 0.01, "Adam": 0.001}  # 6.1.8


def _bar(total: int, description: str, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, disable=not progress, leave=False, unit="run")


def _quiet_trainer(network, x, t, x_test, t_test, optimizer, seed, **options) -> Trainer:
    # The book's batch of 100 on subsets smaller than that: the whole subset per step.
    options["batch_size"] = min(options.get("batch_size", 100), len(x))
    return Trainer(
        network,
        x,
        t,
        x_test,
        t_test,
        optimizer=optimizer,
        rng=np.random.default_rng(seed),
        verbose=False,
        **options,
    )


# -- 6.1 optimizers -----------------------------------------------------------------------------


def book_function(x, y):
    """f(x, y) = x²/20 + y² (6.1.3): a valley much steeper in y than in x."""
    return x * x / 20.0 + y * y


def optimizer_paths(steps: int = 30, start=(-7.0, 2.0), lrs=None) -> dict[str, np.ndarray]:
    """The path of each optimizer minimising ``book_function`` from ``start`` (6.1.7).

    Returns name → array (steps + 1, 2) of the points (x, y), the start first.
    """
    lrs = dict(BOOK_PATH_LRS if lrs is None else lrs)
    paths = {}
    for name, lr in lrs.items():
        optimizer = OPTIMIZERS[name](lr=lr)
        params = {"x": np.array(start[0], dtype=np.float64), "y": np.array(start[1])}
        points = [(float(params["x"]), float(params["y"]))]
        for _ in range(steps):
            # ∂f/∂x = x/10, ∂f/∂y = 2y
            grads = {"x": np.asarray(params["x"] / 10.0), "y": np.asarray(2.0 * params["y"])}
            optimizer.update(params, grads)
            points.append((float(params["x"]), float(params["y"])))
        paths[name] = np.array(points)
    return paths


def compare_optimizers(
    x_train,
    t_train,
    *,
    iters: int = 2000,
    batch_size: int = 128,
    lrs=None,
    seed: int = 0,
    dtype="float32",
    progress: bool = False,
) -> dict[str, list[float]]:
    """Training loss per iteration of a 5-layer MultiLayerNet with each optimizer (6.1.8).

    The book's network (784-100-100-100-100-10, ReLU, He initialisation) and learning rates;
    every optimizer starts from the same weights and sees the same batches.
    """
    lrs = dict(BOOK_MNIST_LRS if lrs is None else lrs)
    losses = {}
    with _bar(len(lrs), "optimizers", progress) as bar:
        for name, lr in lrs.items():
            network = MultiLayerNet(x_train.shape[1], [100] * 4, 10, seed=seed, dtype=dtype)
            trainer = _quiet_trainer(
                network,
                x_train,
                t_train,
                None,
                None,
                OPTIMIZERS[name](lr=lr),
                seed,
                iters=iters,
                batch_size=batch_size,
            )
            losses[name] = list(trainer.train().loss)
            bar.set_postfix_str(f"{name} loss {np.mean(losses[name][-100:]):.3f}")
            bar.update()
    return losses


# -- 6.2 weight initialisation ------------------------------------------------------------------

WEIGHT_INIT_CASES = (  # (label, weight_init_std, activation): the book's figures 6-10 to 6-14
    ("std 1 (sigmoid)", 1.0, "sigmoid"),
    ("std 0.01 (sigmoid)", 0.01, "sigmoid"),
    ("Xavier (sigmoid)", "xavier", "sigmoid"),
    ("He (ReLU)", "he", "relu"),
)


def weight_init_activations(
    *, samples: int = 1000, nodes: int = 100, layers: int = 5, cases=WEIGHT_INIT_CASES, seed=0
) -> dict[str, list[np.ndarray]]:
    """The activations of each of ``layers`` hidden layers for each weight scale (6.2.2).

    Input: ``samples`` standard normal vectors of ``nodes`` values, as in the book's
    ``weight_init_activation_histogram.py``. Returns label → list of (samples, nodes) arrays.
    """
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((samples, nodes))
    activation_of = {"sigmoid": sigmoid, "relu": relu}
    result = {}
    for label, weight_init_std, activation in cases:
        std = initial_std(weight_init_std, nodes)
        x, outs = x0, []
        for _ in range(layers):
            W = rng.standard_normal((nodes, nodes)) * std
            x = activation_of[activation](x @ W)
            outs.append(x)
        result[label] = outs
    return result


# -- 6.3 Batch Normalization --------------------------------------------------------------------


def batchnorm_comparison(
    x_train,
    t_train,
    *,
    train_size: int = 1000,
    epochs: int = 20,
    scales=None,
    lr: float = 0.01,
    seed: int = 0,
    dtype="float32",
    progress: bool = False,
) -> list[dict]:
    """Training accuracy per epoch with and without Batch Normalization (6.3.2).

    The book's ``batch_norm_test.py``: 1,000 training images, a 784-100×5-10 network, SGD
    lr 0.01, batch 100, for each initial weight scale in ``scales`` (16 values from 1 to
    1e-4 by default). Returns one dict per scale: ``scale``, ``batchnorm`` and ``plain``
    (accuracy per epoch).
    """
    scales = np.logspace(0, -4, num=16) if scales is None else np.asarray(scales)
    x, t = x_train[:train_size], t_train[:train_size]
    results = []
    with _bar(len(scales), "batchnorm", progress) as bar:
        for scale in scales:
            row = {"scale": float(scale)}
            for key, use_batchnorm in (("batchnorm", True), ("plain", False)):
                network = MultiLayerNetExtend(
                    x.shape[1],
                    [100] * 5,
                    10,
                    weight_init_std=float(scale),
                    use_batchnorm=use_batchnorm,
                    seed=seed,
                    dtype=dtype,
                )
                trainer = _quiet_trainer(
                    network, x, t, None, None, SGD(lr=lr), seed, epochs=epochs, batch_size=100
                )
                row[key] = _accuracies(trainer, "train_acc")
            results.append(row)
            bar.update()
    return results


def _accuracies(trainer: Trainer, key: str) -> list[float]:
    """The accuracy per epoch, NaN from where the run diverged (a too-high lr)."""
    try:
        history = trainer.train()
    except TrainingDiverged:
        history = trainer.history
    values = list(getattr(history, key))
    target = -(-trainer.target_iteration // trainer.iterations_per_epoch)
    return values + [math.nan] * (target - len(values))


# -- 6.4 overfitting ----------------------------------------------------------------------------


OVERFITTING_CASES = (  # (label, weight_decay_lambda, dropout ratio or None, the book's epochs)
    ("no regularisation", 0.0, None, 200),  # overfit_weight_decay.py: max_epochs = 201
    ("weight decay λ=0.1", 0.1, None, 200),
    ("dropout 0.2", 0.0, 0.2, 300),  # overfit_dropout.py: epochs=301 (dropout learns slower)
)


def overfitting(
    x_train,
    t_train,
    x_test,
    t_test,
    *,
    train_size: int = 300,
    epochs: int | None = None,
    lr: float = 0.01,
    cases=OVERFITTING_CASES,
    seed: int = 0,
    dtype="float32",
    progress: bool = False,
) -> dict[str, dict[str, list[float]]]:
    """Train and test accuracy per epoch of a 7-layer network on 300 images (6.4.1-6.4.3).

    784-100×6-10, SGD lr 0.01, batch 100, as in the book's ``overfit_weight_decay.py`` and
    ``overfit_dropout.py``; each case trains for the book's epochs (200 without dropout, 300
    with it) unless ``epochs`` sets one number for all. Returns label → {"train_acc": [...],
    "test_acc": [...]}.
    """
    x, t = x_train[:train_size], t_train[:train_size]
    results = {}
    with _bar(len(cases), "overfitting", progress) as bar:
        for label, weight_decay, dropout, book_epochs in cases:
            network = MultiLayerNetExtend(
                x.shape[1],
                [100] * 6,
                10,
                weight_decay_lambda=weight_decay,
                use_dropout=dropout is not None,
                dropout_ration=dropout or 0.5,
                seed=seed,
                dtype=dtype,
            )
            trainer = _quiet_trainer(
                network,
                x,
                t,
                x_test,
                t_test,
                SGD(lr=lr),
                seed,
                epochs=epochs or book_epochs,
                batch_size=100,
            )
            history = trainer.train()
            results[label] = {
                "train_acc": list(history.train_acc),
                "test_acc": list(history.test_acc),
            }
            bar.update()
    return results


# -- 6.5 hyperparameters ------------------------------------------------------------------------


def hyperparameter_search(
    x_train,
    t_train,
    *,
    train_size: int = 500,
    validation_rate: float = 0.2,
    trials: int = 100,
    epochs: int = 50,
    lr_range=(-6, -2),
    weight_decay_range=(-8, -4),
    seed: int = 0,
    dtype="float32",
    progress: bool = False,
) -> list[dict]:
    """A random search of the learning rate and weight decay (6.5.3), best trial first.

    The book's ``hyperparameter_optimization.py``: 500 images, 20 % of them held out for
    validation (never the test set), a 784-100×6-10 network trained with SGD for 50 epochs;
    lr = 10^U(−6, −2), weight decay = 10^U(−8, −4). Returns one dict per trial: ``lr``,
    ``weight_decay``, ``val_acc`` (final), ``val_curve``, ``train_curve``.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(min(train_size, len(x_train)))
    x, t = x_train[order], t_train[order]
    n_val = int(len(x) * validation_rate)
    x_val, t_val, x_fit, t_fit = x[:n_val], t[:n_val], x[n_val:], t[n_val:]
    trials_out = []
    with _bar(trials, "hyperparameters", progress) as bar:
        for trial in range(trials):
            weight_decay = float(10 ** rng.uniform(*weight_decay_range))
            lr = float(10 ** rng.uniform(*lr_range))
            network = MultiLayerNet(
                x.shape[1],
                [100] * 6,
                10,
                weight_decay_lambda=weight_decay,
                seed=seed + trial,
                dtype=dtype,
            )
            trainer = _quiet_trainer(
                network,
                x_fit,
                t_fit,
                x_val,
                t_val,
                SGD(lr=lr),
                seed + trial,
                epochs=epochs,
                batch_size=100,
            )
            val_curve = _accuracies(trainer, "test_acc")
            train_curve = list(trainer.history.train_acc)
            final = val_curve[-1]
            trials_out.append(
                {
                    "lr": lr,
                    "weight_decay": weight_decay,
                    "val_acc": final,
                    "val_curve": val_curve,
                    "train_curve": train_curve,
                }
            )
            best = max(
                (r["val_acc"] for r in trials_out if not math.isnan(r["val_acc"])), default=0
            )
            bar.set_postfix_str(f"best val acc {best:.3f}")
            bar.update()
    return sorted(trials_out, key=lambda r: -r["val_acc"] if not math.isnan(r["val_acc"]) else 1)
