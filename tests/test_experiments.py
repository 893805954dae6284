"""The chapter 6 experiments on tiny data: known values from the book, the shapes of what they
return, the pictures, and the ``backprop experiment`` command."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest

from backprop import experiment_plots as plots
from backprop import experiments
from backprop.cli import main


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _data(rng, n=120, d=12):
    """A separable toy problem: the label is the largest of the first 10 features."""
    x = rng.random((n, d)).astype(np.float32)
    return x, np.argmax(x[:, :10], axis=1)


def test_optimizer_paths_first_steps_by_hand():
    paths = experiments.optimizer_paths(steps=3)
    assert set(paths) == {"SGD", "Momentum", "AdaGrad", "Adam"}
    sgd = paths["SGD"]
    # x ← x − 0.95 · x/10, y ← y − 0.95 · 2y from (−7, 2)
    np.testing.assert_allclose(sgd[1], [-7 + 0.95 * 0.7, 2 - 0.95 * 4])
    # AdaGrad's first step is lr · g/|g| = 1.5 in each coordinate (h = g²)
    np.testing.assert_allclose(paths["AdaGrad"][1], [-7 + 1.5, 2 - 1.5], rtol=1e-6)
    full = experiments.optimizer_paths()
    assert all(len(p) == 31 for p in full.values())
    # Every optimizer ends closer to the minimum than it started.
    for p in full.values():
        assert experiments.book_function(*p[-1]) < experiments.book_function(*p[0])


def test_compare_optimizers_returns_a_loss_per_iteration(rng):
    x, t = _data(rng)
    losses = experiments.compare_optimizers(x, t, iters=6, batch_size=20)
    assert list(losses) == ["SGD", "Momentum", "AdaGrad", "Adam"]
    assert all(len(v) == 6 and all(math.isfinite(a) for a in v) for v in losses.values())
    # Same weights, same batches: the first loss is the same for all four.
    assert len({round(v[0], 6) for v in losses.values()}) == 1


def test_weight_init_activations_show_the_books_pictures():
    acts = experiments.weight_init_activations(samples=300, nodes=50)
    std1, small, xavier, he = (acts[label] for label, *_ in experiments.WEIGHT_INIT_CASES)
    assert np.mean((std1[-1] < 0.1) | (std1[-1] > 0.9)) > 0.5  # saturated at 0 and 1
    assert small[-1].std() < 0.01  # all near 0.5
    assert abs(small[-1].mean() - 0.5) < 0.01
    assert 0.05 < xavier[-1].std() < 0.3
    assert he[-1].std() > 0.3 and np.all(he[-1] >= 0)


def test_batchnorm_overfitting_and_hyperparameters_on_tiny_data(rng):
    x, t = _data(rng)
    results = experiments.batchnorm_comparison(x, t, train_size=50, epochs=2, scales=[1.0, 0.01])
    assert [r["scale"] for r in results] == [1.0, 0.01]
    assert all(len(r["batchnorm"]) == len(r["plain"]) == 2 for r in results)
    x_test, t_test = _data(rng, n=40)
    curves = experiments.overfitting(x, t, x_test, t_test, train_size=30, epochs=2)
    assert list(curves) == [label for label, *_ in experiments.OVERFITTING_CASES]
    assert all(len(c["train_acc"]) == len(c["test_acc"]) == 2 for c in curves.values())
    # Without epochs each case trains for the book's: 200 (overfit_weight_decay.py), 300
    # with dropout (overfit_dropout.py); one training image keeps this quick.
    book = experiments.overfitting(x, t, x_test, t_test, train_size=1)
    assert {k: len(c["train_acc"]) for k, c in book.items()} == {
        "no regularisation": 200,
        "weight decay λ=0.1": 200,
        "dropout 0.2": 300,
    }
    trials = experiments.hyperparameter_search(x, t, train_size=50, trials=3, epochs=2)
    assert len(trials) == 3
    accs = [r["val_acc"] for r in trials]
    assert accs == sorted(accs, reverse=True)
    for r in trials:
        assert 1e-6 <= r["lr"] <= 1e-2 and 1e-8 <= r["weight_decay"] <= 1e-4
        assert len(r["val_curve"]) == 2


@pytest.mark.slow
def test_the_pictures_are_small_pngs(rng, tmp_path):
    # Results of the shapes the experiments return (drawing needs no training).
    curve = list(rng.random(5))
    results = [{"scale": s, "batchnorm": curve, "plain": curve[::-1]} for s in (1.0, 0.1, 0.01)]
    curves = {label: {"train_acc": curve, "test_acc": curve[::-1]} for label in "abc"}
    trials = [
        {"lr": 10 ** -rng.uniform(2, 6), "weight_decay": 1e-6, "val_acc": a, "val_curve": curve}
        for a in sorted(rng.random(12), reverse=True)
    ]
    x, t = _data(rng)
    written = [
        plots.plot_optimizer_paths(experiments.optimizer_paths(), tmp_path / "paths.png"),
        plots.plot_optimizer_losses(
            experiments.compare_optimizers(x, t, iters=4, batch_size=20), tmp_path / "loss.png"
        ),
        plots.plot_activation_histograms(
            experiments.weight_init_activations(samples=50, nodes=10), tmp_path / "hist.png"
        ),
        plots.plot_batchnorm(results, tmp_path / "bn.png"),
        plots.plot_overfitting(curves, tmp_path / "over.png"),
        plots.plot_hyperparameters(trials, tmp_path / "hyper.png"),
        plots.plot_filters(rng.standard_normal((12, 1, 5, 5)), tmp_path / "f.png", title="W"),
        plots.plot_feature_maps(
            rng.random((1, 8, 8)), rng.random((4, 6, 6)), tmp_path / "m.png", title="maps"
        ),
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG"), path
        assert len(data) < 120_000, path


@pytest.mark.slow
def test_experiment_cli_weight_init(tmp_path):
    code, out, err = run_cli("experiment", "weight-init", "--out", tmp_path, "--quiet")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"wrote weight_init.png, weight_init.csv to {tmp_path}"
    assert lines[-1].startswith("weight-init: std 1 saturates the sigmoid")
    csv = (tmp_path / "weight_init.csv").read_text().splitlines()
    assert csv[0] == "case,layer,mean,std"
    assert len(csv) == 1 + 4 * 5


@pytest.mark.slow
def test_experiment_cli_overfitting_says_what_the_run_measured(tmp_path):
    code, out, err = run_cli(
        "experiment", "overfitting", "--epochs", "3", "--out", tmp_path, "--quiet"
    )
    assert code == 0, err
    summary = out.splitlines()[-1]
    assert summary.startswith("overfitting: after 3 epochs on 300 images, the train − test")
    assert "no regularisation" in summary and "dropout 0.2" in summary
    csv = (tmp_path / "overfitting.csv").read_text().splitlines()
    assert csv[0] == "case,epoch,train_acc,test_acc"
    assert len(csv) == 1 + 3 * 3


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["experiment", "lenet"], "experiment must be one of optimizers, weight-init"),
        (["experiment", "optimizers", "--iters", "0"], "--iters must be at least 1"),
        (["experiment", "batchnorm", "--model", "m.npz"], "--model is for the filters"),
    ],
)
def test_experiment_cli_bad_arguments(argv, fragment, tmp_path):
    code, _, err = run_cli(*argv, "--out", tmp_path)
    assert code == 2
    assert fragment in err


@pytest.mark.slow
def test_experiment_cli_filters_from_a_model(tmp_path):
    from backprop.checkpoint import save_checkpoint
    from backprop.convnet import SimpleConvNet

    model = save_checkpoint(tmp_path / "model.npz", SimpleConvNet(seed=1, dtype="float32"))
    code, out, err = run_cli(
        "experiment", "filters", "--model", model, "--out", tmp_path, "--quiet"
    )
    assert code == 0, err
    for name in ("filters_before.png", "filters_after.png", "feature_maps.png", "filters.csv"):
        assert (tmp_path / name).is_file()
    assert out.splitlines()[-1].startswith("filters: the initial filters are noise")
