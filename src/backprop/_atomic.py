"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``.

Every file the library writes (checkpoints, history, plots, downloads) goes through
:func:`atomic_write` or, for downloads that are verified before they replace anything, through
its two parts :func:`create_temporary` and :func:`fsync_dir`. A reader sees either the old
complete file or the new complete file, never a half-written one, even if the process is
killed or the disk fills up mid-write. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "create_temporary", "fsync_dir"]


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); directories cannot be opened on Windows, so skip there."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def create_temporary(folder: Path, name: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new file ``.name.<random><suffix>`` in ``folder``, open for writing (a descriptor).

    Not ``tempfile.mkstemp``: that makes the file private (0600), and the folder may be shared
    between users (a ``BACKPROP_DATA`` cache). ``os.open(..., 0o666)`` applies the umask instead.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collide
            continue


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path`` in one step.

    ``mode`` is ``"wb"`` or ``"w"`` (then ``encoding`` and ``newline`` apply). The folder of
    ``path`` is created if needed. If the body raises, the temporary file is removed and
    ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temporary(folder, path.name)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
