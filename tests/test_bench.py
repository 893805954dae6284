"""The benchmark suite in its smoke mode: it runs to the end and prints its table.

No timing is asserted anywhere: the figures of a smoke run mean nothing, and a unit test must
not depend on how busy the machine is. The full benchmark is ``python -m benchmarks`` from the
root of a checkout (``benchmarks/`` is not installed with the package; pytest runs from the root).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from benchmarks import cli, report
from benchmarks.data import read_idx, synthetic_data
from benchmarks.library import book_call_step, library_step
from benchmarks.numpy_impl import NumpyMLP, numpy_call_step, step_flops
from benchmarks.reference import BookTwoLayerNet, book_one_hot
from benchmarks.reference_convnet import BookSimpleConvNet, book_col2im, book_im2col
from benchmarks.timing import interleave


@pytest.mark.slow
def test_smoke_run_completes_and_prints_a_table(tmp_path, capsys):
    code = cli.main(["--smoke", "--no-torch", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "| contender | median µs/step |" in out
    assert "## 1. Book-config training step" in out
    assert "## 1b. Book call" in out
    assert "| book call, float32 batches (section 1b) |" in out
    assert "## 7. SimpleConvNet step" in out
    assert "`library-conv`" in out  # its figures, or "not available" without SimpleConvNet
    assert "| Conv1.backward: col2im (dx, unused: the first layer) |" in out
    assert "## 7b." not in out  # the SimpleConvNet runs only when asked for
    assert "## 2. Full book run" in out
    assert (tmp_path / "results.md").read_text(encoding="utf-8") in out
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["smoke"] is True
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _full_disk(fd):
    raise OSError("disk full")


def test_failed_report_write_keeps_the_previous_files(tmp_path, monkeypatch):
    previous = {name: f"previous {name}".encode() for name in ("results.md", "results.json")}
    for name, data in previous.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.setattr(cli, "run", lambda args: {"smoke": True})
    monkeypatch.setattr(report, "markdown", lambda results: "| table |")
    monkeypatch.setattr(report, "chart", lambda results, path: None)
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError, match="disk full"):
        cli.main(["--quiet", "--out", str(tmp_path)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == previous


def test_failed_chart_write_keeps_the_previous_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "chart.png"
    path.write_bytes(b"previous chart")
    results = {
        "book_step": {"median_us": {"library": 10.0, "reference": 20.0}},
        "machine": {"cpu": "test CPU", "cpus": 1},
    }
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError, match="disk full"):
        report.chart(results, path)
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]
    assert path.read_bytes() == b"previous chart"
    monkeypatch.undo()
    assert report.chart(results, path) == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_section_is_a_usage_error(tmp_path, capsys):
    code = cli.main(["--smoke", "--only", "nonsense", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown sections" in capsys.readouterr().err


def test_interleave_times_blocks_after_an_untimed_step_in_a_new_order_each_round():
    calls = []
    names = "abc"
    timings = interleave(
        {name: (lambda name=name: calls.append(name)) for name in names},
        rounds=12,
        block=2,
        warmup=0,
    )
    # each block: one untimed step, then two timed ones, of the same contender
    blocks = ["".join(calls[i : i + 3]) for i in range(0, len(calls), 3)]
    assert len(blocks) == 12 * 3
    assert all(len(set(block)) == 1 for block in blocks)
    orders = ["".join(block[0] for block in blocks[r * 3 : r * 3 + 3]) for r in range(12)]
    assert all(sorted(order) == list(names) for order in orders)  # each once per round
    # no contender always follows the same one (a rotation would keep "a" after "c")
    after_c = {order[order.index("c") + 1] for order in orders if order[-1] != "c"}
    assert after_c == {"a", "b"}
    assert len(timings.per_round["a"]) == 12
    assert timings.ratio("a", "b") > 0


def test_interleave_asks_a_remote_contender_for_the_untimed_step_too():
    class Remote:
        remote = True

        def __init__(self):
            self.asked = []

        def block(self, steps, *, lead=0):
            self.asked.append((steps, lead))
            return 1.0

    remote = Remote()
    timings = interleave({"r": remote, "a": lambda: None}, rounds=3, block=4, warmup=1, settle=0)
    assert remote.asked == [(4, 0)] + [(4, 1)] * 3  # the warm-up block, then one per round
    assert timings.per_round["r"] == [1.0, 1.0, 1.0]


def test_reference_gradient_matches_the_library(rng):
    """The book-style reference computes the same gradients as TwoLayerNet."""
    from backprop.networks import TwoLayerNet

    net = TwoLayerNet(6, 5, 3, seed=1)
    ref = BookTwoLayerNet(6, 5, 3, random=np.random.RandomState(0))
    for key in ref.params:
        ref.params[key][...] = net.params[key]
    x = rng.random((4, 6))
    t = rng.integers(0, 3, 4)
    ours = net.gradient(x, t)
    theirs = ref.gradient(x, np.eye(3)[t])
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, atol=1e-12)


def test_book_call_is_the_books_loop_body(rng):
    """gradient + update on x_train[batch_mask]: the same weights as the book's loop."""
    from backprop.networks import TwoLayerNet

    net = TwoLayerNet(6, 5, 3, seed=1)
    ref = BookTwoLayerNet(6, 5, 3, random=np.random.RandomState(0))
    for key in ref.params:
        ref.params[key][...] = net.params[key]
    x = rng.random((20, 6))
    t = rng.integers(0, 3, 20)
    step = book_call_step(net, x, t, batch_size=4, lr=0.1, seed=7)
    random = np.random.RandomState(7)
    for _ in range(3):
        step()
        batch_mask = random.choice(20, 4)
        grad = ref.gradient(x[batch_mask], np.eye(3)[t[batch_mask]])
        for key in ref.params:
            ref.params[key] -= 0.1 * grad[key]
    for key in ref.params:
        np.testing.assert_allclose(net.params[key], ref.params[key], rtol=1e-10, atol=1e-12)


def test_numpy_call_floor_takes_the_same_steps_as_the_book_call(rng):
    """The plain NumPy floor of section 1b draws the same batches and trains the same net."""
    from backprop.networks import TwoLayerNet

    net = TwoLayerNet(6, 5, 3, seed=1, dtype="float32")
    floor = NumpyMLP([6, 5, 3], seed=1)
    for i, key in enumerate(("W1", "W2")):
        np.testing.assert_array_equal(floor.W[i], net.params[key])
    x = rng.random((20, 6)).astype(np.float32)
    t = rng.integers(0, 3, 20)
    ours = book_call_step(net, x, t, batch_size=4, lr=0.1, seed=7)
    plain = numpy_call_step(floor, x, t, batch_size=4, lr=0.1, seed=7)
    for _ in range(3):
        ours()
        plain()
    for i, (w, b) in enumerate((("W1", "b1"), ("W2", "b2"))):
        np.testing.assert_allclose(floor.W[i], net.params[w], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(floor.b[i], net.params[b], rtol=1e-5, atol=1e-6)


def test_library_step_is_one_train_step_on_a_uint8_batch(rng):
    """The first batch of a shuffled epoch, x / 255, one SGD step: as the book computes it."""
    from backprop.networks import TwoLayerNet

    x = rng.integers(0, 256, (30, 6), dtype=np.uint8)
    t = rng.integers(0, 3, 30).astype(np.uint8)
    net = TwoLayerNet(6, 5, 3, seed=1, dtype="float32")
    ref = BookTwoLayerNet(6, 5, 3, random=np.random.RandomState(0))
    for key in ref.params:
        ref.params[key][...] = net.params[key]
    loss = library_step(net, x, t, batch_size=10, lr=0.1, seed=3)()
    index = np.random.default_rng(3).permutation(30)[:10]
    x_batch, t_batch = x[index] / 255.0, np.eye(3)[t[index]]
    assert isinstance(loss, float)
    assert loss == pytest.approx(ref.loss(x_batch, t_batch), rel=1e-5)
    grad = ref.gradient(x_batch, t_batch)
    for key in ref.params:
        assert net.params[key].dtype == np.float32
        expected = ref.params[key] - 0.1 * grad[key]
        np.testing.assert_allclose(net.params[key], expected, rtol=1e-5, atol=1e-6)


def test_book_col2im_is_the_adjoint_of_im2col(rng):
    """<im2col(x), c> = <x, col2im(c)>: col2im adds every window back where im2col took it."""
    x = rng.standard_normal((2, 3, 7, 6))
    for filter_h, filter_w, stride, pad in ((3, 3, 1, 0), (2, 2, 2, 0), (3, 2, 2, 1)):
        col = book_im2col(x, filter_h, filter_w, stride, pad)
        c = rng.standard_normal(col.shape)
        back = book_col2im(c, x.shape, filter_h, filter_w, stride, pad)
        assert back.shape == x.shape
        assert np.sum(col * c) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_book_simple_convnet_gradient_matches_the_numerical_gradient(rng):
    conv_param = {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1}
    net = BookSimpleConvNet(
        (1, 6, 6), conv_param, 4, 3, weight_init_std=0.5, random=np.random.RandomState(0)
    )
    x = rng.random((3, 1, 6, 6))
    t = book_one_hot(rng.integers(0, 3, 3), classes=3)
    grads = net.gradient(x, t)
    for key, param in net.params.items():
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            kept = param[i]
            param[i] = kept + 1e-5
            plus = net.loss(x, t)
            param[i] = kept - 1e-5
            minus = net.loss(x, t)
            param[i] = kept
            numeric[i] = (plus - minus) / 2e-5
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8, err_msg=key)


def test_step_flops_counts_no_input_gradient_for_the_first_layer():
    # forward 2·N·(D·H + H·C); backward dW both layers, dx only of the second
    assert step_flops([784, 50, 10], 100) == 2 * 100 * (784 * 50 * 2 + 50 * 10 * 3)


def test_read_idx_round_trip(tmp_path):
    (x, _labels), _ = synthetic_data(5, 1, features=4)
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(
        b"\x00\x00\x08\x03"
        + (5).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
        + x.tobytes()
    )
    np.testing.assert_array_equal(read_idx(path), x.reshape(5, 2, 2))


@pytest.mark.slow
def test_smoke_book_step_and_call_with_the_pytorch_worker(tmp_path, capsys, torch):
    code = cli.main(["--smoke", "--only", "book,call", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    call = out[out.index("## 1b. Book call") :]
    assert "`torch-f32`" in out[: out.index("## 1b. Book call")]
    assert "`torch-f32`" in call
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert "call-32/torch-f32" in results["book_call"]["ratios"]
