"""Pictures and explanations of a computational graph, drawn like the book's figures.

Book: 5.1-5.3 (computational graphs with the values flowing forward above each edge and the
gradients flowing backward below it), 5.4 (the apple and apple-orange examples).

* ``draw_graph(output)`` returns the graph of a ``Tensor`` as Graphviz DOT text: a pure
  function, easy to test. Operations are nodes (×, +, **2, Affine ...); every edge carries the
  tensor flowing along it: its value above and, after ``backward()``, the gradient flowing back
  (in red) below. Variables show their names; arrays their shape and dtype, small arrays their
  values. ``draw_graph(output, "graph.svg")`` also writes the picture.
* ``save_graph(output, path)`` writes ``.dot``/``.gv`` text, or ``.svg``/``.png`` through the
  Graphviz ``dot`` program when it is installed; without it, through matplotlib in a simple
  layered layout, so a picture is always written (or an error raised, never nothing).
* ``explain(output, lang="en")`` goes through the graph in backward order and writes, node by
  node, the local derivative and the numbers of the chain rule, in English or with the Korean
  edition's terms (``lang="ko"``).

The node classes of ``backprop.layers`` supply the symbols (``label``) and the rules
(``rules``). matplotlib and Graphviz are used inside the functions that need them only.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write
from backprop.autograd.core import Function, Tensor, backward_order

__all__ = ["draw_graph", "explain", "mimebundle", "save_graph"]

ENGINES = ("auto", "graphviz", "matplotlib")
MATPLOTLIB_MAX_NODES = 300  # beyond this a matplotlib picture is unreadable anyway
SMALL_ARRAY = 6  # arrays with at most this many elements show their values

# ---------------------------------------------------------------------------------------------
# The graph as plain data: nodes, names and edges
# ---------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{float(value) + 0.0:.6g}"  # + 0.0 turns −0 into 0


def _values(a: np.ndarray) -> str:
    """A small array's values on one line, 4 significant digits: ``[[1, 2], [3, 4.5]]``."""
    if a.ndim == 0:
        return _number(a)
    text = np.array2string(
        a,
        separator=", ",
        formatter={"float_kind": lambda v: f"{v + 0.0:.4g}"},
        max_line_width=10**6,
    )
    return text.replace("\n", "")


def _describe(a) -> str:
    """A value on one line: ``2.2``; ``[1, 2] (2,) float64``; ``array (100, 50) float32``."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _number(a)
    if a.size <= SMALL_ARRAY:
        return f"{_values(a)} {a.shape} {a.dtype}"
    return f"array {a.shape} {a.dtype}"


def _value_lines(a, shape: bool = True) -> list[str]:
    """A value for an edge label: the number, or shape and dtype (and values if small).

    ``shape=False`` (for a gradient, which has its value's shape) leaves out the shape line
    of a small array."""
    a = np.asarray(a)
    if a.ndim == 0:
        return [_number(a)]
    if a.size > SMALL_ARRAY:
        return [f"{a.shape} {a.dtype}"]
    return [f"{a.shape} {a.dtype}", _values(a)] if shape else [_values(a)]


@dataclass(eq=False)  # edges are compared by identity (x * x has two equal ones)
class _Edge:
    source: str  # node id
    target: str
    tensor: Tensor
    grad: np.ndarray | None  # the gradient flowing back along this edge


@dataclass
class _Graph:
    output: Tensor
    functions: list[Function]  # forward order
    leaves: list[Tensor]
    names: dict[int, str]  # id(tensor) → the name shown
    edges: list[_Edge] = field(default_factory=list)
    uses: dict[int, list[_Edge]] = field(default_factory=dict)  # id(tensor) → its edges

    @property
    def has_grads(self) -> bool:
        return self.output.grad is not None

    def name(self, tensor: Tensor) -> str:
        return self.names[id(tensor)]


def _fresh(prefix: str, taken: set[str], count: int) -> list[str]:
    if count == 1 and prefix not in taken:
        return [prefix]
    names, i = [], 1
    while len(names) < count:
        if f"{prefix}{i}" not in taken:
            names.append(f"{prefix}{i}")
        i += 1
    return names


def _build(output: Tensor) -> _Graph:
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
                "L" if tensor is output else _number(tensor.data)  # a scalar constant
            )

    graph = _Graph(output, functions, leaves, names)
    for i, f in enumerate(functions):
        grads = f.input_grads or (None,) * len(f.inputs)
        for x, g in zip(f.inputs, grads, strict=True):
            if x.creator is not None and id(x.creator) in index:
                source = f"f{index[id(x.creator)]}"
            else:
                source = f"v{leaf_ids[id(x)]}"
            edge = _Edge(source, f"f{i}", x, g if x.requires_grad else None)
            graph.edges.append(edge)
            graph.uses.setdefault(id(x), []).append(edge)
    if functions:
        graph.edges.append(_Edge(f"f{len(functions) - 1}", "out", output, output.grad))
    return graph


# ---------------------------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _leaf_label(graph: _Graph, x: Tensor) -> str:
    label = graph.name(x)
    edges = graph.uses.get(id(x), [])
    if x.requires_grad and x.grad is not None and len(edges) > 1:  # fan-out: the sum
        label += f"\n∂L/∂{graph.name(x)} = {_describe(x.grad)}"
    return label


def _edge_label(graph: _Graph, edge: _Edge) -> str:
    x = edge.tensor
    value = _value_lines(x.data)
    if x.creator is not None and edge.target != "out":  # an intermediate: t = 3
        value[0] = f"{graph.name(x)} = {value[0]}"
    rows = [html.escape(line) for line in value]
    if edge.grad is not None:
        rows += [
            f'<font color="red">{html.escape(line)}</font>'
            for line in _value_lines(edge.grad, shape=False)
        ]
    return "<" + "<br/>".join(rows) + ">"


def _to_dot(graph: _Graph, rankdir: str) -> str:
    lines = [
        "digraph computational_graph {",
        f"  graph [rankdir={rankdir}, nodesep=0.4, ranksep=0.8];",
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    if graph.has_grads:
        lines.append(
            '  label="forward values above each edge, gradients ∂L/∂· (backward) below in red";'
        )
        lines.append("  labelloc=b; fontname=Helvetica; fontsize=10;")
    for i, x in enumerate(graph.leaves):
        style = "" if x.requires_grad else ", fontcolor=gray40"
        lines.append(f"  v{i} [label={_quote(_leaf_label(graph, x))}, shape=plaintext{style}];")
    for i, f in enumerate(graph.functions):
        label = f.label
        shape = "circle" if len(label) <= 3 else "box, style=rounded"
        lines.append(f"  f{i} [label={_quote(label)}, shape={shape}];")
    if graph.functions:
        lines.append(f"  out [label={_quote(graph.name(graph.output))}, shape=plaintext];")
    for edge in graph.edges:
        lines.append(f"  {edge.source} -> {edge.target} [label={_edge_label(graph, edge)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(output: Tensor, path=None, *, engine: str = "auto", rankdir: str = "LR") -> str:
    """The computational graph that produced ``output``, as Graphviz DOT text.

    Parameters
    ----------
    output : Tensor
        The end of the graph (usually the loss), before or after ``output.backward()``;
        gradients are shown once it has run (with ``retain_grad=True``, the default).
    path : str or Path, optional
        Also write the picture there (``.svg``, ``.png``, ``.dot`` or ``.gv``), see
        ``save_graph``.
    engine : "auto", "graphviz" or "matplotlib"
        How ``.svg``/``.png`` are drawn when ``path`` is given.
    rankdir : "LR" or "TB"
        Left to right as in the book, or top to bottom.

    Returns
    -------
    str
        The DOT text (render it with ``dot -Tsvg``).
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    dot = _to_dot(_build(output), rankdir)
    if path is not None:
        save_graph(output, path, engine=engine, rankdir=rankdir)
    return dot


# ---------------------------------------------------------------------------------------------
# Rendering: Graphviz when installed, else matplotlib
# ---------------------------------------------------------------------------------------------


def _graphviz(dot: str, fmt: str, executable: str) -> bytes:
    options = ["-Gdpi=150"] if fmt == "png" else []  # sharp enough for a README
    result = subprocess.run(
        [executable, f"-T{fmt}", *options],
        input=dot.encode("utf-8"),
        capture_output=True,
        timeout=120,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OSError(f"Graphviz dot failed: {message[0] if message else result.returncode}")
    return result.stdout


_CHAR = 0.085  # width of a character of the edge labels, in layout units (inches)


def _layout(graph: _Graph, half: dict[str, float], label_width: dict[str, float]):
    """A layered layout, left to right as in the book: ``{node: (x, y)}``.

    An operation goes one rank after its latest input, a variable one rank before its first
    use, the output last. Ranks are spaced to fit their nodes (``half``: half widths) and the
    labels of the edges leaving them (``label_width``), and placed from the output back to
    the inputs: each node as near as spacing allows to the mean height of the nodes it feeds
    (fewer crossings).
    """
    rank: dict[str, int] = {}
    successors: dict[str, list[str]] = {}
    for edge in graph.edges:
        successors.setdefault(edge.source, []).append(edge.target)
    for i in range(len(graph.functions)):
        parents = [
            rank[e.source] for e in graph.edges if e.target == f"f{i}" and e.source[0] == "f"
        ]
        rank[f"f{i}"] = 1 + max(parents, default=0)
    for i in range(len(graph.leaves)):
        rank[f"v{i}"] = min((rank[t] for t in successors.get(f"v{i}", [])), default=1) - 1
    if graph.functions:
        rank["out"] = rank[f"f{len(graph.functions) - 1}"] + 1
    columns: dict[int, list[str]] = {}
    for key in rank:
        columns.setdefault(rank[key], []).append(key)

    x_of: dict[int, float] = {}
    x, previous = 0.0, None
    for r in sorted(columns):
        width = max(half[key] for key in columns[r])
        if previous is not None:
            keys = columns[previous]
            gap = max([label_width[key] for key in keys if key in label_width] or [0.0])
            x += max(half[key] for key in keys) + max(gap, 1.0) + 0.3 + width
        x_of[r] = x
        previous = r

    height: dict[str, float] = {}
    for r in sorted(columns, reverse=True):
        wanted = {
            key: float(np.mean([height[t] for t in successors.get(key, [])] or [0.0]))
            for key in columns[r]
        }
        keys = sorted(columns[r], key=wanted.__getitem__)
        placed: list[float] = []
        for key in keys:
            placed.append(wanted[key] if not placed else max(wanted[key], placed[-1] + 1.5))
        shift = float(np.mean([wanted[k] for k in keys]) - np.mean(placed))
        for key, y in zip(keys, placed, strict=True):
            height[key] = y + shift
    return {key: (x_of[rank[key]], height[key]) for key in rank}


def _figure_lines(a, shape: bool = True) -> list[str]:
    """Like ``_value_lines``, but values of 1-D arrays only (2-D rows do not fit)."""
    a = np.asarray(a)
    return _value_lines(a, shape) if a.ndim <= 1 else [f"{a.shape} {a.dtype}"]


def _matplotlib(graph: _Graph, fmt: str) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyBboxPatch

    n_nodes = len(graph.functions) + len(graph.leaves)
    if n_nodes > MATPLOTLIB_MAX_NODES:
        raise ValueError(
            f"the graph has {n_nodes} nodes; the matplotlib drawing handles at most "
            f"{MATPLOTLIB_MAX_NODES}: install Graphviz (its dot program draws any size) or "
            f"write .dot text"
        )
    # What each node and edge shows, and how wide it is.
    texts = {f"v{i}": _leaf_label(graph, x) for i, x in enumerate(graph.leaves)}
    if graph.functions:
        texts["out"] = graph.name(graph.output)
    half = {key: _CHAR * max(map(len, text.splitlines())) / 2 + 0.1 for key, text in texts.items()}
    for i, f in enumerate(graph.functions):
        half[f"f{i}"] = 0.35 if len(f.label) <= 3 else 0.06 * len(f.label) + 0.2
    labels = []
    for edge in graph.edges:
        value = _figure_lines(edge.tensor.data)
        if edge.tensor.creator is not None and edge.target != "out":
            value[0] = f"{graph.name(edge.tensor)} = {value[0]}"
        grad = [] if edge.grad is None else _figure_lines(edge.grad, shape=False)
        labels.append(("\n".join(value), "\n".join(grad)))
    label_width: dict[str, float] = {}
    for edge, (value, grad) in zip(graph.edges, labels, strict=True):
        width = _CHAR * max(len(line) for line in (value + "\n" + grad).splitlines())
        label_width[edge.source] = max(label_width.get(edge.source, 0.0), width)
    position = _layout(graph, half, label_width)

    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    x0, x1 = min(xs) - 1.0, max(xs) + 1.0
    y0, y1 = min(ys) - 1.2, max(ys) + 1.0
    scale = min(1.0, 40 / (x1 - x0), 40 / (y1 - y0))  # inches per unit, at most 40 inches
    fig = Figure(figsize=((x1 - x0) * scale, (y1 - y0) * scale), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fontsize = max(5.0, 10 * scale)

    for i, f in enumerate(graph.functions):
        x, y = position[f"f{i}"]
        r = half[f"f{i}"]
        if len(f.label) <= 3:
            ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor="black"))
        else:
            ax.add_patch(
                FancyBboxPatch(
                    (x - r + 0.05, y - 0.25),
                    2 * r - 0.1,
                    0.5,
                    boxstyle="round,pad=0.05",
                    facecolor="white",
                    edgecolor="black",
                )
            )
        ax.text(x, y, f.label, ha="center", va="center", fontsize=fontsize * 1.2)
    for key, text in texts.items():
        x, y = position[key]
        tensor = graph.output if key == "out" else graph.leaves[int(key[1:])]
        color = "black" if tensor.requires_grad else "0.4"
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize * 1.1, color=color)

    parallel: dict[tuple[str, str], list[_Edge]] = {}
    for edge in graph.edges:
        parallel.setdefault((edge.source, edge.target), []).append(edge)
    for edge, (value, grad) in zip(graph.edges, labels, strict=True):
        (xa, ya), (xb, yb) = position[edge.source], position[edge.target]
        length = max(np.hypot(xb - xa, yb - ya), 1e-9)
        ux, uy = (xb - xa) / length, (yb - ya) / length
        start = (xa + ux * half[edge.source], ya + uy * half[edge.source])
        end = (xb - ux * half[edge.target], yb - uy * half[edge.target])
        # Bend edges that skip a rank (they would cross the nodes between) and separate
        # parallel edges (x * x): arc3's control point is the midpoint + rad × (dy, −dx).
        group = parallel[(edge.source, edge.target)]
        bend = (group.index(edge) - (len(group) - 1) / 2) * 0.7
        skips = any(xa < position[k][0] < xb for k in position)
        if skips:  # bend away from the middle row, where the nodes are
            bend += 0.25 if ya + yb < 0 else -0.25
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "black",
                "connectionstyle": f"arc3,rad={bend}",
            },
        )
        dx, dy = end[0] - start[0], end[1] - start[1]
        mx = (start[0] + end[0]) / 2 + 0.5 * bend * dy
        my = (start[1] + end[1]) / 2 - 0.5 * bend * dx
        ax.text(mx, my + 0.06, value, ha="center", va="bottom", fontsize=fontsize)
        if grad:
            ax.text(mx, my - 0.06, grad, ha="center", va="top", fontsize=fontsize, color="red")
    if graph.has_grads:
        ax.text(
            (x0 + x1) / 2,
            y0 + 0.3,
            "forward values above each edge, gradients ∂L/∂· (backward) below in red",
            ha="center",
            fontsize=fontsize * 0.9,
            color="0.3",
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def _render(output: Tensor, fmt: str, engine: str, rankdir: str) -> tuple[bytes, str]:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    graph = _build(output)
    executable = None if engine == "matplotlib" else shutil.which("dot")
    if engine == "graphviz" and executable is None:
        raise OSError(
            "Graphviz's dot program is not on PATH; install Graphviz (e.g. apt-get install "
            "graphviz, brew install graphviz) or use engine='matplotlib'"
        )
    if executable is not None:
        return _graphviz(_to_dot(graph, rankdir), fmt, executable), "graphviz"
    return _matplotlib(graph, fmt), "matplotlib"


def save_graph(output: Tensor, path, *, engine: str = "auto", rankdir: str = "LR") -> str:
    """Write the picture of the graph of ``output`` to ``path``; return the engine used.

    ``.dot``/``.gv``: the DOT text. ``.svg``/``.png``: drawn by Graphviz's ``dot`` when it is
    on PATH (``engine="auto"`` or ``"graphviz"``), otherwise by matplotlib (``"auto"`` or
    ``"matplotlib"``). Returns ``"dot-text"``, ``"graphviz"`` or ``"matplotlib"``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        with atomic_write(path, "w", encoding="utf-8") as file:
            file.write(draw_graph(output, rankdir=rankdir))
        return "dot-text"
    if suffix not in (".svg", ".png"):
        raise ValueError(
            f"cannot write a graph to {str(path)!r}: the file name must end in .svg, .png, "
            f".dot or .gv"
        )
    data, used = _render(output, suffix[1:], engine, rankdir)
    with atomic_write(path) as file:
        file.write(data)
    return used


def mimebundle(output: Tensor) -> dict[str, str]:
    """The picture of the graph for Jupyter: SVG through Graphviz, else PNG (base64).

    Empty for graphs of more than ``MATPLOTLIB_MAX_NODES`` operations, which are too big to
    look at inline (write them with ``save_graph`` instead).
    """
    if len(backward_order(output)) > MATPLOTLIB_MAX_NODES:
        return {}
    if shutil.which("dot"):
        data, _ = _render(output, "svg", "graphviz", "LR")
        return {"image/svg+xml": data.decode("utf-8")}
    data, _ = _render(output, "png", "matplotlib", "LR")
    return {"image/png": base64.b64encode(data).decode("ascii")}


# ---------------------------------------------------------------------------------------------
# explain: the chain rule, node by node
# ---------------------------------------------------------------------------------------------

_TEXT = {
    "en": {
        "title": (
            "Backpropagation through the computational graph of {out} = {value}: each node "
            "multiplies the upstream gradient ∂L/∂out by its local derivative (chain rule) and "
            "passes the product on to its inputs."
        ),
        "start": "start: ∂L/∂L = {grad}",
        "output_is": "  (L is the output {out})",
        "header": "{op} node ({label}): {inputs} → out {name} = {value}; upstream ∂L/∂out = "
        "{upstream}",
        "line": "  {op}: ∂L/∂{x} = {formula}",
        "result": "result: ",
        "uses": " (used {n} times: {terms})",
        "no_inputs": "no inputs",
    },
    "ko": {
        "title": (
            "계산 그래프 {out} = {value}의 역전파(backpropagation): 각 노드는 상류에서 "
            "전해진 기울기 ∂L/∂out에 그 노드의 국소적 미분을 곱해 하류(입력 쪽)로 "
            "전달합니다 (연쇄법칙)."
        ),
        "start": "시작: ∂L/∂L = {grad}",
        "output_is": "  (L은 출력 {out})",
        "header": "{op} ({label}): 입력 {inputs} → 출력 {name} = {value}, 상류 기울기 "
        "∂L/∂out = {upstream}",
        "line": "  {op}: ∂L/∂{x} = {formula}",
        "result": "결과: ",
        "uses": " ({n}곳에서 쓰여 기울기를 더함: {terms})",
        "no_inputs": "입력 없음",
    },
}

_OP_NAMES = {
    "en": {},  # the Function's own name: add, mul, pow, ...
    "ko": {
        "add": "덧셈 노드",
        "sub": "뺄셈 노드",
        "mul": "곱셈 노드",
        "div": "나눗셈 노드",
        "neg": "부호 반전 노드",
        "pow": "거듭제곱 노드",
        "matmul": "행렬 곱 노드",
        "exp": "exp 노드",
        "log": "log 노드",
        "tanh": "tanh 노드",
        "relu": "ReLU 계층",
        "sigmoid": "Sigmoid 계층",
        "sum": "합 노드",
        "mean": "평균 노드",
        "reshape": "형상 변환 노드",
        "transpose": "전치 노드",
        "affine": "Affine 계층",
        "softmax_cross_entropy": "Softmax-with-Loss 계층",
        "mean_squared_error": "오차제곱합 노드",
    },
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UPSTREAM = "∂L/∂out"
_KEEP = {"exp", "if", "else"}  # words of a rule that are not quantities


def _in_formula(value) -> str:
    text = _number(value)
    return f"({text})" if text.startswith("-") else text


def _formula(graph: _Graph, f: Function, k: int, upstream: np.ndarray) -> str:
    """``∂L/∂out × apple_num = 1.1 × 2 = 2.2`` for input ``k`` of ``f``: the node's rule
    with the input names, then (when every quantity is a scalar) with the numbers."""
    grad = f.input_grads[k]
    rules = f.node.rules
    if k >= len(rules):
        return _describe(grad)
    symbols = [rule.split(" = ", 1)[0].removeprefix("∂L/∂") for rule in rules]
    position = {s: i for i, s in enumerate(symbols) if i < len(f.inputs)}
    rhs = rules[k].split(" = ", 1)[1].replace(_UPSTREAM, "\0")

    def name(match):
        token = match.group(0)
        return graph.name(f.inputs[position[token]]) if token in position else token

    symbolic = _IDENTIFIER.sub(name, rhs).replace("\0", _UPSTREAM)

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
        return f"{symbolic} = {_describe(grad)}"

    def number(match):
        token = match.group(0)
        return token if token in _KEEP else _in_formula(np.asarray(quantities[token]).item())

    numeric = _IDENTIFIER.sub(number, rhs).replace("\0", _in_formula(np.asarray(upstream).item()))
    return f"{symbolic} = {numeric} = {_describe(grad)}"


def _sum_terms(edges: list[_Edge]) -> str:
    """``-6 + (-8)``: the gradients arriving at a branch, to be added."""
    grads = [e.grad for e in edges if e.grad is not None]
    if not all(np.size(g) == 1 for g in grads):
        return " + ".join(_describe(g) for g in grads)
    return " + ".join(
        _number(np.sum(g)) if i == 0 else _in_formula(np.sum(g)) for i, g in enumerate(grads)
    )


def explain(output: Tensor, lang: str = "en", *, echo: bool = True) -> str:
    """Explain the backward pass of ``output``'s graph node by node, with the numbers.

    Call ``output.backward()`` first (with ``retain_grad=True``, the default). Nodes come in
    backward order; for each input of a node the line gives its local rule from
    ``backprop.layers`` with the variables' names and, for scalars, the numbers::

        mul: ∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2

    Parameters
    ----------
    output : Tensor
    lang : "en" or "ko"
        English, or Korean with the Korean edition's terms (국소적 미분, 상류, 연쇄법칙,
        덧셈 노드, 곱셈 노드, ...).
    echo : bool
        Also print the text (default).

    Returns
    -------
    str
        The explanation, one line per step.
    """
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {', '.join(_TEXT)}, got {lang!r}")
    graph = _build(output)
    if not graph.functions:
        raise ValueError("explain: the output is a leaf; there is no operation to explain")
    if output.grad is None or any(f.input_grads is None for f in graph.functions):
        raise ValueError(
            "explain: the graph has no gradients yet; call output.backward() first (with "
            "retain_grad=True, the default), then explain(output)"
        )
    text, op_names = _TEXT[lang], _OP_NAMES[lang]
    out_name = graph.name(output)
    lines = [
        text["title"].format(out=out_name, value=_describe(output.data)),
        text["start"].format(grad=_describe(output.grad))
        + ("" if out_name == "L" else text["output_is"].format(out=out_name)),
    ]
    for f in reversed(graph.functions):
        op = op_names.get(f.name, f.name)
        y = f.output()
        upstream = y.grad
        uses = graph.uses.get(id(y), [])
        upstream_text = _describe(upstream)
        if len(uses) > 1:
            upstream_text = f"{_sum_terms(uses)} = {upstream_text}"
        inputs = ", ".join(
            graph.name(x)
            if not x.requires_grad and x.ndim == 0 and x.name is None
            else f"{graph.name(x)} = {_describe(x.data)}"
            for x in f.inputs
        )
        lines.append(
            text["header"].format(
                op=op,
                label=f.label,
                inputs=inputs or text["no_inputs"],
                name=graph.name(y),
                value=_describe(y.data),
                upstream=upstream_text,
            )
        )
        for k, x in enumerate(f.inputs):
            if x.requires_grad and f.input_grads[k] is not None:
                formula = _formula(graph, f, k, upstream)
                lines.append(text["line"].format(op=op, x=graph.name(x), formula=formula))
    results = []
    for x in graph.leaves:
        if x.requires_grad and x.grad is not None:
            item = f"∂L/∂{graph.name(x)} = {_describe(x.grad)}"
            uses = graph.uses.get(id(x), [])
            if len(uses) > 1:
                item += text["uses"].format(n=len(uses), terms=_sum_terms(uses))
            results.append(item)
    lines.append(text["result"] + ", ".join(results))
    explanation = "\n".join(lines)
    if echo:
        print(explanation, file=sys.stdout)
    return explanation
