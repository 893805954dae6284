"""``backprop gradcheck``: backpropagation against numerical differentiation (book 5.7.3).

Builds the book's ``TwoLayerNet(784, 50, 10)`` (or a ``MultiLayerNet``), takes a small batch
and prints :func:`backprop.gradient.gradient_check`'s report: for each parameter the book's
mean absolute difference, the max relative error, where it occurs and PASS/FAIL, then how many
times faster backpropagation was than numerical differentiation.

Data (``--data``): ``auto`` takes the first images of MNIST's training set, from ``--data-dir``
if given, else from the downloaded MNIST if it is in the cache, else from the sample bundled
with the package; seeded random data when none of them can be read. ``mnist``, ``sample`` and
``random`` ask for one source and fail if it cannot be read. A gradient check needs a few
images, so it never downloads: ``backprop download`` does that.

Exit code 0 when every parameter passes, 1 when any fails, 2 for bad arguments or data.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from backprop import layers
from backprop.datasets import load_mnist
from backprop.gradient import gradient_check
from backprop.networks import MultiLayerNet, Network, TwoLayerNet

EXIT_FAILED = 1
INPUT_SIZE = 784  # MNIST images, 28 × 28
OUTPUT_SIZE = 10
NETWORKS = ("two-layer", "multi-layer")
DATA_SOURCES = ("auto", "mnist", "sample", "random")


def _away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


# --layer NAME: the layer and its random inputs (a ReLU's stay 0.1 away from the kink)
LAYERS = {
    "MulLayer": lambda rng: (
        layers.MulLayer(),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    ),
    "AddLayer": lambda rng: (
        layers.AddLayer(),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    ),
    "Relu": lambda rng: (layers.Relu(), _away_from_zero(rng, (3, 4))),
    "Sigmoid": lambda rng: (layers.Sigmoid(), rng.standard_normal((3, 4))),
    "Tanh": lambda rng: (layers.Tanh(), rng.standard_normal((3, 4))),
    "Affine": lambda rng: (
        layers.Affine(rng.standard_normal((4, 5)), rng.standard_normal(5)),
        rng.standard_normal((3, 4)),
    ),
    "SoftmaxWithLoss": lambda rng: (
        layers.SoftmaxWithLoss(),
        rng.standard_normal((3, 5)),
        rng.integers(0, 5, size=3),
    ),
    "MeanSquaredErrorLoss": lambda rng: (
        layers.MeanSquaredErrorLoss(),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    ),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="check backpropagation against numerical differentiation",
        description=(
            "Compare the gradients of backpropagation with those of numerical differentiation "
            "on a network (book 5.7.3), parameter by parameter, in float64, and show how much "
            "faster backpropagation is. Exit code 1 when a parameter fails."
        ),
    )
    parser.add_argument(
        "--network",
        choices=NETWORKS,
        default="two-layer",
        help="TwoLayerNet or MultiLayerNet (default: %(default)s)",
    )
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[50],
        metavar="N",
        help="hidden layer size; multi-layer takes one size per hidden layer (default: 50)",
    )
    parser.add_argument(
        "--activation",
        choices=("relu", "sigmoid"),
        default=None,
        help="multi-layer only: hidden activation (default: relu)",
    )
    parser.add_argument(
        "--weight-init-std",
        default=None,
        metavar="STD",
        help="standard deviation of the initial weights: a number (two-layer default 0.01), "
        "or for multi-layer also 'he' or 'xavier' (default: he)",
    )
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        metavar="LAMBDA",
        help="multi-layer only: L2 weight decay λ (default: 0)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=3,
        metavar="N",
        help="number of samples in the batch (default: %(default)s, as in the book)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initial weights and of random data (default: %(default)s)",
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-7,
        help="PASS when the max relative error is at most TOL (default: %(default)g)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="compare with the book's plain central difference instead of its Richardson "
        "extrapolation from h and 2h (the default, whose O(h⁴) error keeps deeper networks "
        "from failing on the numerical side's own error)",
    )
    parser.add_argument(
        "--data",
        choices=DATA_SOURCES,
        default="auto",
        help="where the batch comes from (default: %(default)s: MNIST if it can be read, "
        "else random data)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder holding the four MNIST files (implies --data mnist)",
    )
    parser.add_argument(
        "--layer",
        choices=tuple(LAYERS),
        default=None,
        metavar="NAME",
        help=f"check one layer of the library on random inputs instead of a network "
        f"({', '.join(LAYERS)})",
    )
    parser.add_argument(
        "--h",
        type=float,
        default=1e-4,
        help="step of the central difference (default: %(default)g)",
    )
    parser.add_argument(
        "--plot-h",
        default=None,
        metavar="FILE.png",
        help="on a FAIL, draw the error for a sweep of h (the U-shaped curve) to FILE.png",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress line on stderr while the numerical gradient runs (auto: when stderr "
        "is a terminal)",
    )
    parser.set_defaults(func=run)


class _Progress:
    """``numerical gradient: 12,345 / 79,520 evaluations (16%), 3 s`` on one stderr line."""

    def __init__(self):
        self.start = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        self.shown = True
        line = (
            f"numerical gradient: {done:,} / {total:,} evaluations ({done / total:.0%}), "
            f"{now - self.start:.0f} s"
        )
        print(f"\r{line}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    show = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    progress = _Progress() if show else None
    if args.layer is not None:
        layer, *inputs = LAYERS[args.layer](np.random.default_rng(args.seed))
        shapes = ", ".join(str(np.shape(v)) for v in inputs)
        print(f"layer: {layer!r}, random inputs of shape {shapes} (seed {args.seed})")
        try:
            report = gradient_check(
                layer,
                *inputs,
                tol=args.tol,
                h=args.h,
                richardson=not args.plain,
                rng=np.random.default_rng((args.seed, 2)),
                progress=progress,
            )
        finally:
            if progress is not None:
                progress.close()
        return _finish(report, args)
    network = _build_network(args)
    x, t, description = _load_batch(args)
    n_params = sum(p.size for p in network.params.values())
    print(f"network: {network!r}, {n_params:,} parameters")
    print(f"data: {description}")
    try:
        report = gradient_check(
            network, x, t, tol=args.tol, h=args.h, richardson=not args.plain, progress=progress
        )
    finally:
        if progress is not None:
            progress.close()
    return _finish(report, args)


def _finish(report, args: argparse.Namespace) -> int:
    print(report)
    if args.plot_h is not None and report.h_sweep:
        from backprop.check.sweep_plot import plot_h_sweep

        print(f"wrote {plot_h_sweep(report, args.plot_h, h=args.h)}")
    return 0 if report.passed else EXIT_FAILED


def _check_args(args: argparse.Namespace) -> None:
    problems = []
    if args.batch_size < 1:
        problems.append(f"--batch-size must be at least 1, got {args.batch_size}")
    if any(n < 1 for n in args.hidden):
        problems.append(f"--hidden sizes must be at least 1, got {args.hidden}")
    if args.network == "two-layer" and len(args.hidden) != 1:
        problems.append(
            f"--network two-layer takes one --hidden size, got {len(args.hidden)}: {args.hidden}"
        )
    if args.network == "two-layer":
        for option, value in (
            ("--activation", args.activation),
            ("--weight-decay", args.weight_decay),
        ):
            if value is not None:
                problems.append(f"{option} applies to --network multi-layer only")
    if args.weight_decay is not None and not args.weight_decay >= 0:
        problems.append(f"--weight-decay must be ≥ 0, got {args.weight_decay}")
    if not args.tol > 0:
        problems.append(f"--tol must be positive, got {args.tol}")
    if not 0 < args.h < 1:
        problems.append(f"--h must be between 0 and 1, got {args.h}")
    if args.seed < 0:
        problems.append(f"--seed must be ≥ 0, got {args.seed}")
    if args.data_dir is not None and args.data not in ("auto", "mnist"):
        problems.append(f"--data-dir goes with --data mnist, not --data {args.data}")
    if problems:
        message = "; ".join(problems)
        raise ValueError(message)


def _weight_init_std(args: argparse.Namespace):
    value = args.weight_init_std
    if value is None:
        return 0.01 if args.network == "two-layer" else "he"
    if args.network == "multi-layer" and value.lower() in ("he", "xavier"):
        return value.lower()
    try:
        std = float(value)
    except ValueError:
        choices = "a number" if args.network == "two-layer" else "'he', 'xavier' or a number"
        message = f"--weight-init-std must be {choices} for --network {args.network}, got {value!r}"
        raise ValueError(message) from None
    if not (np.isfinite(std) and std > 0):
        message = f"--weight-init-std must be a positive number, got {value!r}"
        raise ValueError(message)
    return std


def _build_network(args: argparse.Namespace) -> Network:
    std = _weight_init_std(args)
    if args.network == "two-layer":
        return TwoLayerNet(INPUT_SIZE, args.hidden[0], OUTPUT_SIZE, std, seed=args.seed)
    return MultiLayerNet(
        INPUT_SIZE,
        args.hidden,
        OUTPUT_SIZE,
        activation=args.activation or "relu",
        weight_init_std=std,
        weight_decay_lambda=args.weight_decay or 0.0,
        seed=args.seed,
    )


def _load_batch(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """The batch ``(x, t)`` and a line saying where it comes from."""
    n = args.batch_size
    source = args.data
    if source == "auto" and args.data_dir is not None:
        source = "mnist"
    if source != "random":
        loaded = _load_mnist(source, args.data_dir)
        if loaded is not None:
            x_train, t_train, name = loaded
            if n > len(x_train):
                message = f"--batch-size {n} is larger than the {len(x_train)} images of {name}"
                raise ValueError(message)
            labels = ", ".join(str(label) for label in t_train[:n][:10])
            more = ", …" if n > 10 else ""
            description = f"the first {n} training images of {name} (labels {labels}{more})"
            return x_train[:n] / 255, t_train[:n], description  # float64 [0, 1], the batch only
    rng = np.random.default_rng((args.seed, 1))  # its own stream, apart from the weights'
    x = rng.random((n, INPUT_SIZE))
    t = rng.integers(0, OUTPUT_SIZE, size=n)
    why = " (MNIST could not be read)" if source == "auto" else ""
    return x, t, f"{n} random images and labels (seed {args.seed}){why}"


def _load_mnist(source: str, data_dir):
    """Training images (uint8) and labels of MNIST as ``source`` asks, or None to fall back.

    The pixels stay uint8 (55 MB for all of MNIST instead of 440 MB of float64): the check
    converts only the few images of its batch. None only for ``auto``, when nothing loads.
    """
    pixels = {"normalize": False, "dtype": np.uint8}
    if source == "sample":
        (x_train, t_train), _ = load_mnist(sample=True, **pixels)
        return x_train, t_train, "the MNIST sample bundled with backprop"
    if source == "mnist":  # never downloads: the error says which files to put where
        (x_train, t_train), _ = load_mnist(data_dir=data_dir, download=False, **pixels)
        where = f" in {data_dir}" if data_dir is not None else ""
        return x_train, t_train, f"MNIST{where}"
    attempts = (
        ({"download": False}, "MNIST"),
        ({"sample": True}, "the MNIST sample bundled with backprop"),
    )
    for kwargs, name in attempts:
        try:
            (x_train, t_train), _ = load_mnist(**kwargs, **pixels)
        except (OSError, ValueError):
            continue
        return x_train, t_train, name
    return None
