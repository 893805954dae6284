"""Machine description, targets, the Markdown report and the PNG chart of a benchmark run."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write

__all__ = ["TARGETS", "chart", "evaluate_targets", "machine_info", "markdown"]

# (text, section, how to read the figure, comparison, limit)
TARGETS = (
    (
        "Book-config step: library float32 ≤ 0.35 × reference",
        "book_step",
        ("ratio", "library-32/reference"),
        "<=",
        0.35,
    ),
    (
        "Book-config step: library float32 ≤ 0.50 × PyTorch float32",
        "book_step",
        ("ratio", "library-32/torch-f32"),
        "<=",
        0.50,
    ),
    (
        "Book call: library float32 ≤ 0.35 × reference",
        "book_call",
        ("ratio", "call-32/reference"),
        "<=",
        0.35,
    ),
    (
        "Book call: library float32 ≤ 0.50 × PyTorch float32",
        "book_call",
        ("ratio", "call-32/torch-f32"),
        "<=",
        0.50,
    ),
    (
        "Full book run: wall ≤ 0.25 × reference",
        "full_runs",
        ("ratio", "library/reference"),
        "<=",
        0.25,
    ),
    ("Full book run: wall ≤ 0.45 × PyTorch", "full_runs", ("ratio", "library/torch"), "<=", 0.45),
    (
        "Full book run: peak RSS ≤ 300 MiB",
        "full_runs",
        ("run", "library", "peak_rss_mib"),
        "<=",
        300.0,
    ),
    (
        "Full book run: test accuracy ≥ 0.970",
        "full_runs",
        ("run", "library", "test_accuracy"),
        ">=",
        0.970,
    ),
    (
        "Big MLP step: ≤ 0.90 × PyTorch float32",
        "big_mlp",
        ("ratio", "library-32/torch-f32"),
        "<=",
        0.90,
    ),
    (
        "Big MLP step: ≥ 80 % of the bare NumPy matmul chain's GFLOP/s",
        "big_mlp",
        ("inverse", "library-32/matmul-chain"),
        ">=",
        0.80,
    ),
    (
        "Tensor engine: book-net step ≤ 1.25 × the layer version",
        "tensor_engine",
        ("ratio", "tensor-32/layers-32"),
        "<=",
        1.25,
    ),
    (
        "Tiny net 2-16-2: ≤ 0.8 × the reference's fixed cost per step",
        "tiny_net",
        ("ratio", "library-32/reference"),
        "<=",
        0.80,
    ),
)


def _figure(section: dict | None, how: tuple):
    if not section:
        return None
    kind = how[0]
    if kind == "ratio":
        return section.get("ratios", {}).get(how[1])
    if kind == "inverse":
        value = section.get("ratios", {}).get(how[1])
        return None if value is None else 1.0 / value
    run = section.get("runs", {}).get(how[1])
    return None if run is None else run.get(how[2])


def evaluate_targets(results: dict) -> list[dict]:
    """Each target with its figure and ``met`` (True, False, or None when not measured)."""
    rows = []
    for text, section, how, comparison, limit in TARGETS:
        value = _figure(results.get(section), how)
        met = None
        if value is not None:
            met = value <= limit if comparison == "<=" else value >= limit
        rows.append(
            {"target": text, "value": value, "limit": limit, "comparison": comparison, "met": met}
        )
    return rows


# ---------------------------------------------------------------------------------------------
# machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    root = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=False,
        timeout=5,
    )
    changed = bool(root.stdout.strip()) or bool(dirty.stdout.strip())
    return rev.stdout.strip() + (" + uncommitted changes" if changed else "")


def machine_info(*, torch: dict | None = None) -> dict:
    import backprop

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "backprop": getattr(backprop, "__version__", "?"),
        "git": _git_revision(),
        "blas": None,
        "openblas_env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
            )
        },
        "torch": torch,
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        info["blas"] = [
            {
                k: pool.get(k)
                for k in (
                    "internal_api",
                    "version",
                    "architecture",
                    "num_threads",
                    "threading_layer",
                    "filepath",
                )
            }
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    return info


# ---------------------------------------------------------------------------------------------
# Markdown


def _f(value, digits=2) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(section, name, base) -> str:
    value = section.get("ratios", {}).get(f"{name}/{base}")
    return "—" if value is None else f"{value:.2f}×"


def _load_note(section) -> str:
    load = section.get("load") if section else None
    if not load:
        return ""
    text = (
        f"Other processes kept {load['other_cores_busy']:.2f} cores busy on average during "
        f"this section ({load['wall_seconds']:.0f} s)"
    )
    if "rounds_used" in section:
        used, rounds = section["rounds_used"], section["rounds"]
        if used < rounds:
            text += (
                f"; the {used} of {rounds} rounds in which they kept fewer than 0.25 "
                "cores busy were used"
            )
        else:
            text += "; all rounds were used"
    return text + "."


LABELS = {
    "reference": "book reference (float64 images, float64 params)",
    "reference-f32": "book reference, book's loader exactly (float32 images × float64 params)",
    "library-32": "backprop float32 (Trainer.train_step, uint8 batches)",
    "library-64": "backprop float64 (Trainer.train_step, uint8 batches)",
    "call-32": "backprop float32 (book call: gradient + update, float32 batches)",
    "reference-call": "book reference, the same two calls (no second loss() for the log)",
    "library": "backprop float32 (Trainer, uint8 data)",
    "library-f64": "backprop float64 (Trainer, uint8 data)",
    "numpy-f32": "hand-written NumPy float32 loop",
    "numpy": "hand-written NumPy float32 loop",
    "numpy-call": "hand-written NumPy float32 step after the same batch draw (the floor)",
    "torch-f32": "PyTorch float32",
    "torch": "PyTorch float32",
    "matmul-chain": "bare NumPy float32 matmul chain (same shapes)",
    "reference-conv": "book's SimpleConvNet (float32 images × float64 params)",
    "library-conv": "backprop SimpleConvNet float32 (gradient + update)",
    "torch-conv": "PyTorch float32 (F.conv2d, max_pool2d, linear)",
    "conv-reference": "book's SimpleConvNet (book's loader: float32 images, one-hot labels)",
    "conv-library": "backprop SimpleConvNet float32 (Trainer, uint8 data)",
    "layers-32": "TwoLayerNet float32 (layers)",
    "tensor-32": "TensorTwoLayerNet float32 (automatic graph)",
    "layers-64": "TwoLayerNet float64 (layers)",
    "tensor-64": "TensorTwoLayerNet float64 (automatic graph)",
}


def _label(name: str) -> str:
    return f"{LABELS.get(name, name)} (`{name}`)"


def _step_table(
    section: dict, bases: list[str], unit: str = "µs", scale: float = 1.0, gflops: bool = False
) -> list[str]:
    head = f"| contender | median {unit}/step | IQR |"
    rule = "| --- | ---: | ---: |"
    if gflops:
        head += " GFLOP/s |"
        rule += " ---: |"
    for base in bases:
        head += f" × `{base}` |"
        rule += " ---: |"
    lines = [head, rule]
    for name, us in section["median_us"].items():
        low, high = section["iqr_us"][name]
        spread = f"{_f(low * scale, 1)}–{_f(high * scale, 1)}"
        row = f"| {_label(name)} | {_f(us * scale, 1)} | {spread} |"
        if gflops:
            row += f" {_f(section['gflops'][name], 1)} |"
        for base in bases:
            row += " 1 |" if name == base else f" {_ratio(section, name, base)} |"
        lines.append(row)
    return lines


def _harness_table(book: dict, call: dict) -> list[str]:
    """The library's two harnesses side by side, each against its own section's peers."""
    lines = [
        "Both harnesses side by side (each ratio from its own section's interleaved rounds):",
        "",
        "| harness | float32 µs/step | × book reference | × PyTorch float32 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for title, section, name in (
        ("Trainer.train_step, uint8 batches (section 1)", book, "library-32"),
        ("book call, float32 batches (section 1b)", call, "call-32"),
        ("plain NumPy after the book's draw, the floor (section 1b)", call, "numpy-call"),
    ):
        if name not in section["median_us"]:
            continue
        lines.append(
            f"| {title} | {_f(section['median_us'].get(name), 1)} | "
            f"{_ratio(section, name, 'reference')} | {_ratio(section, name, 'torch-f32')} |"
        )
    return [*lines, ""]


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = ["# Benchmark results", ""]
    mode = "smoke (tiny sizes, no targets)" if results["smoke"] else "full"
    lines += [
        f"Run {m['date']}, mode **{mode}**, {results['seconds']:.0f} s in all, command "
        f"`{results['command']}`.",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| CPU | {m['cpu']}, {m['cpus']} logical CPUs, {_f(m['memory_gib'], 1)} GiB |",
        f"| OS | {m['platform']} |",
        f"| Python | {m['python']} |",
        f"| NumPy | {m['numpy']} |",
    ]
    for pool in m.get("blas") or []:
        lines.append(
            f"| BLAS (threadpoolctl) | {pool['internal_api']} {pool['version']}, kernel "
            f"{pool['architecture']}, {pool['num_threads']} threads, "
            f"{pool['threading_layer']} |"
        )
    env = ", ".join(f"{k}={v if v is not None else 'unset'}" for k, v in m["openblas_env"].items())
    lines.append(f"| BLAS environment | {env} |")
    if m.get("torch"):
        t = m["torch"]
        lines.append(
            f"| PyTorch | {t['version']}, {t['threads']} threads, MKL {t['mkl']}, "
            f"oneDNN {t['mkldnn']} |"
        )
    else:
        lines.append(
            "| PyTorch | not used (not installed, or --no-torch): its contenders are skipped "
            "(`pip install torch==2.13.0`, the extra `bench`) |"
        )
    lines.append(f"| backprop | {m['backprop']} ({m['git'] or 'no git'}) |")
    lines.append("")

    if not results["smoke"]:
        lines += ["## Targets", "", "| target | figure | status |", "| --- | ---: | --- |"]
        for row in results["targets"]:
            status = {True: "**met**", False: "**not met**", None: "not measured"}[row["met"]]
            digits = 0 if row["limit"] >= 100 else 4 if "accuracy" in row["target"] else 3
            lines.append(f"| {row['target']} | {_f(row['value'], digits)} | {status} |")
        lines.append("")

    book = results.get("book_step")
    if book:
        lines += [
            "## 1. Book-config training step (784-50-10, batch 100, SGD lr 0.1)",
            "",
            "Each step: draw a batch, forward, backward, update (and the reference's "
            "second forward pass for the log); the library's step is "
            f"`Trainer.train_step` on uint8 batches. {book['rounds']} rounds × "
            f"{book['block']} steps, interleaved in a new order each round, each block "
            "after one untimed step; ratios are medians of per-round ratios.",
            "",
        ]
        bases = ["reference"] + (["torch-f32"] if "torch-f32" in book["median_us"] else [])
        lines += _step_table(book, bases)
        lines += ["", _load_note(book), ""]

    call = results.get("book_call")
    if call:
        lines += [
            "## 1b. Book call: the same step where a book reader calls it",
            "",
            "`grads = network.gradient(x_batch, t_batch)` then `optimizer.update(params, grads)`"
            " on float32 batches `x_train[batch_mask]` of a float32 array (784-50-10, batch "
            f"100, SGD lr 0.1). {call['rounds']} rounds × {call['block']} steps, interleaved.",
            "",
        ]
        bases = ["reference", "reference-call"]
        bases += ["numpy-call"] if "numpy-call" in call["median_us"] else []
        bases += ["torch-f32"] if "torch-f32" in call["median_us"] else []
        lines += _step_table(call, bases)
        lines += ["", _load_note(call), ""]
        if book:
            lines += _harness_table(book, call)

    full = results.get("full_runs")
    if full:
        lines += [
            f"## 2. Full book run ({full['iters']:,} iterations of batch {full['batch']}, "
            "accuracy of the full training and test sets every epoch)",
            "",
            f"Each run in its own process, {full['repeats']} repeat(s) in rotating order "
            "(best wall of the repeats, max peak RSS). Wall = loading the data + "
            "training + evaluations, timed inside the process after its imports; "
            "peak RSS = VmHWM of that process.",
            "",
            "| contender | wall s | train loop s | of which eval s | peak RSS MiB "
            "| test acc | × reference | × PyTorch |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, run in full["runs"].items():
            ref = "1" if name == "reference" else _ratio(full, name, "reference")
            tor = "1" if name == "torch" else _ratio(full, name, "torch")
            lines.append(
                f"| {_label(name)} | {_f(run['run_seconds'])} | {_f(run['loop_seconds'])} | "
                f"{_f(run['eval_seconds'])} | {_f(run['peak_rss_mib'], 0)} | "
                f"{_f(run['test_accuracy'], 4)} | {ref} | {tor} |"
            )
        lines += ["", _load_note(full), ""]

    big = results.get("big_mlp")
    if big:
        lines += [
            "## 3. Big MLP step (784-1024-1024-10, batch 512, SGD)",
            "",
            f"{big['step_gflop']:.2f} GFLOP of matmuls per step. One 2048³ float32 "
            f"matmul reaches {big['peak_gflops_2048']:.0f} GFLOP/s on this machine.",
            "",
        ]
        bases = ["matmul-chain"] + (["torch-f32"] if "torch-f32" in big["median_us"] else [])
        lines += _step_table(big, bases, unit="ms", scale=1e-3, gflops=True)
        lines += ["", _load_note(big), ""]

    tiny = results.get("tiny_net")
    if tiny:
        lines += ["## 4. Tiny net (2-16-2, batch 10): the fixed cost per step", ""]
        lines += _step_table(tiny, ["reference"])
        lines += ["", _load_note(tiny), ""]

    tensor = results.get("tensor_engine")
    if tensor:
        lines += ["## 5. Tensor engine vs layers (784-50-10, batch 100)", ""]
        lines += _step_table(tensor, ["layers-32", "layers-64"])
        lines += ["", _load_note(tensor), ""]

    num = results.get("numerical_gradient")
    if num:
        lines += [
            "## 6. Numerical vs backprop gradient",
            "",
            f"TwoLayerNet float64, {num['params']:,} parameters, batch {num['batch']}: "
            f"backprop {num['backprop_us']:.0f} µs, numerical gradient "
            f"{num['numerical_seconds']:.2f} s (measured once): "
            f"**{num['ratio']:,.0f}×** slower. Largest relative difference "
            f"‖g − n‖/(‖g‖+‖n‖) over the parameter arrays: "
            f"{num['max_relative_difference']:.1e}.",
            "",
        ]

    conv = results.get("conv_step")
    if conv:
        lines += _conv_markdown(conv)
    conv_runs = results.get("conv_runs")
    if conv_runs:
        lines += _conv_runs_markdown(conv_runs)

    prof = results.get("profile")
    if prof:
        lines += _profile_markdown(prof)
    notes = results.get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(line for line in lines) + "\n"


def _conv_markdown(conv: dict) -> list[str]:
    lines = [
        "## 7. SimpleConvNet step (chapter 7: 1×28×28, conv 30 filters 5×5, pool 2×2, 100, "
        f"10; batch {conv['batch']}, SGD lr 0.1)",
        "",
        "Each step: `grads = network.gradient(x_batch, t_batch)` and the SGD update, on "
        "float32 batches `x_train[batch_mask]` (N, 1, 28, 28) in [0, 1]. "
        f"{conv['rounds']} rounds × {conv['block']} steps, interleaved.",
        "",
    ]
    bases = ["reference-conv"] + (["torch-conv"] if "torch-conv" in conv["median_us"] else [])
    lines += _step_table(conv, bases, unit="ms", scale=1e-3)
    if conv.get("library") is None:
        lines.append(
            f"| {_label('library-conv')} | not available (this backprop has no "
            f"SimpleConvNet) | |{' |' * len(bases)}"
        )
    lines += ["", _load_note(conv), ""]
    prof = conv.get("reference_profile")
    if prof:
        lines += [
            "Where the book's step spends its time, by layer "
            f"({prof['steps']} steps, layer methods timed):",
            "",
            "| part | ms/step | share |",
            "| --- | ---: | ---: |",
        ]
        for row in prof["layers"]:
            lines.append(f"| {row['part']} | {row['us'] / 1e3:.2f} | {row['share'] * 100:.1f} % |")
        lines += [
            "",
            "Inside the convolution and the pooling: each operation run alone on the arrays "
            "of the last step (median of 5), as a share of the whole step:",
            "",
            "| operation | ms | share of the step |",
            "| --- | ---: | ---: |",
        ]
        for row in prof["operations"]:
            lines.append(f"| {row['part']} | {row['us'] / 1e3:.2f} | {row['share'] * 100:.1f} % |")
        lines.append("")
    prof = conv.get("library_profile")
    if prof:
        lines += [
            "Where the library's step spends its time (`Trainer.train_step` on uint8 batches, "
            f"{prof['steps']} steps, layer methods timed), then the pieces of its convolution "
            "and pooling run alone on the arrays of the last step (median of 5):",
            "",
            "| part | ms/step | share |",
            "| --- | ---: | ---: |",
        ]
        for row in prof["layers"] + prof["operations"]:
            lines.append(f"| {row['part']} | {row['us'] / 1e3:.2f} | {row['share'] * 100:.1f} % |")
        lines.append("")
    return lines


def _conv_runs_markdown(conv_runs: dict) -> list[str]:
    lines = [
        f"## 7b. SimpleConvNet runs ({conv_runs['iters']:,} steps of batch "
        f"{conv_runs['batch']}, accuracy of the whole training and test sets after every "
        "epoch and at the end)",
        "",
        "Each run in its own process, once. Wall = loading the data + training + evaluations; "
        "peak RSS = VmHWM of that process.",
        "",
        "| contender | wall s | of which eval s | peak RSS MiB | test acc | × book (wall) "
        "| × book (RSS) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = conv_runs.get("ratios", {})
    for name, run in conv_runs["runs"].items():
        own = name == "conv-reference"
        wall = "1" if own else _ratio(conv_runs, name, "conv-reference")
        rss = ratios.get(f"rss {name}/conv-reference")
        rss_text = "1" if own else ("—" if rss is None else f"{rss:.2f}×")
        lines.append(
            f"| {_label(name)} | {_f(run['run_seconds'])} | {_f(run['eval_seconds'])} | "
            f"{_f(run['peak_rss_mib'], 0)} | {_f(run['test_accuracy'], 4)} | {wall} | "
            f"{rss_text} |"
        )
    if "conv-library" not in conv_runs["runs"]:
        lines.append(f"| {_label('conv-library')} | not available | | | | | |")
    return [*lines, ""]


def _profile_markdown(prof: dict) -> list[str]:
    lines = ["## Profile: where the time of a step goes", ""]
    for key, title in (
        ("library", "backprop float32, book config (Trainer's step)"),
        ("reference", "book reference, book config"),
        ("tiny", "backprop float32, tiny net 2-16-2"),
        ("big", "backprop float32, big MLP"),
    ):
        rows = prof.get(key)
        if not rows:
            continue
        lines += [f"### {title}", "", "| part | µs/step | share |", "| --- | ---: | ---: |"]
        for row in rows:
            name = (
                f"**{row['part']}**"
                if row["part"] in ("total step", "all matmuls")
                else row["part"]
            )
            lines.append(f"| {name} | {row['us']:.1f} | {row['share'] * 100:.1f} % |")
        lines.append("")
    ops = prof.get("micro_ops")
    if ops:
        lines += [
            "### Single operations at the book's shapes (float32, batch 100)",
            "",
            "| group | operation | µs |",
            "| --- | --- | ---: |",
        ]
        lines += [f"| {op['group']} | {op['op']} | {op['us']:.1f} |" for op in ops]
        lines.append("")
    text = prof.get("cprofile")
    if text:
        lines += [
            "### cProfile of the library's step (top functions by own time)",
            "",
            "```",
            text,
            "```",
            "",
        ]
    return lines


# ---------------------------------------------------------------------------------------------
# chart


def chart(results: dict, path: Path) -> Path | None:
    """A PNG of the main figures (matplotlib, Agg backend)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = []
    if results.get("book_step"):
        panels.append(("Book-config step (µs)", results["book_step"]["median_us"], 1.0))
    if results.get("book_call"):
        panels.append(("Book call step (µs)", results["book_call"]["median_us"], 1.0))
    if results.get("full_runs"):
        walls = {k: v["run_seconds"] for k, v in results["full_runs"]["runs"].items()}
        panels.append(("Full book run wall (s)", walls, 1.0))
        rss = {k: v["peak_rss_mib"] for k, v in results["full_runs"]["runs"].items()}
        panels.append(("Full book run peak RSS (MiB)", rss, 1.0))
    if results.get("big_mlp"):
        panels.append(("Big MLP step (GFLOP/s)", results["big_mlp"]["gflops"], 1.0))
    if results.get("tiny_net"):
        panels.append(("Tiny net step (µs)", results["tiny_net"]["median_us"], 1.0))
    if results.get("tensor_engine"):
        panels.append(("Tensor engine vs layers (µs)", results["tensor_engine"]["median_us"], 1.0))
    if results.get("conv_step"):
        panels.append(("SimpleConvNet step (ms)", results["conv_step"]["median_us"], 1e-3))
    if not panels:
        return None
    columns = 2
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, (title, values, scale) in zip(axes.flat, panels, strict=False):
        names = list(values)
        numbers = [values[k] * scale for k in names]
        colors = [
            "#d62728"
            if n.startswith("reference")
            else "#1f77b4"
            if n.startswith(("library", "layers", "tensor", "call"))
            else "#ff7f0e"
            if n.startswith("torch")
            else "#7f7f7f"
            for n in names
        ]
        ax.barh(names, numbers, color=colors)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        for y, value in enumerate(numbers):
            ax.text(value, y, f" {value:,.1f}", va="center", fontsize=7)
        ax.margins(x=0.18)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        f"backprop benchmarks — {results['machine']['cpu']}, {results['machine']['cpus']} CPUs",
        fontsize=11,
    )
    fig.tight_layout()
    try:
        with atomic_write(path) as file:
            fig.savefig(file, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path
