"""``backprop predict MODEL IMAGE``: which digit is in a photo or drawing.

The image is prepared like MNIST (:func:`backprop.images.load_digit_image`: grayscale,
inverted if the background is light, cropped to the digit, scaled into a 20×20 box, centred
by its centre of mass in 28×28), then the network's softmax probabilities are printed, one
line per class, and the predicted class last. Reading images needs Pillow
(``pip install 'backprop[image]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from backprop.checkpoint import load_checkpoint
from backprop.cli._common import class_names
from backprop.functions import softmax
from backprop.images import load_digit_image


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="recognise the digit in an image with a saved model",
        description=(
            "Prepare an image of one digit like MNIST (grayscale, inverted if the background "
            "is light, cropped, scaled to 20x20, centred in 28x28) and print the model's "
            "probability for every class. Needs Pillow: pip install 'backprop[image]'."
        ),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    parser.add_argument("image", type=Path, metavar="IMAGE", help="PNG, JPEG, ... of one digit")
    parser.add_argument(
        "--invert",
        default="auto",
        metavar="WHEN",
        help="auto (invert when the background is light), yes or no (default: auto)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.model)
    network = checkpoint.network
    input_size = network.input_size
    if input_size != 28 * 28:
        raise ValueError(
            f"{args.model}: the network takes {input_size} inputs, not 28×28 = 784 pixels"
        )
    try:
        x = load_digit_image(args.image, invert=args.invert)
    except ModuleNotFoundError as exc:
        print(f"backprop predict: error: {exc}", file=sys.stderr)
        return 2
    scores = network.predict(x.reshape(1, -1).astype(network.dtype))
    probabilities = softmax(scores.astype(np.float64))[0]
    names = class_names(checkpoint.metadata.get("dataset"), len(probabilities))
    best = int(np.argmax(probabilities))
    width = max(len(name) for name in names)
    for i, p in enumerate(probabilities):
        bar = "#" * round(p * 40)
        print(f"{names[i]:>{width}}  {p:6.4f}  {bar}")
    kind = "digit" if names == [str(i) for i in range(10)] else "class"
    print(f"predicted {kind} {names[best]} (probability {probabilities[best]:.4f})")
    return 0
