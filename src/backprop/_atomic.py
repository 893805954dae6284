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
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "create_temporary", "fsync_dir", "remove_stale"]


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); directories cannot be opened on Windows, so skip there."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# Temporaries are named ``.<target>.backprop-<pid>-<random><suffix>``, so that a later write of
# the same target can recognise those a killed process left behind (see remove_stale).
_TAG = "backprop"
_PROCESS_START = time.time()  # no temporary of this process is older than this module


def _stale_pattern(name: str, suffix: str) -> re.Pattern:
    # Also the names of 0.1.0 (``.<target>.<8 hex digits><suffix>``), which carried no pid.
    return re.compile(
        rf"\.{re.escape(name)}\.(?:{_TAG}-(?P<pid>\d+)-)?[0-9a-f]{{8}}{re.escape(suffix)}"
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill would terminate it on Windows: trust the age alone
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def remove_stale(folder: Path, name: str, suffix: str = ".tmp") -> list[Path]:
    """Remove the temporaries of target ``name`` that killed writers left in ``folder``.

    Only files matching this module's own naming for that target, older than the current
    process, and (where the name carries it) of a process that no longer runs; never another
    file. Returns what was removed; a file that cannot be removed is left alone.
    """
    pattern = _stale_pattern(name, suffix)
    removed = []
    try:
        candidates = [entry for entry in os.scandir(folder) if pattern.fullmatch(entry.name)]
    except OSError:
        return removed
    for entry in candidates:
        pid = pattern.fullmatch(entry.name).group("pid")
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= _PROCESS_START:
                continue
            if pid is not None and _alive(int(pid)):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def create_temporary(folder: Path, name: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new file ``.name.backprop-<pid>-<random><suffix>`` in ``folder``, open for writing
    (a descriptor); stale temporaries of the same target are removed first (remove_stale).

    Not ``tempfile.mkstemp``: that makes the file private (0600), and the folder may be shared
    between users (a ``BACKPROP_DATA`` cache). ``os.open(..., 0o666)`` applies the umask instead.
    """
    remove_stale(folder, name, suffix)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f".{name}.{_TAG}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
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
