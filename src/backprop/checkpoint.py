"""Checkpoints: a trained network (and how it was trained) in one safe, atomic ``.npz`` file.

Book: 5.7.4 trains ``TwoLayerNet`` and keeps it only in memory (the book's later chapters save
networks with ``pickle``). Here a network is saved as plain arrays plus JSON, so that a model
file from a stranger cannot run code: it is read by ``backprop._safe_npz`` (never pickle,
every array a number array, every size checked against the network before it is read).

File layout (a NumPy ``.npz`` archive, i.e. a zip of ``.npy`` files)
---------------------------------------------------------------------
``metadata.json``
    UTF-8 JSON as a uint8 array: ``format`` ("backprop-checkpoint"), ``format_version``,
    ``library_version``, ``numpy_version``, ``created`` (UTC, ISO 8601), ``network`` (its
    ``config()``: class, sizes, activation, ...), ``dtype``, ``params`` (name → shape),
    ``optimizer`` (name, hyperparameters, iteration; or null), ``metrics``, ``training`` (the
    trainer's counters and data-order random state; or null) and whatever the caller adds
    (``dataset``, ``seed``, ...).
``params/<name>``
    One array per network parameter (``params/W1``, ``params/b1``, ...).
``buffers/<name>``
    Arrays of the network that are not trained, from its ``buffers`` (the running mean and
    variance of BatchNormalization: ``buffers/running_mean1``, ...); absent for most networks.
``optimizer/<slot>/<name>``
    The optimizer's state arrays (``optimizer/v/W1`` for Momentum's velocity of W1).
``<group>/<name>``
    Further arrays from the caller (the trainer stores its ``history/...`` there).

Writing goes to a temporary file in the same folder, is fsynced, then renamed over the
target, so an interrupted save leaves the previous checkpoint intact.

Training saves through ``backprop.training.ModelCheckpoint`` (``Trainer.save_checkpoint``) and
continues a run with ``backprop.training.resume(path, data)``, which reads the file once with
:func:`load_checkpoint` and checks the ``training`` state before using it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write
from backprop._safe_npz import ArrayHeader, NpzError, SafeNpz
from backprop.networks import check_config_fits, network_from_config
from backprop.optimizers import Optimizer, get_optimizer

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_KEYS",
    "Checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT = "backprop-checkpoint"
FORMAT_VERSION = 1
# The metadata entries that save_checkpoint writes itself (the caller's come on top).
METADATA_KEYS = (
    "format",
    "format_version",
    "library_version",
    "numpy_version",
    "created",
    "network",
    "dtype",
    "params",
    "optimizer",
)
_METADATA_KEY = "metadata.json"
_RESERVED = ("params", "optimizer", "buffers", _METADATA_KEY)


@dataclasses.dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns.

    Attributes
    ----------
    path : Path
    network :
        The network, rebuilt from its configuration, with the saved parameters.
    optimizer : Optimizer or None
        The optimizer with its hyperparameters and state, if one was saved.
    metadata : dict
        The whole JSON metadata (see the module docstring).
    arrays : dict of str → ndarray
        The caller's extra arrays (everything but ``params/`` and ``optimizer/``).
    """

    path: Path
    network: object
    optimizer: Optimizer | None
    metadata: dict
    arrays: dict[str, np.ndarray]

    def __repr__(self) -> str:
        return (
            f"Checkpoint(path={str(self.path)!r}, network={self.network!r}, "
            f"optimizer={self.optimizer!r})"
        )


def _json_safe(value):
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_checkpoint(
    path: str | os.PathLike[str],
    network,
    optimizer: Optimizer | None = None,
    *,
    metadata: dict | None = None,
    arrays: dict[str, np.ndarray] | None = None,
) -> Path:
    """Save ``network`` (and ``optimizer``) to ``path`` atomically; return the path.

    Parameters
    ----------
    path : str or os.PathLike
        Target file, conventionally ``model.npz``; its folder is created if needed.
    network :
        Anything with ``params`` (dict of float arrays) and ``config()`` (JSON-compatible
        constructor arguments, with ``"class"``), such as ``TwoLayerNet``.
    optimizer : Optimizer, optional
        Saved with its hyperparameters and state, for resuming training.
    metadata : dict, optional
        JSON-compatible values stored with the file (e.g. ``dataset``, ``seed``, ``metrics``,
        ``training``). NaN and infinity are stored as null.
    arrays : dict of str → ndarray, optional
        Extra number arrays, named ``"group/name"`` (not under ``params/`` or ``optimizer/``).
    """
    path = Path(path)
    if not hasattr(network, "params") or not hasattr(network, "config"):
        raise TypeError(
            "save_checkpoint: network must have params and config() (like TwoLayerNet), "
            f"got {type(network).__name__}"
        )
    contents: dict[str, np.ndarray] = {}
    for key, value in network.params.items():
        contents[f"params/{key}"] = np.asarray(value)
    for key, value in getattr(network, "buffers", {}).items():  # e.g. BatchNorm statistics
        contents[f"buffers/{key}"] = np.asarray(value)
    optimizer_info = None
    if optimizer is not None:
        state = optimizer.state_dict()
        optimizer_info = {
            "name": state["name"],
            "hyperparameters": state["hyperparameters"],
            "iteration": state["iteration"],
        }
        for slot, slot_arrays in state["state"].items():
            for key, value in slot_arrays.items():
                contents[f"optimizer/{slot}/{key}"] = value
    for key, value in (arrays or {}).items():
        if key.split("/")[0] in _RESERVED:
            raise ValueError(f"save_checkpoint: the array name {key!r} is reserved")
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"save_checkpoint: array {key!r} must hold numbers, got dtype {value.dtype}"
            )
        contents[key] = value
    info = dict(metadata or {})
    info.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": _library_version(),
            "numpy_version": np.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "network": network.config(),
            "dtype": next(iter(network.params.values())).dtype.name if network.params else None,
            "params": {key: list(np.shape(v)) for key, v in network.params.items()},
            "optimizer": optimizer_info,
        }
    )
    try:
        text = json.dumps(_json_safe(info), indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: metadata must be JSON-compatible: {exc}") from None
    contents[_METADATA_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as file:
        np.savez(file, **contents)
    return path


def _library_version() -> str:
    from backprop import __version__  # the package imports this module: import late

    return __version__


def _not_a_checkpoint(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: not a backprop checkpoint ({why})")


_METADATA_MAX_BYTES = 16 << 20  # JSON text: a few KB in practice
_EXTRA_MAX_BYTES = 1 << 30  # all the caller's arrays together (a history of 10⁸ iterations)


def _open_archive(path: Path) -> SafeNpz:
    """The file opened for checked reading; every way it can fail gives one clear error."""
    try:
        return SafeNpz(path, "model file")
    except NpzError as exc:
        raise _not_a_checkpoint(path, str(exc)) from None


def _read_archive(path: Path, archive: SafeNpz) -> dict:
    """The checked metadata of an opened checkpoint, or a clear error naming the file."""
    key = _METADATA_KEY
    if key not in archive.names:
        raise _not_a_checkpoint(path, f"no {key} entry; arrays: {sorted(archive.names)}")
    try:
        raw = archive.read(key, kinds="u", max_bytes=_METADATA_MAX_BYTES)
    except NpzError as exc:
        raise _not_a_checkpoint(path, str(exc)) from None
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _not_a_checkpoint(path, f"{key} is not UTF-8 text")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, a 10⁵-digit number
        raise _not_a_checkpoint(path, f"{key} is not valid JSON: {exc}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise _not_a_checkpoint(path, f"its metadata does not say format={FORMAT!r}")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _not_a_checkpoint(path, f"format_version {version!r} is not a number")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {version!r} is newer than this backprop "
            f"({_library_version()}) reads (version {FORMAT_VERSION}); upgrade backprop"
        )
    return metadata


def _check_declared_size(path: Path, archive: SafeNpz, key: str) -> ArrayHeader:
    """The header of entry ``key``, refused if it declares more data than the entry holds.

    NumPy allocates the declared shape before reading, so a 1 KB file claiming 10¹² elements
    would otherwise fail with a MemoryError (or exhaust the machine) instead of a clear error.
    """
    try:
        return archive.header(key)
    except NpzError as exc:
        raise _not_a_checkpoint(path, str(exc)) from None


def _read_entry(path: Path, archive: SafeNpz, key: str, header: ArrayHeader, **expected):
    """Entry ``key``'s data, checked against ``expected`` (shape, kinds, max_bytes) first."""
    try:
        return archive.read(key, header, **expected)
    except NpzError as exc:
        raise _not_a_checkpoint(path, str(exc)) from None


# What a hostile configuration (``"rng": "x"``, ``"dtype": [1]``) can raise in a constructor.
_CONFIG_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)


def _stub(header: ArrayHeader) -> np.ndarray:
    """An array of the header's shape and dtype that takes no memory (for shape checks)."""
    return np.broadcast_to(np.zeros((), header.dtype), header.shape)


def _read_arrays(path: Path, archive: SafeNpz, metadata: dict, network) -> tuple:
    """The network (built or given) with its parameters, and the other arrays, read only
    after every declared shape was checked against what the network needs."""
    headers = {key: _check_declared_size(path, archive, key) for key in archive.names}
    headers.pop(_METADATA_KEY)
    params_headers = {k.split("/", 1)[1]: h for k, h in headers.items() if k.startswith("params/")}
    for key, header in params_headers.items():
        if header.dtype.kind != "f":
            raise _not_a_checkpoint(path, f"parameter {key} has dtype {header.dtype}")
    stubs = {key: _stub(header) for key, header in params_headers.items()}
    config = None
    if network is None:
        config = metadata.get("network")
        if not isinstance(config, dict):
            raise _not_a_checkpoint(path, "its metadata has no network configuration")
        try:
            check_config_fits(config, stubs)
        except _CONFIG_ERRORS as exc:
            raise ValueError(f"{path}: cannot rebuild the network: {exc}") from None
        expected = {k: stub.shape for k, stub in stubs.items()}
    else:
        expected = {k: np.shape(v) for k, v in getattr(network, "params", {}).items()}
        if expected != {k: h.shape for k, h in params_headers.items()}:
            try:
                network.load_params(stubs)  # raises its error listing what differs
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: {exc}") from None
    params = {
        k: _read_entry(path, archive, f"params/{k}", h, shape=expected[k], kinds="f")
        for k, h in params_headers.items()
    }
    arrays, budget = {}, _EXTRA_MAX_BYTES
    for key, header in headers.items():
        if key.startswith("params/"):
            continue
        if key.startswith("optimizer/"):
            parts = key.split("/")
            if len(parts) != 3:
                raise _not_a_checkpoint(path, f"unexpected entry {key!r}")
            if parts[2] not in expected or header.shape != tuple(expected[parts[2]]):
                raise ValueError(
                    f"{path}: optimizer state {parts[1]}/{parts[2]} of shape {header.shape} "
                    "matches no parameter of the network"
                )
            arrays[key] = _read_entry(path, archive, key, header, kinds="f")
        else:
            arrays[key] = _read_entry(path, archive, key, header, max_bytes=budget)
            budget -= header.nbytes
    if network is None:
        try:
            network = network_from_config(config, params=params)
        except _CONFIG_ERRORS as exc:
            raise ValueError(f"{path}: cannot rebuild the network: {exc}") from None
    else:
        try:
            network.load_params(params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
    return network, arrays


def load_checkpoint(path: str | os.PathLike[str], network=None) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike
    network : optional
        Load the parameters into this network (same parameter names and shapes, else a
        ValueError listing the ones that differ) instead of building one from the saved
        configuration.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        ``path`` is missing or a folder.
    ValueError
        Not a checkpoint (not a regular file, not a zip, a damaged or hostile entry, no
        metadata, another format), an entry holding pickled Python objects, parameters that do
        not fit the network; the message names the file. Only the entries a checkpoint has
        are read, each after its declared size was checked against what the network needs.
    """
    path = Path(path)
    with _open_archive(path) as archive:
        metadata = _read_archive(path, archive)
        network, arrays = _read_arrays(path, archive, metadata, network)
    buffers = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("buffers/")}
    if hasattr(network, "load_buffers"):
        try:
            network.load_buffers(buffers)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
    optimizer = _load_optimizer(path, metadata.get("optimizer"), arrays, network.params)
    extra = {
        key: value
        for key, value in arrays.items()
        if not key.startswith(("params/", "optimizer/", "buffers/"))
    }
    return Checkpoint(path, network, optimizer, metadata, extra)


def _load_optimizer(path: Path, info, arrays, params) -> Optimizer | None:
    if info is None:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        raise _not_a_checkpoint(path, "its optimizer entry has no name")
    state: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        if key.startswith("optimizer/"):
            parts = key.split("/")
            if len(parts) != 3:
                raise _not_a_checkpoint(path, f"unexpected entry {key!r}")
            _, slot, name = parts
            if name not in params or value.shape != params[name].shape:
                raise ValueError(
                    f"{path}: optimizer state {slot}/{name} of shape {value.shape} matches no "
                    "parameter of the network"
                )
            state.setdefault(slot, {})[name] = value
    try:
        optimizer = get_optimizer(info["name"], **info.get("hyperparameters", {}))
        for slot in optimizer.slots:
            state.setdefault(slot, {})
        optimizer.load_state_dict(
            {
                "name": optimizer.name,
                "iteration": info.get("iteration", 0),
                "state": state,
            }
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: cannot restore the optimizer: {exc}") from None
    return optimizer
