"""``backprop exercise list|start DIR|check DIR``: learn by doing (book 4.4, 5.4-5.7).

``start`` writes the chapter's pieces into DIR as files whose bodies raise
NotImplementedError (numerical_gradient, MulLayer and AddLayer, Relu, Sigmoid, Affine,
SoftmaxWithLoss, TwoLayerNet.gradient), each with its section, what to do and a hint; it never
overwrites a file. ``check`` checks each with ``backprop check``'s checker, says what is done
and what to do next, and when everything passes trains your TwoLayerNet on the bundled MNIST
sample. It never changes your files.
"""

from __future__ import annotations

import argparse
import sys

from backprop.exercises import EXERCISES, check, start

EXIT_FAILED = 1

_EPILOG = (
    "check imports your files and runs your code in this process, with your permissions, as "
    "any test runner does; each call has a time limit (POSIX, via SIGALRM)."
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exercise",
        help="exercises: write the chapter's layers yourself and check them",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog=_EPILOG,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list the exercises").add_argument(
        "--lang", choices=("en", "ko"), default="en"
    )
    p = actions.add_parser("start", help="write the exercise files into DIR (never overwrites)")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--lang", choices=("en", "ko"), default="en")
    p = actions.add_parser("check", help="check your exercises in DIR", epilog=_EPILOG)
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--lang", choices=("en", "ko"), default="en")
    p.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="epochs of the final training run (default: %(default)s; 0 skips it)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time limit of each call of your code (default: %(default)g)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        for i, ex in enumerate(EXERCISES, 1):
            print(f"{i}. {ex.file:<22} {ex.section:<6} {ex.title[args.lang]}")
        return 0
    if args.action == "start":
        written = start(args.folder, lang=args.lang)
        from backprop.exercises import _words

        words = _words(args.lang)
        for file, wrote in written:
            print(words["wrote" if wrote else "kept"].format(file=file))
        print(words["started"].format(n=len(written), folder=args.folder, first=written[0][0]))
        return 0
    if args.epochs < 0:
        raise ValueError(f"--epochs must be ≥ 0, got {args.epochs}")
    if not args.timeout > 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout}")
    report = check(
        args.folder,
        lang=args.lang,
        train=args.epochs > 0,
        epochs=max(args.epochs, 1),
        timeout=args.timeout,
        progress=lambda text: print(text, flush=True),
    )
    print(report)
    sys.stdout.flush()
    return 0 if report.passed else EXIT_FAILED
