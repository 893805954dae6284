"""Gradient check (book 5.7.3): backpropagation against numerical differentiation.

As in the book: a ``TwoLayerNet(784, 50, 10)`` and the first 3 training images of MNIST. The
gradients of every parameter are computed twice, by backpropagation and by the slow central
difference, and compared. The report gives, per parameter, the book's figure (the mean
absolute difference), the largest relative error, where it occurs and PASS/FAIL, then how many
times faster backpropagation was.

The images come from ``backprop.datasets.load_mnist``: the full MNIST if it has been
downloaded (``backprop download``), else the MNIST sample bundled with the package. They are
loaded as uint8 pixels and only the batch is converted to float64 in [0, 1].

Run from anywhere: ``python examples/gradient_check.py [--hidden 50] [--batch-size 3]``.
The numerical gradient of the 39,760 parameters takes some seconds.
"""

import argparse

import numpy as np

from backprop import TwoLayerNet, gradient_check
from backprop.datasets import load_mnist


def load_batch(batch_size: int):
    """The first ``batch_size`` MNIST training images (float64 in [0, 1], one-hot labels)."""
    try:
        (x_train, t_train), _ = load_mnist(normalize=False, dtype=np.uint8, download=False)
        source = "MNIST"
    except OSError:  # not downloaded (or damaged): the sample bundled with the package
        (x_train, t_train), _ = load_mnist(normalize=False, dtype=np.uint8, sample=True)
        source = "the MNIST sample bundled with backprop"
    x_batch = x_train[:batch_size] / 255  # only the batch in float64, not all 60,000 images
    t_batch = np.eye(10)[t_train[:batch_size]]
    return x_batch, t_batch, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=50, help="hidden size (default: 50)")
    parser.add_argument("--batch-size", type=int, default=3, help="batch size (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default: 0)")
    args = parser.parse_args()

    x_batch, t_batch, source = load_batch(args.batch_size)
    network = TwoLayerNet(input_size=784, hidden_size=args.hidden, output_size=10, seed=args.seed)
    print(f"{network!r} on {len(x_batch)} images of {source}")

    report = gradient_check(network, x_batch, t_batch)
    print(report)  # ends with the timings: "backprop was N× faster"


if __name__ == "__main__":
    main()
