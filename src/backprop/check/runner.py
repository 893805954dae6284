"""Running a learner's code: a time limit per call, and their own line when it fails.

The learner's layer runs in this process, as code under any test runner does: nothing is
sandboxed. What this module adds is that the checker never crashes on it:

* every call goes through :func:`call`, which turns an exception into a :class:`Failure`
  naming the method and the learner's own traceback line;
* the time limit uses ``signal.setitimer`` (SIGALRM), which interrupts pure-Python loops on
  the main thread of a POSIX process (the CLI, pytest, a Jupyter kernel). Elsewhere (Windows,
  other threads) there is no limit. A single long NumPy call is interrupted only when it
  returns to Python. A thread with ``join(timeout)`` could not stop the learner's code at all,
  and a subprocess per call would make every check pay an interpreter start and pickling.
* :func:`load_module` imports a learner's file under a private module name with its folder on
  ``sys.path`` for the import only (so ``from affine import Affine`` between their files
  works), writes no ``__pycache__`` there, and forgets the modules of that folder
  afterwards, so a second check reads the edited files.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from backprop.check.diagnose import Finding, finding

__all__ = ["CheckTimeout", "Failure", "LearnerCodeError", "call", "learner_line", "load_module"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/backprop
_EXERCISE_FILES = _PACKAGE_DIR / "exercises" / "exercise-files"
_NUMPY_DIR = Path(np.__file__).resolve().parent
_STDLIB_DIR = Path(os.__file__).resolve().parent


class CheckTimeout(BaseException):
    """Raised by the alarm inside the learner's code (not an Exception: a bare ``except
    Exception`` in their code must not swallow it)."""


class Failure(Exception):
    """A learner's method failed: the diagnosis and where (their traceback line)."""

    def __init__(self, found: Finding, location: str | None = None, error: str | None = None):
        super().__init__(found.message)
        self.finding = found
        self.location = location
        self.error = error  # the exception's type name, when the learner's code raised


class LearnerCodeError(ValueError):
    """A learner's file cannot be used: missing, not Python, raises on import, no layer."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CheckTimeout` in the block after ``seconds`` (main thread, POSIX only)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_ours(filename: str) -> bool:
    if filename.startswith("<") and not filename.startswith("<ipython"):
        return True  # <frozen ...>, <string>: not the learner's
    path = Path(filename).resolve()
    if path.is_relative_to(_EXERCISE_FILES):
        return False  # the reference solutions are written as a learner would
    return any(path.is_relative_to(d) for d in (_PACKAGE_DIR, _NUMPY_DIR, _STDLIB_DIR))


def learner_line(tb) -> str | None:
    """``File "relu.py", line 12, in backward: dx = ...``: the deepest frame of the learner."""
    frames = [f for f in traceback.extract_tb(tb) if not _is_ours(f.filename)]
    if not frames:
        return None
    f = frames[-1]
    code = f" {f.line.strip()}" if f.line else ""
    return f'File "{f.filename}", line {f.lineno}, in {f.name}:{code}'


def call(fn, *args, method: str, section: str, lang: str, timeout: float | None, what: str):
    """``fn(*args)``; its exception or a timeout becomes a :class:`Failure`.

    ``method`` names the call in messages (``Relu.backward``); ``what`` is what it should
    return (for "returned None").
    """
    described = ", ".join(_describe(a) for a in args)
    try:
        with time_limit(timeout):
            result = fn(*args)
    except CheckTimeout:
        found = finding("timeout", lang, method=method, seconds=timeout, section=section)
        raise Failure(found) from None
    except NotImplementedError as exc:
        todo = str(exc) or f"write {method}"
        found = finding("not_implemented", lang, method=method, todo=todo, section=section)
        raise Failure(found, learner_line(exc.__traceback__)) from None
    except Exception as exc:  # the learner's code may raise anything
        error = f"{type(exc).__name__}: {exc}"
        call_text = f"{method.rsplit('.', 1)[-1]}({described})"
        found = finding("raised", lang, method=method, error=error, call=call_text, section=section)
        raise Failure(found, learner_line(exc.__traceback__), type(exc).__name__) from None
    if result is None:
        found = finding("returned_none", lang, method=method, what=what, section=section)
        raise Failure(found)
    return result


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"an array of shape {a.shape}"
    return repr(a)


def load_module(path: str | os.PathLike[str]):
    """Import the learner's file ``path``; :class:`LearnerCodeError` with their line if not."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    folder = str(path.resolve().parent)
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    name = f"_backprop_learner_{path.stem}_{digest}"
    try:
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        message = f"{path}: line {exc.lineno}: {exc.msg}" + (f": {line}" if line else "")
        raise LearnerCodeError(message) from None
    except UnicodeDecodeError as exc:
        raise LearnerCodeError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the learner's folder: it is theirs
    try:
        with time_limit(30.0):
            spec.loader.exec_module(module)
    except CheckTimeout:
        raise LearnerCodeError(f"{path}: importing it did not finish within 30 s") from None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt of a script included
        if isinstance(exc, KeyboardInterrupt):
            raise
        where = learner_line(exc.__traceback__)
        message = f"{path}: importing it raised {type(exc).__name__}: {exc}"
        raise LearnerCodeError(message + (f"\n  at {where}" if where else "")) from None
    finally:
        sys.dont_write_bytecode = write_bytecode
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        sys.modules.pop(name, None)
        for other in set(sys.modules) - before:  # their sibling files: re-read next time
            file = getattr(sys.modules[other], "__file__", None) or ""
            if file and str(Path(file).resolve().parent) == folder:
                del sys.modules[other]
    return module
