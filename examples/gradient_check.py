"""Gradient check (book 5.7.3): backpropagation against numerical differentiation.

As in the book: a ``TwoLayerNet(784, 50, 10)`` and the first 3 training images of MNIST. The
gradients of every parameter are computed twice, by backpropagation and by the slow central
difference, and compared. The report gives, per parameter, the book's figure (the mean
absolute difference), the largest relative error, where it occurs and PASS/FAIL, then how many
times faster backpropagation was.

The images come from ``backprop.datasets.load_mnist``: the full MNIST if it has been
downloaded (``backprop download``), else the MNIST sample bundled with the package, else (no
dataset module or no data) seeded random images.

Run from anywhere: ``python examples/gradient_check.py [--hidden 50] [--batch-size 3]``.
The numerical gradient of the 39,760 parameters takes some seconds.
"""

import argparse

import numpy as np

from backprop import TwoLayerNet, gradient_check


def load_batch(batch_size: int, seed: int):
    """The first ``batch_size`` MNIST training images (one-hot labels), or random ones."""
    try:
        from backprop.datasets import load_mnist
    except ImportError:
        load_mnist = None
    if load_mnist is not None:
        sources = (
            ("MNIST", {"download": False}),
            ("the MNIST sample bundled with backprop", {"sample": True}),
        )
        for name, options in sources:
            try:
                (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True, **options)
            except OSError:  # not downloaded (or damaged): try the next source
                continue
            return x_train[:batch_size], t_train[:batch_size], name
    rng = np.random.default_rng(seed)
    x_batch = rng.random((batch_size, 784))
    t_batch = np.eye(10)[rng.integers(0, 10, size=batch_size)]
    return x_batch, t_batch, f"random data (seed {seed}), MNIST not available"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=50, help="hidden size (default: 50)")
    parser.add_argument("--batch-size", type=int, default=3, help="batch size (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default: 0)")
    args = parser.parse_args()

    x_batch, t_batch, source = load_batch(args.batch_size, args.seed)
    network = TwoLayerNet(input_size=784, hidden_size=args.hidden, output_size=10, seed=args.seed)
    print(f"{network!r} on {len(x_batch)} images of {source}")

    report = gradient_check(network, x_batch, t_batch)
    print(report)  # ends with the timings: "backprop was N× faster"


if __name__ == "__main__":
    main()
