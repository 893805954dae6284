"""``python -m backprop.bench``."""

import sys

from backprop.bench.cli import main

sys.exit(main())
