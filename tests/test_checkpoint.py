"""Checkpoints: round trip, architecture mismatch, malformed files, no pickle, atomic writes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backprop import __version__
from backprop.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from backprop.networks import MultiLayerNet, TwoLayerNet
from backprop.optimizers import Adam, Momentum


def _trained(network, optimizer, rng, steps=3):
    x = rng.standard_normal((8, network.params["W1"].shape[0]))
    t = rng.integers(0, 3, size=8)
    for _ in range(steps):
        optimizer.update(network.params, network.gradient(x, t))
    return network


def _write_npz(path: Path, **arrays) -> Path:
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def _metadata(**entries) -> np.ndarray:
    return np.frombuffer(json.dumps(entries).encode(), dtype=np.uint8)


# -- round trip -------------------------------------------------------------------------------


def test_round_trip_two_layer_net_with_optimizer(tmp_path, rng):
    network = TwoLayerNet(6, 5, 3, seed=1, dtype="float32")
    optimizer = Momentum(lr=0.05, momentum=0.8)
    _trained(network, optimizer, rng)
    path = save_checkpoint(
        tmp_path / "model.npz", network, optimizer, metadata={"dataset": "toy", "seed": 1}
    )
    loaded = load_checkpoint(path)
    assert isinstance(loaded.network, TwoLayerNet)
    assert loaded.network.config() == network.config()
    for key, value in network.params.items():
        assert loaded.network.params[key].dtype == np.float32
        assert np.array_equal(loaded.network.params[key], value)
    assert repr(loaded.optimizer) == "Momentum(lr=0.05, momentum=0.8)"
    assert loaded.optimizer.iteration == 3
    for key, value in optimizer.state["v"].items():
        assert np.array_equal(loaded.optimizer.state["v"][key], value)
    meta = loaded.metadata
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["library_version"] == __version__
    assert meta["dtype"] == "float32"
    assert meta["params"] == {"W1": [6, 5], "b1": [5], "W2": [5, 3], "b2": [3]}
    assert (meta["dataset"], meta["seed"]) == ("toy", 1)
    assert meta["optimizer"]["hyperparameters"] == {"lr": 0.05, "momentum": 0.8}


def test_round_trip_multilayer_net_and_extra_arrays(tmp_path, rng):
    network = MultiLayerNet(4, [6, 5], 3, activation="sigmoid", seed=2)
    _trained(network, Adam(), rng)
    extra = {"history/loss": np.array([2.3, 1.1]), "history/iteration": np.array([1, 2])}
    save_checkpoint(tmp_path / "m.npz", network, arrays=extra)
    loaded = load_checkpoint(tmp_path / "m.npz")
    assert loaded.optimizer is None
    assert loaded.network.config() == network.config()
    x = rng.standard_normal((3, 4))
    assert np.array_equal(loaded.network.predict(x), network.predict(x))
    assert set(loaded.arrays) == set(extra)
    assert np.array_equal(loaded.arrays["history/iteration"], [1, 2])


def test_non_finite_metadata_is_stored_as_null(tmp_path):
    network = TwoLayerNet(2, 2, 2, seed=0)
    save_checkpoint(tmp_path / "m.npz", network, metadata={"metrics": {"test_acc": np.nan}})
    assert load_checkpoint(tmp_path / "m.npz").metadata["metrics"] == {"test_acc": None}


def test_reserved_and_non_numeric_arrays_are_refused(tmp_path):
    network = TwoLayerNet(2, 2, 2, seed=0)
    with pytest.raises(ValueError, match="'params/W9' is reserved"):
        save_checkpoint(tmp_path / "m.npz", network, arrays={"params/W9": np.ones(2)})
    with pytest.raises(TypeError, match="must hold numbers"):
        save_checkpoint(tmp_path / "m.npz", network, arrays={"x/y": np.array(["a"])})


# -- loading into another architecture --------------------------------------------------------


def test_mismatch_lists_the_parameters_that_differ(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", TwoLayerNet(784, 50, 10, seed=0))
    with pytest.raises(ValueError) as info:
        load_checkpoint(path, network=TwoLayerNet(784, 100, 10, seed=0))
    message = str(info.value)
    assert message.startswith(str(path))
    assert "W1 has shape (784, 50), expected (784, 100)" in message
    assert "b1 has shape (50,), expected (100,)" in message
    assert "W2 has shape (50, 10), expected (100, 10)" in message


def test_mismatch_lists_missing_and_unexpected_names(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", TwoLayerNet(4, 5, 3, seed=0))
    with pytest.raises(ValueError, match="missing W3, b3") as info:
        load_checkpoint(path, network=MultiLayerNet(4, [5, 5], 3, seed=0))
    assert "W2 has shape (5, 3), expected (5, 5)" in str(info.value)


# -- malformed files --------------------------------------------------------------------------


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model file .*nope\.npz does not exist"):
        load_checkpoint(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_not_a_zip_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("hello, I am not a model\n")
    with pytest.raises(ValueError, match=r"model\.npz: not a backprop checkpoint"):
        load_checkpoint(path)


def test_a_single_npy_array(tmp_path):
    path = tmp_path / "model.npz"
    with open(path, "wb") as file:
        np.save(file, np.ones(3))
    with pytest.raises(ValueError, match=r"single \.npy array, not a \.npz archive"):
        load_checkpoint(path)


def test_npz_without_metadata(tmp_path):
    path = _write_npz(tmp_path / "model.npz", W1=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"no metadata\.json entry; arrays: \['W1'\]"):
        load_checkpoint(path)


def test_metadata_that_is_not_json_or_not_ours(tmp_path):
    path = _write_npz(
        tmp_path / "a.npz", **{"metadata.json": np.frombuffer(b"{not json", np.uint8)}
    )
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_checkpoint(path)
    path = _write_npz(tmp_path / "b.npz", **{"metadata.json": _metadata(format="other")})
    with pytest.raises(ValueError, match="does not say format='backprop-checkpoint'"):
        load_checkpoint(path)


def test_newer_format_version(tmp_path):
    meta = _metadata(format="backprop-checkpoint", format_version=FORMAT_VERSION + 1)
    path = _write_npz(tmp_path / "m.npz", **{"metadata.json": meta})
    with pytest.raises(ValueError, match="newer than this backprop"):
        load_checkpoint(path)


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", TwoLayerNet(30, 20, 10, seed=0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"m\.npz: not a backprop checkpoint"):
        load_checkpoint(path)


def test_integer_parameters_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", TwoLayerNet(2, 2, 2, seed=0))
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.ones((2, 2), dtype=np.int64))
    entries["params/W1.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="parameter W1 has dtype int64"):
        load_checkpoint(path)


def _rewrite_network_config(path: Path, **changes) -> None:
    """Change the ``network`` entry of a checkpoint's metadata, as a hostile file would."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(np.load(io.BytesIO(entries["metadata.json.npy"])).tobytes())
    metadata["network"].update(changes)
    buffer = io.BytesIO()
    np.save(buffer, _metadata(**metadata))
    entries["metadata.json.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("network", "changes", "fragments"),
    [
        (
            TwoLayerNet(784, 20, 10, seed=0),
            {"hidden_size": 10**9},
            ["W1 has shape (784, 20), the configuration says (784, 1000000000)"],
        ),
        (
            MultiLayerNet(6, [5, 4], 3, seed=0),
            {"hidden_size_list": [5, 10**11]},
            ["W2 has shape (5, 4), the configuration says (5, 100000000000)", "b2 has shape"],
        ),
        (
            MultiLayerNet(6, [5, 4], 3, seed=0),
            {"hidden_size_list": [5]},
            ["unexpected W3, b3", "W2 has shape (5, 4), the configuration says (5, 3)"],
        ),
    ],
    ids=["huge-hidden-size", "huge-hidden-size-list", "fewer-layers"],
)
def test_configuration_is_checked_against_the_stored_shapes_before_building(
    tmp_path, network, changes, fragments
):
    # A network of the configuration's sizes is never allocated (it would take TiBs).
    path = save_checkpoint(tmp_path / "m.npz", network)
    _rewrite_network_config(path, **changes)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "does not fit the stored parameters" in message
    for fragment in fragments:
        assert fragment in message


def test_configuration_with_a_size_that_is_not_a_number(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", TwoLayerNet(4, 3, 2, seed=0))
    _rewrite_network_config(path, hidden_size="3")
    with pytest.raises(ValueError, match=r"m\.npz: .*hidden_size must be a positive integer"):
        load_checkpoint(path)


def test_entry_declaring_more_data_than_it_holds_is_refused_before_allocating(tmp_path):
    good = save_checkpoint(tmp_path / "good.npz", TwoLayerNet(4, 3, 2, seed=0))
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(lying, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "params/W1.npy":
                # A header that claims 10¹² float64 values (7 TiB) over the same 12 numbers.
                buffer = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
                )
                data = buffer.getvalue() + data[len(buffer.getvalue()) :]
            target.writestr(info, data)
    with pytest.raises(ValueError, match=r"entry 'params/W1' declares 8,000,000,000,000 bytes"):
        load_checkpoint(lying)


# -- no pickle --------------------------------------------------------------------------------


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_object_arrays_are_refused_without_running_code(tmp_path):
    good = save_checkpoint(tmp_path / "good.npz", TwoLayerNet(2, 2, 2, seed=0))
    with np.load(good) as archive:
        arrays = {key: archive[key] for key in archive.files}
    marker = tmp_path / "code-ran"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    arrays["params/W1"] = payload
    path = _write_npz(tmp_path / "evil.npz", **arrays)  # np.savez pickles object arrays
    with pytest.raises(ValueError, match=r"refusing to load 'params/W1'.*pickle"):
        load_checkpoint(path)
    assert not marker.exists()


# -- atomic writes ----------------------------------------------------------------------------


def test_failed_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    network = TwoLayerNet(3, 2, 2, seed=0)
    path = save_checkpoint(tmp_path / "m.npz", network)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    network.params["W1"] += 1
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, network)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="metadata must be JSON-compatible"):
        save_checkpoint(tmp_path / "m.npz", TwoLayerNet(2, 2, 2, seed=0), metadata={"x": object()})
    assert list(tmp_path.iterdir()) == []
