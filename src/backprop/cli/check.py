"""``backprop check FILE.py[:ClassName]``: check the layers a learner wrote (book 5.7.3).

Every layer class of the file (or the one named) is checked by
:func:`backprop.check.check_layer`: forward against a reference where the class name is one
the book uses, backward against the numerical gradient under a random upstream gradient, in
float64; a FAIL says which output is wrong, its first wrong element and the most likely cause.
Exit code 0 when everything passes, 1 when a check fails (or the file cannot be imported or
defines no layer), 2 for bad arguments or a missing file.
"""

from __future__ import annotations

import argparse

from backprop.check import LearnerCodeError, check_file
from backprop.check.core import DEFAULT_TIMEOUT

EXIT_FAILED = 1

_EPILOG = (
    "The file is imported and its layers run in this process, with your permissions, as any "
    "test runner runs the code it tests: check only code you trust. Each call of a layer's "
    "method has a time limit (--timeout; POSIX, via SIGALRM)."
)


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3,4"`` → (3, 4); ``"5"`` → (5,)."""
    try:
        shape = tuple(int(n) for n in text.replace("x", ",").split(",") if n.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shape is integers like 3,4; got {text!r}") from None
    if not shape or any(n < 1 for n in shape):
        raise argparse.ArgumentTypeError(f"a shape is positive integers like 3,4; got {text!r}")
    return shape


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check the layers you wrote (forward, backward vs numerical gradient, diagnosis)",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "target",
        metavar="FILE.py[:ClassName]",
        help="a Python file; all its layer classes are checked, or only ClassName",
    )
    parser.add_argument(
        "--shape",
        type=parse_shape,
        action="append",
        default=None,
        metavar="N,D",
        help="shape of an input of forward, once per input (default: chosen by the checker)",
    )
    parser.add_argument("--lang", choices=("en", "ko"), default="en", help="language")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="time limit of each call of your code (default: %(default)g)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout}")
    try:
        report = check_file(args.target, shape=args.shape, lang=args.lang, timeout=args.timeout)
    except LearnerCodeError as exc:
        print(f"FAIL  {exc}")
        return EXIT_FAILED
    print(report)
    return 0 if report.passed else EXIT_FAILED
