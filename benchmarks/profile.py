"""Where the time of a training step goes: per-part breakdowns and per-operation costs.

``library_breakdown`` runs the library's training step (``Trainer.train_step``) with every
layer's ``forward``/``backward`` and its ``MatMul`` node timed, so that the step splits into:
batch draw, batch gather, the conversion inside ``train_step``, matrix products, the rest of
each layer, the network's own code between layers and the optimizer. ``reference_breakdown``
does the same for the book's loop. The timers wrap methods of *these instances only*, inside
the benchmark.

``micro_ops`` times single NumPy operations at the book's shapes (float32, batch 100), each
against its alternative, to price concrete changes to the library's hot path.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import statistics
import time
from collections import defaultdict

import numpy as np

from benchmarks import reference
from benchmarks.library import epoch_batches, library_trainer

__all__ = ["cprofile_text", "library_breakdown", "micro_ops", "reference_breakdown"]


class _Clock:
    """Accumulates seconds per label for wrapped methods."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, obj, attr: str, label: str) -> None:
        function = getattr(obj, attr)
        seconds = self.seconds
        clock = time.perf_counter

        def timed(*args, **kwargs):
            start = clock()
            result = function(*args, **kwargs)
            seconds[label] += clock() - start
            return result

        setattr(obj, attr, timed)

    def __repr__(self) -> str:
        return f"_Clock({len(self.seconds)} labels)"


def _rows(parts: dict[str, float], steps: int, total: float) -> list[dict]:
    rows = [
        {"part": name, "us": seconds / steps * 1e6, "share": seconds / total}
        for name, seconds in parts.items()
    ]
    rows.append({"part": "total step", "us": total / steps * 1e6, "share": 1.0})
    return rows


def library_breakdown(
    network, x_train, t_train, *, batch_size, lr=0.1, steps=2000, seed=0, warmup=200
):
    """Per-part µs of ``Trainer.train_step`` on ``network``, with its calls timed.

    The step is the library's own (``library_step``'s trainer); timers wrap this network's
    layers, its ``loss_and_gradient`` and this trainer's ``optimizer.update``.
    """
    clock = _Clock()
    for name, layer in network.layers.items():
        matmul = getattr(layer, "_matmul", None)
        if matmul is not None:
            clock.wrap(matmul, "forward", f"{name} matmul (forward)")
            clock.wrap(matmul, "backward", f"{name} matmuls (backward)")
        clock.wrap(layer, "forward", f"{name}.forward")
        clock.wrap(layer, "backward", f"{name}.backward")
    clock.wrap(network.last_layer, "forward", "SoftmaxWithLoss.forward")
    clock.wrap(network.last_layer, "backward", "SoftmaxWithLoss.backward")
    t_train = np.asarray(t_train).astype(np.int64)
    trainer = library_trainer(network, x_train, t_train, batch_size=batch_size, lr=lr)
    clock.wrap(network, "loss_and_gradient", "loss_and_gradient")
    clock.wrap(trainer.optimizer, "update", "optimizer.update")
    draw = epoch_batches(len(x_train), batch_size, np.random.default_rng(seed))
    parts: dict[str, float] = defaultdict(float)
    c = time.perf_counter

    def one_step(record: bool):
        t0 = c()
        index = next(draw)
        t1 = c()
        x_batch = x_train[index]
        t_batch = t_train[index]
        t2 = c()
        trainer.train_step(x_batch, t_batch)
        t3 = c()
        if record:
            parts["batch draw (epoch order)"] += t1 - t0
            parts["batch gather (uint8)"] += t2 - t1
            parts["train_step"] += t3 - t2

    for _ in range(warmup):
        one_step(False)
    clock.seconds.clear()
    start = c()
    for _ in range(steps):
        one_step(True)
    total = c() - start
    return _split_network(parts, clock.seconds, network, steps, total)


def _split_network(parts, seconds, network, steps, total) -> list[dict]:
    """Turn nested timers into exclusive parts: matmuls, rest of layers, network overhead."""
    out: dict[str, float] = {}
    out["batch draw (epoch order)"] = parts["batch draw (epoch order)"]
    out["batch gather (uint8)"] = parts["batch gather (uint8)"]
    inner = seconds["loss_and_gradient"] + seconds["optimizer.update"]
    out["train_step: as_input + call"] = parts["train_step"] - inner
    layer_total = 0.0
    matmul_total = 0.0
    for name, layer in network.layers.items():
        for phase in ("forward", "backward"):
            whole = seconds.get(f"{name}.{phase}", 0.0)
            label = "matmul (forward)" if phase == "forward" else "matmuls (backward)"
            mm = seconds.get(f"{name} {label}", 0.0)
            if getattr(layer, "_matmul", None) is not None:
                out[f"{name} {label}"] = mm
                out[f"{name}.{phase} rest"] = whole - mm
            else:
                out[f"{name}.{phase}"] = whole
            layer_total += whole
            matmul_total += mm
    for phase in ("forward", "backward"):
        whole = seconds.get(f"SoftmaxWithLoss.{phase}", 0.0)
        out[f"SoftmaxWithLoss.{phase}"] = whole
        layer_total += whole
    out["network code between layers"] = seconds["loss_and_gradient"] - layer_total
    out["optimizer.update"] = seconds["optimizer.update"]
    out["loop (timers, call)"] = total - sum(parts.values())
    rows = _rows(out, steps, total)
    rows.insert(
        -1,
        {
            "part": "all matmuls",
            "us": matmul_total / steps * 1e6,
            "share": matmul_total / total,
            "summary": True,
        },
    )
    return rows


def reference_breakdown(
    x_train, t_train, *, batch_size=100, lr=0.1, steps=1000, seed=0, image_dtype="float64"
):
    """Per-part µs of the book's loop body (reference implementation)."""
    random = np.random.RandomState(seed)
    (x, t), _ = reference.book_load_mnist(
        ((x_train, t_train), (x_train[:1], t_train[:1])), image_dtype=image_dtype
    )
    network = reference.BookTwoLayerNet(x.shape[1], 50, 10, random=random)
    clock = _Clock()
    for name, layer in network.layers.items():
        clock.wrap(layer, "forward", f"{name}.forward")
        clock.wrap(layer, "backward", f"{name}.backward")
    clock.wrap(network.lastLayer, "forward", "SoftmaxWithLoss.forward")
    clock.wrap(network.lastLayer, "backward", "SoftmaxWithLoss.backward")
    parts: dict[str, float] = defaultdict(float)
    c = time.perf_counter
    n = x.shape[0]

    def one_step(record: bool):
        t0 = c()
        batch_mask = random.choice(n, batch_size)
        t1 = c()
        x_batch = x[batch_mask]
        t_batch = t[batch_mask]
        t2 = c()
        grad = network.gradient(x_batch, t_batch)
        t3 = c()
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= lr * grad[key]
        t4 = c()
        network.loss(x_batch, t_batch)
        t5 = c()
        if record:
            parts["batch draw (np.random.choice)"] += t1 - t0
            parts["batch gather"] += t2 - t1
            parts["gradient()"] += t3 - t2
            parts["params update"] += t4 - t3
            parts["second loss() for the log"] += t5 - t4

    for _ in range(100):
        one_step(False)
    start_seconds = dict(clock.seconds)
    start = c()
    for _ in range(steps):
        one_step(True)
    total = c() - start
    # the second loss() calls the forward passes too: split them out of the layer timers
    seconds = {k: v - start_seconds.get(k, 0.0) for k, v in clock.seconds.items()}
    out = {
        "batch draw (np.random.choice)": parts["batch draw (np.random.choice)"],
        "batch gather": parts["batch gather"],
    }
    forward_total = (
        sum(seconds[f"{k}.forward"] for k in network.layers) + seconds["SoftmaxWithLoss.forward"]
    )
    loss_share = parts["second loss() for the log"]
    out["gradient(): forward pass"] = forward_total - loss_share
    for name in reversed(network.layers):
        out[f"gradient(): {name}.backward"] = seconds[f"{name}.backward"]
    out["gradient(): SoftmaxWithLoss.backward"] = seconds["SoftmaxWithLoss.backward"]
    backward_total = (
        sum(seconds[f"{k}.backward"] for k in network.layers) + seconds["SoftmaxWithLoss.backward"]
    )
    out["gradient(): other"] = parts["gradient()"] - (forward_total - loss_share) - backward_total
    out["params update"] = parts["params update"]
    out["second loss() for the log"] = loss_share
    out["loop (timers)"] = total - sum(parts.values())
    return _rows(out, steps, total)


def _us(function, number: int = 2000, repeat: int = 7) -> float:
    for _ in range(number // 10):
        function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs) * 1e6


def micro_ops(x_u8, *, seed=0) -> list[dict]:
    """µs of single operations at the book's shapes (float32, batch 100), grouped in pairs."""
    from backprop.functions import sum_to

    rng = np.random.default_rng(seed)
    f32 = np.float32
    n = x_u8.shape[0]
    index = rng.choice(n, 100)
    x32_all = x_u8[: min(n, 60000)].astype(f32) / f32(255)
    x = np.divide(x_u8[index], 255, dtype=f32)
    t = rng.integers(0, 10, 100)
    W1 = (0.01 * rng.standard_normal((784, 50))).astype(f32)
    b1 = np.zeros(50, f32)
    W2 = (0.01 * rng.standard_normal((50, 10))).astype(f32)
    h = x @ W1 - f32(0.005)
    mask = h <= 0
    s = (np.maximum(h, 0) @ W2).astype(f32)
    dh = rng.standard_normal((100, 50)).astype(f32)
    g = rng.standard_normal((784, 50)).astype(f32) * f32(1e-9)
    buffer = np.empty_like(W1)
    rows_ = np.arange(100)
    W1_64 = W1.astype(np.float64)
    x_64 = x.astype(np.float64)
    dh_64 = dh.astype(np.float64)
    ops = [
        ("batch", "rng.choice(60000, 100)", lambda: rng.choice(n, 100)),
        ("batch", "rng.integers(0, 60000, 100)", lambda: rng.integers(0, n, 100)),
        ("batch", "gather uint8 rows x_u8[idx]", lambda: x_u8[index]),
        ("batch", "gather float32 rows x32[idx]", lambda: x32_all[index % len(x32_all)]),
        (
            "batch",
            "np.divide(u8, 255, dtype=f32) (as_input)",
            lambda: np.divide(x_u8[index], 255, dtype=f32),
        ),
        (
            "batch",
            "np.multiply(u8, f32(1/255), dtype=f32)",
            lambda: np.multiply(x_u8[index], f32(1 / 255), dtype=f32),
        ),
        ("batch", "u8.astype(f32) then *= 1/255 in place", lambda: _astype_scale(x_u8[index])),
        ("affine", "x @ W1 (100×784 · 784×50) f32", lambda: x @ W1),
        ("affine", "x @ W1 f64", lambda: x_64 @ W1_64),
        ("affine", "x32 @ W1_64 (mixed dtypes: no BLAS)", lambda: x @ W1_64),
        ("affine", "out = x @ W1 + b1 (new array)", lambda: x @ W1 + b1),
        ("affine", "out = x @ W1; out += b1", lambda: _matmul_add(x, W1, b1)),
        ("affine", "xᵀ @ dout → dW1 f32", lambda: x.T @ dh),
        ("affine", "dout @ W1ᵀ → dx1 f32 (skipped by compute_dx=False)", lambda: dh @ W1.T),
        ("affine", "dout @ W1ᵀ → dx1 f64 (the book computes it)", lambda: dh_64 @ W1_64.T),
        ("affine", "db = sum_to(dout, (50,))", lambda: sum_to(dh, (50,))),
        ("affine", "db = dout.sum(axis=0)", lambda: dh.sum(axis=0)),
        ("relu", "forward np.where(x <= 0, 0, x) + mask", lambda: np.where(h <= 0, f32(0), h)),
        ("relu", "forward np.maximum(x, 0)", lambda: np.maximum(h, 0)),
        ("relu", "forward mask = x <= 0 alone", lambda: h <= 0),
        ("relu", "backward np.where(mask, 0, dout)", lambda: np.where(mask, f32(0), dh)),
        ("relu", "backward dout * (out > 0)", lambda: dh * (h > 0)),
        (
            "relu",
            "backward np.multiply(dout, keep, out=)",
            lambda: np.multiply(dh, ~mask, out=buffer[:100, :50]),
        ),
        ("softmax", "np.all(np.isfinite(scores)) (100×10)", lambda: np.all(np.isfinite(s))),
        ("softmax", "z = s − max; e = exp(z); e.sum; log", lambda: _softmax_core(s)),
        ("softmax", "z[np.arange(n), t] (fancy index)", lambda: s[rows_, t]),
        (
            "softmax",
            "np.take_along_axis(z, t[:, None], 1)",
            lambda: np.take_along_axis(s, t[:, None], 1),
        ),
        ("softmax", "check_targets-like t.min()/t.max()", lambda: (t.min(), t.max())),
        ("update", "W1 -= lr * g (temporary)", lambda: np.subtract(W1, f32(0) * g, out=W1)),
        (
            "update",
            "multiply(out=buffer); subtract(out=W1)",
            lambda: (np.multiply(g, f32(0), out=buffer), np.subtract(W1, buffer, out=W1)),
        ),
        ("python", "empty Python method call", _Nothing().call),
        ("python", "np.asarray(ndarray)", lambda: np.asarray(x)),
        ("python", "int(np.prod(x.shape[1:]))", lambda: int(np.prod(x.shape[1:]))),
        ("python", "math.prod(x.shape[1:])", lambda: math.prod(x.shape[1:])),
        ("python", "float(np.float32 scalar)", lambda: float(s[0, 0])),
    ]
    return [{"group": group, "op": name, "us": _us(fn)} for group, name, fn in ops]


def _matmul_add(x, W, b):
    out = x @ W
    out += b
    return out


def _astype_scale(x_u8):
    x = x_u8.astype(np.float32)
    x *= np.float32(1 / 255)
    return x


def _softmax_core(s):
    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=1, keepdims=True)
    return e / total, np.log(total)


class _Nothing:
    def call(self):
        return None

    def __repr__(self) -> str:
        return "_Nothing()"


def cprofile_text(step, steps: int = 2000, top: int = 18) -> str:
    """cProfile of ``steps`` calls of ``step``: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs()  # file names only: no path of the machine in the report
    stats.sort_stats("tottime").print_stats(top)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start - 1 : start + top + 1] if start else lines)


def _median_seconds(function, repeat: int = 5) -> float:
    function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def conv_reference_breakdown(
    x_images, t_one_hot, *, batch_size=100, lr=0.1, steps=10, seed=0, repeat=5
) -> dict:
    """Where the book's SimpleConvNet step spends its time.

    ``layers``: each layer's forward and backward, timed over ``steps`` steps (gradient + SGD
    update) by wrapping this network's layer methods. ``operations``: the pieces of the
    convolution and pooling layers (im2col, the matrix products, col2im, max/argmax), each run
    alone on the arrays of the last step (median of ``repeat``), so they are comparable to
    the layer times but need not add up to them exactly.
    """
    from benchmarks.reference_convnet import BookSimpleConvNet, book_col2im, book_im2col

    random = np.random.RandomState(seed)
    network = BookSimpleConvNet(random=random)
    clock = _Clock()
    for name, layer in network.layers.items():
        clock.wrap(layer, "forward", f"{name}.forward")
        clock.wrap(layer, "backward", f"{name}.backward")
    clock.wrap(network.last_layer, "forward", "SoftmaxWithLoss.forward")
    clock.wrap(network.last_layer, "backward", "SoftmaxWithLoss.backward")
    n = len(x_images)

    def step():
        batch_mask = random.choice(n, batch_size)
        grads = network.gradient(x_images[batch_mask], t_one_hot[batch_mask])
        for key in network.params:
            network.params[key] -= lr * grads[key]

    step()
    clock.seconds.clear()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    total = time.perf_counter() - start
    parts = dict(clock.seconds)
    parts["batch draw, update, network code"] = total - sum(parts.values())
    layers = _rows(parts, steps, total)

    conv, pool = network.layers["Conv1"], network.layers["Pool1"]
    FN, C, FH, FW = conv.W.shape
    x, col, col_W = conv.x, conv.col, conv.col_W
    rng = np.random.default_rng(seed)
    dout = rng.standard_normal((col.shape[0], FN))
    dcol = np.dot(dout, col_W.T)
    pool_col = book_im2col(pool.x, pool.pool_h, pool.pool_w, pool.stride).reshape(
        -1, pool.pool_h * pool.pool_w
    )
    pool_dcol = rng.standard_normal((pool_col.shape[0] // C, C * pool.pool_h * pool.pool_w))
    operations = {
        "Conv1.forward: im2col": lambda: book_im2col(x, FH, FW, conv.stride, conv.pad),
        "Conv1.forward: product col · W": lambda: np.dot(col, col_W),
        "Conv1.backward: products dW = colᵀ · dout, dcol = dout · Wᵀ": lambda: (
            np.dot(col.T, dout),
            np.dot(dout, col_W.T),
        ),
        "Conv1.backward: col2im (dx, unused: the first layer)": lambda: book_col2im(
            dcol, x.shape, FH, FW, conv.stride, conv.pad
        ),
        "Pool1.forward: im2col": lambda: book_im2col(pool.x, pool.pool_h, pool.pool_w, pool.stride),
        "Pool1.forward: max and argmax": lambda: (
            np.argmax(pool_col, axis=1),
            np.max(pool_col, axis=1),
        ),
        "Pool1.backward: col2im": lambda: book_col2im(
            pool_dcol, pool.x.shape, pool.pool_h, pool.pool_w, pool.stride
        ),
    }
    step_seconds = total / steps
    ops = []
    for name, function in operations.items():
        seconds = _median_seconds(function, repeat)
        ops.append({"part": name, "us": seconds * 1e6, "share": seconds / step_seconds})
    return {"layers": layers, "operations": ops, "steps": steps}


def conv_library_breakdown(network, x_train, t_train, *, batch_size=100, steps=10, repeat=5):
    """Where the library's SimpleConvNet step spends its time: ``library_breakdown`` by layer,
    then the pieces of its convolution (``unfold``, the products) and pooling, each run alone
    on the arrays of the last step (median of ``repeat``)."""
    from backprop.im2col import unfold

    layers = library_breakdown(
        network, x_train, t_train, batch_size=batch_size, steps=steps, warmup=2
    )
    total_us = next(row["us"] for row in layers if row["part"] == "total step")
    conv, pool = network.layers["Conv1"], network.layers["Pool1"]
    FN, _, FH, FW = conv.W.shape
    x_shape, col, col_W = conv.x_shape, conv.col, conv.col_W
    x = np.random.default_rng(0).random(x_shape, dtype=np.float32)
    dout = np.ones((col.shape[0], FN, col.shape[2]), dtype=col.dtype)
    pool_x = pool.x
    pool_dout = np.ones(pool.output_shape(pool_x.shape), dtype=pool_x.dtype)
    operations = {
        "Conv1.forward: unfold (im2col, per image)": lambda: unfold(
            x, FH, FW, conv.stride, conv.pad
        ),
        "Conv1.forward: products W_col · col[n]": lambda: np.matmul(col_W, col),
        "Conv1.backward: products dW = Σ dout[n] · col[n]ᵀ": lambda: np.matmul(
            dout, col.transpose(0, 2, 1)
        ).sum(axis=0),
        "Pool1.forward: max in two rounds on views": lambda: pool.forward(pool_x),
        "Pool1.backward": lambda: pool.backward(pool_dout),
    }
    ops = []
    for name, function in operations.items():
        us = _median_seconds(function, repeat) * 1e6
        ops.append({"part": name, "us": us, "share": us / total_us})
    pool.forward(pool_x)  # leave the layer as the last step did
    return {"layers": layers, "operations": ops, "steps": steps}
