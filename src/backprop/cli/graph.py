"""``backprop graph``: build the computational graph of an expression, backpropagate, draw it.

Book: 5.1-5.4. ``backprop graph "(x + y) ** 2" --var x=1 --var y=2 -o graph.svg --explain``
parses the expression safely (``backprop.autograd.evaluate``: a whitelist, never ``eval``),
runs ``backward()``, prints the output and every variable's gradient, optionally explains the
chain rule node by node (``--explain``, ``--lang ko``) and writes the picture (``-o``: .svg,
.png, .dot, or ``-`` for DOT text on stdout). ``--example apple`` / ``apple-orange`` build the
book's shopping graphs instead (220 and 715).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from backprop.autograd import BOOK_EXAMPLES, book_example, evaluate
from backprop.autograd.expression import FUNCTIONS, parse_variables
from backprop.visualize import ENGINES, draw_graph, explain, save_graph


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw and explain the computational graph of an expression",
        description=(
            "Build the computational graph of an arithmetic expression, backpropagate through "
            "it and print every variable's gradient; optionally explain each node's chain rule "
            "and write the picture (values forward, gradients backward, as in the book's "
            "figures). Allowed: numbers, variables, + - * / **, unary -, and "
            f"{', '.join(FUNCTIONS)}."
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
        help="value of a variable: a number or a comma-separated vector (repeatable)",
    )
    parser.add_argument(
        "--example",
        choices=BOOK_EXAMPLES,
        help="the book's shopping graph instead of an expression (5.1: 220 and 715)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the picture: .svg or .png (Graphviz if installed, else matplotlib), .dot, "
        "or - for DOT text on stdout",
    )
    parser.add_argument(
        "--explain", action="store_true", help="explain the backward pass node by node"
    )
    parser.add_argument(
        "--lang", choices=("en", "ko"), default="en", help="language of --explain (default: en)"
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
        return f"{float(a):.6g}"
    return np.array2string(a, separator=", ", formatter={"float_kind": lambda v: f"{v:.6g}"})


def run(args: argparse.Namespace) -> int:
    if args.example and (args.expression or args.var):
        raise ValueError("give either an expression (with --var) or --example, not both")
    if not args.example and not args.expression:
        raise ValueError(
            'give an expression, e.g. backprop graph "(x + y) ** 2" --var x=1 --var y=2, or '
            f"--example {{{','.join(BOOK_EXAMPLES)}}}"
        )
    with np.errstate(all="raise"):
        try:
            if args.example:
                output, inputs = book_example(args.example)
                title = f"{output.name} = {_format(output.data)}  (book example {args.example})"
            else:
                output, inputs = evaluate(args.expression, parse_variables(args.var))
                title = f"{output.name} = {args.expression.strip()} = {_format(output.data)}"
            if output.size != 1:
                raise ValueError(
                    f"the expression's value has shape {output.shape}, not a single number; "
                    f"wrap it in sum(...) or mean(...) to backpropagate"
                )
            output.backward()
        except FloatingPointError as exc:
            raise ValueError(f"the expression cannot be computed here: {exc}") from None

    print(title)
    for name, tensor in inputs.items():
        print(f"∂{output.name}/∂{name} = {_format(tensor.grad)}")
    if args.explain:
        print()
        explain(output, args.lang)
    if args.output == "-":
        sys.stdout.write(draw_graph(output))
    elif args.output:
        engine = save_graph(output, args.output, engine=args.engine)
        how = {"graphviz": "Graphviz", "matplotlib": "matplotlib", "dot-text": "DOT text"}
        print(f"wrote {args.output} ({how[engine]})", file=sys.stderr)
    return 0
