"""Hostile servers on 127.0.0.1 against ``fetch_file`` and ``backprop download``, and hostile
files in the cache folder against the IDX reader.

Every server handler stops by itself (after a few seconds at most, or when the client leaves),
so no test can hang on it.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import http.server
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import main
from backprop.datasets.download import fetch_file
from backprop.datasets.idx import DatasetError, idx_bytes, read_idx, sha256_of_content

_HANDLER_LIFETIME = 8.0  # seconds: the longest any handler keeps a connection
LABELS = (np.arange(3000) % 10).astype(np.uint8)
CONTENT = idx_bytes(LABELS)
GZ = gzip.compress(CONTENT)
SHA256 = hashlib.sha256(CONTENT).hexdigest()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = threading.Event()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up and left: expected here


class _Handler(http.server.BaseHTTPRequestHandler):
    def _stream(self, pieces, pause: float) -> None:
        """Write ``pieces`` until they end, the client leaves or the lifetime is over."""
        end = time.monotonic() + _HANDLER_LIFETIME
        try:
            for piece in pieces:
                if time.monotonic() > end or self.server.stop.is_set():
                    return
                self.wfile.write(piece)
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            return

    def do_GET(self) -> None:
        route = self.path.split("/")[1]
        if route == "ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GZ)))
            self.end_headers()
            self._stream([GZ], 0)
        elif route == "slow":  # a byte every 20 ms: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Length", str(len(GZ)))
            self.end_headers()
            self._stream((GZ[i : i + 1] for i in range(len(GZ))), 0.02)
        elif route == "slow-headers":  # a header line that never ends, a byte every 20 ms
            self._stream(_forever(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a"), 0.02)
        elif route == "endless":  # the right file, then garbage for ever (no length)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self._stream(_forever(GZ, b"\0" * 65536), 0)
        elif route == "endless-junk":  # not even IDX
            self.send_response(200)
            self.end_headers()
            self._stream(_forever(b"", b"junk" * 16384), 0)
        elif route == "escape":
            self.send_response(404, "Not \x1b[31mFound\x1b]0;owned\x07\x1b[2J")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "huge-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self._stream([GZ[:100]], 0)
        elif route == "bad-length":
            self.send_response(200)
            self.send_header("Content-Length", "12\x1b[2J")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, format, *args) -> None:
        pass


def _forever(first: bytes, then: bytes):
    yield first
    while True:
        yield then


@pytest.fixture
def server():
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def _fetch(server, route: str, folder: Path, **kwargs) -> Path:
    kwargs.setdefault("timeout", 2.0)
    return fetch_file(
        "labels.gz", folder, [f"{server.url}/{route}/"], SHA256, verbose=False, **kwargs
    )


def test_a_good_server_still_works(server, tmp_path):
    path = _fetch(server, "ok", tmp_path)
    np.testing.assert_array_equal(read_idx(path), LABELS)


def test_a_slow_server_is_stopped_by_the_deadline(server, tmp_path):
    started = time.monotonic()
    with pytest.raises(DatasetError, match=r"took more than 1 s, the deadline for the whole"):
        _fetch(server, "slow", tmp_path, timeout=0.5, deadline=1.0)
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


def test_slow_headers_are_stopped_by_the_deadline(server, tmp_path):
    started = time.monotonic()
    with pytest.raises(DatasetError, match=r"took more than 1 s, .* to send its headers"):
        _fetch(server, "slow-headers", tmp_path, timeout=0.5, deadline=1.0)
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


def test_an_endless_server_is_stopped_at_the_size_the_file_implies(server, tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(
        "backprop.datasets.download._Progress.update",
        lambda self, n: written.append(n),
    )
    with pytest.raises(DatasetError, match="the server sent more than"):
        _fetch(server, "endless", tmp_path)
    # The labels file is 3,008 bytes of IDX: the limit is that plus deflate's overhead.
    assert sum(written) < len(CONTENT) + 4096 + 65536 + 1
    assert list(tmp_path.iterdir()) == []


def test_content_that_is_not_idx_is_stopped_at_max_bytes(server, tmp_path):
    with pytest.raises(DatasetError, match="the server sent more than 1,000,000 bytes"):
        _fetch(server, "endless-junk", tmp_path, max_bytes=1_000_000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("route", "fragment"),
    [("huge-length", "announces 1,000,000,000,000 bytes"), ("bad-length", "invalid Content")],
)
def test_lying_lengths_are_refused_before_reading(server, tmp_path, route, fragment):
    with pytest.raises(DatasetError, match=fragment) as info:
        _fetch(server, route, tmp_path)
    assert "\x1b" not in str(info.value)


def test_what_a_server_says_is_shown_sanitized(server, tmp_path, capsys):
    argv = ["download", "--data-dir", str(tmp_path / "d"), "--mirror", f"{server.url}/escape/"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "HTTP 404 Not \\x1b[31mFound" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("timeout", "deadline"), [(float("inf"), None), (1.0, float("nan"))])
def test_timeouts_must_be_finite(tmp_path, timeout, deadline):
    with pytest.raises(ValueError, match="must be a positive finite number"):
        fetch_file(
            "x.gz", tmp_path, ["http://127.0.0.1:9/"], SHA256, timeout=timeout, deadline=deadline
        )


# -- the cache folder -------------------------------------------------------------------------


def _gzip_bomb(path: Path, header: bytes, zeros: int) -> Path:
    """``header`` then ``zeros`` zero bytes, gzip-compressed in chunks (never all in memory)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    with open(path, "wb") as out:
        out.write(compressor.compress(header))
        for start in range(0, zeros, len(chunk)):
            out.write(compressor.compress(chunk[: min(len(chunk), zeros - start)]))
        out.write(compressor.flush())
    return path


def _peak(function, *args) -> tuple[int, BaseException | None]:
    gc.collect()
    tracemalloc.start()
    try:
        try:
            function(*args)
        except (DatasetError, ValueError) as exc:
            return tracemalloc.get_traced_memory()[1], exc
        return tracemalloc.get_traced_memory()[1], None
    finally:
        tracemalloc.stop()


def test_gzip_bomb_with_a_small_header_is_cut_short(tmp_path):
    # The header announces 10 labels; 100 MB of zeros follow (a file of about 500 KB).
    path = _gzip_bomb(
        tmp_path / "bomb-idx1-ubyte.gz", b"\0\0\x08\x01" + (10).to_bytes(4, "big"), 100 << 20
    )
    assert path.stat().st_size < 1_000_000
    peak, exc = _peak(read_idx, path)
    assert isinstance(exc, DatasetError) and "unexpected data after" in str(exc)
    assert str(path) in str(exc)
    assert peak < 100e6
    # The hash stops after the 18 bytes the header implies, plus one: never the 100 MB.
    digest = sha256_of_content(path)
    assert (
        digest == hashlib.sha256(b"\0\0\x08\x01" + (10).to_bytes(4, "big") + bytes(11)).hexdigest()
    )


def test_gzip_bomb_whose_header_announces_it_is_refused_before_allocating(tmp_path):
    # 2 GB announced in a file of about 500 KB: more than deflate can compress into it.
    header = b"\0\0\x08\x01" + (2 << 30).to_bytes(4, "big")
    path = _gzip_bomb(tmp_path / "claims-idx1-ubyte.gz", header, 100 << 20)
    peak, exc = _peak(read_idx, path)
    assert isinstance(exc, DatasetError)
    assert "more than" in str(exc) and "gzip data can hold" in str(exc)
    assert peak < 100e6


def test_idx_header_with_more_than_64_dimensions(tmp_path):
    path = tmp_path / "deep-idx.gz"
    path.write_bytes(gzip.compress(b"\0\0\x08\x41" + (1).to_bytes(4, "big") * 65 + b"\0"))
    with pytest.raises(DatasetError, match=r"deep-idx\.gz: the header announces 65 dimensions"):
        read_idx(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs")
def test_a_fifo_in_the_data_folder_is_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "train-labels-idx1-ubyte.gz"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match=r"dataset file .* is a FIFO \(named pipe\)"):
        read_idx(fifo)
    with pytest.raises(DatasetError, match="is a FIFO"):
        sha256_of_content(fifo)
