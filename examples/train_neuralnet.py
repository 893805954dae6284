"""Training TwoLayerNet with backpropagation (book 5.7.4, ``ch05/train_neuralnet.py``).

The book's loop, line for line, with the library's pieces: ``load_mnist``, ``TwoLayerNet``
(784-50-10), a mini-batch drawn with ``choice``, ``network.gradient`` (backpropagation), the
update ``params[key] -= learning_rate * grad[key]`` (the library's ``SGD``), the loss of every
iteration in ``train_loss_list`` and the accuracies once per epoch in ``train_acc_list`` and
``test_acc_list``. ``backprop.training.Trainer`` runs the same steps with ``train_step``.

The data is the full MNIST if it has been downloaded (``backprop download``), else the MNIST
sample bundled with the package (10,000 training and 2,000 test images), so the script runs
offline. Randomness comes from one seeded generator, never NumPy's global state.

Run from anywhere: ``python examples/train_neuralnet.py [--iters 10000] [--sample]``.
"""

import argparse

import numpy as np

from backprop import SGD, TwoLayerNet
from backprop.datasets import load_mnist


def load_data(sample: bool):
    """MNIST as the book loads it (normalised floats, one-hot labels), and its name."""
    if not sample:
        try:
            data = load_mnist(normalize=True, one_hot_label=True, download=False)
            return data, "MNIST"
        except OSError:  # not downloaded (or damaged): the bundled sample
            pass
    data = load_mnist(normalize=True, one_hot_label=True, sample=True)
    return data, "the MNIST sample bundled with backprop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10000, help="iterations (default: 10000)")
    parser.add_argument("--sample", action="store_true", help="use the bundled MNIST sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batches")
    args = parser.parse_args()

    ((x_train, t_train), (x_test, t_test)), source = load_data(args.sample)
    rng = np.random.default_rng(args.seed)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=rng)
    print(f"{network!r} on {source}")

    # Hyperparameters (the book's)
    iters_num = args.iters
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1
    optimizer = SGD(lr=learning_rate)  # params[key] -= lr * grads[key]

    train_loss_list = []
    train_acc_list = []
    test_acc_list = []

    # Iterations per epoch (the book's max(train_size / batch_size, 1), as a whole number)
    iter_per_epoch = max(train_size // batch_size, 1)

    for i in range(iters_num):
        # A mini-batch
        batch_mask = rng.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        # The gradient by backpropagation
        grad = network.gradient(x_batch, t_batch)

        # The update
        optimizer.update(network.params, grad)

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)

        # The accuracy once per epoch
        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            print(f"train acc, test acc | {train_acc:.4f}, {test_acc:.4f}")

    print(f"final loss {np.mean(train_loss_list[-iter_per_epoch:]):.4f}")


if __name__ == "__main__":
    main()
