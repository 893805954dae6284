"""Run the benchmark suite from a checkout: ``python benchmarks/run.py [--smoke] [--out DIR]``.

The same as ``python -m backprop.bench`` (the package must be installed, e.g. ``pip install -e
'.[bench]'``); see ``python -m backprop.bench --help`` and BENCHMARKS.md.
"""

import sys

from backprop.bench import main

if __name__ == "__main__":
    sys.exit(main())
