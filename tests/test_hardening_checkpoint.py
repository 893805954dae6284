"""A corpus of damaged and hostile model files, generated here, against ``load_checkpoint``.

Every file must be refused with one ValueError/OSError naming it: never another exception,
never a hang, never a large allocation.
"""

from __future__ import annotations

import gc
import io
import json
import os
import struct
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop import TwoLayerNet
from backprop.checkpoint import load_checkpoint, save_checkpoint

_FILE_ERRORS = (ValueError, OSError)
_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _refused(path: Path, *fragments: str) -> str:
    """Load ``path``, expecting one clear error that names it; return the message."""
    with pytest.raises(_FILE_ERRORS) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "allow_pickle" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _good(folder: Path, name: str = "good.npz") -> Path:
    return save_checkpoint(folder / name, TwoLayerNet(4, 3, 2, seed=0))


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write_entries(path: Path, entries: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _npy(header: str, data: bytes = b"") -> bytes:
    """A .npy entry with a header text written by hand (version 1.0)."""
    text = header.encode("latin-1")
    padding = (64 - (10 + len(text) + 1) % 64) % 64
    text += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def _patch_member(path: Path, name: str, **fields) -> None:
    """Change fields of entry ``name`` in both its local header and the zip directory.

    Fields: ``flags``, ``method``, ``file_size`` (the uncompressed size).
    """
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    central = data.index(b"PK\x01\x02" + bytes(0), 0)
    while data[central + 46 : central + 46 + len(name)] != name.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    for key, (local_at, central_at, fmt) in {
        "flags": (6, 8, "<H"),
        "method": (8, 10, "<H"),
        "file_size": (22, 24, "<I"),
    }.items():
        if key in fields:
            struct.pack_into(fmt, data, local + local_at, fields[key])
            struct.pack_into(fmt, data, central + central_at, fields[key])
    path.write_bytes(bytes(data))


# -- the container ----------------------------------------------------------------------------


def test_good_file_still_loads(tmp_path):
    assert load_checkpoint(_good(tmp_path)).network.params["W1"].shape == (4, 3)


def test_encrypted_entry(tmp_path):
    path = _good(tmp_path)
    _patch_member(path, "params/W1.npy", flags=0x1)
    _refused(path, "'params/W1.npy' is encrypted")


def test_unknown_compression(tmp_path):
    path = _good(tmp_path)
    _patch_member(path, "params/b1.npy", method=99)
    _refused(path, "compression method 99")


def test_entry_claiming_another_size(tmp_path):
    path = _good(tmp_path)
    _patch_member(path, "params/W2.npy", file_size=10**9)
    _refused(path, "'params/W2.npy' claims 1,000,000,000 bytes")


@pytest.mark.parametrize(
    "name",
    ["../evil.npy", "/abs/W1.npy", "params/W1", "notes.txt", "params\\W1.npy", "a/b/c/d/e.npy"],
)
def test_unexpected_entry_names(tmp_path, name):
    entries = _entries(_good(tmp_path))
    entries[name] = entries["params/W1.npy"]
    path = _write_entries(tmp_path / "named.npz", entries)
    _refused(path, "unexpected entry")


def test_duplicate_entry(tmp_path):
    path = _good(tmp_path)
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile warns when writing it
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("params/W1.npy", _entries(path)["params/W1.npy"])
    _refused(path, "appears twice")


@pytest.mark.parametrize(
    "offset", [-22, -20, -16, -12, -10, -6, -2, 4, 8, 10, 16, 20, 24, 28, 36, 40, 42]
)
def test_damaged_zip_directory(tmp_path, offset):
    path = _good(tmp_path)
    data = bytearray(path.read_bytes())
    at = offset if offset < 0 else data.rindex(b"PK\x01\x02") + offset
    data[at : at + 2] = b"\xff\xff"
    path.write_bytes(bytes(data))
    try:
        load_checkpoint(path)
    except _FILE_ERRORS as exc:
        assert str(path) in str(exc)


@_SETTINGS
@given(data=st.data())
def test_any_damage_to_a_checkpoint_is_refused_clearly(tmp_path, data):
    path = tmp_path / "damaged.npz"
    original = _good(tmp_path).read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    path.write_bytes(bytes(damaged[:cut]))
    try:
        checkpoint = load_checkpoint(path)
    except _FILE_ERRORS as exc:
        assert str(path) in str(exc)
    else:  # a change the format cannot notice (a byte of zip padding): the numbers are right
        expected = load_checkpoint(_good(tmp_path, "again.npz")).network.params
        for key, value in checkpoint.network.params.items():
            np.testing.assert_array_equal(value, expected[key])


@_SETTINGS
@given(content=st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_clearly(tmp_path, content):
    path = tmp_path / "random.npz"
    path.write_bytes(content)
    _refused(path, "not a backprop checkpoint")


# -- array headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("{'descr': '<f8', 'fortran_order': False, 'shape': ('a',), }", "not a plain"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-3, 4), }", "not a plain"),
        ("{'descr': '<f8', 'fortran_order': 0, 'shape': (3, 4), }", "not a plain"),
        ("{'descr': '<c16', 'fortran_order': False, 'shape': (3, 4), }", "'<c16'"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (3, 4), }", "pickle"),
        ("{'descr': '<U8', 'fortran_order': False, 'shape': (3, 4), }", "'<U8'"),
        ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }", "not a plain"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", "not a plain"),
        ("{'descr': '<f8', 'descr': '<f8', 'shape': (3, 4), }", "twice"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1," * 40 + "), }", "at most"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", "at"),
        ("(" * 5000 + ")" * 5000, "not a plain"),
        ("__import__('os').system('touch pwned')", "not a plain"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000, 1000), }", "declares"),
    ],
)
def test_hostile_array_headers(tmp_path, header, fragment):
    entries = _entries(_good(tmp_path))
    entries["params/W1.npy"] = _npy(header, b"\x00" * 96)
    path = _write_entries(tmp_path / "header.npz", entries)
    _refused(path, fragment)
    assert not (tmp_path / "pwned").exists()


def test_header_too_long_and_wrong_version(tmp_path):
    entries = _entries(_good(tmp_path))
    entries["params/W1.npy"] = b"\x93NUMPY\x02\x00" + struct.pack("<I", 10**8) + b"{"
    _refused(_write_entries(tmp_path / "long.npz", entries), "-byte array header")
    entries["params/W1.npy"] = b"\x93NUMPY\x09\x00" + b"\x00" * 100
    _refused(_write_entries(tmp_path / "version.npz", entries), "format version 9")
    entries["params/W1.npy"] = b"not npy at all"
    _refused(_write_entries(tmp_path / "magic.npz", entries), "no NumPy magic")


@_SETTINGS
@given(header=st.text(max_size=300))
def test_any_header_text_is_refused_clearly(tmp_path, header):
    entries = _entries(_good(tmp_path))
    entries["params/W1.npy"] = _npy(header.encode("latin-1", "replace").decode("latin-1"))
    _refused(_write_entries(tmp_path / "text.npz", entries))


def test_fortran_order_parameters_load_right(tmp_path):
    network = TwoLayerNet(4, 3, 2, seed=0)
    entries = _entries(save_checkpoint(tmp_path / "m.npz", network))
    buffer = io.BytesIO()
    np.save(buffer, np.asfortranarray(network.params["W1"]))
    entries["params/W1.npy"] = buffer.getvalue()
    loaded = load_checkpoint(_write_entries(tmp_path / "f.npz", entries))
    np.testing.assert_array_equal(loaded.network.params["W1"], network.params["W1"])


def test_shape_that_disagrees_with_the_network_is_refused_before_reading(tmp_path):
    entries = _entries(_good(tmp_path))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 7)))
    entries["params/W1.npy"] = buffer.getvalue()
    _refused(_write_entries(tmp_path / "shape.npz", entries), "does not fit")
    entries = _entries(_good(tmp_path))
    entries["optimizer/v/W1.npy"] = buffer.getvalue()
    _refused(_write_entries(tmp_path / "opt.npz", entries), "matches no parameter")


# -- not a model at all -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"x,y\n1,2\n", "a CSV/text file"),
        (b"hello\n", "a text file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a PNG image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "a JPEG image"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "gzip-compressed data"),
        (b"\x00\x00\x08\x03" + b"\x00" * 40, "an IDX dataset file"),
        (b"\x80\x04\x95" + b"\x00" * 40, "a Python pickle"),
        (b"", "an empty file"),
        (bytes(range(256)), "binary data"),
    ],
)
def test_files_that_are_not_models_say_what_they_look_like(tmp_path, content, looks_like):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    _refused(path, "not a backprop checkpoint", f"it looks like {looks_like}")


def _blocks_or_not(function, *args) -> BaseException | None:
    """Run ``function(*args)`` in a thread; fail if it does not return within 10 s."""
    outcome: list[BaseException | None] = []

    def target():
        try:
            function(*args)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, f"{function.__name__}{args} blocked"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    exc = _blocks_or_not(load_checkpoint, fifo)
    assert isinstance(exc, ValueError)
    assert f"model file {fifo} is a FIFO (named pipe), not a regular file" in str(exc)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_is_refused(tmp_path):
    exc = _blocks_or_not(load_checkpoint, Path("/dev/zero"))
    assert isinstance(exc, ValueError)
    assert "is a character device" in str(exc)


# -- bombs and lying sizes: refused without allocating ---------------------------------------


def _deflated_zeros_entry(archive: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> None:
    """A deflated ``.npy`` entry of float64 zeros, written in chunks (never all in memory)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        member.write(buffer.getvalue())
        chunk = bytes(1 << 20)
        left = int(np.prod(shape)) * 8
        while left:
            member.write(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))


def _peak_while_refusing(path: Path, *fragments: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        _refused(path, *fragments)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("member", ["history/loss.npy", "params/W1.npy"])
def test_decompression_bomb_is_refused_under_100_mb(tmp_path, member):
    # 100 MB of zeros in a file of about 100 KB, as a caller's array or as weights that fit a
    # configuration asking for them (hidden_size=16000).
    hidden = 16_000 if member == "params/W1.npy" else 3
    network = TwoLayerNet(784, 3, 2, seed=0)
    entries = _entries(save_checkpoint(tmp_path / "base.npz", network))
    metadata = json.loads(np.load(io.BytesIO(entries["metadata.json.npy"])).tobytes())
    metadata["network"]["hidden_size"] = hidden
    text = np.frombuffer(json.dumps(metadata).encode(), np.uint8)
    buffer = io.BytesIO()
    np.save(buffer, text)
    entries["metadata.json.npy"] = buffer.getvalue()
    if hidden != 3:
        for name, shape in (("params/b1.npy", (hidden,)), ("params/W2.npy", (hidden, 2))):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros(shape))
            entries[name] = buffer.getvalue()
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            if name != member:
                archive.writestr(name, data)
        shape = (784, hidden) if member == "params/W1.npy" else (12_500_000,)
        _deflated_zeros_entry(archive, member, shape)
    assert path.stat().st_size < 2_000_000
    peak = _peak_while_refusing(path, "decompression bomb")
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB while refusing a bomb"


def test_huge_declared_shape_in_a_tiny_file_is_refused_without_allocating(tmp_path):
    entries = _entries(_good(tmp_path))
    entries["history/loss.npy"] = _npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (125000000000,), }"
    )
    path = _write_entries(tmp_path / "tiny.npz", entries)
    assert path.stat().st_size < 3000
    assert _peak_while_refusing(path, "declares 1,000,000,000,000 bytes") < 10e6


def test_unused_large_members_are_not_decompressed(tmp_path):
    # An extra array beyond the caller's budget is refused from its header alone.
    entries = _entries(_good(tmp_path))
    path = tmp_path / "extra.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        _deflated_zeros_entry(archive, "junk/zeros.npy", (10_000_000,))  # 80 MB
    assert _peak_while_refusing(path, "junk/zeros") < 100e6


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_CONFIG_KEYS = st.sampled_from(
    [
        "class",
        "input_size",
        "hidden_size",
        "output_size",
        "hidden_size_list",
        "activation",
        "weight_init_std",
        "weight_decay_lambda",
        "dtype",
        "seed",
        "rng",
        "other",
    ]
)


@settings(_SETTINGS, max_examples=30)
@given(changes=st.dictionaries(_CONFIG_KEYS, _JSON, max_size=4))
def test_any_network_configuration_is_loaded_or_refused_clearly(tmp_path, changes):
    path = _good(tmp_path)
    entries = _entries(path)
    metadata = json.loads(np.load(io.BytesIO(entries["metadata.json.npy"])).tobytes())
    metadata["network"].update(changes)
    buffer = io.BytesIO()
    text = json.dumps(metadata, allow_nan=True).encode()
    np.save(buffer, np.frombuffer(text, np.uint8))
    entries["metadata.json.npy"] = buffer.getvalue()
    hostile = _write_entries(tmp_path / "config.npz", entries)
    try:
        checkpoint = load_checkpoint(hostile)
    except _FILE_ERRORS as exc:
        assert str(hostile) in str(exc)
    else:
        assert checkpoint.network.params["W1"].shape == (4, 3)


def test_a_compressed_checkpoint_with_optimizer_state_loads_the_same(tmp_path):
    from backprop.optimizers import get_optimizer

    network = TwoLayerNet(6, 5, 3, seed=0, dtype="float32")
    optimizer = get_optimizer("adam")
    x = np.linspace(0, 1, 24).reshape(4, 6)
    optimizer.update(network.params, network.gradient(x, np.array([0, 1, 2, 0])))
    path = save_checkpoint(tmp_path / "m.npz", network, optimizer)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez_compressed(tmp_path / "c.npz", **arrays)  # deflated entries, as others may write
    loaded = load_checkpoint(tmp_path / "c.npz")
    for key, value in network.params.items():
        np.testing.assert_array_equal(loaded.network.params[key], value)
    state = loaded.optimizer.state_dict()["state"]
    for slot, slot_arrays in optimizer.state_dict()["state"].items():
        for key, value in slot_arrays.items():
            np.testing.assert_array_equal(state[slot][key], value)
