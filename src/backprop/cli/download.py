"""``backprop download``: fetch and verify a dataset's four IDX files, print where they are.

Calls :func:`backprop.datasets.download_dataset`. Files already present are checked against the
dataset's SHA-256 table; missing ones are downloaded from the mirrors in turn (progress on
stderr), verified and written atomically. The folder holding the files is printed on stdout, so
``backprop train --data-dir "$(backprop download --data-dir DIR)"``-style scripts can use it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from backprop.datasets import download_dataset
from backprop.datasets.download import DEFAULT_TIMEOUT

DOWNLOADABLE = ("mnist", "fashion-mnist")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download and verify MNIST or Fashion-MNIST",
        description=(
            "Download a dataset's four IDX files (if not already there), verify their SHA-256 "
            "sums and print the folder that holds them. Default folder: $BACKPROP_DATA/NAME if "
            "BACKPROP_DATA is set, else the user cache folder (~/.cache/backprop/NAME on Linux)."
        ),
    )
    parser.add_argument(
        "--dataset",
        choices=DOWNLOADABLE,
        default="mnist",
        help="dataset to download (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="put the files in DIR instead of the cache folder",
    )
    parser.add_argument(
        "--mirror",
        action="append",
        dest="mirrors",
        default=None,
        metavar="URL",
        help="base URL to download from instead of the built-in mirrors (repeatable, tried "
        "in order; also BACKPROP_MNIST_MIRRORS / BACKPROP_FASHION_MNIST_MIRRORS)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="timeout for connecting and for each read (default: %(default)g); each file "
        "must arrive within 20 timeouts",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        message = f"--timeout must be a positive number of seconds, got {args.timeout:g}"
        raise ValueError(message)
    folder = download_dataset(
        args.dataset, args.data_dir, mirrors=args.mirrors, timeout=args.timeout
    )
    print(f"backprop download: {args.dataset} ready and verified in {folder}", file=sys.stderr)
    print(folder)
    return 0
