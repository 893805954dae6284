"""The benchmarks of issue 5, each returning plain JSON-compatible figures.

1. ``book_step``: one training step of the book's configuration (784-50-10, batch 100, SGD
   lr 0.1): the reference, the library through ``Trainer.train_step`` on uint8 batches
   (float32 and float64), the hand-written NumPy floor and PyTorch, interleaved.
1b. ``book_call``: the same step where a book reader calls it, ``network.gradient`` then
   ``optimizer.update`` on float32 batches ``x_train[batch_mask]``, against the reference and
   PyTorch, interleaved.
2. ``full_runs``: the book's 10,000-iteration run with per-epoch evaluation, each contender in
   its own process (wall time, peak RSS, final accuracy), repeated in rotating order.
3. ``big_mlp``: a 784-1024-1024-10 step at batch 512, the library against PyTorch and against
   the bare NumPy matmul chain of the same shapes (achieved GFLOP/s).
4. ``tiny_net``: a 2-16-2 step at batch 10, where the fixed cost per step is all there is.
5. ``tensor_engine``: ``TensorTwoLayerNet`` (the automatic graph) against ``TwoLayerNet``.
6. ``numerical_gradient``: numerical differentiation against backpropagation, batch 3.
7. ``conv_step``: one step of the book's SimpleConvNet (chapter 7), the book's code against
   PyTorch and the library's ``SimpleConvNet``, with where the book's step spends its time.
   ``conv_runs`` (only on request): a short SimpleConvNet run per process, peak memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks import CHECKOUT, numpy_impl, reference
from benchmarks.library import book_call_step, library_step
from benchmarks.timing import CpuLoad, interleave

__all__ = [
    "Config",
    "big_mlp",
    "book_call",
    "book_step",
    "conv_runs",
    "conv_step",
    "full_runs",
    "numerical_gradient_ratio",
    "profiles",
    "tensor_engine",
    "tiny_net",
]


@dataclasses.dataclass
class Config:
    """Sizes and repetitions; ``Config.smoke()`` is the seconds-long CI version."""

    smoke: bool = False
    # 1. book step
    book_sizes: tuple[int, ...] = (784, 50, 10)
    book_batch: int = 100
    book_rounds: int = 30
    book_block: int = 25
    # 1b. book call
    call_rounds: int = 30
    call_block: int = 25
    # 2. full runs
    full_iters: int = 10000
    full_batch: int = 100
    full_repeats: int = 2
    full_synthetic: str | None = None  # "N_TRAIN,N_TEST" instead of MNIST
    full_impls: tuple[str, ...] = (
        "reference",
        "library",
        "numpy",
        "torch",
        "reference-f32",
        "library-f64",
    )
    full_once: tuple[str, ...] = ("reference-f32", "library-f64")  # informative: one run each
    # 3. big MLP
    big_sizes: tuple[int, ...] = (784, 1024, 1024, 10)
    big_batch: int = 512
    big_rounds: int = 10
    big_block: int = 3
    # 4. tiny net
    tiny_sizes: tuple[int, ...] = (2, 16, 2)
    tiny_batch: int = 10
    tiny_rounds: int = 20
    tiny_block: int = 200
    # 5. Tensor engine
    tensor_rounds: int = 30
    tensor_block: int = 25
    # 6. numerical gradient
    numerical_sizes: tuple[int, ...] = (784, 50, 10)
    numerical_batch: int = 3
    # 7. conv step (the book's SimpleConvNet, 1×28×28, 30 filters 5×5, pool 2×2, 100, 10)
    conv_batch: int = 100
    conv_rounds: int = 10
    conv_block: int = 3
    conv_profile_steps: int = 10
    conv_run_iters: int = 600  # one epoch of MNIST
    warmup: int = 2

    @classmethod
    def smoke_config(cls) -> Config:
        return cls(
            smoke=True,
            book_rounds=3,
            book_block=3,
            call_rounds=3,
            call_block=3,
            full_iters=60,
            full_batch=50,
            full_repeats=1,
            full_synthetic="1000,200",
            full_impls=("reference", "library", "numpy", "torch"),
            big_sizes=(784, 64, 64, 10),
            big_batch=32,
            big_rounds=2,
            big_block=2,
            tiny_rounds=3,
            tiny_block=10,
            tensor_rounds=3,
            tensor_block=3,
            numerical_sizes=(20, 10, 3),
            conv_batch=20,
            conv_rounds=2,
            conv_block=1,
            conv_profile_steps=2,
            conv_run_iters=20,
            warmup=1,
        )


def blas_threads() -> int:
    """Threads NumPy's BLAS uses (threadpoolctl), else the number of CPUs."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return int(pool["num_threads"])
    return os.cpu_count() or 1


def _timings_dict(timings, pairs, flops=None) -> dict:
    out = {
        "median_us": {k: timings.median(k) * 1e6 for k in timings.per_round},
        "iqr_us": {k: [v * 1e6 for v in timings.spread(k)] for k in timings.per_round},
        "ratios": {
            f"{a}/{b}": timings.ratio(a, b)
            for a, b in pairs
            if a in timings.per_round and b in timings.per_round
        },
        "rounds": len(next(iter(timings.per_round.values()))),
        "rounds_used": len(timings.used_rounds),
        "block": timings.block,
        "load": timings.load,
        "round_load": timings.round_load,
    }
    if flops:
        out["gflops"] = {k: flops / timings.median(k) / 1e9 for k in timings.per_round}
    return out


# ---------------------------------------------------------------------------------------------
# 1. book step


def reference_step(
    raw_train, sizes, *, batch_size, lr=0.1, image_dtype="float64", seed=0, log_loss=True
):
    """The book's loop body: choice, gradient, params update, a second loss() for the log
    (without it when ``log_loss`` is false: the same calls as the book call)."""
    random = np.random.RandomState(seed)
    x_train, t_train = raw_train
    (x, t), _ = reference.book_load_mnist(
        ((x_train, t_train), (x_train[:1], t_train[:1])), image_dtype=image_dtype
    )
    network = reference.BookTwoLayerNet(sizes[0], sizes[1], sizes[2], random=random)
    train_size = x.shape[0]

    def step():
        batch_mask = random.choice(train_size, batch_size)
        x_batch = x[batch_mask]
        t_batch = t[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= lr * grad[key]
        if log_loss:
            return network.loss(x_batch, t_batch)
        return None

    return step


def book_step(raw, config: Config, *, torch=None, log=print) -> dict:
    from backprop.networks import TwoLayerNet

    (x_train, t_train), _ = raw
    sizes, batch = config.book_sizes, config.book_batch
    contenders = {
        "reference": reference_step((x_train, t_train), sizes, batch_size=batch),
        "reference-f32": reference_step(
            (x_train, t_train), sizes, batch_size=batch, image_dtype="float32"
        ),
    }
    for dtype in ("float32", "float64"):
        net = TwoLayerNet(*sizes, seed=0, dtype=dtype)
        contenders[f"library-{dtype[-2:]}"] = library_step(net, x_train, t_train, batch_size=batch)
    model = numpy_impl.NumpyMLP(list(sizes))
    contenders["numpy-f32"] = numpy_impl.numpy_batch_step(
        model, x_train, t_train, batch_size=batch, lr=0.1
    )
    if torch is not None:
        torch.make("book", kind="mnist", sizes=sizes, batch=batch)
        contenders["torch-f32"] = torch.contender("book")
    log(
        f"  book step: {', '.join(contenders)}; {config.book_rounds} rounds × "
        f"{config.book_block} steps"
    )
    timings = interleave(
        contenders, rounds=config.book_rounds, block=config.book_block, warmup=config.warmup
    )
    pairs = [(k, "reference") for k in contenders if k != "reference"]
    pairs += [(k, "torch-f32") for k in ("library-32", "library-64", "numpy-f32")]
    pairs += [("library-32", "numpy-f32")]
    return _timings_dict(timings, pairs)


# ---------------------------------------------------------------------------------------------
# 1b. book call


def book_call(raw, config: Config, *, torch=None, log=print) -> dict:
    """The book's loop body with the library: ``network.gradient`` + ``optimizer.update``.

    Data as the book's loader gives it: one float32 copy of the images scaled to [0, 1]
    (``x_train[batch_mask]`` draws float32 batches), integer labels (the library's
    ``load_mnist`` default). Contenders: ``call-32`` (TwoLayerNet float32), ``reference``
    (the book's step, with its second ``loss()`` for the log), ``reference-call`` (the book's
    network with the same two calls only) and ``torch-f32`` (float32 tensors).
    """
    from backprop.networks import TwoLayerNet

    (x_train, t_train), _ = raw
    sizes, batch = config.book_sizes, config.book_batch
    x_float32 = x_train.astype(np.float32)
    x_float32 /= 255.0
    t_labels = t_train.astype(np.int64)
    network = TwoLayerNet(*sizes, seed=0, dtype="float32")
    contenders = {
        "call-32": book_call_step(network, x_float32, t_labels, batch_size=batch),
        "reference": reference_step((x_train, t_train), sizes, batch_size=batch),
        "reference-call": reference_step(
            (x_train, t_train), sizes, batch_size=batch, log_loss=False
        ),
        "numpy-call": numpy_impl.numpy_call_step(
            numpy_impl.NumpyMLP(sizes, seed=0), x_float32, t_labels, batch_size=batch, lr=0.1
        ),
    }
    if torch is not None:
        torch.make("call", kind="mnist", sizes=sizes, batch=batch)
        contenders["torch-f32"] = torch.contender("call")
    log(
        f"  book call: {', '.join(contenders)}; {config.call_rounds} rounds × "
        f"{config.call_block} steps"
    )
    timings = interleave(
        contenders, rounds=config.call_rounds, block=config.call_block, warmup=config.warmup
    )
    pairs = [
        ("call-32", "reference"),
        ("call-32", "reference-call"),
        ("call-32", "torch-f32"),
        ("call-32", "numpy-call"),
        ("numpy-call", "reference"),
        ("numpy-call", "reference-call"),
        ("numpy-call", "torch-f32"),
        ("reference-call", "reference"),
        ("reference", "torch-f32"),
        ("reference-call", "torch-f32"),
    ]
    return _timings_dict(timings, pairs)


# ---------------------------------------------------------------------------------------------
# 2. full runs


def _run_in_process(impl, *, iters, batch, data_dir, synthetic, threads=None) -> dict:
    """One run in a child ``python -m benchmarks.fullrun``: its JSON figures, plus the
    process's wall (``process_seconds``) and the cores other processes kept busy meanwhile."""
    command = [sys.executable, "-m", "benchmarks.fullrun", "--impl", impl]
    command += ["--iters", str(iters), "--batch-size", str(batch)]
    if threads is not None:
        command += ["--threads", str(threads)]
    command += ["--synthetic", synthetic] if synthetic else ["--data-dir", str(data_dir)]
    start = time.perf_counter()
    busy = CpuLoad().start()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=CHECKOUT)
    process_seconds = time.perf_counter() - start
    others = busy.stop()
    if done.returncode != 0:
        message = f"run {impl} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        raise RuntimeError(message)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = process_seconds
    result["other_cores_busy"] = None if others is None else others["other_cores_busy"]
    return result


def full_runs(
    config: Config, *, data_dir, use_torch: bool, threads: int, log=print, quiet=None
) -> dict:
    impls = [i for i in config.full_impls if use_torch or i != "torch"]
    results: dict[str, list[dict]] = {i: [] for i in impls}
    load = CpuLoad().start()
    for r in range(config.full_repeats):
        order = impls[r % len(impls) :] + impls[: r % len(impls)]
        if r > 0:
            order = [i for i in order if i not in config.full_once]
        for impl in order:
            if quiet is not None:
                quiet()
            result = _run_in_process(
                impl,
                iters=config.full_iters,
                batch=config.full_batch,
                data_dir=data_dir,
                synthetic=config.full_synthetic,
                threads=threads,
            )
            results[impl].append(result)
            log(
                f"  full run {impl} #{r + 1}: {result['run_seconds']:.2f} s, "
                f"{result['peak_rss_mib']:.0f} MiB, test acc {result['test_accuracy']:.4f}, "
                f"others busy {result['other_cores_busy'] or 0:.2f} cores"
            )
    summary: dict[str, dict] = {}
    for impl, runs in results.items():
        best = min(runs, key=lambda r: r["run_seconds"])  # best of the repeats: least disturbed
        summary[impl] = {
            "run_seconds": best["run_seconds"],
            "run_seconds_all": [r["run_seconds"] for r in runs],
            "process_seconds": best["process_seconds"],
            "loop_seconds": best["loop_seconds"],
            "eval_seconds": best["eval_seconds"],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "test_accuracy": runs[-1]["test_accuracy"],
            "train_accuracy": runs[-1]["train_accuracy"],
            "evaluations": runs[-1]["evaluations"],
            "data": runs[-1]["data"],
            "other_cores_busy": [r["other_cores_busy"] for r in runs],
        }
        if "trainer" in runs[-1]:
            summary[impl]["trainer"] = runs[-1]["trainer"]
    ratios = {}
    for impl in impls:
        for base in ("reference", "torch"):
            if base in summary and impl != base:
                ratios[f"{impl}/{base}"] = (
                    summary[impl]["run_seconds"] / summary[base]["run_seconds"]
                )
    return {
        "runs": summary,
        "ratios": ratios,
        "iters": config.full_iters,
        "batch": config.full_batch,
        "repeats": config.full_repeats,
        "load": load.stop(),
    }


# ---------------------------------------------------------------------------------------------
# 3. big MLP


def peak_matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one large float32 matrix product (n×n by n×n), best of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def big_mlp(raw, config: Config, *, torch=None, log=print) -> dict:
    from backprop.networks import MultiLayerNet

    (x_train, t_train), _ = raw
    sizes, batch = list(config.big_sizes), config.big_batch
    lr = 0.01
    net = MultiLayerNet(
        sizes[0], sizes[1:-1], sizes[-1], weight_init_std="he", seed=0, dtype="float32"
    )
    contenders = {
        "library-32": library_step(net, x_train, t_train, batch_size=batch, lr=lr),
        "numpy-f32": numpy_impl.numpy_batch_step(
            numpy_impl.NumpyMLP(sizes, weight_init_std=0), x_train, t_train, batch_size=batch, lr=lr
        ),
        "matmul-chain": numpy_impl.matmul_chain(sizes, batch),
    }
    if torch is not None:
        torch.make("big", kind="mnist", sizes=sizes, batch=batch, lr=lr)
        contenders["torch-f32"] = torch.contender("big")
    log(f"  big MLP {'-'.join(map(str, sizes))} batch {batch}: {', '.join(contenders)}")
    timings = interleave(
        contenders, rounds=config.big_rounds, block=config.big_block, warmup=config.warmup
    )
    flops = numpy_impl.step_flops(sizes, batch)
    pairs = [
        ("library-32", "torch-f32"),
        ("library-32", "matmul-chain"),
        ("numpy-f32", "torch-f32"),
        ("torch-f32", "matmul-chain"),
        ("library-32", "numpy-f32"),
    ]
    out = _timings_dict(timings, pairs, flops=flops)
    out["step_gflop"] = flops / 1e9
    out["peak_gflops_2048"] = peak_matmul_gflops(512 if config.smoke else 2048)
    return out


# ---------------------------------------------------------------------------------------------
# 4. tiny net


def tiny_data(n: int = 1000, seed: int = 0):
    """Two Gaussian blobs in 2-D, labels 0/1 (float64 points, int labels)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 2)) + np.where(t[:, None] == 1, 1.5, -1.5)
    return x, t


def tiny_net(config: Config, *, torch=None, log=print) -> dict:
    from backprop.networks import TwoLayerNet

    x, t = tiny_data()
    sizes, batch = config.tiny_sizes, config.tiny_batch
    contenders = {}
    random = np.random.RandomState(0)
    ref = reference.BookTwoLayerNet(*sizes, random=random)
    t_one_hot = np.eye(sizes[-1])[t]

    def reference_tiny():
        batch_mask = random.choice(len(x), batch)
        x_batch, t_batch = x[batch_mask], t_one_hot[batch_mask]
        grad = ref.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            ref.params[key] -= 0.1 * grad[key]
        return ref.loss(x_batch, t_batch)

    contenders["reference"] = reference_tiny
    for dtype in ("float32", "float64"):
        net = TwoLayerNet(*sizes, seed=0, dtype=dtype)
        contenders[f"library-{dtype[-2:]}"] = library_step(
            net, x.astype(dtype), t, batch_size=batch
        )
    model = numpy_impl.NumpyMLP(list(sizes))
    x32 = x.astype(np.float32)
    t_intp = t.astype(np.intp)
    rng = np.random.default_rng(0)

    def numpy_tiny():
        index = rng.integers(0, len(x32), batch)
        return model.step(x32[index], t_intp[index], 0.1)

    contenders["numpy-f32"] = numpy_tiny
    if torch is not None:
        torch.make("tiny", kind="tiny", sizes=sizes, batch=batch)
        contenders["torch-f32"] = torch.contender("tiny")
    log(f"  tiny net {'-'.join(map(str, sizes))} batch {batch}: {', '.join(contenders)}")
    timings = interleave(
        contenders, rounds=config.tiny_rounds, block=config.tiny_block, warmup=config.warmup
    )
    pairs = [(k, "reference") for k in contenders if k != "reference"]
    return _timings_dict(timings, pairs)


# ---------------------------------------------------------------------------------------------
# 5. Tensor engine


def tensor_engine(raw, config: Config, *, log=print) -> dict:
    from backprop.autograd.networks import TensorTwoLayerNet
    from backprop.networks import TwoLayerNet

    (x_train, t_train), _ = raw
    sizes, batch = config.book_sizes, config.book_batch
    contenders = {}
    for dtype in ("float32", "float64"):
        layer_net = TwoLayerNet(*sizes, seed=0, dtype=dtype)
        tensor_net = TensorTwoLayerNet(*sizes, seed=0, dtype=dtype)
        contenders[f"layers-{dtype[-2:]}"] = library_step(
            layer_net, x_train, t_train, batch_size=batch
        )
        contenders[f"tensor-{dtype[-2:]}"] = library_step(
            tensor_net, x_train, t_train, batch_size=batch
        )
    log(f"  Tensor engine vs layers: {', '.join(contenders)}")
    timings = interleave(
        contenders, rounds=config.tensor_rounds, block=config.tensor_block, warmup=config.warmup
    )
    pairs = [("tensor-32", "layers-32"), ("tensor-64", "layers-64")]
    return _timings_dict(timings, pairs)


# ---------------------------------------------------------------------------------------------
# 6. numerical gradient


def numerical_gradient_ratio(raw, config: Config, *, log=print) -> dict:
    from backprop.networks import TwoLayerNet

    (x_train, t_train), _ = raw
    sizes, batch = config.numerical_sizes, config.numerical_batch
    net = TwoLayerNet(*sizes, seed=0, dtype="float64")
    if x_train.shape[1] == sizes[0]:
        x = x_train[:batch].astype(np.float64) / 255.0
        t = t_train[:batch].astype(np.int64) % sizes[-1]
    else:
        rng = np.random.default_rng(0)
        x = rng.random((batch, sizes[0]))
        t = rng.integers(0, sizes[-1], batch)
    n_params = sum(p.size for p in net.params.values())
    net.gradient(x, t)
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(50):
            grads = net.gradient(x, t)
        runs.append((time.perf_counter() - start) / 50)
    backprop_seconds = statistics.median(runs)
    log(f"  numerical gradient of {n_params:,} parameters (batch {batch}), once ...")
    start = time.perf_counter()
    numeric = net.numerical_gradient(x, t)
    numerical_seconds = time.perf_counter() - start
    worst = 0.0  # ‖g − n‖ / (‖g‖ + ‖n‖) per parameter array
    for key, g in grads.items():
        scale = float(np.linalg.norm(g) + np.linalg.norm(numeric[key])) or 1.0
        worst = max(worst, float(np.linalg.norm(g - numeric[key])) / scale)
    return {
        "params": int(n_params),
        "batch": batch,
        "backprop_us": backprop_seconds * 1e6,
        "numerical_seconds": numerical_seconds,
        "ratio": numerical_seconds / backprop_seconds,
        "max_relative_difference": worst,
    }


# ---------------------------------------------------------------------------------------------
# 7. conv step and conv runs


def _book_conv_step(x_images, t_one_hot, *, batch_size, lr=0.1, seed=0):
    """The book's SimpleConvNet: ``gradient`` + SGD on ``x_train[batch_mask]``."""
    from benchmarks.reference_convnet import BookSimpleConvNet

    random = np.random.RandomState(seed)
    network = BookSimpleConvNet(random=random)
    n = len(x_images)

    def step():
        batch_mask = random.choice(n, batch_size)
        grads = network.gradient(x_images[batch_mask], t_one_hot[batch_mask])
        for key in network.params:
            network.params[key] -= lr * grads[key]

    return step


def conv_step(raw, config: Config, *, torch=None, log=print) -> dict:
    """One SimpleConvNet step at batch 100: the book's code, the library (if it has the
    network), PyTorch; float32 images (N, 1, 28, 28) scaled to [0, 1], as the book's loader
    gives them with ``flatten=False``."""
    from benchmarks import profile
    from benchmarks.library import library_convnet_class

    (x_train, t_train), _ = raw
    batch = config.conv_batch
    x_images = x_train.reshape(-1, 1, 28, 28).astype(np.float32)
    x_images /= 255.0
    t_labels = t_train.astype(np.int64)
    t_one_hot = reference.book_one_hot(t_train)
    contenders = {"reference-conv": _book_conv_step(x_images, t_one_hot, batch_size=batch)}
    convnet = library_convnet_class()
    if convnet is not None:
        network = convnet(seed=0, dtype="float32")
        contenders["library-conv"] = book_call_step(network, x_images, t_labels, batch_size=batch)
    if torch is not None:
        torch.make("conv", kind="conv", sizes=[], batch=batch)
        contenders["torch-conv"] = torch.contender("conv")
    log(
        f"  conv step: {', '.join(contenders)}; {config.conv_rounds} rounds × "
        f"{config.conv_block} steps"
    )
    timings = interleave(
        contenders, rounds=config.conv_rounds, block=config.conv_block, warmup=config.warmup
    )
    pairs = [
        ("library-conv", "reference-conv"),
        ("library-conv", "torch-conv"),
        ("torch-conv", "reference-conv"),
    ]
    out = _timings_dict(timings, pairs)
    out["batch"] = batch
    out["library"] = None if convnet is None else f"{convnet.__module__}.{convnet.__name__}"
    log("  where the book's conv step spends its time")
    out["reference_profile"] = profile.conv_reference_breakdown(
        x_images, t_one_hot, batch_size=batch, steps=config.conv_profile_steps
    )
    if convnet is not None:
        log("  where the library's conv step spends its time")
        out["library_profile"] = profile.conv_library_breakdown(
            convnet(seed=0, dtype="float32"),
            x_train,
            t_labels,
            batch_size=batch,
            steps=config.conv_profile_steps,
        )
    return out


def conv_runs(config: Config, *, data_dir, threads: int, log=print, quiet=None) -> dict:
    """A SimpleConvNet run of ``conv_run_iters`` steps (evaluations included), the book's and
    the library's, each in its own process: wall, peak RSS, test accuracy."""
    from benchmarks.library import library_convnet_class

    impls = ["conv-reference"]
    if library_convnet_class() is not None:
        impls.append("conv-library")
    runs = {}
    for impl in impls:
        if quiet is not None:
            quiet()
        runs[impl] = _run_in_process(
            impl,
            iters=config.conv_run_iters,
            batch=config.conv_batch,
            data_dir=data_dir,
            synthetic=config.full_synthetic or (None if data_dir else "60000,10000"),
            threads=threads,
        )
        log(
            f"  conv run {impl}: {runs[impl]['run_seconds']:.1f} s, "
            f"{runs[impl]['peak_rss_mib']:.0f} MiB, test acc {runs[impl]['test_accuracy']:.4f}"
        )
    ratios = {}
    if "conv-library" in runs:
        ref, lib = runs["conv-reference"], runs["conv-library"]
        ratios["conv-library/conv-reference"] = lib["run_seconds"] / ref["run_seconds"]
        ratios["rss conv-library/conv-reference"] = lib["peak_rss_mib"] / ref["peak_rss_mib"]
    return {
        "runs": runs,
        "ratios": ratios,
        "iters": config.conv_run_iters,
        "batch": config.conv_batch,
    }


# ---------------------------------------------------------------------------------------------
# profiles


def profiles(raw, config: Config) -> dict:
    """Per-part breakdowns of the steps, single-operation costs and a cProfile listing."""
    from backprop.networks import MultiLayerNet, TwoLayerNet
    from benchmarks import profile

    (x_train, t_train), _ = raw
    out = {}
    net = TwoLayerNet(*config.book_sizes, seed=0, dtype="float32")
    out["library"] = profile.library_breakdown(net, x_train, t_train, batch_size=config.book_batch)
    out["reference"] = profile.reference_breakdown(x_train, t_train, batch_size=config.book_batch)
    x, t = tiny_data()
    tiny = TwoLayerNet(*config.tiny_sizes, seed=0, dtype="float32")
    out["tiny"] = profile.library_breakdown(
        tiny, x.astype(np.float32), t, batch_size=config.tiny_batch, steps=5000
    )
    sizes = list(config.big_sizes)
    big = MultiLayerNet(
        sizes[0], sizes[1:-1], sizes[-1], weight_init_std="he", seed=0, dtype="float32"
    )
    out["big"] = profile.library_breakdown(
        big, x_train, t_train, batch_size=config.big_batch, lr=0.01, steps=30, warmup=5
    )
    out["micro_ops"] = profile.micro_ops(x_train)
    net = TwoLayerNet(*config.book_sizes, seed=0, dtype="float32")
    out["cprofile"] = profile.cprofile_text(
        library_step(net, x_train, t_train, batch_size=config.book_batch)
    )
    return out
