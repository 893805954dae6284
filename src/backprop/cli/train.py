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
import itertools
import math
import os
import sys
from pathlib import Path

import numpy as np

from backprop.cli import _models
from backprop.cli._common import (
    DATASET_NAMES,
    check_dataset,
    class_names,
    describe_data,
    describe_network,
    load_data,
    plural,
)
from backprop.networks import DTYPES, MultiLayerNet, TwoLayerNet
from backprop.optimizers import OPTIMIZER_NAMES, get_optimizer
from backprop.plots import plot_learning_curves, plot_misclassified
from backprop.training import (
    MAX_ITERATIONS,
    DivergenceStop,
    EpochLog,
    ModelCheckpoint,
    ProgressBar,
    ResumeConflict,
    Trainer,
    TrainingDiverged,
    predict_labels,
    resume,
)

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
# The options that a resumed run takes from its checkpoint (given again, they must agree).
RESUME_SETTINGS = (
    "dataset",
    "hidden",
    "activation",
    "dtype",
    "optimizer",
    "lr",
    "batch_size",
    "sample_with_replacement",
    "seed",
)


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
        "--out", type=_folder, metavar="DIR", help="output folder (default: runs/<date-time>)"
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


def _folder(text: str) -> Path:
    """--out: an empty name would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the output folder name is empty (for the current folder, say --out .)"
        )
    return Path(text)


def _settings(args: argparse.Namespace) -> dict:
    """The run's settings: the arguments given, else the defaults; checked."""
    s = {key: getattr(args, key) for key in (*DEFAULTS, "lr", "epochs", "sample_with_replacement")}
    for key, value in DEFAULTS.items():
        if s[key] is None and not (key == "iters" and s["epochs"] is not None):
            s[key] = value
    s["sample_with_replacement"] = bool(s["sample_with_replacement"])
    s["data_dir"] = args.data_dir
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
    _check_length(args)
    for n in s["hidden"]:
        if n < 1:
            raise ValueError(f"--hidden sizes must be at least 1, got {n}")
    return s


def training_memory(sizes: list[int], dtype, slots: int, batch_size: int) -> tuple[int, int]:
    """``(parameters, bytes)`` a fully connected network of layer ``sizes`` needs to train.

    Bytes: the parameters, their gradients and ``slots`` optimizer state arrays of the same
    size (Momentum 1, Adam 2), plus the forward and backward arrays of one mini-batch (about
    four of ``batch_size × sizes[i]`` per layer), all of ``dtype``'s itemsize.
    """
    parameters = sum(a * b + b for a, b in itertools.pairwise(sizes))
    activations = 4 * batch_size * sum(sizes)
    return parameters, (parameters * (2 + slots) + activations) * np.dtype(dtype).itemsize


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable, else the free physical pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _check_memory(s: dict, sizes: list[int]) -> None:
    slots = len(get_optimizer(s["optimizer"]).slots)
    parameters, needed = training_memory(sizes, s["dtype"], slots, s["batch_size"])
    available = _available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"--hidden {_show(s['hidden'])}: training this network would take about "
            f"{_size(needed)} of memory ({parameters:,} {s['dtype']} parameters of "
            f"{np.dtype(s['dtype']).itemsize} bytes, with their gradients, the optimizer's "
            f"state and a batch of {s['batch_size']}), more than the {_size(available)} "
            "available; choose smaller --hidden sizes"
        )


def _check_length(args: argparse.Namespace) -> None:
    """--epochs/--iters within what a run can do (the batch size decides the epochs' part)."""
    if args.iters is not None and args.iters > MAX_ITERATIONS:
        raise ValueError(f"--iters must be at most {MAX_ITERATIONS:,}, got {args.iters:,}")
    if args.epochs is not None and args.epochs > MAX_ITERATIONS:
        raise ValueError(f"--epochs must be at most {MAX_ITERATIONS:,}, got {args.epochs:,}")


def _build_network(s: dict, input_size: int, output_size: int, rng: np.random.Generator):
    _check_memory(s, [input_size, *s["hidden"], output_size])
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
    if args.resume is not None:
        out = args.out if args.out is not None else args.resume.parent
        trainer = _resume(args, out / "model.npz")
        s = {**trainer.run_settings, "data_dir": trainer.metadata.get("data_dir")}
    else:
        s = _settings(args)
        out = args.out if args.out is not None else _default_out()
        trainer = _new_trainer(args, s, out / "model.npz")
    if trainer.iteration >= trainer.target_iteration:
        raise ValueError(
            f"--resume: the run saved in {args.resume} is already at iteration "
            f"{trainer.iteration:,}, its end; give a larger --iters or --epochs to continue it"
        )
    _print_header(trainer, s, out, resumed=args.resume is not None)
    try:
        history = trainer.train()
    except TrainingDiverged as exc:
        _write_results(trainer, out, s, final=False)
        # The library's message, with the learning rate as the command line spells it.
        message = str(exc).replace(" lr=", " --lr ")
        print(f"backprop train: stopped: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if trainer.last_checkpoint is not None:
            print(
                f"backprop train: interrupted at iteration {trainer.iteration:,}; continue "
                f"from the last checkpoint with: backprop train --resume "
                f"{trainer.last_checkpoint[0]}",
                file=sys.stderr,
            )
        raise
    written = _write_results(trainer, out, s, final=True)
    total = sum(history.train_seconds) + sum(history.eval_seconds)
    print(
        f"done in {total:.1f} s (training {sum(history.train_seconds):.1f} s, evaluation "
        f"{sum(history.eval_seconds):.1f} s); wrote {', '.join(written)} to {out}"
    )
    print(f"test accuracy {history.test_acc[-1]:.4f}")
    return 0


def _callbacks(args: argparse.Namespace, model_path: Path, optimizer: str | None) -> list:
    # The book's SGD rate trains every network of this command; other optimizers' defaults do.
    safe_lr = BOOK_SGD_LR if optimizer == "sgd" else None
    pieces = [
        DivergenceStop(safe_lr=safe_lr),
        ModelCheckpoint(model_path, interval=CHECKPOINT_INTERVAL),
        EpochLog(),
    ]
    return pieces if args.quiet else [ProgressBar(), *pieces]


def _new_trainer(args: argparse.Namespace, s: dict, model_path: Path) -> Trainer:
    (x_train, t_train), (x_test, t_test) = load_data(s["dataset"], s["data_dir"])
    if s["batch_size"] > len(x_train):
        raise ValueError(
            f"--batch-size must be at most the number of training images "
            f"({len(x_train):,}), got {s['batch_size']:,}"
        )
    per_epoch = -(-len(x_train) // s["batch_size"])
    if s["epochs"] is not None and s["epochs"] * per_epoch > MAX_ITERATIONS:
        raise ValueError(
            f"--epochs must be at most {MAX_ITERATIONS // per_epoch:,} with --batch-size "
            f"{s['batch_size']} ({plural(per_epoch, 'iteration')} each), got {s['epochs']:,}"
        )
    init_seed, data_seed = np.random.SeedSequence(s["seed"]).spawn(2)
    output_size = int(max(t_train.max(), t_test.max())) + 1
    init_rng = np.random.default_rng(init_seed)
    network = _models.build_network(args, s, x_train[0].size, output_size, init_rng)
    if network is None:  # no --model: the chapter 5 networks
        network = _build_network(s, x_train[0].size, output_size, init_rng)
    lr = s["lr"] if s["lr"] is not None else (BOOK_SGD_LR if s["optimizer"] == "sgd" else None)
    metadata = {"dataset": s["dataset"], "seed": s["seed"]}
    if s["data_dir"] is not None:
        metadata["data_dir"] = str(Path(s["data_dir"]).resolve())
    return Trainer(
        network,
        x_train,
        t_train,
        x_test,
        t_test,
        epochs=s["epochs"],
        mini_batch_size=s["batch_size"],
        optimizer=s["optimizer"],
        optimizer_param={} if lr is None else {"lr": lr},
        verbose=False,
        iters=s["iters"],
        sample_with_replacement=s["sample_with_replacement"],
        rng=np.random.default_rng(data_seed),
        callbacks=_callbacks(args, model_path, s["optimizer"]),
        metadata=metadata,
    )


def _resume(args: argparse.Namespace, model_path: Path) -> Trainer:
    """The run saved in ``--resume``, with the options given checked against its own."""
    given = {name: getattr(args, name) for name in RESUME_SETTINGS}
    if given["optimizer"] is not None:
        given["optimizer"] = given["optimizer"].lower()

    def data(settings: dict):
        dataset = settings["dataset"]
        if dataset not in DATASET_NAMES:
            raise ValueError(f"{args.resume}: unknown dataset {dataset!r} in its metadata")
        return _load_split(dataset, _data_dir(args, settings, dataset))

    callbacks = _callbacks(args, model_path, None)
    try:
        trainer = resume(
            args.resume,
            data,
            expect=given,
            epochs=args.epochs,
            iters=args.iters,
            verbose=False,
            callbacks=callbacks,
        )
    except ResumeConflict as exc:
        differ = [
            f"--{name.replace('_', '-')} {_show(value)} (saved: {_show(saved)})"
            for name, value, saved in exc.conflicts
        ]
        raise ValueError(
            f"--resume continues the run saved in {args.resume} with its own settings; these "
            f"options differ from it: {', '.join(differ)} (leave them out, or start a new run)"
        ) from None
    if trainer.run_settings["optimizer"] == "sgd":  # known once the file is read
        next(c for c in callbacks if isinstance(c, DivergenceStop)).safe_lr = BOOK_SGD_LR
    return trainer


def _data_dir(args: argparse.Namespace, settings: dict, dataset: str):
    if args.data_dir is not None:
        if dataset == "mnist-sample":
            raise ValueError(
                "--data-dir is for --dataset mnist or fashion-mnist; the run resumed was "
                "trained on the bundled MNIST sample"
            )
        return args.data_dir
    saved = settings.get("data_dir")  # the folder the run was trained from, if still there
    return saved if isinstance(saved, str) and Path(saved).is_dir() else None


def _load_split(dataset: str, data_dir):
    (x_train, t_train), (x_test, t_test) = load_data(dataset, data_dir)
    return x_train, t_train, x_test, t_test


def _print_header(trainer: Trainer, s: dict, out: Path, *, resumed: bool) -> None:
    per_epoch = trainer.iterations_per_epoch
    target = trainer.target_iteration
    what = "resuming" if resumed else "training"
    start = f" from iteration {trainer.iteration:,}" if resumed else ""
    length = f"{plural(target, 'iteration')} ({plural(target / per_epoch, 'epoch')} of {per_epoch})"
    print(
        f"{what} {describe_network(trainer.network)}, {trainer.optimizer!r}, batch "
        f"{trainer.batch_size}, {length}{start}, seed {s['seed']}"
    )
    print(describe_data(s["dataset"], trainer.x_train, trainer.x_test))
    print(f"output folder: {out}")


def _write_results(trainer: Trainer, out: Path, s: dict, *, final: bool) -> list[str]:
    """History files, learning curves and (for a finished run) misclassified test digits."""
    history = trainer.history
    written = ["model.npz"] if (out / "model.npz").exists() else []
    history.save_csv(out / "history.csv")
    history.save_json(out / "history.json")
    written += ["history.csv", "history.json"]
    if history.loss:
        title = f"{describe_network(trainer.network)}, {trainer.optimizer!r}"
        plot_learning_curves(history, out / "learning_curves.png", title=title)
        written.append("learning_curves.png")
    if final:
        x_test, t_test = trainer.x_test, trainer.t_test
        y = predict_labels(trainer.network, x_test)
        names = class_names(s["dataset"], trainer.network.config()["output_size"])
        plot_misclassified(x_test, t_test, y, out / "misclassified.png", class_names=names)
        written.append("misclassified.png")
    return written
