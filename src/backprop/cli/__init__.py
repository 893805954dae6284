"""Command-line front end: ``backprop <command>`` and ``python -m backprop <command>``.

The CLI only parses arguments and wires library calls together. Each command lives in its own
module of this package with two functions:

``register(subparsers)``
    adds the command's parser (``subparsers.add_parser(...)``) and sets ``func`` on it with
    ``parser.set_defaults(func=run)``;
``run(args) -> int``
    does the work and returns the exit code.

Errors that a user can cause (bad arguments, missing or malformed files) are raised as
``ValueError``, ``TypeError`` or ``OSError`` by the library; ``main`` turns them into one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from backprop import __version__

# Order is the order of ``backprop --help``.
_COMMAND_MODULES = ("train", "evaluate", "predict", "download", "gradcheck", "graph")
_COMMAND_MODULES += ("check", "exercise")  # learn by doing: your own layers, the exercises
_COMMAND_MODULES += ("experiment",)  # chapters 6 and 7

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="Backpropagation from scratch (Deep Learning from Scratch, chapter 5).",
    )
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _robust_output() -> None:
    """Print what a terminal cannot show (∂ on an ASCII terminal) as escapes, never crash."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # replaced by a non-text-file object
            pass


def main(argv: list[str] | None = None) -> int:
    _robust_output()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # also during start-up: the commands' imports, parsing
        print("backprop: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("backprop: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        print(f"backprop {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
