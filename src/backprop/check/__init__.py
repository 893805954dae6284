"""Check the layers a learner writes: what is wrong and where (book 5.7.3).

``check_layer(cls_or_instance)`` checks one layer; ``check_file("layers.py")`` (or
``"layers.py:Affine"``) every layer class of a file. See ``backprop.check.core`` for what is
checked, ``backprop.check.diagnose`` for the causes it can name, and ``backprop.check.runner``
for how the learner's code is run (in this process, with a time limit per call).
"""

from backprop.check.core import (
    CheckLine,
    CheckReport,
    LayerReport,
    check_file,
    check_layer,
    find_layers,
    is_layer,
    split_target,
)
from backprop.check.diagnose import Finding
from backprop.check.runner import LearnerCodeError

__all__ = [
    "CheckLine",
    "CheckReport",
    "Finding",
    "LayerReport",
    "LearnerCodeError",
    "check_file",
    "check_layer",
    "find_layers",
    "is_layer",
    "split_target",
]
