"""Benchmarks: speed and memory of backprop beside the book's code and PyTorch (issue 5).

Run ``python -m benchmarks`` (about five minutes on two cores; ``--smoke`` takes seconds)
to time, in one process and interleaved in short blocks:

1. the book's training step (784-50-10, batch 100, SGD lr 0.1): the library's
   ``Trainer.train_step`` on uint8 batches in float32 and float64, a reference written in the
   book's exact style, a hand-written NumPy float32 loop and PyTorch CPU float32;
1b. the same step where a book reader calls it (``network.gradient`` + ``optimizer.update`` on
   float32 batches) against the reference and PyTorch;
2. the book's full 10,000-iteration run with per-epoch evaluation, each contender in its own
   process (wall time, peak RSS, final test accuracy);
3. a 784-1024-1024-10 step at batch 512 against PyTorch and the bare NumPy matmul chain;
4. a 2-16-2 step (the fixed cost per step);
5. the Tensor (automatic graph) network against the layer network;
6. numerical against backprop gradients;
7. one step of the book's SimpleConvNet (chapter 7): the book's code, PyTorch and the
   library's SimpleConvNet, with where the book's step spends its time; ``--only convrun``
   adds a SimpleConvNet run per process for peak memory.

The report (Markdown table with every target of the issue marked met or not met, a JSON file
and a PNG chart) goes to ``--out``. This folder lives beside ``src/`` in a checkout and is not
installed with the package: ``backprop`` knows nothing of it. It trains through the library's
public calls (``Trainer.train_step``, ``Trainer.train``, ``network.gradient``,
``optimizer.update``); only the profile looks inside the layers. PyTorch, threadpoolctl and
matplotlib are imported only when present and needed.
"""

from pathlib import Path

__all__ = ["CHECKOUT", "main"]

# The folder holding ``benchmarks/``: the worker processes (``python -m benchmarks.<module>``)
# start there, so that they find this package wherever the parent was started from.
CHECKOUT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (``python -m benchmarks``); returns the exit code."""
    from benchmarks.cli import main as cli_main  # imported on use: the workers are
    # started as ``python -m benchmarks.<module>`` and must not find it half-imported

    return cli_main(argv)
