"""The pieces around the loop, each alone (with a stand-in trainer), then in a real run."""

from __future__ import annotations

import io
import math
import sys
import types

import numpy as np
import pytest

from backprop.checkpoint import load_checkpoint
from backprop.networks import TwoLayerNet
from backprop.optimizers import SGD, Adam, RMSprop
from backprop.training import (
    Callback,
    DivergenceStop,
    EarlyStopping,
    EpochLog,
    History,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
    TrainingDiverged,
    suggest_lr,
)
from backprop.training import callbacks as callbacks_module


class StandIn:
    """The few attributes of a Trainer that the pieces read."""

    def __init__(self, *, losses=(), lr=0.1, per_epoch=10, target=30, iteration=0):
        self.history = History(iterations_per_epoch=per_epoch, loss=list(losses))
        self.optimizer = SGD(lr=lr)
        self.iterations_per_epoch = per_epoch
        self.target_iteration = target
        self.iteration = iteration
        self.callbacks = []
        self.last_checkpoint = None
        self.stop_training = False
        self.network = types.SimpleNamespace(params={"W": np.zeros(3)})
        self.saved = []

    def samples(self, iterations):
        return iterations * 10

    def save_checkpoint(self, path):
        self.saved.append(self.iteration)


def epoch_logs(**values):
    logs = {
        "epoch": 1.0,
        "iteration": 10,
        "loss": 0.5,
        "train_acc": 0.9,
        "val_acc": math.nan,
        "test_acc": 0.8,
        "train_seconds": 2.0,
        "eval_seconds": 0.5,
        "elapsed_seconds": 2.5,
        "samples": 1000,
        "final": False,
    }
    return {**logs, **values}


class TTY(io.StringIO):
    def isatty(self):
        return True


# -- DivergenceStop ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "what"),
    [
        (math.nan, "the loss became NaN"),
        (math.inf, "the loss became infinite"),
        (23.5, "the loss became 23.5, more than 10 times the initial loss 2.3"),
    ],
)
def test_divergence_stop_on_nan_infinite_and_exploding_losses(loss, what):
    trainer = StandIn(losses=[2.3, 2.0], lr=10.0, per_epoch=10)
    stop = DivergenceStop()
    stop.on_train_begin(trainer)
    stop.on_batch_end(trainer, {"iteration": 3, "loss": 22.9, "size": 10})  # < 10 × 2.3
    with pytest.raises(TrainingDiverged) as info:
        stop.on_batch_end(trainer, {"iteration": 14, "loss": loss, "size": 10})
    message = str(info.value)
    assert message.startswith(f"training stopped at iteration 14 (epoch 2): {what}")
    assert "the learning rate lr=10 is too high: try lr=0.01" in message
    assert "no checkpoint file was requested" in message
    assert (info.value.iteration, info.value.epoch, info.value.suggested_lr) == (14, 2, 0.01)


def test_divergence_stop_takes_the_first_loss_as_reference_and_names_the_checkpoint(tmp_path):
    trainer = StandIn()
    trainer.callbacks = [ModelCheckpoint(tmp_path / "m.npz")]
    stop = DivergenceStop(factor=3)
    stop.on_train_begin(trainer)
    stop.on_batch_end(trainer, {"iteration": 1, "loss": 1.0, "size": 10})
    stop.on_batch_end(trainer, {"iteration": 2, "loss": 2.9, "size": 10})
    with pytest.raises(TrainingDiverged, match="no checkpoint was saved: it diverged before"):
        stop.on_batch_end(trainer, {"iteration": 3, "loss": 3.1, "size": 10})
    trainer.last_checkpoint = (tmp_path / "m.npz", 20)
    with pytest.raises(TrainingDiverged) as info:
        stop.on_batch_end(trainer, {"iteration": 21, "loss": 3.1, "size": 10})
    assert f"the last good checkpoint is {tmp_path / 'm.npz'} (iteration 20)" in str(info.value)
    assert info.value.checkpoint == tmp_path / "m.npz"


def test_divergence_stop_arguments():
    with pytest.raises(ValueError, match=r"factor must be a number > 1, got 0\.5"):
        DivergenceStop(factor=0.5)


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [(SGD(lr=10), 0.01), (SGD(lr=0.05), 0.005), (Adam(lr=1.0), 0.001), (RMSprop(lr=0.1), 0.01)],
)
def test_suggested_lr_is_a_tenth_and_at_most_the_optimizers_default(optimizer, expected):
    assert suggest_lr(optimizer) == pytest.approx(expected)


def test_suggest_lr_without_an_lr():
    assert suggest_lr(types.SimpleNamespace()) is None


def images(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, size=n)
    x = rng.integers(0, 60, size=(n, 16)).astype(np.uint8)
    for k in range(4):
        x[t == k, 4 * k : 4 * k + 4] += 150
    return x, t


def test_an_exploding_loss_stops_a_real_run_and_the_suggestion_trains():
    # The old loop stopped only on NaN: this run's loss jumps far above its start and the
    # network ends at chance, yet it "succeeded".
    x, t = images(400)
    network = TwoLayerNet(16, 20, 4, 0.01, seed=0)
    trainer = Trainer(
        network,
        x,
        t,
        epochs=5,
        mini_batch_size=20,
        optimizer="SGD",
        optimizer_param={"lr": 300.0},
        verbose=False,
        seed=0,
    )
    with pytest.raises(TrainingDiverged) as info:
        trainer.train()
    assert "more than 10 times the initial loss" in str(info.value)
    suggested = info.value.suggested_lr
    network = TwoLayerNet(16, 20, 4, 0.01, seed=0)
    history = Trainer(
        network,
        x,
        t,
        epochs=5,
        mini_batch_size=20,
        optimizer="SGD",
        optimizer_param={"lr": suggested},
        verbose=False,
        seed=0,
    ).train()
    assert max(history.loss) < 10 * history.loss[0]
    assert all(math.isfinite(v) for v in history.loss)


# -- EpochLog ---------------------------------------------------------------------------------


def test_epoch_log_line():
    stream = io.StringIO()
    trainer = StandIn(per_epoch=10, target=250)
    EpochLog(stream).on_epoch_end(trainer, epoch_logs(iteration=20))
    assert stream.getvalue() == (
        "epoch  2/25  iter  20  loss 0.5000  train acc 0.9000  test acc 0.8000    2.5 s  "
        "500 img/s\n"
    )


def test_epoch_log_with_validation_and_without_test_data():
    stream = io.StringIO()
    EpochLog(stream).on_epoch_end(StandIn(), epoch_logs(val_acc=0.85, test_acc=math.nan))
    line = stream.getvalue()
    assert "train acc 0.9000  val acc 0.8500    2.5 s" in line
    assert "test acc" not in line


# -- ProgressBar ------------------------------------------------------------------------------


def test_progress_kind_terminal_log_and_notebook(monkeypatch):
    assert callbacks_module.progress_kind(TTY()) == "terminal"
    assert callbacks_module.progress_kind(io.StringIO()) == "none"
    monkeypatch.setattr(callbacks_module, "_in_notebook", lambda: True)
    monkeypatch.setattr(callbacks_module.importlib.util, "find_spec", lambda name: object())
    assert callbacks_module.progress_kind(io.StringIO()) == "notebook"
    monkeypatch.setattr(callbacks_module.importlib.util, "find_spec", lambda name: None)
    assert callbacks_module.progress_kind(io.StringIO()) == "terminal"  # text bars in Jupyter


def test_in_notebook_needs_an_ipython_kernel(monkeypatch):
    assert not callbacks_module._in_notebook()
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    fake = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert callbacks_module._in_notebook()
    shell.config = {}  # a terminal IPython
    assert not callbacks_module._in_notebook()


def test_progress_bar_in_a_terminal_counts_images():
    stream = TTY()
    bar = ProgressBar(stream)
    trainer = StandIn(target=30)
    bar.on_train_begin(trainer)
    for i in range(1, 26):
        bar.on_batch_end(trainer, {"iteration": i, "loss": 0.25, "size": 10})
    assert bar.bar.n == 250
    assert bar.bar.postfix == "loss 0.2500"
    bar.on_train_end(trainer, {"completed": True})
    assert bar.bar is None
    assert "img/s" in stream.getvalue()


def test_progress_bar_is_silent_in_logs():
    stream = io.StringIO()
    bar = ProgressBar(stream)
    trainer = StandIn()
    bar.on_train_begin(trainer)
    bar.on_batch_end(trainer, {"iteration": 1, "loss": 0.5, "size": 10})
    bar.on_train_end(trainer, {"completed": True})
    assert bar.bar is None
    assert stream.getvalue() == ""


def test_progress_bar_in_a_notebook_uses_tqdm_auto(monkeypatch):
    import tqdm.auto

    made = []

    class Recorder:
        def __init__(self, **options):
            made.append(options)

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    bar = ProgressBar(kind="notebook")
    bar.on_train_begin(StandIn(target=30, iteration=10))
    assert isinstance(bar.bar, Recorder)
    assert (made[0]["total"], made[0]["initial"]) == (300, 100)
    with pytest.raises(ValueError, match="kind must be one of auto, notebook, terminal, none"):
        ProgressBar(kind="loud")


# -- ModelCheckpoint --------------------------------------------------------------------------


@pytest.mark.parametrize(("interval", "saved"), [(0, [10, 20, 30]), (1e9, [10, 30])])
def test_model_checkpoint_interval(tmp_path, interval, saved):
    trainer = StandIn()
    checkpoint = ModelCheckpoint(tmp_path / "m.npz", interval=interval)
    for iteration in (10, 20, 30):
        trainer.iteration = iteration
        checkpoint.on_epoch_end(trainer, epoch_logs(iteration=iteration, final=iteration == 30))
    checkpoint.on_train_end(trainer, {"completed": True})
    assert trainer.saved == saved
    assert trainer.last_checkpoint == (tmp_path / "m.npz", 30)


def test_model_checkpoint_saves_a_run_stopped_early_but_not_a_failed_one(tmp_path):
    trainer = StandIn()
    checkpoint = ModelCheckpoint(tmp_path / "m.npz", interval=1e9)
    trainer.iteration = 10
    checkpoint.on_epoch_end(trainer, epoch_logs())
    trainer.iteration = 20
    checkpoint.on_epoch_end(trainer, epoch_logs(iteration=20))
    checkpoint.on_train_end(trainer, {"completed": False})
    assert trainer.saved == [10]
    checkpoint.on_train_end(trainer, {"completed": True})
    assert trainer.saved == [10, 20]
    with pytest.raises(ValueError, match="interval must be a number of seconds ≥ 0"):
        ModelCheckpoint(tmp_path / "m.npz", interval=-1)


# -- EarlyStopping ----------------------------------------------------------------------------


def test_early_stopping_waits_patience_evaluations_and_restores_the_best_weights():
    trainer = StandIn()
    params = trainer.network.params
    stop = EarlyStopping("val_acc", patience=2)
    stop.on_train_begin(trainer)
    for iteration, value in [(10, 0.5), (20, 0.7), (30, 0.69), (40, 0.7)]:
        trainer.iteration = iteration
        params["W"][:] = iteration  # the weights of that evaluation
        stop.on_epoch_end(trainer, epoch_logs(val_acc=value))
        assert trainer.stop_training == (iteration == 40)
    assert (stop.best, stop.best_iteration, stop.stopped_iteration) == (0.7, 20, 40)
    assert params["W"].tolist() == [20, 20, 20]


def test_early_stopping_on_the_loss_and_without_validation_data():
    trainer = StandIn()
    stop = EarlyStopping("loss", patience=1, restore_best_weights=False)
    stop.on_train_begin(trainer)
    stop.on_epoch_end(trainer, epoch_logs(loss=0.5))
    stop.on_epoch_end(trainer, epoch_logs(loss=0.4))
    assert not trainer.stop_training
    stop.on_epoch_end(trainer, epoch_logs(loss=0.45))
    assert trainer.stop_training
    with pytest.raises(ValueError, match=r"val_acc has no value: .*validation_split=0.1"):
        EarlyStopping().on_epoch_end(trainer, epoch_logs())
    with pytest.raises(ValueError, match="monitor must be one of val_acc, test_acc"):
        EarlyStopping("accuracy")


def test_early_stopping_on_a_validation_split_in_a_real_run(tmp_path):
    x, t = images(500)
    network = TwoLayerNet(16, 8, 4, 0.1, seed=0)
    stop = EarlyStopping("val_acc", patience=2)
    trainer = Trainer(
        network,
        x,
        t,
        epochs=60,
        mini_batch_size=20,
        optimizer="SGD",
        optimizer_param={"lr": 0.5},
        verbose=False,
        seed=0,
        validation_split=0.2,
        callbacks=[ModelCheckpoint(tmp_path / "m.npz", interval=1e9), stop],
    )
    history = trainer.train()
    assert len(trainer.x_train) == 400 and len(trainer.x_val) == 100
    assert trainer.iteration < 60 * 20  # stopped early
    assert stop.stopped_iteration == trainer.iteration
    assert history.val_acc[-1] <= stop.best == max(history.val_acc)
    assert trainer.evaluate(trainer.x_val, trainer.t_val) == stop.best  # best weights back
    saved = load_checkpoint(tmp_path / "m.npz").network.params  # and saved
    assert all(np.array_equal(saved[k], v) for k, v in network.params.items())


# -- the fixed points -------------------------------------------------------------------------


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("begin")

    def on_batch_end(self, trainer, logs):
        self.calls.append(("batch", logs["iteration"], logs["size"], len(trainer.history.loss)))

    def on_epoch_end(self, trainer, logs):
        self.calls.append(("epoch", logs["iteration"], logs["final"]))

    def on_train_end(self, trainer, logs):
        self.calls.append(("end", logs["completed"]))


def test_the_trainer_calls_the_pieces_at_fixed_points():
    x, t = images(25)
    recorder = Recorder()
    network = TwoLayerNet(16, 4, 4, seed=0)
    Trainer(network, x, t, iters=4, mini_batch_size=10, verbose=False, callbacks=[recorder]).train()
    assert recorder.calls == [
        "begin",
        ("batch", 1, 10, 0),  # before the step is recorded
        ("batch", 2, 10, 1),
        ("batch", 3, 5, 2),  # the epoch's last, smaller batch
        ("epoch", 3, False),
        ("batch", 4, 10, 3),
        ("epoch", 4, True),
        ("end", True),
    ]


def test_default_pieces_and_their_replacements():
    x, t = images(200)
    network = TwoLayerNet(16, 4, 4, seed=0)
    kinds = [type(c) for c in Trainer(network, x, t).callbacks]
    assert kinds == [DivergenceStop, ProgressBar, EpochLog]
    assert [type(c) for c in Trainer(network, x, t, verbose=False).callbacks] == [DivergenceStop]
    mine = DivergenceStop(factor=100)
    assert Trainer(network, x, t, verbose=False, callbacks=[mine]).callbacks == [mine]
