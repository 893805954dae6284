"""``backprop train``: the book's chapter 5 training run, as one command.

Defaults are those of the book's ``train_neuralnet.py`` (5.7.4): TwoLayerNet 784-50-10 with
weight_init_std 0.01, SGD with lr 0.1, mini-batches of 100, 10,000 iterations; the data is the
MNIST sample bundled with the package, so the command works offline on a fresh machine
(``--dataset mnist`` for the full set). Parameters and data are float32 by default: as accurate
as float64 here and about twice as fast.

Writes to the output folder (default ``runs/<date-time>``, printed first): ``model.npz`` (the
checkpoint, rewritten at the end of an epoch at most every 5 seconds and at the end),
``history.csv``, ``history.json``,
``learning_curves.png`` and ``misclassified.png``. The last line printed is
``test accuracy 0.9712``.

``--resume runs/X/model.npz`` continues that run with its saved settings, optimizer state and
data order, into the same folder by default; ``--epochs``/``--iters`` are totals counted from
the start of the run (by default the run's own target). A run resumed from a checkpoint ends
with the same weights as the uninterrupted run.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from pathlib import Path

import numpy as np

from backprop.checkpoint import load_checkpoint
from backprop.cli import _models
from backprop.cli._common import (
    DATASET_NAMES,
    check_dataset,
    class_names,
    describe_data,
    describe_network,
    load_data,
)
from backprop.networks import DTYPES, MultiLayerNet, TwoLayerNet
from backprop.optimizers import OPTIMIZER_NAMES, get_optimizer
from backprop.plots import plot_learning_curves, plot_misclassified
from backprop.training import Trainer, TrainingDiverged, predict_labels

DEFAULTS = {
    "dataset": "mnist-sample",
    "hidden": [50],
    "activation": "relu",
    "optimizer": "sgd",
    "batch_size": 100,
    "seed": 0,
    "dtype": "float32",
    "iters": 10_000,
}
CHECKPOINT_INTERVAL = 5.0  # seconds; each save is fsynced (ms), epochs of the sample are short
BOOK_SGD_LR = 0.1  # train_neuralnet.py; the other optimizers default to their own lr
ACTIVATIONS = ("relu", "sigmoid")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on MNIST (the book's chapter 5 run)",
        description=(
            "Train a network with backpropagation and mini-batch gradient descent, evaluating "
            "train and test accuracy after every epoch. Defaults: the book's chapter 5 run "
            "(TwoLayerNet 784-50-10, SGD lr 0.1, batch 100, 10,000 iterations) on the bundled "
            "MNIST sample, in float32."
        ),
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"{', '.join(DATASET_NAMES)} (default: {DEFAULTS['dataset']})",
    )
    data.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="folder holding the four IDX files"
    )
    net = parser.add_argument_group("network")
    net.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        metavar="N",
        help="hidden layer sizes (default: 50); more than one, or --activation sigmoid, "
        "gives a MultiLayerNet",
    )
    net.add_argument(
        "--activation", metavar="NAME", help=f"{' or '.join(ACTIVATIONS)} (default: relu)"
    )
    net.add_argument("--dtype", metavar="DTYPE", help=f"{' or '.join(DTYPES)} (default: float32)")
    _models.add_arguments(net)  # --model, --dropout, --batchnorm, --weight-decay (chapters 6-8)
    opt = parser.add_argument_group("optimization")
    opt.add_argument(
        "--optimizer", metavar="NAME", help=f"{', '.join(OPTIMIZER_NAMES)} (default: sgd)"
    )
    opt.add_argument(
        "--lr",
        type=float,
        help=f"learning rate (default: {BOOK_SGD_LR} for sgd, the optimizer's own otherwise)",
    )
    opt.add_argument("--batch-size", type=int, metavar="N", help="mini-batch size (default: 100)")
    opt.add_argument("--epochs", type=int, metavar="N", help="train for N epochs")
    opt.add_argument(
        "--iters", type=int, metavar="N", help="train for N iterations (default: 10000)"
    )
    opt.add_argument(
        "--sample-with-replacement",
        action="store_true",
        default=None,
        help="draw each batch with replacement (the book's np.random.choice loop) instead "
        "of shuffled epochs",
    )
    opt.add_argument("--seed", type=int, help="seed of the weights and data order (default: 0)")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<date-time>)"
    )
    out.add_argument(
        "--resume",
        type=Path,
        metavar="MODEL",
        help="continue the run saved in MODEL (a model.npz written by backprop train)",
    )
    out.add_argument(
        "--quiet", action="store_true", help="no progress bar: one line per epoch only"
    )
    parser.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
# Settings


def _settings(args: argparse.Namespace) -> dict:
    """The run's settings: the arguments given, else the defaults; checked."""
    s = {key: getattr(args, key) for key in (*DEFAULTS, "lr", "epochs", "sample_with_replacement")}
    for key, value in DEFAULTS.items():
        if s[key] is None and not (key == "iters" and s["epochs"] is not None):
            s[key] = value
    s["sample_with_replacement"] = bool(s["sample_with_replacement"])
    check_dataset(s["dataset"])
    if s["dataset"] == "mnist-sample" and args.data_dir is not None:
        raise ValueError(
            f"--data-dir is for --dataset mnist or fashion-mnist; the MNIST sample is bundled "
            f"(got --data-dir {args.data_dir})"
        )
    if s["activation"] not in ACTIVATIONS:
        raise ValueError(
            f"--activation must be one of {', '.join(ACTIVATIONS)}, got {s['activation']!r}"
        )
    if s["dtype"] not in DTYPES:
        raise ValueError(f"--dtype must be one of {', '.join(DTYPES)}, got {s['dtype']!r}")
    if s["optimizer"].lower() not in OPTIMIZER_NAMES:
        raise ValueError(
            f"--optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {s['optimizer']!r}"
        )
    s["optimizer"] = s["optimizer"].lower()
    if s["lr"] is not None and not (math.isfinite(s["lr"]) and s["lr"] > 0):
        raise ValueError(f"--lr must be a positive number, got {s['lr']:g}")
    for key in ("batch_size", "epochs", "iters"):
        if s[key] is not None and s[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {s[key]}")
    for n in s["hidden"]:
        if n < 1:
            raise ValueError(f"--hidden sizes must be at least 1, got {n}")
    return s


def _build_network(s: dict, input_size: int, output_size: int, rng: np.random.Generator):
    if len(s["hidden"]) == 1 and s["activation"] == "relu":
        # The book's TwoLayerNet (5.7.2) with its weight_init_std of 0.01.
        return TwoLayerNet(input_size, s["hidden"][0], output_size, 0.01, rng=rng, dtype=s["dtype"])
    # He initialisation for ReLU, Xavier for sigmoid (6.2.2-6.2.3).
    return MultiLayerNet(
        input_size,
        s["hidden"],
        output_size,
        activation=s["activation"],
        weight_init_std=s["activation"],
        rng=rng,
        dtype=s["dtype"],
    )


def _saved_settings(checkpoint) -> dict:
    """The settings of the run saved in ``checkpoint``, in the command line's terms."""
    meta = checkpoint.metadata
    config = meta["network"]
    training = meta.get("training") or {}
    optimizer = meta.get("optimizer") or {}
    return {
        "dataset": meta.get("dataset"),
        "hidden": config.get("hidden_size_list") or [config.get("hidden_size")],
        "activation": config.get("activation", "relu"),
        "dtype": meta.get("dtype"),
        "optimizer": str(optimizer.get("name", "")).lower(),
        "lr": optimizer.get("hyperparameters", {}).get("lr"),
        "batch_size": training.get("batch_size"),
        "sample_with_replacement": training.get("sample_with_replacement"),
        "seed": meta.get("seed"),
    }


def _check_resume_options(args: argparse.Namespace, saved: dict, path: Path) -> None:
    given = {key: getattr(args, key) for key in saved}
    if given["optimizer"] is not None:
        given["optimizer"] = given["optimizer"].lower()
    differ = [
        f"--{key.replace('_', '-')} {_show(given[key])} (saved: {_show(saved[key])})"
        for key in saved
        if given[key] is not None and given[key] != saved[key]
    ]
    if differ:
        raise ValueError(
            f"--resume continues the run saved in {path} with its own settings; these options "
            f"differ from it: {', '.join(differ)} (leave them out, or start a new run)"
        )


def _show(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _default_out() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / stamp
    n = 2
    while out.exists():
        out = Path("runs") / f"{stamp}-{n}"
        n += 1
    return out


# ---------------------------------------------------------------------------------------------
# The command


def run(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.iters is not None:
        raise ValueError(
            f"give --epochs or --iters, not both (got --epochs {args.epochs} --iters {args.iters})"
        )
    checkpoint = None
    if args.resume is not None:
        checkpoint = load_checkpoint(args.resume)
        if not isinstance(checkpoint.metadata.get("training"), dict):
            raise ValueError(f"{args.resume}: has no training state (not saved by a Trainer)")
        saved = _saved_settings(checkpoint)
        _check_resume_options(args, saved, args.resume)
        s = {**saved, "epochs": args.epochs, "iters": args.iters}
        if s["dataset"] not in DATASET_NAMES:
            raise ValueError(f"{args.resume}: unknown dataset {s['dataset']!r} in its metadata")
        out = args.out if args.out is not None else args.resume.parent
    else:
        s = _settings(args)
        out = args.out if args.out is not None else _default_out()

    (x_train, t_train), (x_test, t_test) = load_data(s["dataset"], args.data_dir)
    if s["batch_size"] > len(x_train):
        raise ValueError(
            f"--batch-size must be at most the number of training images "
            f"({len(x_train):,}), got {s['batch_size']:,}"
        )
    model_path = out / "model.npz"
    options = {
        "checkpoint": model_path,
        "checkpoint_interval": CHECKPOINT_INTERVAL,
        "progress": "log" if args.quiet else "auto",
        "epochs": s["epochs"],
        "iters": s["iters"],
    }
    if checkpoint is not None:
        trainer = Trainer.from_checkpoint(checkpoint, x_train, t_train, x_test, t_test, **options)
    else:
        init_seed, data_seed = np.random.SeedSequence(s["seed"]).spawn(2)
        output_size = int(max(t_train.max(), t_test.max())) + 1
        init_rng = np.random.default_rng(init_seed)
        network = _models.build_network(args, s, x_train[0].size, output_size, init_rng)
        if network is None:
            network = _build_network(s, x_train[0].size, output_size, init_rng)
        lr = s["lr"] if s["lr"] is not None else (BOOK_SGD_LR if s["optimizer"] == "sgd" else None)
        optimizer = get_optimizer(s["optimizer"], **({} if lr is None else {"lr": lr}))
        trainer = Trainer(
            network,
            x_train,
            t_train,
            x_test,
            t_test,
            optimizer=optimizer,
            batch_size=s["batch_size"],
            sample_with_replacement=s["sample_with_replacement"],
            rng=np.random.default_rng(data_seed),
            metadata={"dataset": s["dataset"], "seed": s["seed"]},
            **options,
        )

    _print_header(trainer, s, x_train, x_test, out, checkpoint)
    try:
        history = trainer.train()
    except TrainingDiverged as exc:
        _write_results(trainer, out, s, x_test, t_test, final=False)
        print(f"backprop train: stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if trainer.saved_checkpoint is not None:
            print(
                f"backprop train: interrupted at iteration {trainer.iteration:,}; continue "
                f"from the last checkpoint with: backprop train --resume {model_path}",
                file=sys.stderr,
            )
        raise
    written = _write_results(trainer, out, s, x_test, t_test, final=True)
    total = sum(history.train_seconds) + sum(history.eval_seconds)
    print(
        f"done in {total:.1f} s (training {sum(history.train_seconds):.1f} s, evaluation "
        f"{sum(history.eval_seconds):.1f} s); wrote {', '.join(written)} to {out}"
    )
    print(f"test accuracy {history.test_acc[-1]:.4f}")
    return 0


def _print_header(trainer, s, x_train, x_test, out, checkpoint) -> None:
    per_epoch = trainer.iterations_per_epoch
    target = trainer.target_iteration
    what = "resuming" if checkpoint is not None else "training"
    start = f" from iteration {trainer.iteration:,}" if checkpoint is not None else ""
    print(
        f"{what} {describe_network(trainer.network)}, {trainer.optimizer!r}, batch "
        f"{trainer.batch_size}, {target:,} iterations ({target / per_epoch:.4g} epochs of "
        f"{per_epoch}){start}, seed {s['seed']}"
    )
    print(describe_data(s["dataset"], x_train, x_test))
    print(f"output folder: {out}")


def _write_results(trainer, out: Path, s: dict, x_test, t_test, *, final: bool) -> list[str]:
    """History files, learning curves and (for a finished run) misclassified test digits."""
    history = trainer.history
    history.save_csv(out / "history.csv")
    history.save_json(out / "history.json")
    written = ["model.npz", "history.csv", "history.json"]
    if history.loss:
        title = f"{describe_network(trainer.network)}, {trainer.optimizer!r}"
        plot_learning_curves(history, out / "learning_curves.png", title=title)
        written.append("learning_curves.png")
    if final:
        y = predict_labels(trainer.network, x_test)
        names = class_names(s["dataset"], trainer.network.config()["output_size"])
        plot_misclassified(x_test, t_test, y, out / "misclassified.png", class_names=names)
        written.append("misclassified.png")
    return written
