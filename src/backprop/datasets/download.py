"""Downloading dataset files: mirrors in turn, a progress line, checksums, atomic writes.

Book 3.6.1 fetches MNIST with ``urllib`` on first use; this module does the same, more
carefully:

- each file is requested from a list of mirror base URLs, in order, until one delivers it;
- a progress line goes to stderr (updated in place on a terminal, one line per attempt
  otherwise);
- every socket operation has a timeout;
- the download goes to a temporary file in the destination folder, is checked against the
  SHA-256 of its *decompressed* content (so a recompressed copy verifies too), fsynced, and only
  then renamed into place with ``os.replace``. A failed or corrupt download leaves nothing
  behind.

``urllib.request`` is imported inside :func:`fetch_file`, so importing the package does not
load the HTTP/SSL stack.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from backprop._atomic import create_temporary, fsync_dir
from backprop.datasets.idx import DatasetError, is_gzip, sha256_of_content

__all__ = ["DEFAULT_TIMEOUT", "fetch_file", "mirrors_from_env"]

DEFAULT_TIMEOUT = 30.0  # seconds, for connecting and for each read
_CHUNK = 1 << 16
_USER_AGENT = "backprop-datasets (Python urllib)"


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


def _failure_reason(exc: BaseException, timeout: float) -> str:
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
        Seconds allowed for connecting and for each read.
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
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    progress.total = int(response.headers.get("Content-Length") or 0)
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        progress.update(len(chunk))
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
