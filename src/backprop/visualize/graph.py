"""The graph of a ``Tensor`` as plain data, and the steps of its forward and backward passes.

Book: 5.1-5.3. ``build(output)`` lists the Functions in forward order, the leaves, a name for
every tensor and one edge per input of every Function. ``steps(graph)`` records, in Python,
what a learner steps through: the forward pass node by node, then the backward pass in the
order ``backward()`` used, with each node's upstream gradient (written as a sum where several
gradients arrive), its local derivative from the node class's ``rules`` with the numbers put
in, and the product. The pictures, the page and ``explain`` all read these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from backprop.autograd.core import Function, Tensor, backward_order
from backprop.visualize._format import describe, in_formula, number

__all__ = ["Block", "Edge", "Graph", "Step", "build", "collapse", "steps"]


@dataclass(eq=False)  # edges are compared by identity (x * x has two equal ones)
class Edge:
    source: str  # node id: v0.. (leaves), f0.. (Functions), "out"
    target: str
    tensor: Tensor
    grad: np.ndarray | None  # the gradient flowing back along this edge
    index: int = 0  # position in Graph.edges


@dataclass
class Graph:
    output: Tensor
    functions: list[Function]  # forward order
    leaves: list[Tensor]
    names: dict[int, str]  # id(tensor) → the name shown
    edges: list[Edge] = field(default_factory=list)
    uses: dict[int, list[Edge]] = field(default_factory=dict)  # id(tensor) → its edges

    @property
    def has_grads(self) -> bool:
        return self.output.grad is not None and all(
            f.input_grads is not None for f in self.functions
        )

    def name(self, tensor: Tensor) -> str:
        return self.names[id(tensor)]

    @property
    def size(self) -> int:
        return len(self.functions) + len(self.leaves)


def _fresh(prefix: str, taken: set[str], count: int) -> list[str]:
    if count == 1 and prefix not in taken:
        return [prefix]
    names, i = [], 1
    while len(names) < count:
        if f"{prefix}{i}" not in taken:
            names.append(f"{prefix}{i}")
        i += 1
    return names


def build(output: Tensor) -> Graph:
    """The graph that produced ``output`` (a Tensor), ready to be drawn or explained."""
    if not isinstance(output, Tensor):
        raise TypeError(f"expected a Tensor (the output of a graph), got {type(output).__name__}")
    functions = backward_order(output)[::-1]
    index = {id(f): i for i, f in enumerate(functions)}
    leaves: list[Tensor] = []
    leaf_ids: dict[int, int] = {}
    for f in functions:
        for x in f.inputs:
            if x.creator is None and id(x) not in leaf_ids:
                leaf_ids[id(x)] = len(leaves)
                leaves.append(x)
    if output.creator is None:
        leaves.append(output)
        leaf_ids[id(output)] = 0

    # Names: the tensors' own, else t/t1.. for intermediates, x1.. for unnamed variables,
    # the value for scalar constants, const1.. for array constants; L for the output.
    tensors = leaves + [f.output() for f in functions]
    taken = {t.name for t in tensors if t is not None and t.name}
    names: dict[int, str] = {}
    unnamed_mid = [f.output() for f in functions[:-1] if f.output().name is None]
    unnamed_var = [x for x in leaves if x.name is None and x.requires_grad and x is not output]
    unnamed_const = [x for x in leaves if x.name is None and not x.requires_grad and x.ndim]
    for group, prefix in ((unnamed_mid, "t"), (unnamed_var, "x"), (unnamed_const, "const")):
        for tensor, name in zip(group, _fresh(prefix, taken, len(group)), strict=True):
            names[id(tensor)] = name
    for tensor in tensors:
        if tensor is not None and id(tensor) not in names:
            names[id(tensor)] = tensor.name or (
                "L" if tensor is output else number(tensor.data)  # a scalar constant
            )

    graph = Graph(output, functions, leaves, names)
    for i, f in enumerate(functions):
        grads = f.input_grads or (None,) * len(f.inputs)
        for x, g in zip(f.inputs, grads, strict=True):
            if x.creator is not None and id(x.creator) in index:
                source = f"f{index[id(x.creator)]}"
            else:
                source = f"v{leaf_ids[id(x)]}"
            edge = Edge(source, f"f{i}", x, g if x.requires_grad else None, len(graph.edges))
            graph.edges.append(edge)
            graph.uses.setdefault(id(x), []).append(edge)
    if functions:
        graph.edges.append(
            Edge(f"f{len(functions) - 1}", "out", output, output.grad, len(graph.edges))
        )
    return graph


# ---------------------------------------------------------------------------------------------
# Big graphs: chains of operations collapsed into one node each
# ---------------------------------------------------------------------------------------------


class _NoRules:
    rules: tuple[str, ...] = ()


class Block:
    """A chain of Functions shown as one node: each one's output feeds only the next.

    Looks like a Function to the layout and the steps: ``inputs`` (the first Function's
    inputs and the variables the others take), ``input_grads``, ``output()``, ``label``.
    """

    node = _NoRules()

    def __init__(self, functions: list[Function]):
        self.functions = functions
        inputs, grads = [], []
        for k, f in enumerate(functions):
            fgrads = f.input_grads or (None,) * len(f.inputs)
            for x, g in zip(f.inputs, fgrads, strict=True):
                if k and (x.creator is functions[k - 1] or not x.requires_grad):
                    continue  # the chain itself, or a constant inside it
                inputs.append(x)
                grads.append(g)
        self.inputs = tuple(inputs)
        has_grads = all(f.input_grads is not None for f in functions)
        self.input_grads = tuple(grads) if has_grads else None
        names = [f.name for f in functions]
        self.name = names[0] if len(set(names)) == 1 else "operations"
        labels = [f.label for f in functions]
        if len(functions) == 1:
            self.label = labels[0]
        elif len(set(labels)) == 1:
            self.label = f"{labels[0]} ×{len(functions)}"
        else:
            self.label = f"{len(functions)} ops: {labels[0]} … {labels[-1]}"

    def output(self):
        return self.functions[-1].output()

    def __repr__(self) -> str:
        return f"Block({self.label!r}, {len(self.functions)} functions)"


def collapse(graph: Graph) -> Graph:
    """The graph with every chain of operations (each output used once, by the next one)
    drawn as one node; the constants inside a chain are not shown."""
    uses = {key: len(edges) for key, edges in graph.uses.items()}
    chains: list[list[Function]] = []
    chain_of: dict[int, int] = {}
    for f in graph.functions:
        previous = [
            x.creator
            for x in f.inputs
            if x.creator is not None and id(x.creator) in chain_of and uses.get(id(x), 0) == 1
        ]
        others = [x for x in f.inputs if x.creator is not None and x.creator not in previous]
        if (
            len(previous) == 1
            and not others
            and chains[chain_of[id(previous[0])]][-1] is previous[0]
        ):
            index = chain_of[id(previous[0])]
            chains[index].append(f)
        else:
            index = len(chains)
            chains.append([f])
        chain_of[id(f)] = index
    blocks = sorted(
        (Block(c) for c in chains), key=lambda b: graph.functions.index(b.functions[-1])
    )
    position = {id(b.functions[-1]): i for i, b in enumerate(blocks)}
    leaves: list[Tensor] = []
    leaf_ids: dict[int, int] = {}
    for b in blocks:
        for x in b.inputs:
            if x.creator is None and id(x) not in leaf_ids:
                leaf_ids[id(x)] = len(leaves)
                leaves.append(x)
    small = Graph(graph.output, blocks, leaves, graph.names)  # type: ignore[arg-type]
    for i, b in enumerate(blocks):
        grads = b.input_grads or (None,) * len(b.inputs)
        for x, g in zip(b.inputs, grads, strict=True):
            source = (
                f"f{position[id(x.creator)]}" if x.creator is not None else f"v{leaf_ids[id(x)]}"
            )
            edge = Edge(source, f"f{i}", x, g if x.requires_grad else None, len(small.edges))
            small.edges.append(edge)
            small.uses.setdefault(id(x), []).append(edge)
    if blocks:
        small.edges.append(
            Edge(f"f{len(blocks) - 1}", "out", graph.output, graph.output.grad, len(small.edges))
        )
    return small


# ---------------------------------------------------------------------------------------------
# The local derivative of one input, with the names and the numbers put in
# ---------------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
UPSTREAM = "∂L/∂out"
_KEEP = {"exp", "if", "else"}  # words of a rule that are not quantities


def formula(graph: Graph, f: Function, k: int, upstream: np.ndarray) -> str:
    """``∂L/∂out × apple_num = 1.1 × 2 = 2.2`` for input ``k`` of ``f``: the node's rule
    with the input names, then (when every quantity is a scalar) with the numbers."""
    grad = f.input_grads[k]
    rules = f.node.rules
    if k >= len(rules):
        return describe(grad)
    symbols = [rule.split(" = ", 1)[0].removeprefix("∂L/∂") for rule in rules]
    position = {s: i for i, s in enumerate(symbols) if i < len(f.inputs)}
    rhs = rules[k].split(" = ", 1)[1].replace(UPSTREAM, "\0")

    def name(match):
        token = match.group(0)
        return graph.name(f.inputs[position[token]]) if token in position else token

    symbolic = _IDENTIFIER.sub(name, rhs).replace("\0", UPSTREAM)

    quantities = {s: f.inputs[i].data for s, i in position.items()}
    quantities["out"] = f.output().data
    for attribute in ("c", "n"):  # Pow's exponent, Mean's count
        if hasattr(f.node, attribute):
            quantities[attribute] = np.asarray(getattr(f.node, attribute))
    tokens = set(_IDENTIFIER.findall(rhs)) - _KEEP
    scalar = np.size(upstream) == 1 and all(
        t in quantities and np.size(quantities[t]) == 1 for t in tokens
    )
    if not scalar:
        return f"{symbolic} = {describe(grad)}"

    def numeral(match):
        token = match.group(0)
        return token if token in _KEEP else in_formula(np.asarray(quantities[token]).item())

    numeric = _IDENTIFIER.sub(numeral, rhs).replace("\0", in_formula(np.asarray(upstream).item()))
    return f"{symbolic} = {numeric} = {describe(grad)}"


def sum_terms(edges: list[Edge]) -> str:
    """``-6 + (-8)``: the gradients arriving at a branch, to be added."""
    grads = [e.grad for e in edges if e.grad is not None]
    if not all(np.size(g) == 1 for g in grads):
        return " + ".join(describe(g) for g in grads)
    return " + ".join(
        number(np.sum(g)) if i == 0 else in_formula(np.sum(g)) for i, g in enumerate(grads)
    )


# ---------------------------------------------------------------------------------------------
# Steps: what the page shows, one at a time
# ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One step of the walk through the graph.

    ``phase`` is "input", "forward", "start", "backward" or "sum"; ``node`` the node that
    lights up; ``values``/``grads`` the edges whose value/gradient label appears now;
    ``parts`` what the panel says, as (key of the text table, fields) pairs, so that the
    sentence is written in each language from the same numbers.
    """

    phase: str
    node: str | None
    values: list[int] = field(default_factory=list)
    grads: list[int] = field(default_factory=list)
    parts: list[tuple[str, dict]] = field(default_factory=list)
    leaf_sum: str | None = None  # a leaf whose summed gradient appears now


def _inputs_text(graph: Graph, f: Function) -> str:
    return ", ".join(
        graph.name(x)
        if not x.requires_grad and x.ndim == 0 and x.name is None
        else f"{graph.name(x)} = {describe(x.data)}"
        for x in f.inputs
    )


def upstream_text(graph: Graph, f: Function) -> str:
    y = f.output()
    uses = graph.uses.get(id(y), [])
    text = describe(y.grad)
    if len(uses) > 1:
        text = f"{sum_terms(uses)} = {text}"
    return text


def steps(graph: Graph) -> list[Step]:
    """The forward steps (inputs first, then each node), then, when ``backward()`` has run,
    the backward steps in its order, and the sums at the leaves used more than once."""
    out_edges: dict[str, list[int]] = {}
    for edge in graph.edges:
        out_edges.setdefault(edge.source, []).append(edge.index)
    leaf_edges = [e.index for e in graph.edges if e.source.startswith("v")]
    records = [
        Step(
            "input",
            None,
            values=leaf_edges,
            parts=[
                (
                    "inputs",
                    {
                        "inputs": ", ".join(
                            graph.name(x)
                            if not x.requires_grad and x.ndim == 0 and x.name is None
                            else f"{graph.name(x)} = {describe(x.data)}"
                            for x in graph.leaves
                        )
                    },
                )
            ],
        )
    ]
    for i, f in enumerate(graph.functions):
        y = f.output()
        records.append(
            Step(
                "forward",
                f"f{i}",
                values=out_edges.get(f"f{i}", []),
                parts=[
                    (
                        "forward",
                        {
                            "op": f.name,
                            "label": f.label,
                            "inputs": _inputs_text(graph, f),
                            "name": graph.name(y),
                            "value": describe(y.data),
                        },
                    )
                ],
            )
        )
    if not graph.has_grads or not graph.functions:
        return records
    last = len(graph.edges) - 1
    records.append(
        Step(
            "start",
            "out",
            grads=[last],
            parts=[
                ("start", {"grad": describe(graph.output.grad), "out": graph.name(graph.output)})
            ],
        )
    )
    index = {id(f): i for i, f in enumerate(graph.functions)}
    in_edges: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        in_edges.setdefault(edge.target, []).append(edge)
    for f in reversed(graph.functions):  # the order backward() used
        i = index[id(f)]
        y = f.output()
        parts = [
            (
                "backward",
                {
                    "op": f.name,
                    "label": f.label,
                    "name": graph.name(y),
                    "upstream": upstream_text(graph, f),
                },
            )
        ]
        shown = []
        for k, edge in enumerate(in_edges.get(f"f{i}", [])):
            x = edge.tensor
            if x.requires_grad and f.input_grads[k] is not None:
                parts.append(
                    (
                        "line",
                        {"op": f.name, "x": graph.name(x), "formula": formula(graph, f, k, y.grad)},
                    )
                )
                shown.append(edge.index)
        records.append(Step("backward", f"f{i}", grads=shown, parts=parts))
    for j, x in enumerate(graph.leaves):
        uses = graph.uses.get(id(x), [])
        if x.requires_grad and x.grad is not None and len(uses) > 1:
            records.append(
                Step(
                    "sum",
                    f"v{j}",
                    parts=[
                        (
                            "sum",
                            {
                                "x": graph.name(x),
                                "terms": sum_terms(uses),
                                "grad": describe(x.grad),
                                "n": len(uses),
                            },
                        )
                    ],
                    leaf_sum=f"v{j}",
                )
            )
    return records
