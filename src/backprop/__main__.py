"""``python -m backprop``: the same CLI as the ``backprop`` console script."""

import sys

from backprop.cli import main

sys.exit(main())
