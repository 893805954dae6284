"""PyTorch CPU float32 counterparts of the benchmarked networks (optional: ``pip install torch``).

What a PyTorch user would write: ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``,
``nn.CrossEntropyLoss``, ``torch.optim.SGD``, float32 tensors, batches drawn with
``torch.randint`` (with replacement, as the book's ``np.random.choice``), ``loss.item()`` for the
log, and evaluation under ``torch.no_grad()``. PyTorch uses as many threads as NumPy's BLAS.

``import torch`` happens inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

__all__ = [
    "available",
    "make_mlp",
    "torch_conv_step",
    "torch_info",
    "torch_step",
    "torch_train",
]


def available() -> bool:
    """Whether PyTorch is installed (without importing it: it is imported in the workers)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def torch_info() -> dict:
    import torch

    return {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(int(threads))


def _float_images(x_u8):
    """uint8 images (a read-only NumPy array is fine: it is only read) → float32 in [0, 1]."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "non-writable array": never written
        tensor = torch.from_numpy(np.asarray(x_u8))
    return tensor.float().div_(255.0)


def make_mlp(sizes, *, seed=0):
    """``Linear → ReLU → … → Linear`` for layer sizes like ``[784, 50, 10]``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    layers = []
    for i in range(1, len(sizes)):
        layers.append(nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_step(sizes, x_train_u8, t_train, *, batch_size, lr=0.1, seed=0):
    """A zero-argument callable doing one SGD step (batch draw included); returns the loss.

    The training images are converted once to a float32 tensor in [0, 1], as a PyTorch user
    would hold them.
    """
    import torch
    from torch import nn

    model = make_mlp(sizes, seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    x_train = _float_images(x_train_u8)
    t_train = torch.from_numpy(np.asarray(t_train).astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    n = x_train.shape[0]

    def step():
        batch_mask = torch.randint(0, n, (batch_size,), generator=generator)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x_batch), t_batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_conv_step(x_train_u8, t_train, *, batch_size, lr=0.1, seed=0, weight_init_std=0.01):
    """One SGD step of the book's SimpleConvNet (7.5) in float32 with ``torch.nn.functional``:
    ``conv2d`` (30 filters 5×5) → ``relu`` → ``max_pool2d`` (2×2) → ``linear`` (100) →
    ``relu`` → ``linear`` (10) → ``cross_entropy``, weights drawn as the book draws them
    (``weight_init_std · randn``). Images (N, 784) uint8 become one float32 (N, 1, 28, 28)
    tensor in [0, 1]; batches by ``torch.randint``; returns the loss."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    shapes = ((30, 1, 5, 5), (30,), (100, 30 * 12 * 12), (100,), (10, 100), (10,))
    params = [
        (weight_init_std * torch.randn(shape) if len(shape) > 1 else torch.zeros(shape))
        .float()
        .requires_grad_()
        for shape in shapes
    ]
    W1, b1, W2, b2, W3, b3 = params
    optimizer = torch.optim.SGD(params, lr=lr)
    x_train = _float_images(x_train_u8).reshape(-1, 1, 28, 28)
    t_train = torch.from_numpy(np.asarray(t_train).astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    n = x_train.shape[0]

    def step():
        batch_mask = torch.randint(0, n, (batch_size,), generator=generator)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        optimizer.zero_grad(set_to_none=True)
        h = F.max_pool2d(F.relu(F.conv2d(x_batch, W1, b1)), 2, 2)
        h = F.relu(F.linear(h.flatten(1), W2, b2))
        loss = F.cross_entropy(F.linear(h, W3, b3), t_batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _accuracy(model, x, t, chunk=10000):
    import torch

    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], chunk):
            correct += int((model(x[i : i + chunk]).argmax(dim=1) == t[i : i + chunk]).sum())
    return correct / x.shape[0]


def torch_train(raw, *, iters_num=10000, batch_size=100, learning_rate=0.1, hidden_size=50, seed=0):
    """The book's training run (10,000 iterations, per-epoch accuracy) in PyTorch."""
    import torch
    from torch import nn

    (x_train_u8, t_train_u8), (x_test_u8, t_test_u8) = raw
    x_train = _float_images(x_train_u8)
    x_test = _float_images(x_test_u8)
    t_train = torch.from_numpy(t_train_u8.astype(np.int64))
    t_test = torch.from_numpy(t_test_u8.astype(np.int64))
    model = make_mlp([x_train.shape[1], hidden_size, 10], seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size / batch_size, 1)
    losses = []
    train_accs = []
    test_accs = []

    start = time.perf_counter()
    eval_seconds = 0.0
    for i in range(iters_num):
        batch_mask = torch.randint(0, train_size, (batch_size,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x_train[batch_mask]), t_train[batch_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if i % iter_per_epoch == 0:
            eval_start = time.perf_counter()
            train_accs.append(_accuracy(model, x_train, t_train))
            test_accs.append(_accuracy(model, x_test, t_test))
            eval_seconds += time.perf_counter() - eval_start
    return {
        "loop_seconds": time.perf_counter() - start,
        "eval_seconds": eval_seconds,
        "evaluations": len(test_accs),
        "final_loss": losses[-1],
        "train_accuracy": train_accs[-1],
        "test_accuracy": test_accs[-1],
    }
