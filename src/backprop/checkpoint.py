"""Checkpoints: a trained network (and how it was trained) in one safe, atomic ``.npz`` file.

Book: 5.7.4 trains ``TwoLayerNet`` and keeps it only in memory (the book's later chapters save
networks with ``pickle``). Here a network is saved as plain arrays plus JSON, so that a model
file from a stranger cannot run code: it is loaded with ``np.load(..., allow_pickle=False)``
and every array must be a number array.

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
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write
from backprop.networks import network_from_config
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


def _read_archive(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and every array of the file, or a clear error naming the file."""
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"model file {path} is a folder, not a checkpoint file")
    with open(path, "rb") as file:  # our own handle: closed even when np.load fails
        try:
            archive = np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise _not_a_checkpoint(path, f"cannot read it as a .npz archive: {exc}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _not_a_checkpoint(path, "it holds a single .npy array, not a .npz archive")
        with archive:
            arrays = {key: _read_entry(path, archive, key) for key in archive.files}
    raw = arrays.pop(_METADATA_KEY, None)
    if raw is None:
        raise _not_a_checkpoint(path, f"no {_METADATA_KEY} entry; arrays: {sorted(arrays)}")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _not_a_checkpoint(path, f"{_METADATA_KEY} is not UTF-8 text")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_a_checkpoint(path, f"{_METADATA_KEY} is not valid JSON: {exc}") from None
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
    return metadata, arrays


def _check_declared_size(path: Path, archive, key: str) -> None:
    """Refuse an entry whose header declares more data than the file holds.

    NumPy allocates the declared shape before reading, so a 1 KB file claiming 10¹² elements
    would otherwise fail with a MemoryError (or exhaust the machine) instead of a clear error.
    """
    info = archive.zip.getinfo(f"{key}.npy")
    with archive.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(member)
        header_size = member.tell()
    if dtype.hasobject:  # pickled objects: refused with their own message when read
        return
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size - header_size:
        raise _not_a_checkpoint(
            path,
            f"entry {key!r} declares {declared:,} bytes of {dtype} {shape} but holds "
            f"{info.file_size - header_size:,}",
        )


def _read_entry(path: Path, archive, key: str) -> np.ndarray:
    try:
        _check_declared_size(path, archive, key)
        return archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(
                f"{path}: refusing to load {key!r}: it holds Python objects (pickle), which "
                "could run code; a backprop checkpoint holds numbers only"
            ) from None
        raise _not_a_checkpoint(path, f"entry {key!r} is damaged: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _not_a_checkpoint(path, f"entry {key!r} is damaged: {exc}") from None


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
        Not a checkpoint (not a zip, no metadata, another format), an entry holding pickled
        Python objects, parameters that do not fit the network; the message names the file.
    """
    path = Path(path)
    metadata, arrays = _read_archive(path)
    params = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("params/")}
    for key, value in params.items():
        if value.dtype.kind != "f":
            raise _not_a_checkpoint(path, f"parameter {key} has dtype {value.dtype}")
    if network is None:
        config = metadata.get("network")
        if not isinstance(config, dict):
            raise _not_a_checkpoint(path, "its metadata has no network configuration")
        try:
            # Checks the configuration's sizes against the stored shapes before building.
            network = network_from_config(config, params=params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: cannot rebuild the network: {exc}") from None
    else:
        try:
            network.load_params(params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
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
