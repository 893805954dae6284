"""One full training run in its own process: ``python -m benchmarks.fullrun --impl NAME``.

Each contender of the full-run benchmark runs in a fresh interpreter so that its peak resident
memory (``ru_maxrss``) is its own. The child prints one JSON line: the run's figures plus
``run_seconds`` (data loading, training and the per-epoch evaluations, timed inside the
process after the imports) and ``peak_rss_mib``.

Implementations: ``reference`` (the book's code, float64 images), ``reference-f32`` (the book's
loader exactly: float32 images with float64 weights), ``library`` (``Trainer``, float32, uint8
data), ``library-f64``, ``numpy`` (the hand-written float32 floor) and ``torch``; for
chapter 7, ``conv-reference`` (the book's SimpleConvNet) and ``conv-library`` (the library's,
float32, ``Trainer`` on uint8 data).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

IMPLEMENTATIONS = (
    "reference",
    "reference-f32",
    "library",
    "library-f64",
    "numpy",
    "torch",
    "conv-reference",
    "conv-library",
)

__all__ = ["IMPLEMENTATIONS", "main", "run"]


def _raw_data(args, *, library: bool):
    from benchmarks.data import load_raw_mnist, synthetic_data

    if args.synthetic:
        n_train, n_test = (int(v) for v in args.synthetic.split(","))
        return synthetic_data(n_train, n_test, seed=args.seed), "synthetic"
    if library:
        from benchmarks.library import load_library_mnist

        return load_library_mnist(args.data_dir), "backprop.datasets.load_mnist(dtype=uint8)"
    return load_raw_mnist(args.data_dir), "benchmark IDX reader"


def _peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM (reset by exec), else ru_maxrss.

    ``ru_maxrss`` of a freshly exec'd child starts from its parent's at fork time on Linux,
    so a big parent would show through; ``VmHWM`` belongs to this program's memory only.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _train_function(impl: str):
    """The training function of ``impl`` and its keyword arguments (imports done here)."""
    if impl == "conv-reference":
        from benchmarks.reference_convnet import book_conv_train

        return book_conv_train, {}
    if impl == "conv-library":
        from benchmarks.library import library_conv_train

        return library_conv_train, {}
    if impl in ("reference", "reference-f32"):
        from benchmarks.reference import book_train

        return book_train, {"image_dtype": "float32" if impl == "reference-f32" else "float64"}
    if impl.startswith("library"):
        from benchmarks.library import library_train  # imports the trainer and the loader

        return library_train, {"dtype": "float64" if impl == "library-f64" else "float32"}
    if impl == "numpy":
        from benchmarks.numpy_impl import numpy_train

        return numpy_train, {}
    from benchmarks.torch_impl import torch_train

    return torch_train, {}


def run(args) -> dict:
    impl = args.impl
    if impl == "torch":
        from benchmarks import torch_impl

        torch_impl.set_threads(args.threads)
    train, extra = _train_function(impl)
    start = time.perf_counter()  # after the imports: loading, training, evaluation
    raw, loader = _raw_data(args, library=impl.startswith(("library", "conv-library")))
    if not impl.startswith("conv"):  # SimpleConvNet's sizes are the book's
        extra["hidden_size"] = args.hidden
    result = train(
        raw,
        iters_num=args.iters,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        **extra,
    )
    result["run_seconds"] = time.perf_counter() - start
    result["impl"] = impl
    result["data"] = loader
    result["peak_rss_mib"] = _peak_rss_mib()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fullrun")
    parser.add_argument("--impl", required=True, choices=IMPLEMENTATIONS)
    parser.add_argument("--data-dir")
    parser.add_argument("--synthetic", help="N_TRAIN,N_TEST random images instead of MNIST")
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.synthetic and not args.data_dir:
        parser.error("give --data-dir or --synthetic")
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
