"""Downloading dataset files: mirrors in turn, a progress line, checksums, atomic writes.

Book 3.6.1 fetches MNIST with ``urllib`` on first use; this module does the same, more
carefully:

- each file is requested from a list of mirror base URLs, in order, until one delivers it;
- a progress line goes to stderr (updated in place on a terminal, one line per attempt
  otherwise);
- every socket operation has a timeout, and the whole file a deadline (a server sending a
  byte a second cannot hold a download for hours);
- a download stops at the size its content's IDX header implies (a server sending more, or
  sending forever, cannot fill the disk), and what a server says is shown sanitized;
- the download goes to a temporary file in the destination folder, is checked against the
  SHA-256 of its *decompressed* content (so a recompressed copy verifies too), fsynced, and only
  then renamed into place with ``os.replace``. A failed or corrupt download leaves nothing
  behind.

``urllib.request`` is imported inside :func:`fetch_file`, so importing the package does not
load the HTTP/SSL stack.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from backprop._atomic import create_temporary, fsync_dir
from backprop._checks import check_real
from backprop.datasets.idx import IDX_TYPES, DatasetError, is_gzip, sha256_of_content

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "fetch_file", "mirrors_from_env"]

DEFAULT_TIMEOUT = 30.0  # seconds, for connecting and for each read
DEADLINE_FACTOR = 20  # the whole file may take this many timeouts (10 minutes by default)
DEFAULT_MAX_BYTES = 256 << 20  # when the content does not announce its size
_CHUNK = 1 << 16
_USER_AGENT = "backprop-datasets (Python urllib)"


def _content_length(value: str | None) -> int:
    """The Content-Length header as a number (0 when absent); a clear error when garbled."""
    if value is None or not value.strip():
        return 0
    if not value.strip().isdigit():
        message = f"the server sent an invalid Content-Length {_printable(value, 40)!r}"
        raise DatasetError(message)
    return int(value)


def mirrors_from_env(variable: str | None, default: Sequence[str]) -> tuple[str, ...]:
    """Mirror base URLs from environment variable ``variable``, else ``default``.

    The variable holds base URLs separated by whitespace or commas, e.g.
    ``BACKPROP_MNIST_MIRRORS="http://127.0.0.1:8000/ https://example.org/mnist/"``. Unset or
    empty means ``default``.
    """
    value = os.environ.get(variable, "") if variable else ""
    urls = tuple(value.replace(",", " ").split())
    return urls or tuple(default)


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class _Progress:
    """One stderr line per download attempt; redrawn in place when stderr is a terminal."""

    def __init__(self, url: str, stream: TextIO | None) -> None:
        self.url = url
        self.stream = stream
        self.total = 0
        self.done = 0
        self._last_draw = 0.0
        self._tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        if stream is not None:
            stream.write(f"backprop: downloading {url} ...")
            stream.flush()

    def __repr__(self) -> str:
        return f"_Progress(url={self.url!r}, done={self.done}, total={self.total})"

    def _line(self) -> str:
        if self.total:
            percent = 100 * self.done // self.total
            size = f"{_megabytes(self.done)} / {_megabytes(self.total)} ({percent}%)"
        else:
            size = _megabytes(self.done)
        return f"backprop: downloading {self.url} {size}"

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self._tty and now - self._last_draw > 0.1:
            self._last_draw = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def finish(self, outcome: str) -> None:
        if self.stream is None:
            return
        if self._tty:
            self.stream.write("\r" + self._line() + f" {outcome}\n")
        else:
            size = f" {_megabytes(self.done)}," if self.done else ""
            self.stream.write(f"{size} {outcome}\n")
        self.stream.flush()


def _printable(text: str, limit: int = 200) -> str:
    """``text`` from a server, safe to print: control characters (terminal escape codes)
    shown as ``\\xNN``, and at most ``limit`` characters."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[: 4 * limit])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class _SizeGuard:
    """Stops a download at the size the file's own IDX header implies.

    The first bytes are decompressed (if gzip) just far enough to read the header; the file
    may then be at most that size (plus deflate's and gzip's overhead when compressed). Until
    the header is known, and for content that is not IDX, ``max_bytes`` is the limit.
    """

    _HEAD_BYTES = 1 << 16

    def __init__(self, max_bytes: int) -> None:
        self.limit = max_bytes
        self.received = 0
        self._head = b""
        self._decided = False

    def __repr__(self) -> str:
        return f"_SizeGuard(received={self.received}, limit={self.limit})"

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if not self._decided:
            self._head += chunk[: self._HEAD_BYTES]
            self._learn()
        if self.received > self.limit:
            message = (
                f"the server sent more than {self.limit:,} bytes, more than this file can hold; "
                "stopped"
            )
            raise DatasetError(message)

    def _learn(self) -> None:
        compressed = self._head[:2] == b"\x1f\x8b"
        plain = self._head
        if compressed:
            try:
                plain = zlib.decompressobj(31).decompress(self._head, 1024 + 16)
            except zlib.error:
                self._decided = True
                return
        if len(plain) >= 4 and (plain[:2] != b"\x00\x00" or plain[2] not in IDX_TYPES):
            self._decided = True  # not IDX: the checksum will say so
            return
        if len(plain) >= 4 and len(plain) >= 4 + 4 * plain[3]:
            ndim = plain[3]
            shape = struct.unpack(f">{ndim}I", plain[4 : 4 + 4 * ndim])
            size = 4 + 4 * ndim + math.prod(shape) * IDX_TYPES[plain[2]].itemsize
            # Stored deflate blocks add 5 bytes per 64 KiB; gzip's header and trailer a few.
            self.limit = min(self.limit, size + size // 1024 + 4096 if compressed else size)
            self._decided = True
        elif len(self._head) >= self._HEAD_BYTES:
            self._decided = True


def _open_within(request, timeout: float, deadline: float):
    """``urlopen(request)``, its status line and headers bounded by ``deadline`` too.

    Each read of the headers waits at most ``timeout``, but a server dribbling a header a byte
    at a time would pass every such check; so the opening runs in a helper thread that is
    abandoned at the deadline (it closes whatever response reaches it afterwards).
    """
    import urllib.request

    result: dict = {}
    abandoned = threading.Event()

    def open_url() -> None:
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except BaseException as exc:  # handed to the caller's thread as it is
            result["error"] = exc
            return
        if abandoned.is_set():
            response.close()
        else:
            result["response"] = response

    thread = threading.Thread(target=open_url, name="backprop-download-open", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        abandoned.set()
        if "response" in result:  # arrived between the join and the flag
            result.pop("response").close()
        raise DatasetError(
            f"took more than {deadline:g} s, the deadline for the whole file, to send its headers"
        )
    if "error" in result:
        raise result["error"]
    return result["response"]


def _failure_reason(exc: BaseException, timeout: float) -> str:
    return _printable(_raw_failure_reason(exc, timeout))


def _raw_failure_reason(exc: BaseException, timeout: float) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
        if not isinstance(exc, TimeoutError):
            return str(exc)
    if isinstance(exc, TimeoutError):
        return f"timed out (timeout={timeout:g} s)"
    return str(exc) or type(exc).__name__


def fetch_file(
    remote_name: str,
    folder: str | os.PathLike[str],
    mirrors: Sequence[str],
    sha256: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    verbose: bool = True,
) -> Path:
    """Download ``remote_name`` from the first mirror that has a good copy, into ``folder``.

    Parameters
    ----------
    remote_name : str
        File name on the mirrors, e.g. ``"train-images-idx3-ubyte.gz"``.
    folder : str or os.PathLike
        Destination folder, created if needed.
    mirrors : sequence of str
        Base URLs tried in order; the file's URL is ``base + "/" + remote_name``.
    sha256 : str
        Expected hex SHA-256 of the decompressed content.
    timeout : float
        Seconds allowed for connecting and for each read (finite, > 0).
    deadline : float, optional
        Seconds allowed for the whole file from each mirror; default ``DEADLINE_FACTOR``
        timeouts.
    max_bytes : int
        Most bytes accepted from a server before the file's IDX header tells its size (after
        that, the size it implies is the limit).
    verbose : bool
        Print a progress line per attempt on stderr.

    Returns
    -------
    Path
        The file written: ``folder / remote_name`` if the content is gzip (the usual case),
        else the name without ``.gz``.

    Raises
    ------
    DatasetError
        No mirror delivered a file with the expected checksum; the message lists each mirror's
        failure (HTTP status, timeout, checksum mismatch, ...). Nothing is left in ``folder``.
    """
    import http.client
    import urllib.error
    import urllib.request

    timeout = check_real("fetch_file", "timeout", timeout, positive=True)
    deadline = check_real(
        "fetch_file",
        "deadline",
        DEADLINE_FACTOR * timeout if deadline is None else deadline,
        positive=True,
    )
    folder = Path(folder)
    if not mirrors:
        message = f"{remote_name} (no download mirrors configured)"
        raise DatasetError(message)
    folder.mkdir(parents=True, exist_ok=True)
    stream = sys.stderr if verbose else None
    failures = []
    for base in mirrors:
        url = _join(base, remote_name)
        progress = _Progress(url, stream)
        fd, tmp = create_temporary(folder, remote_name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
                started = time.monotonic()
                guard = _SizeGuard(max_bytes)
                with _open_within(request, timeout, deadline) as response:
                    progress.total = _content_length(response.headers.get("Content-Length"))
                    if progress.total > max_bytes:
                        message = f"the server announces {progress.total:,} bytes, too many"
                        raise DatasetError(message)
                    # read1: whatever has arrived, so the deadline is checked between reads
                    # that each wait at most `timeout`.
                    while chunk := response.read1(_CHUNK):
                        guard.feed(chunk)
                        out.write(chunk)
                        progress.update(len(chunk))
                        if time.monotonic() - started > deadline:
                            message = (
                                f"took more than {deadline:g} s, the deadline for the whole "
                                f"file ({_megabytes(progress.done)} received)"
                            )
                            raise DatasetError(message)
                out.flush()
                os.fsync(out.fileno())
            try:
                got = sha256_of_content(tmp)
            except DatasetError:
                got = None
            if got != sha256:
                found = "damaged gzip data" if got is None else f"SHA-256 {got}"
                message = (
                    f"{found} where the SHA-256 of the decompressed content should be {sha256} "
                    "(damaged or not the right file)"
                )
                raise DatasetError(message)
            target = folder / (remote_name if is_gzip(tmp) else remote_name.removesuffix(".gz"))
            os.replace(tmp, target)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # it holds the response's socket
            reason = _failure_reason(exc, timeout)
            progress.finish(f"failed: {reason}")
            failures.append(f"{url}: {reason}")
            continue
        except BaseException:
            tmp.unlink(missing_ok=True)
            progress.finish("interrupted")
            raise
        fsync_dir(folder)
        progress.finish("ok, SHA-256 verified")
        return target
    message = f"{remote_name} ({'; '.join(failures)})"
    raise DatasetError(message)
