"""Benchmarks: speed and memory of backprop beside the book's code and PyTorch (issue 5).

Run ``python -m backprop.bench`` (about five minutes on two cores; ``--smoke`` takes seconds)
to time, in one process and interleaved in rotating blocks:

1. the book's training step (784-50-10, batch 100, SGD lr 0.1): the library in float32 and
   float64, a reference written in the book's exact style, a hand-written NumPy float32 loop
   and PyTorch CPU float32;
2. the book's full 10,000-iteration run with per-epoch evaluation, each contender in its own
   process (wall time, peak RSS, final test accuracy);
3. a 784-1024-1024-10 step at batch 512 against PyTorch and the bare NumPy matmul chain;
4. a 2-16-2 step (the fixed cost per step);
5. the Tensor (automatic graph) network against the layer network;
6. numerical against backprop gradients.

The report (Markdown table with every target of the issue marked met or not met, a JSON file
and a PNG chart) goes to ``--out``. Nothing here is imported by ``import backprop``; PyTorch,
threadpoolctl and matplotlib are imported only when present and needed.
"""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (``python -m backprop.bench``); returns the exit code."""
    from backprop.bench.cli import main as cli_main  # imported on use: the workers are
    # started as ``python -m backprop.bench.<module>`` and must not find it half-imported

    return cli_main(argv)
