"""The command line against hostile input: FIFOs, bombs, files that are not models, Ctrl-C
during start-up, terminals that cannot print ∂, and checkpoint writes killed halfway."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

import backprop.cli as cli
from backprop import TwoLayerNet
from backprop._atomic import remove_stale
from backprop.checkpoint import save_checkpoint
from backprop.cli import main

pytest.importorskip("PIL")

_POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX FIFOs and signals")


def _run(*argv: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backprop", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,  # a FIFO that blocked would end the test here, as a failure
        env={**os.environ, **(env or {})},
    )


def _in_process(*argv: str) -> subprocess.CompletedProcess:
    """``main(argv)`` in a thread (a FIFO that blocked would fail here after 20 s), its output
    captured like a subprocess's."""
    out, err, code = io.StringIO(), io.StringIO(), []

    def target():
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code.append(main(list(argv)))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(20)
    assert code, f"backprop {' '.join(argv)} blocked"
    return subprocess.CompletedProcess(argv, code[0], out.getvalue(), err.getvalue())


def _one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("backprop")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _png(width: int, height: int) -> bytes:
    """A PNG whose header announces width × height gray pixels (with one tiny IDAT chunk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def model(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "model.npz", TwoLayerNet(784, 5, 10, seed=0))


@_POSIX
def test_fifos_as_model_or_image_are_refused_at_once(tmp_path, model):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    image = tmp_path / "digit.png"
    image.write_bytes(_png(28, 28))
    _one_line_error(_in_process("predict", str(fifo), str(image)), "is a FIFO (named pipe)")
    _one_line_error(_in_process("predict", str(model), str(fifo)), "image file", "is a FIFO")
    _one_line_error(_in_process("evaluate", str(fifo)), "is a FIFO (named pipe)")


@pytest.mark.parametrize(
    ("width", "height", "fragment"),
    [(9000, 6000, "more than the 50,000,000 read"), (40000, 40000, "cannot read it as an image")],
    ids=["over-our-cap", "pillow-bomb"],
)
def test_decompression_bomb_images_are_one_line(tmp_path, model, width, height, fragment):
    image = tmp_path / "bomb.png"
    image.write_bytes(_png(width, height))
    _one_line_error(_in_process("predict", str(model), str(image)), str(image), fragment)


def test_a_csv_given_as_the_model_says_what_it_is(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    image = tmp_path / "digit.png"
    image.write_bytes(_png(28, 28))
    line = _one_line_error(
        _in_process("predict", str(csv), str(image)), "it looks like a CSV/text file"
    )
    assert "allow_pickle" not in line
    line = _one_line_error(_in_process("evaluate", str(image)), "it looks like a PNG image")


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.importlib, "import_module", interrupted)
    assert main(["download"]) == 130
    assert capsys.readouterr().err == "backprop: interrupted\n"


def test_a_terminal_that_cannot_print_the_partial_sign(tmp_path):
    result = _run(
        "graph", "x * y", "--var", "x=2", "--var", "y=3", env={"PYTHONIOENCODING": "ascii"}
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "\\u2202" in result.stdout  # ∂, escaped instead of a UnicodeEncodeError


# -- checkpoint writes killed halfway ---------------------------------------------------------

_KILLED_SAVE = """
import os, signal, sys
import numpy as np
from backprop._atomic import atomic_write
with atomic_write(sys.argv[1]) as file:
    file.write(b"half a checkpoint")
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""

_SAVE = """
import sys
from backprop import TwoLayerNet
from backprop.checkpoint import save_checkpoint
save_checkpoint(sys.argv[1], TwoLayerNet(3, 2, 2, seed=0))
"""


@_POSIX
def test_temporaries_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / "model.npz"
    for _ in range(2):
        killed = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(target)], timeout=60)
        assert killed.returncode == -signal.SIGKILL
    # Each save removed the temporary of the one killed before it: one is left, not two.
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".model.npz.backprop-"), left
    others = [
        tmp_path / ".model.npz.notes.tmp",  # not our naming
        tmp_path / ".other.npz.backprop-1-0123abcd.tmp",  # another target's
        tmp_path / "model.npz.backprop-1-0123abcd.tmp",  # not hidden: not ours
    ]
    for path in others:
        path.write_bytes(b"keep me")
    old = time.time() - 3600
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    time.sleep(0.01)
    subprocess.run([sys.executable, "-c", _SAVE, str(target)], check=True, timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.npz", *(p.name for p in others)]
    )


def test_a_running_writers_temporary_is_never_removed(tmp_path):
    # This process's own (and any live process's) temporaries stay, whatever their age.
    mine = tmp_path / f".m.npz.backprop-{os.getpid()}-0123abcd.tmp"
    mine.write_bytes(b"")
    os.utime(mine, (0, 0))
    recent = tmp_path / ".m.npz.backprop-999999999-0123abcd.tmp"
    recent.write_bytes(b"")  # written after this process started
    assert remove_stale(tmp_path, "m.npz") == []
    assert mine.exists() and recent.exists()
