"""``backprop graph``: build the computational graph of an expression, backpropagate, draw it.

Book: 5.1-5.6, Appendix A. ``backprop graph "(x + y) ** 2" --var x=1 --var y=2 -o graph.html
--explain`` parses the expression safely (``backprop.autograd.evaluate``: a whitelist, never
``eval``), runs ``backward()``, prints the output and every variable's gradient, optionally
explains the chain rule node by node (``--explain``, ``--lang ko``) and writes the pictures
(``-o``, repeatable: .html, the step-through page; .svg, .png, .dot; or ``-`` for DOT text
alone on stdout, the summary then going to stderr). ``--example NAME`` builds one of the
book's graphs instead (the shopping graphs, ReLU, Sigmoid, Affine, Softmax-with-Loss, a
two-layer net on one MNIST image), with ``--var`` and ``--seed`` setting its numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from backprop.autograd import evaluate
from backprop.autograd.expression import EXAMPLES, FUNCTIONS, example, parse_variables
from backprop.visualize import (
    ENGINES,
    PAGE_MAX_NODES,
    PICTURE_SUFFIXES,
    draw_graph,
    explain,
    save_graph,
)
from backprop.visualize._format import write_text
from backprop.visualize.graph import build
from backprop.visualize.page import shown_graph


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw, explain and step through the computational graph of an expression",
        description=(
            "Build the computational graph of an arithmetic expression, backpropagate through "
            "it and print every variable's gradient; optionally explain each node's chain rule "
            "and write the pictures (values forward, gradients backward, as in the book's "
            "figures) or the step-through page (.html). Allowed: numbers, variables, "
            f"+ - * / **, unary -, and {', '.join(FUNCTIONS)}."
        ),
    )
    parser.add_argument(
        "expression", nargs="?", help='the expression, e.g. "(x + y) ** 2" (quote it)'
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a variable: a number or a comma-separated vector (repeatable); with "
        "--example, the example's inputs (e.g. x=1,-2,3 or dout=...)",
    )
    parser.add_argument(
        "--example",
        choices=EXAMPLES,
        help="one of the book's graphs instead of an expression: the shopping graphs (5.1), "
        "relu, sigmoid, sigmoid-node (5.5), affine, softmax-with-loss (5.6, Appendix A), "
        "two-layer-net (one MNIST image)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the example's random inputs and weights (default: 0)",
    )
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="PATH",
        help="write the graph (repeatable): .html (step-through page), .svg or .png "
        "(Graphviz if installed, else matplotlib), .dot, or - for DOT text alone on stdout",
    )
    parser.add_argument(
        "--explain", action="store_true", help="explain the backward pass node by node"
    )
    parser.add_argument(
        "--lang",
        choices=("en", "ko"),
        default="en",
        help="language of --explain and of the page (default: en)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="how .svg/.png are drawn (default: auto = Graphviz if installed, else matplotlib)",
    )
    parser.set_defaults(func=run)


def _format(a: np.ndarray) -> str:
    if a.ndim == 0:
        return f"{float(a) + 0.0:.6g}"
    if a.size > 12:
        return f"array {a.shape} {a.dtype}, |max| {np.abs(a).max():.4g}"
    return np.array2string(a, separator=", ", formatter={"float_kind": lambda v: f"{v + 0.0:.6g}"})


def check_output(path: str) -> Path:
    """The output path, if it can be written: a known suffix, in a folder that exists and is
    writable; else a one-line error before anything is computed or written."""
    target = Path(path)
    if target.suffix.lower() not in PICTURE_SUFFIXES:
        raise ValueError(
            f"cannot write a graph to {path!r}: the file name must end in "
            f"{', '.join(PICTURE_SUFFIXES)} (or give - for DOT text on stdout)"
        )
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {path}: the folder {str(folder)!r} is not writable")
    if target.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder")
    return target


def run(args: argparse.Namespace) -> int:
    if args.example and args.expression:
        raise ValueError("give either an expression (with --var) or --example, not both")
    if not args.example and not args.expression:
        raise ValueError(
            'give an expression, e.g. backprop graph "(x + y) ** 2" --var x=1 --var y=2, or '
            f"--example {{{','.join(EXAMPLES)}}}"
        )
    outputs = [o if o == "-" else check_output(o) for o in args.output]
    if outputs.count("-") > 1:
        raise ValueError("-o - (DOT text on stdout) can be given once")
    variables = parse_variables(args.var)
    note = ""
    with np.errstate(all="raise"):
        try:
            if args.example:
                built = example(args.example, variables, args.seed)
                output, inputs, note = built.output, built.inputs, built.note
                title = f"{output.name} = {_format(output.data)}  ({built.title})"
                built.backward()
            else:
                output, inputs = evaluate(args.expression, variables)
                title = f"{output.name} = {args.expression.strip()} = {_format(output.data)}"
                if output.size != 1:
                    raise ValueError(
                        f"the expression's value has shape {output.shape}, not a single "
                        f"number; wrap it in sum(...) or mean(...) to backpropagate"
                    )
                output.backward()
        except FloatingPointError as exc:
            raise ValueError(f"the expression cannot be computed here: {exc}") from None

    # With -o -, stdout carries the DOT text alone (to pipe into dot); the rest goes to stderr.
    summary = sys.stderr if "-" in outputs else sys.stdout
    lines = [title]
    loss = output.name if output.size == 1 else "L"
    lines += [f"∂{loss}/∂{name} = {_format(tensor.grad)}" for name, tensor in inputs.items()]
    if note:
        lines.append(note)
    write_text("\n".join(lines) + "\n", summary)
    if args.explain:
        write_text("\n" + explain(output, args.lang, echo=False) + "\n", summary)
    graph = build(output)
    mode = shown_graph(graph)[1]
    if mode != "full" and any(t != "-" and t.suffix == ".html" for t in outputs):
        how = (
            "its chains of operations are drawn collapsed, one node each"
            if mode == "collapsed"
            else "the page lists the steps without the picture"
        )
        write_text(
            f"backprop graph: the graph has {graph.size} nodes, too many to draw on the page "
            f"(at most {PAGE_MAX_NODES}); {how}\n",
            sys.stderr,
        )
    for target in outputs:
        if target == "-":
            write_text(draw_graph(output), sys.stdout)
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            how = save_graph(
                output,
                target,
                engine=args.engine,
                lang=args.lang,
                title=title,
                note=note,
            )
        for warning in caught:
            write_text(f"backprop graph: {warning.message}\n", sys.stderr)
        words = {
            "graphviz": "Graphviz",
            "matplotlib": "matplotlib",
            "dot-text": "DOT text",
            "page": "step-through page",
        }
        write_text(f"wrote {target} ({words[how]})\n", sys.stderr)
    return 0
