"""``python -m benchmarks``: run the benchmarks, write the report, print the table."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from backprop._atomic import atomic_write
from benchmarks import report, suite, torch_impl
from benchmarks.data import find_mnist_dir, load_raw_mnist, synthetic_data
from benchmarks.timing import QuietGate
from benchmarks.torch_worker import TorchWorker

__all__ = ["ON_REQUEST", "SECTIONS", "build_parser", "main", "run"]

SECTIONS = (
    "book",
    "call",
    "full",
    "big",
    "tiny",
    "tensor",
    "numerical",
    "conv",
    "profile",
    "convrun",
)
# Run only when named in --only: a SimpleConvNet run per process takes minutes.
ON_REQUEST = ("convrun",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed and memory of backprop side by side with the book's code and "
        "PyTorch (issue 5). Prints a Markdown table; writes results.md, results.json and "
        "chart.png to --out.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and few repeats (seconds; for CI), no targets",
    )
    parser.add_argument("--out", default="bench-out", help="output folder (default: bench-out)")
    parser.add_argument(
        "--data-dir",
        help="folder of the four MNIST IDX files "
        "(default: $BACKPROP_BENCH_MNIST, ./shared/data/mnist, "
        "../shared/data/mnist, the library's cache)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated sections among {', '.join(SECTIONS)} (default: all but "
        f"{', '.join(ON_REQUEST)}, the SimpleConvNet runs' peak memory, run only when named)",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--full-repeats", type=int, help="repeats of each full run (default 2)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of every interleaved step section (default 30; 10 big MLP and conv, 20 tiny)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        help="seconds in all to wait for other processes to leave the CPUs "
        "before each measurement (default 240; 0 with --smoke)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def run(args) -> dict:
    started = time.perf_counter()
    config = suite.Config.smoke_config() if args.smoke else suite.Config()
    if args.full_repeats:
        config.full_repeats = args.full_repeats
    if args.rounds:
        for name in ("book", "call", "big", "tiny", "tensor", "conv"):
            setattr(config, f"{name}_rounds", args.rounds)
    if args.only:
        sections = {s.strip() for s in args.only.split(",")}
    else:
        sections = set(SECTIONS) - set(ON_REQUEST)
    unknown = sections - set(SECTIONS)
    if unknown:
        message = f"unknown sections {sorted(unknown)}; choose among {', '.join(SECTIONS)}"
        raise ValueError(message)
    if args.smoke:
        sections.discard("profile")

    def log(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    notes = []
    use_torch = not args.no_torch and torch_impl.available()
    threads = suite.blas_threads()
    if not use_torch and not args.no_torch:
        notes.append(
            "PyTorch is not installed: its contenders were skipped (pip install torch==2.13.0)."
        )

    data_dir = None
    if args.smoke:
        raw = synthetic_data(2000, 500, features=config.book_sizes[0])
        notes.append(
            "Smoke mode: synthetic data, tiny sizes, few repeats; figures are not meaningful."
        )
    else:
        data_dir = find_mnist_dir(args.data_dir)
        if data_dir is None:
            raw = synthetic_data(60000, 10000)
            config.full_synthetic = "60000,10000"
            notes.append(
                "MNIST not found (--data-dir): synthetic images of the same shapes "
                "were used; accuracies are not MNIST's."
            )
        else:
            log(f"MNIST from {data_dir}")
            raw = load_raw_mnist(data_dir)

    worker = None
    if use_torch:
        synthetic = "2000,500" if args.smoke else (None if data_dir else "60000,10000")
        worker = TorchWorker(threads=threads, data_dir=data_dir, synthetic=synthetic)
    try:
        return _sections(
            args, config, sections, raw, data_dir, worker, threads, notes, log, started
        )
    finally:
        if worker is not None:
            worker.close()


def _sections(args, config, sections, raw, data_dir, worker, threads, notes, log, started) -> dict:
    use_torch = worker is not None
    budget = args.max_wait if args.max_wait is not None else (0.0 if args.smoke else 240.0)
    gate = QuietGate(budget, log=log)
    machine = report.machine_info(torch=None if worker is None else worker.info())
    results: dict = {
        "smoke": args.smoke,
        "machine": machine,
        "notes": notes,
        "threads": threads,
    }
    if "book" in sections:
        gate()
        log("1. book-config step")
        results["book_step"] = suite.book_step(raw, config, torch=worker, log=log)
    if "call" in sections:
        gate()
        log("1b. book call")
        results["book_call"] = suite.book_call(raw, config, torch=worker, log=log)
    if "full" in sections:
        log("2. full book runs (one process each)")
        results["full_runs"] = suite.full_runs(
            config, data_dir=data_dir, use_torch=use_torch, threads=threads, log=log, quiet=gate
        )
    if "big" in sections:
        gate()
        log("3. big MLP step")
        results["big_mlp"] = suite.big_mlp(raw, config, torch=worker, log=log)
    if "tiny" in sections:
        gate()
        log("4. tiny net step")
        results["tiny_net"] = suite.tiny_net(config, torch=worker, log=log)
    if "tensor" in sections:
        gate()
        log("5. Tensor engine")
        results["tensor_engine"] = suite.tensor_engine(raw, config, log=log)
    if "numerical" in sections:
        gate()
        log("6. numerical vs backprop gradient")
        results["numerical_gradient"] = suite.numerical_gradient_ratio(raw, config, log=log)
    if "conv" in sections:
        gate()
        log("7. SimpleConvNet step")
        results["conv_step"] = suite.conv_step(raw, config, torch=worker, log=log)
    if "convrun" in sections:
        log("7b. SimpleConvNet runs (one process each)")
        results["conv_runs"] = suite.conv_runs(
            config, data_dir=data_dir, threads=threads, log=log, quiet=gate
        )
    if "profile" in sections:
        gate()
        log("profile of the steps")
        results["profile"] = suite.profiles(raw, config)
    results["targets"] = report.evaluate_targets(results)
    results["waited_seconds"] = gate.waited
    results["seconds"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = "python -m benchmarks " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    try:
        results = run(args)
    except (ValueError, OSError) as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 2
    results["command"] = command.strip()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(results)
    with atomic_write(out / "results.md", "w", encoding="utf-8") as file:
        file.write(text)
    with atomic_write(out / "results.json", "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1, default=str)
    png = report.chart(results, out / "chart.png")
    print(text)
    written = ", ".join(str(p) for p in (out / "results.md", out / "results.json", png) if p)
    if not args.quiet:
        print(f"wrote {written}", file=sys.stderr)
    return 0
