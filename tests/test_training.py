"""Trainer: learning, reproducibility, epoch boundaries, divergence, history files, resume."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from backprop.checkpoint import load_checkpoint
from backprop.networks import MultiLayerNet, TwoLayerNet
from backprop.optimizers import SGD, Adam
from backprop.training import (
    History,
    Trainer,
    TrainingDiverged,
    accuracy,
    as_input,
    confusion_matrix,
    iterate_minibatches,
    predict_labels,
    resume,
)
from backprop.training.callbacks import DivergenceStop, EpochLog, ModelCheckpoint, ProgressBar


def blobs(n: int, seed: int = 0, classes: int = 3):
    """``n`` points in 2-D around ``classes`` well separated centres; labels (n,) int64."""
    rng = np.random.default_rng(seed)
    centres = 3 * np.array([[np.cos(a), np.sin(a)] for a in np.arange(classes) * 2.1])
    t = rng.integers(0, classes, size=n)
    x = centres[t] + 0.5 * rng.standard_normal((n, 2))
    return x, t


def images(n: int, seed: int = 0):
    """Tiny 'images': 16 uint8 pixels whose brightest quarter is the label (4 classes)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, size=n)
    x = rng.integers(0, 60, size=(n, 16)).astype(np.uint8)
    for k in range(4):
        x[t == k, 4 * k : 4 * k + 4] += 150
    return x, t


def make_trainer(x, t, *, seed=0, dtype="float64", **options):
    network = TwoLayerNet(x.shape[1], 8, int(t.max()) + 1, 0.1, seed=seed, dtype=dtype)
    options.setdefault("optimizer", SGD(lr=0.3))
    options.setdefault("verbose", False)
    return Trainer(network, x, t, seed=seed, **options)


def params_bytes(network) -> dict[str, bytes]:
    return {key: value.tobytes() for key, value in network.params.items()}


# -- it learns --------------------------------------------------------------------------------


def test_learns_a_tiny_problem():
    x, t = blobs(300)
    x_test, t_test = blobs(200, seed=1)
    network = TwoLayerNet(2, 16, 3, 0.1, seed=0)
    trainer = Trainer(
        network,
        x,
        t,
        x_test,
        t_test,
        optimizer="sgd",
        optimizer_params={"lr": 0.2},
        epochs=20,
        batch_size=20,
        seed=0,
        verbose=False,
    )
    history = trainer.train()
    assert history.test_acc[-1] > 0.95
    assert np.mean(history.loss[-15:]) < 0.3 * history.loss[0]


def test_learns_uint8_images_with_a_multilayer_net_in_float32():
    x, t = images(400)
    network = MultiLayerNet(16, [12, 12], 4, seed=0, dtype="float32")
    trainer = Trainer(
        network, x, t, optimizer=Adam(lr=0.01), epochs=10, batch_size=32, seed=0, verbose=False
    )
    history = trainer.train()
    assert history.train_acc[-1] > 0.95
    assert all(p.dtype == np.float32 for p in network.params.values())


def test_uint8_data_is_normalised_per_batch_exactly_like_float_data():
    x, t = images(120)
    a = make_trainer(x, t, dtype="float32", epochs=2, batch_size=16)
    b = make_trainer(x.astype(np.float32) / 255, t, dtype="float32", epochs=2, batch_size=16)
    a.train()
    b.train()
    assert params_bytes(a.network) == params_bytes(b.network)


def test_as_input():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    y = as_input(x, np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([[0, 51, 255]], np.float32) / 255)
    z = np.ones((2, 2))
    assert as_input(z, np.float64) is z
    assert as_input(z, np.float32).dtype == np.float32


# -- reproducibility --------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_weights():
    x, t = blobs(150)
    runs = []
    for _ in range(2):
        trainer = make_trainer(x, t, seed=7, epochs=3, batch_size=16)
        trainer.train()
        runs.append((params_bytes(trainer.network), trainer.history.loss))
    assert runs[0] == runs[1]
    other = make_trainer(x, t, seed=8, epochs=3, batch_size=16)
    other.train()
    assert params_bytes(other.network) != runs[0][0]


def test_global_random_state_is_not_used():
    x, t = blobs(50)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy state is the point
    make_trainer(x, t, epochs=1, batch_size=10).train()
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


# -- epochs and batches -----------------------------------------------------------------------


def test_each_epoch_sees_every_sample_once(rng):
    batches = list(iterate_minibatches(103, 10, rng))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(103))


def test_sampling_with_replacement_is_the_books_choice_loop():
    batches = list(
        iterate_minibatches(103, 10, np.random.default_rng(5), sample_with_replacement=True)
    )
    expected = np.random.default_rng(5)
    assert len(batches) == 11
    for batch in batches:
        assert np.array_equal(batch, expected.choice(103, 10))


@pytest.mark.parametrize("sample_with_replacement", [False, True])
def test_exact_epoch_boundaries_when_batch_size_does_not_divide_n(sample_with_replacement):
    x, t = blobs(103)
    trainer = make_trainer(
        x, t, epochs=3, batch_size=10, sample_with_replacement=sample_with_replacement
    )
    history = trainer.train()
    assert trainer.iterations_per_epoch == 11
    assert len(history.loss) == 33
    assert history.iteration == [11, 22, 33]
    assert history.epoch == [1.0, 2.0, 3.0]


def test_iters_stop_in_the_middle_of_an_epoch_and_evaluate_there():
    x, t = blobs(103)
    history = make_trainer(x, t, iters=25, batch_size=10).train()
    assert history.iteration == [11, 22, 25]
    assert history.epoch[-1] == pytest.approx(25 / 11)
    assert len(history.loss) == 25


def test_evaluation_covers_train_and_test_sets_in_chunks():
    x, t = blobs(107)
    network = TwoLayerNet(2, 6, 3, seed=0)
    assert accuracy(network, x, t, batch_size=10) == network.accuracy(x, t)
    assert np.array_equal(predict_labels(network, x, batch_size=10), network.predict(x).argmax(1))


def test_confusion_matrix():
    matrix = confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 3)
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


@pytest.mark.parametrize(
    ("t", "y", "message"),
    [
        ([0, 7, 1], [0, 1, 1], "t holds the label 7, outside 0..4 (num_classes=5)"),
        ([0, 1, 1], [0, 1, 5], "y holds the label 5, outside 0..4 (num_classes=5)"),
        ([0, -1, 1], [0, 1, 1], "t holds the label -1, outside 0..4 (num_classes=5)"),
    ],
)
def test_confusion_matrix_refuses_labels_outside_the_classes(t, y, message):
    with pytest.raises(ValueError, match=re.escape(f"confusion_matrix: {message}")):
        confusion_matrix(t, y, 5)


def test_confusion_matrix_refuses_negative_labels_without_num_classes():
    with pytest.raises(ValueError, match=r"y holds the label -2, outside 0\.\.1"):
        confusion_matrix([0, 1], [-2, 1])


# -- protocol ---------------------------------------------------------------------------------


class ProtocolOnly:
    """A network with only params, loss, gradient and accuracy (no loss_and_gradient)."""

    def __init__(self, network):
        self.inner = network
        self.params = network.params
        self.loss_calls = 0

    def loss(self, x, t):
        self.loss_calls += 1
        return self.inner.loss(x, t)

    def gradient(self, x, t):
        return self.inner.gradient(x, t)

    def accuracy(self, x, t):
        return self.inner.accuracy(x, t)


def test_works_with_any_network_of_the_protocol():
    x, t = blobs(60)
    plain = ProtocolOnly(TwoLayerNet(2, 8, 3, 0.1, seed=0))
    trainer = Trainer(
        plain, x, t, optimizer=SGD(lr=0.3), epochs=2, batch_size=20, seed=0, verbose=False
    )
    trainer.train()
    assert plain.loss_calls == 6
    reference = make_trainer(x, t, epochs=2, batch_size=20)
    reference.train()
    assert params_bytes(plain.inner) == params_bytes(reference.network)
    assert trainer.history.loss == reference.history.loss  # the logged loss is the step's


def test_rejects_an_object_without_the_protocol():
    with pytest.raises(TypeError, match="network must have params, accuracy"):
        Trainer(object(), np.ones((4, 2)), np.zeros(4, dtype=int))


# -- argument checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "mini_batch_size must be an integer from 1 to"),
        ({"batch_size": 21}, ValueError, r"at most the number of training samples \(20\), got 21"),
        ({"epochs": 0}, ValueError, "epochs must be an integer from 1 to 500,000,000, got 0"),
        ({"iters": -3}, ValueError, "iters must be an integer from 1 to 1,000,000,000, got -3"),
        ({"iters": 10**30}, ValueError, "iters must be an integer from 1 to 1,000,000,000"),
        ({"epochs": 1, "iters": 5}, ValueError, "give epochs or iters, not both"),
        ({"mini_batch_size": 5}, ValueError, "give mini_batch_size or batch_size, not both"),
        ({"validation_split": 1.0}, ValueError, "validation_split must be a fraction"),
        ({"callbacks": [print]}, TypeError, "is not a Callback"),
        ({"optimizer": "adamw"}, ValueError, "optimizer must be one of sgd, momentum"),
    ],
)
def test_bad_arguments(options, error, match):
    x, t = blobs(20)
    with pytest.raises(error, match=match):
        make_trainer(x, t, **{"batch_size": 10, **options})


def test_bad_data():
    network = TwoLayerNet(2, 3, 3, seed=0)
    with pytest.raises(ValueError, match=r"t_train must hold one label .* t_train.shape=\(3,\)"):
        Trainer(network, np.ones((4, 2)), np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="t_train labels must be integers"):
        Trainer(network, np.ones((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="x_train contains NaN"):
        Trainer(network, np.full((4, 2), np.nan), np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="x_train must be uint8 pixels"):
        Trainer(network, np.ones((4, 2), dtype=np.int32), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="give both x_test and t_test"):
        Trainer(network, np.ones((4, 2)), np.zeros(4, dtype=int), np.ones((4, 2)))


def test_shape_errors_are_not_mistaken_for_divergence():
    network = TwoLayerNet(3, 4, 3, seed=0)
    x, t = np.ones((10, 2)), np.zeros(10, dtype=int)
    trainer = Trainer(network, x, t, batch_size=5, verbose=False)
    with pytest.raises(ValueError, match="x has 2 features, W expects 3"):
        trainer.train()


# -- divergence -------------------------------------------------------------------------------


def test_divergence_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    x, t = images(100)
    path = tmp_path / "model.npz"
    trainer = make_trainer(
        x, t, dtype="float32", epochs=2, batch_size=10, callbacks=[ModelCheckpoint(path)]
    )
    trainer.train()
    good = load_checkpoint(path)
    good_bytes = path.read_bytes()
    trainer.optimizer.lr = 1e25  # float32 weights overflow within a few steps
    trainer.target_iteration = 40
    with pytest.raises(TrainingDiverged) as info:
        trainer.train()
    message = str(info.value)
    assert "training stopped at iteration 2" in message
    assert "the loss became" in message
    assert "the learning rate lr=1e+25 is too high: try lr=0.01" in message
    assert f"the last good checkpoint is {path} (iteration 20)" in message
    assert info.value.checkpoint == path
    assert path.read_bytes() == good_bytes
    assert good.metadata["training"]["iteration"] == 20
    assert all(np.isfinite(p).all() for p in good.network.params.values())
    assert all(math.isfinite(v) for v in trainer.history.loss)  # the bad loss is not logged


def test_divergence_in_the_first_epoch_says_no_checkpoint_was_saved(tmp_path):
    x, t = images(100)
    trainer = make_trainer(
        x,
        t,
        dtype="float32",
        epochs=2,
        batch_size=10,
        optimizer=SGD(lr=1e25),
        callbacks=[ModelCheckpoint(tmp_path / "m.npz")],
    )
    with pytest.raises(TrainingDiverged, match="no checkpoint was saved: it diverged before"):
        trainer.train()
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize(("interval", "saved_at"), [(0, [4, 8, 12]), (1e9, [4, 12])])
def test_checkpoint_interval(tmp_path, interval, saved_at):
    x, t = blobs(40)
    trainer = make_trainer(
        x,
        t,
        epochs=3,
        batch_size=10,
        callbacks=[ModelCheckpoint(tmp_path / "m.npz", interval=interval)],
    )
    saves = []
    save = trainer.save_checkpoint
    trainer.save_checkpoint = lambda path: saves.append(trainer.iteration) or save(path)
    trainer.train()
    assert saves == saved_at
    assert load_checkpoint(tmp_path / "m.npz").metadata["training"]["iteration"] == 12


def test_a_nan_loss_from_a_protocol_network_stops_training():
    class NaNAfterTwo(ProtocolOnly):
        def loss(self, x, t):
            return math.nan if self.loss_calls >= 2 else super().loss(x, t)

    x, t = blobs(40)
    net = NaNAfterTwo(TwoLayerNet(2, 4, 3, seed=0))
    trainer = Trainer(net, x, t, epochs=2, batch_size=10, verbose=False)
    with pytest.raises(TrainingDiverged, match=r"iteration 3 .*NaN"):
        trainer.train()


# -- history and progress ---------------------------------------------------------------------


def test_history_files(tmp_path):
    x, t = blobs(55)
    x_test, t_test = blobs(30, seed=2)
    network = TwoLayerNet(2, 8, 3, 0.1, seed=0)
    history = Trainer(
        network,
        x,
        t,
        x_test,
        t_test,
        optimizer=SGD(lr=0.3),
        iters=14,
        batch_size=10,
        seed=0,
        verbose=False,
    ).train()
    history.save_json(tmp_path / "h.json")
    history.save_csv(tmp_path / "h.csv")
    loaded = History.load_json(tmp_path / "h.json")
    assert loaded == history
    data = json.loads((tmp_path / "h.json").read_text())
    assert len(data["elapsed_seconds"]) == len(data["epoch"]) == 3
    with open(tmp_path / "h.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 14
    assert [row["iteration"] for row in rows if row["test_acc"]] == ["6", "12", "14"]
    assert float(rows[-1]["test_acc"]) == history.test_acc[-1]
    assert float(rows[0]["loss"]) == history.loss[0]
    assert rows[5]["epoch"] == "1.0000"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "h.json"]


def test_history_without_test_data_stores_null(tmp_path):
    x, t = blobs(20)
    history = make_trainer(x, t, epochs=1, batch_size=10).train()
    assert math.isnan(history.test_acc[0])
    history.save_json(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text())["test_acc"] == [None]


def test_log_lines_one_per_epoch():
    x, t = blobs(30)
    x_test, t_test = blobs(10, seed=3)
    stream = io.StringIO()
    network = TwoLayerNet(2, 8, 3, 0.1, seed=0)
    Trainer(
        network,
        x,
        t,
        x_test,
        t_test,
        epochs=3,
        batch_size=10,
        seed=0,
        verbose=False,
        callbacks=[EpochLog(stream)],
    ).train()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3  iter 3  loss ")
    assert "train acc " in lines[0] and "test acc " in lines[0] and "img/s" in lines[0]


def test_progress_bar_goes_to_stderr(capsys):
    x, t = blobs(30)
    make_trainer(
        x, t, epochs=2, batch_size=10, callbacks=[ProgressBar(kind="terminal"), EpochLog()]
    ).train()
    captured = capsys.readouterr()
    assert captured.out.count("epoch ") == 2
    assert "img" in captured.err


# -- resume -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "sample_with_replacement", "first", "total"),
    [
        (lambda: SGD(lr=0.3), False, {"epochs": 2}, {"epochs": 4}),
        (lambda: Adam(lr=0.01), False, {"iters": 15}, {"iters": 40}),  # saved mid-epoch
        (lambda: Adam(lr=0.01), True, {"iters": 15}, {"iters": 40}),
    ],
)
def test_resume_continues_bit_for_bit(tmp_path, optimizer, sample_with_replacement, first, total):
    x, t = blobs(97)
    options = {"batch_size": 10, "sample_with_replacement": sample_with_replacement}
    straight = make_trainer(x, t, optimizer=optimizer(), **options, **total)
    straight.train()

    path = tmp_path / "model.npz"
    make_trainer(
        x, t, optimizer=optimizer(), callbacks=[ModelCheckpoint(path)], **options, **first
    ).train()
    resumed = resume(path, (x, t), verbose=False, **total)
    assert resumed.iteration == first.get("iters", 2 * 10)
    history = resumed.train()
    assert params_bytes(resumed.network) == params_bytes(straight.network)
    assert history.loss == straight.history.loss
    # The same evaluations, plus the one where the first run stopped.
    stop = first.get("iters", 20)
    assert history.iteration == sorted({*straight.history.iteration, stop})


class InterruptedNet(TwoLayerNet):
    """A TwoLayerNet whose training is interrupted (Ctrl-C) at its 7th step."""

    steps = 0

    def loss_and_gradient(self, x, t):
        self.steps += 1
        if self.steps == 7:
            raise KeyboardInterrupt
        return super().loss_and_gradient(x, t)


def test_an_interrupted_run_resumes_to_its_own_length(tmp_path):
    x, t = blobs(40)
    path = tmp_path / "model.npz"
    network = InterruptedNet(2, 8, 3, 0.1, seed=0)
    trainer = Trainer(
        network,
        x,
        t,
        optimizer=SGD(lr=0.3),
        epochs=3,
        batch_size=10,
        seed=0,
        callbacks=[ModelCheckpoint(path)],
        verbose=False,
    )
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    resumed = resume(path, (x, t), verbose=False)
    assert (resumed.iteration, resumed.target_iteration) == (4, 12)
    resumed.train()
    straight = make_trainer(x, t, epochs=3, batch_size=10)
    straight.train()
    assert params_bytes(resumed.network) == params_bytes(straight.network)


def test_resume_errors(tmp_path):
    x, t = blobs(40)
    path = tmp_path / "model.npz"
    make_trainer(x, t, epochs=1, batch_size=10, callbacks=[ModelCheckpoint(path)]).train()
    with pytest.raises(ValueError, match=r"these differ: batch_size=20 \(saved: 10\)"):
        resume(path, (x, t), batch_size=20)
    with pytest.raises(ValueError, match="trained on 40 samples, the training data given has 39"):
        resume(path, (x[:39], t[:39]))
    with pytest.raises(ValueError, match="nothing to do: training is already at iteration 4"):
        resume(path, (x, t), epochs=1, verbose=False).train()


# -- the book's names and train_step ----------------------------------------------------------


def test_book_signature_and_train_step_converts_uint8_batches():
    x, t = images(200)
    network = TwoLayerNet(16, 8, 4, 0.1, seed=0, dtype="float32")
    trainer = Trainer(
        network,
        x,
        t,
        x[:50],
        t[:50],
        epochs=1,
        mini_batch_size=100,
        optimizer="SGD",
        optimizer_param={"lr": 0.1},
        verbose=False,
    )
    before = {k: v.copy() for k, v in network.params.items()}
    x_batch, t_batch = x[:100], t[:100]
    expected_loss = network.loss(x_batch.astype(np.float32) / 255, t_batch)
    grads = network.gradient(x_batch.astype(np.float32) / 255, t_batch)
    loss = trainer.train_step(x_batch, t_batch)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    for key in before:  # the book's SGD update: W -= lr * dW
        np.testing.assert_allclose(network.params[key], before[key] - 0.1 * grads[key], rtol=1e-5)
    history = trainer.train()
    assert isinstance(history, History)


def test_the_books_lists_and_evaluate_sample_num_per_epoch():
    x, t = images(200)
    network = TwoLayerNet(16, 8, 4, 0.1, seed=0)
    sizes = []
    accuracy_of = network.accuracy
    network.accuracy = lambda x, t: sizes.append(len(x)) or accuracy_of(x, t)
    trainer = Trainer(
        network,
        x,
        t,
        x[:60],
        t[:60],
        epochs=3,
        mini_batch_size=50,
        optimizer="sgd",
        optimizer_param={"lr": 0.3},
        evaluate_sample_num_per_epoch=10,
        verbose=False,
    )
    trainer.train()
    # train and test sets after each epoch: the first 10 samples, then all of them at the end
    assert sizes == [10, 10, 10, 10, 200, 60]
    assert len(trainer.train_loss_list) == 12
    assert trainer.train_acc_list == trainer.history.train_acc and len(trainer.train_acc_list) == 3
    assert trainer.test_acc_list == trainer.history.test_acc
    assert trainer.history.train_loss_list is trainer.history.loss


def test_an_optimizer_instance_and_its_hyperparameters_do_not_mix():
    x, t = images(100)
    network = TwoLayerNet(16, 8, 4, seed=0)
    optimizer = Adam(lr=0.01)
    assert Trainer(network, x, t, optimizer=optimizer, verbose=False).optimizer is optimizer
    with pytest.raises(ValueError, match="optimizer_param applies only when optimizer is given"):
        Trainer(network, x, t, optimizer=optimizer, optimizer_param={"lr": 1}, verbose=False)


@pytest.mark.parametrize(
    ("progress", "kinds"),
    [
        ("none", [DivergenceStop]),
        ("log", [DivergenceStop, EpochLog]),
        ("auto", [DivergenceStop, ProgressBar, EpochLog]),
    ],
)
def test_the_earlier_progress_option(progress, kinds):
    x, t = images(100)
    network = TwoLayerNet(16, 8, 4, seed=0)
    trainer = Trainer(network, x, t, progress=progress)
    assert [type(c) for c in trainer.callbacks] == kinds
