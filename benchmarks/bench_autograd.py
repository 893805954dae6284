"""Benchmark: the automatic graph (Tensor) against the layer network, on the book's network.

Book: 5.7 (TwoLayerNet, 784-50-10, a batch of 100).

Times, for ``TwoLayerNet`` (layers, fixed backward order) and ``TensorTwoLayerNet`` (the same
node classes recorded by the Tensor engine) on identical weights:

* backward: the backward pass only (the forward pass runs untimed before each call);
* step: ``loss_and_gradient`` plus an in-place SGD update, i.e. one training step.

The two are measured alternately in the same loop, so that load on the machine affects both
alike, and the medians are printed with their ratio (Tensor / layer): the engine's overhead.
BLAS is limited to ``--threads`` threads (default 1) through threadpoolctl when installed,
which makes the figures far steadier.

Run: ``python benchmarks/bench_autograd.py [--batch 100] [--repeat 300] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time

import numpy as np

from backprop.autograd.networks import TensorTwoLayerNet
from backprop.networks import TwoLayerNet


def _layer_backward(net):
    dout = net.last_layer.backward(1)
    for layer in reversed(net.layers.values()):
        dout = layer.backward(dout)


def _sgd_step(net, x, t, lr=0.1):
    _, grads = net.loss_and_gradient(x, t)
    for key, param in net.params.items():
        param -= lr * grads[key]


def bench(dtype: str, batch: int, repeat: int, seed: int = 0) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    layer_net = TwoLayerNet(784, 50, 10, seed=seed, dtype=dtype)
    tensor_net = TensorTwoLayerNet(784, 50, 10, seed=seed, dtype=dtype)
    x = rng.random((batch, 784)).astype(dtype)
    t = rng.integers(0, 10, batch)

    loss_l, grads_l = layer_net.loss_and_gradient(x, t)
    loss_t, grads_t = tensor_net.loss_and_gradient(x, t)
    assert abs(loss_l - loss_t) <= 1e-5 * abs(loss_l), (loss_l, loss_t)
    for key in grads_l:
        np.testing.assert_allclose(grads_t[key], grads_l[key], rtol=1e-4, atol=1e-6)

    times: dict[str, list[float]] = {k: [] for k in ("backward", "step")}
    results = {}
    for name in times:
        layer_times, tensor_times = [], []
        for i in range(repeat + 20):  # the first 20 are warm-up
            if name == "backward":
                layer_net.loss(x, t)
                start = time.perf_counter()
                _layer_backward(layer_net)
                layer = time.perf_counter() - start
                loss = tensor_net.loss_tensor(x, t)
                start = time.perf_counter()
                loss.backward(retain_grad=False)
                tensor = time.perf_counter() - start
            else:
                start = time.perf_counter()
                _sgd_step(layer_net, x, t)
                layer = time.perf_counter() - start
                start = time.perf_counter()
                _sgd_step(tensor_net, x, t)
                tensor = time.perf_counter() - start
            if i >= 20:
                layer_times.append(layer)
                tensor_times.append(tensor)
        results[name] = (statistics.median(layer_times), statistics.median(tensor_times))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: library default)")
    args = parser.parse_args(argv)

    limit = contextlib.nullcontext()
    note = "library default"
    if args.threads:
        try:
            from threadpoolctl import threadpool_limits

            limit = threadpool_limits(args.threads)
            note = str(args.threads)
        except ImportError:
            note = "library default (threadpoolctl not installed)"
    print(
        f"TwoLayerNet 784-50-10, batch {args.batch}, median of {args.repeat}; NumPy "
        f"{np.__version__}, Python {platform.python_version()}, BLAS threads: {note}"
    )
    print(f"{'dtype':<8} {'measure':<9} {'layer':>10} {'Tensor':>10} {'ratio':>7}")
    with limit:
        for dtype in ("float32", "float64"):
            for name, (layer, tensor) in bench(dtype, args.batch, args.repeat).items():
                print(
                    f"{dtype:<8} {name:<9} {layer * 1e6:>8.1f}µs {tensor * 1e6:>8.1f}µs "
                    f"{tensor / layer:>6.2f}×"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
