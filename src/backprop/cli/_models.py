"""``backprop train --model ...``: the networks of chapters 6-8 for the train command.

``--model multi-layer-net-extend`` (6.3-6.4, with ``--dropout``, ``--batchnorm``,
``--weight-decay``), ``simple-conv-net`` (7.5) and ``deep-conv-net`` (8.1). Without
``--model`` the train command builds its chapter 5 networks as before. The convolutional
networks default to the book's optimizer for them, Adam with lr 0.001, when ``--optimizer``
and ``--lr`` are not given.
"""

from __future__ import annotations

import argparse
import math

from backprop.convnet import DeepConvNet, SimpleConvNet
from backprop.networks import MultiLayerNetExtend

MODELS = ("multi-layer-net-extend", "simple-conv-net", "deep-conv-net")
CONV_MODELS = ("simple-conv-net", "deep-conv-net")
BOOK_CONV_OPTIMIZER = ("adam", 0.001)  # 7.5 and 8.1: Adam, lr 0.001


def add_arguments(group) -> None:
    """The options of the chapter 6-8 networks, added to the train command's network group."""
    group.add_argument(
        "--model",
        metavar="NAME",
        help=f"{', '.join(MODELS)} (default: TwoLayerNet, or MultiLayerNet per --hidden)",
    )
    group.add_argument(
        "--dropout",
        type=float,
        metavar="RATIO",
        help="dropout ratio (multi-layer-net-extend: adds Dropout layers; deep-conv-net: "
        "default 0.5)",
    )
    group.add_argument(
        "--batchnorm",
        action="store_true",
        default=None,
        help="Batch Normalization before each activation (multi-layer-net-extend)",
    )
    group.add_argument(
        "--weight-decay",
        type=float,
        metavar="LAMBDA",
        help="L2 weight decay λ (multi-layer-net-extend; default 0)",
    )


def _image_shape(input_size: int) -> tuple[int, int, int]:
    side = math.isqrt(input_size)
    if side * side != input_size:
        raise ValueError(f"the convolutional networks need square images, got {input_size} pixels")
    return (1, side, side)


def build_network(args: argparse.Namespace, s: dict, input_size: int, output_size: int, rng):
    """The network that ``--model`` asks for, or None without ``--model``.

    May set the run's optimizer and lr in ``s`` (the conv nets' book defaults) when the
    command line gives none.
    """
    model = getattr(args, "model", None)
    extras = {
        "--dropout": args.dropout,
        "--batchnorm": args.batchnorm,
        "--weight-decay": args.weight_decay,
    }
    if model is None:
        given = [name for name, value in extras.items() if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} need --model multi-layer-net-extend (or deep-conv-net "
                "for --dropout)"
            )
        return None
    if model not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if args.dropout is not None and not 0.0 <= args.dropout < 1.0:
        raise ValueError(f"--dropout must be in [0, 1), got {args.dropout:g}")
    if args.weight_decay is not None and not (
        math.isfinite(args.weight_decay) and args.weight_decay >= 0
    ):
        raise ValueError(f"--weight-decay must be ≥ 0, got {args.weight_decay:g}")
    dtype = s["dtype"]
    if model == "multi-layer-net-extend":
        return MultiLayerNetExtend(
            input_size,
            s["hidden"],
            output_size,
            activation=s["activation"],
            weight_init_std=s["activation"],
            weight_decay_lambda=args.weight_decay or 0.0,
            use_dropout=bool(args.dropout),
            dropout_ration=args.dropout or 0.5,
            use_batchnorm=bool(args.batchnorm),
            rng=rng,
            dtype=dtype,
        )
    not_here = [k for k, v in extras.items() if v is not None]
    if model == "deep-conv-net":
        not_here = [k for k in not_here if k != "--dropout"]
    if not_here:
        raise ValueError(f"{', '.join(not_here)} cannot be used with --model {model}")
    if args.hidden is not None and len(args.hidden) != 1:
        raise ValueError(f"--model {model} has one hidden layer; give one --hidden size")
    if args.optimizer is None and args.lr is None:
        s["optimizer"], s["lr"] = BOOK_CONV_OPTIMIZER
    input_dim = _image_shape(input_size)
    if model == "simple-conv-net":
        hidden = args.hidden[0] if args.hidden else 100
        return SimpleConvNet(input_dim, None, hidden, output_size, rng=rng, dtype=dtype)
    hidden = args.hidden[0] if args.hidden else 50
    ratio = 0.5 if args.dropout is None else args.dropout
    return DeepConvNet(
        input_dim,
        hidden_size=hidden,
        output_size=output_size,
        dropout_ratio=ratio,
        rng=rng,
        dtype=dtype,
    )
