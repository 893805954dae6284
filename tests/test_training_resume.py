"""resume(): one read of the checkpoint, and its training state checked like user input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from backprop.networks import TwoLayerNet
from backprop.optimizers import Adam
from backprop.training import (
    Callback,
    ModelCheckpoint,
    ResumeConflict,
    Trainer,
    resume,
    run_settings,
)
from backprop.training import resuming as resume_module


class StopAt(Callback):
    def __init__(self, iteration):
        self.iteration = iteration

    def on_batch_end(self, trainer, logs):
        trainer.stop_training = logs["iteration"] == self.iteration


def blobs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 3, size=n)
    x = 3 * np.eye(3)[t][:, :2] + 0.5 * rng.standard_normal((n, 2))
    return x, t


@pytest.fixture
def saved(tmp_path):
    """A run of 40 samples, batch 10, saved after 4 of its 12 iterations."""
    x, t = blobs(40)
    path = tmp_path / "model.npz"
    network = TwoLayerNet(2, 5, 3, 0.1, seed=0)
    trainer = Trainer(
        network,
        x,
        t,
        epochs=3,
        mini_batch_size=10,
        optimizer=Adam(lr=0.01),
        verbose=False,
        seed=0,
        callbacks=[ModelCheckpoint(path), StopAt(4)],
        metadata={"dataset": "blobs", "seed": 0},
    )
    trainer.train()
    with np.load(path) as archive:
        state = json.loads(archive["metadata.json"].tobytes())["training"]
    assert state["iteration"] == 4
    return path, x, t


def rewrite(path, change) -> None:
    """Rewrite the checkpoint's metadata with ``change(metadata)`` (as a stranger could)."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    metadata = json.loads(arrays["metadata.json"].tobytes())
    change(metadata)
    text = json.dumps(metadata).encode()
    arrays["metadata.json"] = np.frombuffer(text, dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_resume_reads_the_checkpoint_once(saved, monkeypatch):
    path, x, t = saved
    reads = []
    real = resume_module.load_checkpoint
    monkeypatch.setattr(resume_module, "load_checkpoint", lambda p: reads.append(p) or real(p))
    asked = []
    trainer = resume(path, lambda settings: asked.append(settings) or (x, t), verbose=False)
    assert reads == [path]
    assert asked[0]["dataset"] == "blobs" and asked[0]["batch_size"] == 10
    assert asked[0]["optimizer"] == "adam" and asked[0]["lr"] == 0.01
    assert (trainer.iteration, trainer.target_iteration) == (4, 12)
    assert trainer.last_checkpoint == (path, 4)
    assert trainer.metadata == {"dataset": "blobs", "seed": 0}
    assert trainer.run_settings == asked[0]


def test_resume_refuses_settings_that_differ(saved):
    path, x, t = saved
    with pytest.raises(ResumeConflict) as info:
        resume(path, (x, t), expect={"lr": 0.5, "hidden": None, "batch_size": 10})
    assert info.value.conflicts == [("lr", 0.5, 0.01)]
    assert "these differ: lr=0.5 (saved: 0.01)" in str(info.value)
    with pytest.raises(TypeError, match="optimizer, seed come from the checkpoint"):
        resume(path, (x, t), optimizer="sgd", seed=3)
    with pytest.raises(TypeError, match=r"data must be \(x_train, t_train\)"):
        resume(path, x)


def test_run_settings_of_a_multilayer_config():
    metadata = {"network": {"hidden_size_list": [8, 4], "activation": "sigmoid"}}
    settings = run_settings(metadata)
    assert settings["hidden"] == [8, 4] and settings["activation"] == "sigmoid"
    assert settings["dataset"] is None and settings["lr"] is None


HOSTILE = [
    ("iteration", -1, "field 'iteration' must be an integer from 0 to 12, got -1"),
    ("iteration", "4", "field 'iteration' must be an integer from 0 to 12, got '4'"),
    ("iteration", True, "field 'iteration' must be an integer from 0 to 12, got True"),
    ("iteration", 13, "field 'iteration' must be an integer from 0 to 12, got 13"),
    (
        "target_iteration",
        10**30,
        "field 'target_iteration' must be an integer from 1 to 1,000,000,000, got 10000",
    ),
    ("batch_size", 0, "field 'batch_size' must be an integer from 1 to 40, got 0"),
    ("batch_size", 41, "field 'batch_size' must be an integer from 1 to 40, got 41"),
    ("train_size", -40, "field 'train_size' must be an integer from 1 to"),
    ("iterations_per_epoch", 5, "field 'iterations_per_epoch' must be 4 (train_size 40 /"),
    ("epoch", 7.5, "field 'epoch' must be iteration / iterations_per_epoch, got 7.5"),
    ("sample_with_replacement", "no", "field 'sample_with_replacement' must be true or false"),
    ("validation_split", 2, "field 'validation_split' must be a fraction from 0 to < 1, got 2"),
    ("data_rng_state", None, "field 'data_rng_state' must be a NumPy bit generator state"),
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE)
def test_hostile_training_states_are_refused_naming_the_file_and_field(
    saved, field, value, message
):
    path, x, t = saved
    rewrite(path, lambda meta: meta["training"].__setitem__(field, value))
    with pytest.raises(ValueError, match=re.escape(f"{path}: training state {message}")):
        resume(path, (x, t))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.__setitem__("bit_generator", "MT19937"), "bit_generator' must be PCG64"),
        (lambda s: s["state"].__setitem__("state", 10**50), "state.state' must be an integer"),
        (lambda s: s["state"].__setitem__("inc", -1), "state.inc' must be an integer from 0"),
        (lambda s: s["state"].__setitem__("inc", 1.5), "state.inc' must be an integer from 0"),
        (lambda s: s.__setitem__("state", [1, 2]), "data_rng_state.state' must be an object"),
        (lambda s: s.__setitem__("has_uint32", 7), "has_uint32' must be 0 or 1, got 7"),
        (lambda s: s.__setitem__("uinteger", 2**40), "uinteger' must be an integer from 0"),
    ],
)
def test_hostile_random_states_are_refused(saved, change, message):
    path, x, t = saved
    rewrite(path, lambda meta: change(meta["training"]["data_rng_state"]))
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        resume(path, (x, t))
    assert str(info.value).startswith(f"{path}: training state field 'data_rng_state")


def test_a_state_inconsistent_with_the_history_is_refused(saved):
    path, x, t = saved
    rewrite(path, lambda meta: meta["training"].update(iteration=3, epoch=0.75))
    with pytest.raises(ValueError, match="the history holds 4 losses, the training state says 3"):
        resume(path, (x, t))


def test_missing_training_state_and_wrong_data(saved):
    path, x, t = saved
    with pytest.raises(ValueError, match="trained on 40 samples, the training data given has 39"):
        resume(path, (x[:39], t[:39]))
    rewrite(path, lambda meta: meta.__setitem__("training", "lots"))
    with pytest.raises(ValueError, match=re.escape(f"{path}: has no training state")):
        resume(path, (x, t))


def test_a_resumed_run_with_hostile_length_options_is_refused(saved):
    path, x, t = saved
    with pytest.raises(ValueError, match="iters must be an integer from 1 to 1,000,000,000"):
        resume(path, (x, t), iters=10**30)
    trainer = resume(path, (x, t), iters=6, verbose=False)
    trainer.train()
    assert trainer.iteration == 6
