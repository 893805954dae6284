"""Reading ``.npz`` archives from strangers: regular files only, strict headers, bounded sizes.

``np.load`` trusts its file: it blocks forever on a FIFO, decompresses every member it is
asked for whatever its size, allocates the shape a header declares before reading a byte, and
lets zipfile's and its own exceptions (KeyError, RuntimeError, NotImplementedError,
MemoryError, ...) escape. This module reads the same format without trusting anything:

- :func:`open_regular` opens only regular files (``O_NONBLOCK``, then ``fstat``), so a FIFO
  or a device given as a file is refused at once instead of blocking;
- :class:`SafeNpz` checks the zip directory (no encryption, only stored or deflated members,
  names that are ``<group>/<name>.npy`` with plain characters, no duplicates, no member
  reaching past the end of the file, no deflated member claiming more than deflate can hold);
- an array header is parsed by a regular expression, not evaluated: ``descr`` from a small
  whitelist of number dtypes (never objects, so never pickle), ``fortran_order`` a bool,
  ``shape`` a tuple of non-negative integers;
- the caller states what it expects (shape, dtype kinds, a byte budget) and every size is
  checked against that *before* anything is decompressed or allocated; the data are then
  streamed into one buffer of exactly the expected size, so a member that lies about its
  size is cut off at the size it declared.

Every failure is a :class:`NpzError` (a ``ValueError``) with one line saying what is wrong;
the caller adds the file's name. Standard library and NumPy only.
"""

from __future__ import annotations

import math
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = [
    "ArrayHeader",
    "NpzError",
    "SafeNpz",
    "describe_content",
    "open_regular",
]

MAX_MEMBERS = 4096  # a network of 1000 layers with Adam's two slots has 6000 arrays: plenty
MAX_HEADER_BYTES = 16384  # NumPy writes about 128; its own reader stops at 10,000
MAX_NDIM = 32
# Deflate cannot compress by more than about 1032:1, so a member claiming more is lying; and
# no trained weights compress by 100:1, so a large member that does is a bomb, not a model.
_DEFLATE_MAX_RATIO = 1100
_PLAUSIBLE_RATIO = 100
_PLAUSIBLE_RATIO_ABOVE = 64 << 20
_CHUNK = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}){0,3}")
# The header dict: exactly the three keys, in any order, with literal values. Never evaluated.
_ENTRY = (
    r"'descr'\s*:\s*'(?P<descr{i}>[<>|=]?[a-zA-Z]\d{{0,2}})'"
    r"|'fortran_order'\s*:\s*(?P<fortran{i}>True|False)"
    r"|'shape'\s*:\s*\((?P<shape{i}>[0-9,\s]{{0,400}})\)"
)
_HEADER = re.compile(
    r"\{\s*" + r"\s*,\s*".join(f"(?:{_ENTRY.format(i=i)})" for i in range(3)) + r"\s*,?\s*\}\s*"
)
_DTYPES = {
    f"{order}{kind}{size}"
    for kind, sizes in (("f", (2, 4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)))
    for size in sizes
    for order in (("|", "<", ">", "=", "") if size == 1 else ("<", ">", "="))
} | {"|b1", "b1"}
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    MemoryError,
)


class NpzError(ValueError):
    """The archive is not a safe, well-formed ``.npz`` of what the caller expects."""


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's ``.npy`` header declares (already checked for sanity)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes of magic and header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """Open ``path`` for reading in binary mode if, and only if, it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer; the
    descriptor's own ``fstat`` (not the path's, which could change in between) then decides.
    Raises FileNotFoundError, IsADirectoryError, or ValueError for a FIFO, device or socket,
    each naming ``what`` and the path.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{what} {path} is a folder, not a file") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"{what} {path} is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise ValueError(
                f"{what} {path} is {_kind_of(mode)}, not a regular file; give a file on disk"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def describe_content(head: bytes) -> str:
    """What the first bytes of a file look like, for "it looks like ..." messages."""
    signatures = (
        (b"PK\x03\x04", "a zip archive"),
        (b"PK\x05\x06", "an empty zip archive"),
        (b"\x93NUMPY", "a single .npy array, not a .npz archive"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"\x00\x00\x08", "an IDX dataset file (MNIST)"),
        (b"%PDF", "a PDF document"),
        (b"\x80", "a Python pickle (never loaded: unpickling can run code)"),
    )
    if not head:
        return "an empty file"
    for signature, name in signatures:
        if head.startswith(signature):
            return name
    text = head.decode("utf-8", errors="ignore")
    if len(text) >= 0.9 * len(head.decode("latin-1")) and all(
        c.isprintable() or c in "\t\r\n" for c in text
    ):
        first_line = text.splitlines()[0] if text.splitlines() else ""
        return "a CSV/text file" if any(c in first_line for c in ",;\t") else "a text file"
    return "binary data of an unknown kind"


def _parse_header(name: str, text: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    match = _HEADER.fullmatch(text)
    if match is None:
        shown = text[:80].encode("ascii", "backslashreplace").decode("ascii")
        raise NpzError(
            f"entry {name!r} has an array header that is not a plain "
            f"{{'descr', 'fortran_order', 'shape'}} dict: {shown!r}"
        )
    found: dict[str, str] = {}
    for key, value in match.groupdict().items():
        if value is not None:
            field = key.rstrip("012")
            if field in found:
                raise NpzError(f"entry {name!r} has an array header naming {field!r} twice")
            found[field] = value
    if len(found) != 3:
        raise NpzError(f"entry {name!r} has an array header without descr, fortran_order, shape")
    descr = found["descr"]
    if descr not in _DTYPES:
        why = (
            "it holds Python objects (pickle), which could run code; a backprop checkpoint "
            "holds numbers only"
            if descr.lstrip("<>|=").startswith("O")
            else "only real numbers (float, int, uint, bool) are read"
        )
        raise NpzError(f"refusing to load {name!r}: its dtype is {descr!r}: {why}")
    parts = [p.strip() for p in found["shape"].split(",")]
    if parts and parts[-1] == "":
        parts.pop()  # (3,) and ()
    if any(not p.isdigit() or len(p) > 19 for p in parts) or len(parts) > MAX_NDIM:
        raise NpzError(
            f"entry {name!r} has a shape that is not a tuple of at most {MAX_NDIM} "
            f"non-negative integers: ({found['shape'][:80]})"
        )
    return tuple(int(p) for p in parts), np.dtype(descr), found["fortran"] == "True"


class SafeNpz:
    """A ``.npz`` archive opened for checked reading; use as a context manager.

    ``names`` lists the arrays (member names without ``.npy``). :meth:`header` reads only a
    member's header; :meth:`read` reads its data after checking it against what the caller
    expects. Nothing is decompressed until it is asked for.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "file"):
        self.path = Path(path)
        self._file = open_regular(self.path, what)
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        head = self._file.read(8)
        self._file.seek(0)
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise NpzError(f"it looks like {describe_content(self._file.read(512))}")
        try:
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise NpzError(f"its zip directory is damaged: {_reason(exc)}") from None
        if len(infos) > MAX_MEMBERS:
            raise NpzError(f"it has {len(infos)} entries, more than {MAX_MEMBERS}")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            self._check_info(info, size)
            name = info.filename.removesuffix(".npy")
            if name in self._infos:
                raise NpzError(f"entry {info.filename!r} appears twice")
            self._infos[name] = info
        self.names = list(self._infos)

    def _check_info(self, info: zipfile.ZipInfo, size: int) -> None:
        shown = info.filename.encode("ascii", "backslashreplace").decode("ascii")
        if not info.filename.endswith(".npy") or not _NAME.fullmatch(info.filename[:-4]):
            raise NpzError(
                f"unexpected entry {shown!r}: entries are '<group>/<name>.npy' arrays "
                "(letters, digits, '_', '.', '-')"
            )
        if info.flag_bits & 0x1:
            raise NpzError(f"entry {shown!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NpzError(
                f"entry {shown!r} uses compression method {info.compress_type}; only stored "
                "and deflated entries (np.savez, np.savez_compressed) are read"
            )
        if info.header_offset + info.compress_size > size:
            raise NpzError(f"entry {shown!r} reaches past the end of the file (truncated?)")
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.file_size != info.compress_size) or (
            not stored and info.file_size > _DEFLATE_MAX_RATIO * max(info.compress_size, 1)
        ):
            raise NpzError(
                f"entry {shown!r} claims {info.file_size:,} bytes from "
                f"{info.compress_size:,} stored, which no zip entry can hold"
            )

    # -- reading --------------------------------------------------------------------------
    def __enter__(self) -> SafeNpz:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._zip.close()
        finally:
            self._file.close()

    def __repr__(self) -> str:
        return f"SafeNpz({str(self.path)!r}, names={self.names!r})"

    def header(self, name: str) -> ArrayHeader:
        """The checked header of array ``name``; its declared size must fit the entry."""
        info = self._infos[name]
        try:
            with self._zip.open(info) as member:
                magic = _read(member, 8)
                if len(magic) < 8 or not magic.startswith(b"\x93NUMPY"):
                    raise NpzError(f"entry {name!r} is not a .npy array (no NumPy magic)")
                major = magic[6]
                if major not in (1, 2, 3):
                    raise NpzError(f"entry {name!r} has .npy format version {major}")
                length_size = 2 if major == 1 else 4
                raw_length = _read(member, length_size)
                if len(raw_length) < length_size:
                    raise NpzError(f"entry {name!r} is truncated in its header")
                length = int.from_bytes(raw_length, "little")
                if length > MAX_HEADER_BYTES:
                    raise NpzError(f"entry {name!r} has a {length:,}-byte array header")
                raw = _read(member, length)
        except NpzError:
            raise
        except _ZIP_ERRORS as exc:
            raise NpzError(f"entry {name!r} is damaged: {_reason(exc)}") from None
        if len(raw) < length:
            raise NpzError(f"entry {name!r} is truncated in its header")
        text = raw.decode("utf-8" if major == 3 else "latin-1", errors="replace")
        shape, dtype, fortran = _parse_header(name, text)
        header = ArrayHeader(shape, dtype, fortran, 8 + length_size + length)
        holds = info.file_size - header.offset
        if header.nbytes != holds:
            raise NpzError(
                f"entry {name!r} declares {header.nbytes:,} bytes of {dtype} {shape} but "
                f"holds {holds:,}"
            )
        if (
            info.compress_type == zipfile.ZIP_DEFLATED
            and info.file_size > _PLAUSIBLE_RATIO_ABOVE
            and info.file_size > _PLAUSIBLE_RATIO * info.compress_size
        ):
            raise NpzError(
                f"entry {name!r} would decompress {info.compress_size:,} bytes into "
                f"{info.file_size:,}: a decompression bomb, not trained numbers"
            )
        return header

    def read(
        self,
        name: str,
        header: ArrayHeader | None = None,
        *,
        shape: tuple[int, ...] | None = None,
        kinds: str = "biuf",
        max_bytes: int | None = None,
    ) -> np.ndarray:
        """Array ``name``, after checking its header against ``shape``, ``kinds`` (dtype
        kinds allowed) and ``max_bytes``; the data are streamed into a buffer of exactly the
        declared size, and the entry's checksum is verified."""
        header = header or self.header(name)
        if shape is not None and header.shape != tuple(shape):
            raise NpzError(f"entry {name!r} has shape {header.shape}, expected {tuple(shape)}")
        if header.dtype.kind not in kinds:
            raise NpzError(f"entry {name!r} has dtype {header.dtype}")
        if max_bytes is not None and header.nbytes > max_bytes:
            raise NpzError(
                f"entry {name!r} declares {header.nbytes:,} bytes of {header.dtype} "
                f"{header.shape}, more than the {max_bytes:,} allowed for it"
            )
        try:
            data = np.empty(math.prod(header.shape), dtype=header.dtype)
        except (MemoryError, ValueError, OverflowError):
            raise NpzError(
                f"entry {name!r}: {header.nbytes:,} bytes of {header.dtype} {header.shape} "
                "cannot be allocated"
            ) from None
        buffer = memoryview(data.view(np.uint8))
        try:
            with self._zip.open(self._infos[name]) as member:
                _read(member, header.offset)
                filled = 0
                while filled < len(buffer):
                    n = member.readinto(buffer[filled : filled + _CHUNK])
                    if not n:
                        break
                    filled += n
                extra = member.read(1)  # at the end: makes zipfile check the CRC
        except _ZIP_ERRORS as exc:
            raise NpzError(f"entry {name!r} is damaged: {_reason(exc)}") from None
        if filled < len(buffer) or extra:
            raise NpzError(f"entry {name!r} is damaged: its data are shorter than declared")
        if header.fortran_order:
            data = data.reshape(header.shape[::-1]).transpose()
        else:
            data = data.reshape(header.shape)
        if not header.dtype.isnative:
            data = data.astype(header.dtype.newbyteorder("="))
        return data


def _read(member: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the entry)."""
    parts = []
    while n > 0:
        chunk = member.read(min(n, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.encode("ascii", "backslashreplace").decode("ascii")[:200]
