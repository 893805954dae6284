"""``backprop experiment NAME``: the book's chapter 6 experiments and chapter 7 pictures.

``optimizers`` (6.1), ``weight-init`` (6.2), ``batchnorm`` (6.3), ``overfitting`` (6.4),
``hyperparameters`` (6.5) and ``filters`` (7.6: a SimpleConvNet's first-layer filters before
and after training, and its feature maps for one image). Each runs for real (defaults: the
book's settings, on the bundled MNIST sample), shows a progress bar, writes PNGs and a CSV
into the output folder (default ``experiments/``) and ends with one line saying what the
figure shows.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path

import numpy as np

from backprop import experiment_plots as plots
from backprop import experiments
from backprop._atomic import atomic_write
from backprop.cli._common import DATASET_NAMES, load_data, plural

NAMES = ("optimizers", "weight-init", "batchnorm", "overfitting", "hyperparameters", "filters")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment",
        help="run a chapter 6 experiment or draw a conv net's filters (PNG + CSV)",
        description=(
            "Run one of the book's chapter 6 experiments (or the chapter 7 filter pictures) "
            "with the library, draw its figure and write its numbers as CSV."
        ),
    )
    parser.add_argument("name", metavar="NAME", help=", ".join(NAMES))
    parser.add_argument(
        "--dataset",
        default="mnist-sample",
        metavar="NAME",
        help=f"{', '.join(DATASET_NAMES)} (default: mnist-sample)",
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="folder of the IDX files")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("experiments"),
        metavar="DIR",
        help="output folder (default: experiments)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--iters", type=int, metavar="N", help="optimizers: iterations (2000)")
    parser.add_argument(
        "--epochs",
        type=int,
        metavar="N",
        help="epochs (batchnorm 20, overfitting 200 and 300 with dropout, hyperparameters 50, "
        "filters 1)",
    )
    parser.add_argument("--trials", type=int, metavar="N", help="hyperparameters: trials (100)")
    parser.add_argument(
        "--model",
        type=Path,
        metavar="MODEL",
        help="filters: a SimpleConvNet model.npz to draw (default: train one for --epochs)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _check(args) -> None:
    if args.name not in NAMES:
        raise ValueError(f"experiment must be one of {', '.join(NAMES)}, got {args.name!r}")
    for key in ("iters", "epochs", "trials"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise ValueError(f"--{key} must be at least 1, got {value}")
    if args.model is not None and args.name != "filters":
        raise ValueError("--model is for the filters experiment")


def _write_csv(path: Path, header: list[str], rows) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(f"{v:.6g}" if isinstance(v, float) else v for v in row)
    with atomic_write(path) as file:
        file.write(text.getvalue().encode("utf-8"))
    return path


def run(args: argparse.Namespace) -> int:
    _check(args)
    out = args.out
    progress = not args.quiet
    written, summary = _EXPERIMENTS[args.name](args, out, progress)
    print(f"wrote {', '.join(p.name for p in written)} to {out}")
    print(summary)
    return 0


def _data(args):
    return load_data(args.dataset, args.data_dir)


def _optimizers(args, out: Path, progress: bool):
    paths = experiments.optimizer_paths()
    (x, t), _ = _data(args)
    losses = experiments.compare_optimizers(
        x, t, iters=args.iters or 2000, seed=args.seed, progress=progress
    )
    written = [
        plots.plot_optimizer_paths(paths, out / "optimizer_paths.png"),
        plots.plot_optimizer_losses(losses, out / "optimizer_losses.png"),
    ]
    names = list(losses)
    rows = ([i + 1, *(losses[n][i] for n in names)] for i in range(len(losses[names[0]])))
    written.append(_write_csv(out / "optimizers.csv", ["iteration", *names], rows))
    last = {n: float(np.mean(losses[n][-100:])) for n in names}
    ranking = ", ".join(f"{n} {v:.3f}" for n, v in sorted(last.items(), key=lambda kv: kv[1]))
    summary = (
        f"optimizers: SGD zigzags along the steep y axis of x²/20 + y² while Momentum, AdaGrad "
        f"and Adam head for the minimum; loss over the last 100 of {len(losses[names[0]])} "
        f"iterations on {args.dataset}: {ranking}"
    )
    return written, summary


def _weight_init(args, out: Path, progress: bool):
    activations = experiments.weight_init_activations(seed=args.seed)
    written = [plots.plot_activation_histograms(activations, out / "weight_init.png")]
    rows = []
    for label, outs in activations.items():
        for layer, a in enumerate(outs, start=1):
            rows.append([label, layer, float(a.mean()), float(a.std())])
    written.append(_write_csv(out / "weight_init.csv", ["case", "layer", "mean", "std"], rows))
    spread = {label: float(outs[-1].std()) for label, outs in activations.items()}
    summary = (
        "weight-init: std 1 saturates the sigmoid at 0 and 1 (vanishing gradients), std 0.01 "
        "collapses every activation onto 0.5 (no expressiveness), Xavier (sigmoid) and He "
        "(ReLU) keep the spread through all five layers; std of layer 5: "
        + ", ".join(f"{k} {v:.3f}" for k, v in spread.items())
    )
    return written, summary


def _batchnorm(args, out: Path, progress: bool):
    (x, t), _ = _data(args)
    results = experiments.batchnorm_comparison(
        x, t, epochs=args.epochs or 20, seed=args.seed, progress=progress
    )
    written = [plots.plot_batchnorm(results, out / "batchnorm.png")]
    rows = []
    for r in results:
        for epoch, (a, b) in enumerate(zip(r["batchnorm"], r["plain"], strict=True), start=1):
            rows.append([r["scale"], epoch, a, b])
    header = ["weight_scale", "epoch", "train_acc_batchnorm", "train_acc_plain"]
    written.append(_write_csv(out / "batchnorm.csv", header, rows))
    wins = sum(np.nan_to_num(r["batchnorm"][-1]) > np.nan_to_num(r["plain"][-1]) for r in results)
    epochs = len(results[0]["plain"])
    run = f"{epochs} epoch{'s' if epochs != 1 else ''} on 1,000 images"
    if 2 * wins > len(results):
        summary = (
            f"batchnorm: with Batch Normalization the final training accuracy is higher for "
            f"{wins} of {len(results)} initial weight scales ({run}), as in the book's 6.3.2"
        )
    else:
        summary = (
            f"batchnorm: Batch Normalization ends higher for only {wins} of {len(results)} "
            f"initial weight scales in this run ({run}); the book's figure uses 20 epochs"
        )
    return written, summary


def _overfitting(args, out: Path, progress: bool):
    (x, t), (x_test, t_test) = _data(args)
    results = experiments.overfitting(
        x, t, x_test, t_test, epochs=args.epochs, seed=args.seed, progress=progress
    )
    written = [plots.plot_overfitting(results, out / "overfitting.png")]
    rows = []
    for label, curves in results.items():
        for epoch, (a, b) in enumerate(zip(curves["train_acc"], curves["test_acc"], strict=True)):
            rows.append([label, epoch + 1, a, b])
    header = ["case", "epoch", "train_acc", "test_acc"]
    written.append(_write_csv(out / "overfitting.csv", header, rows))
    final = {label: (c["train_acc"][-1], c["test_acc"][-1]) for label, c in results.items()}
    accs = ", ".join(f"{label} {a:.2f}/{b:.2f}" for label, (a, b) in final.items())
    (plain, (train, test)), *others = final.items()
    narrower = [label for label, (a, b) in others if a - b < train - test]
    trained = {label: len(c["train_acc"]) for label, c in results.items()}
    epochs = trained[plain]
    longer = [f"{label}: {n}" for label, n in trained.items() if n != epochs]
    summary = (
        f"overfitting: after {epochs} epoch{'s' if epochs != 1 else ''}"
        + (f" ({', '.join(longer)})" if longer else "")
        + f" on 300 images, the train − test accuracy gap is {train - test:.2f} with {plain}; "
        + (
            "the network has not overfit yet (the book trains 200 epochs)"
            if train - test < 0.05
            else f"{' and '.join(narrower)} narrow{'s' if len(narrower) == 1 else ''} it"
            if narrower
            else "neither regularizer narrows it in this run"
        )
        + f" (final train/test accuracy: {accs})"
    )
    return written, summary


def _hyperparameters(args, out: Path, progress: bool):
    (x, t), _ = _data(args)
    trials = experiments.hyperparameter_search(
        x,
        t,
        trials=args.trials or 100,
        epochs=args.epochs or 50,
        seed=args.seed,
        progress=progress,
    )
    written = [plots.plot_hyperparameters(trials, out / "hyperparameters.png")]
    rows = [[rank, r["lr"], r["weight_decay"], r["val_acc"]] for rank, r in enumerate(trials, 1)]
    header = ["rank", "lr", "weight_decay", "val_acc"]
    written.append(_write_csv(out / "hyperparameters.csv", header, rows))
    for rank, r in enumerate(trials[:5], start=1):
        print(
            f"best {rank}: val acc {r['val_acc']:.3f}  lr {r['lr']:.2e}  "
            f"weight decay {r['weight_decay']:.2e}"
        )
    best = trials[:5]
    lrs, wds = [r["lr"] for r in best], [r["weight_decay"] for r in best]
    summary = (
        f"hyperparameters: the best {len(best)} of {len(trials)} random trials have learning "
        f"rates {min(lrs):.1e} to {max(lrs):.1e} (searched 1e-6 to 1e-2) and weight decays "
        f"{min(wds):.1e} to {max(wds):.1e} (searched 1e-8 to 1e-4); narrow the search to "
        "these ranges and repeat (6.5.3)"
    )
    return written, summary


def _filters(args, out: Path, progress: bool):
    from backprop.checkpoint import load_checkpoint
    from backprop.convnet import SimpleConvNet
    from backprop.networks import network_from_config
    from backprop.optimizers import Adam
    from backprop.training import Trainer, as_input

    (x, t), (x_test, t_test) = _data(args)
    if args.model is not None:
        network = load_checkpoint(args.model).network
        if not isinstance(network, SimpleConvNet):
            raise ValueError(f"{args.model}: the filters experiment needs a SimpleConvNet")
        before = network_from_config(network.config(), seed=args.seed).params["W1"]
        how = f"the model {args.model}"
    else:
        network = SimpleConvNet(seed=args.seed, dtype="float32")
        before = network.params["W1"].copy()
        epochs = args.epochs or 1
        trainer = Trainer(
            network,
            x,
            t,
            x_test,
            t_test,
            optimizer=Adam(lr=0.001),
            epochs=epochs,
            rng=np.random.default_rng(args.seed),
            progress="bar" if progress else "none",
        )
        history = trainer.train()
        how = (
            f"{plural(epochs, 'epoch')} on {args.dataset}, test accuracy {history.test_acc[-1]:.4f}"
        )
    after = network.params["W1"]
    written = [
        plots.plot_filters(before, out / "filters_before.png", title="Conv1 filters, initial"),
        plots.plot_filters(after, out / "filters_after.png", title="Conv1 filters, trained"),
    ]
    image = as_input(x_test[:1], network.dtype).reshape(1, *network.input_dim)
    conv, relu = network.layers["Conv1"], network.layers["Relu1"]
    maps = relu.forward(conv.forward(image))[0]
    written.append(
        plots.plot_feature_maps(
            image[0],
            maps,
            out / "feature_maps.png",
            title=f"Conv1 → ReLU feature maps of a test digit ({int(t_test[0])})",
        )
    )
    rows = [
        [i, float(np.std(before[i])), float(np.std(after[i])), float(maps[i].mean())]
        for i in range(len(after))
    ]
    header = ["filter", "std_before", "std_after", "feature_map_mean"]
    written.append(_write_csv(out / "filters.csv", header, rows))
    smooth = float(np.mean([_smoothness(w[0]) for w in after]))
    smooth0 = float(np.mean([_smoothness(w[0]) for w in before]))
    summary = (
        f"filters: the initial filters are noise; after training ({how}) they are blobs and "
        f"edges (neighbour correlation {smooth0:.2f} → {smooth:.2f}), and each feature map "
        "responds to other strokes of the digit"
    )
    return written, summary


def _smoothness(w: np.ndarray) -> float:
    """Correlation of horizontally neighbouring weights: ≈0 for noise, high for blobs/edges."""
    a, b = w[:, :-1].ravel(), w[:, 1:].ravel()
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


_EXPERIMENTS = {
    "optimizers": _optimizers,
    "weight-init": _weight_init,
    "batchnorm": _batchnorm,
    "overfitting": _overfitting,
    "hyperparameters": _hyperparameters,
    "filters": _filters,
}
