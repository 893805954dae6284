"""DOT text and pictures of a graph: Graphviz when installed, else matplotlib; one layout.

``draw_graph`` returns Graphviz DOT text, a pure function. For graphs up to
``LAYOUT_MAX_NODES`` nodes the DOT pins every node, every bend of every edge and every label
where ``layout.compute`` put them (``layout=neato`` with fixed positions), so ``dot`` draws
exactly the picture that matplotlib and the HTML page draw: same ranks, same order of inputs,
no label on a line. Bigger graphs get plain DOT that Graphviz lays out itself.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
import warnings
from itertools import pairwise
from pathlib import Path

from backprop._atomic import atomic_write
from backprop.autograd.core import Tensor
from backprop.visualize import layout as _layout
from backprop.visualize.graph import Graph, build

__all__ = [
    "ENGINES",
    "LAYOUT_MAX_NODES",
    "MATPLOTLIB_MAX_NODES",
    "draw_graph",
    "graphviz_timeout",
    "save_graph",
]

ENGINES = ("auto", "graphviz", "matplotlib")
LAYOUT_MAX_NODES = 400  # beyond this Graphviz lays the graph out itself
MATPLOTLIB_MAX_NODES = 300  # beyond this a matplotlib picture is unreadable anyway
LEGEND = "forward values above each edge, gradients ∂L/∂· (backward) below in red"
FONT = "DejaVu Sans Mono,Menlo,Consolas,monospace"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _inches(points: float) -> str:
    return f"{points / 72:.3f}"


def _pinned_dot(graph: Graph, lay: _layout.Layout) -> str:
    height = lay.height

    def pos(x: float, y: float) -> str:
        return f'"{x:.1f},{height - y:.1f}!"'

    lines = [
        "digraph computational_graph {",
        "  graph [layout=neato, inputscale=72, splines=false, outputorder=edgesfirst, "
        "pad=0.1, bgcolor=white];",
        f'  node [fontname="{FONT}", fontsize={_layout.FONT_SIZE:g}, fixedsize=true];',
        "  edge [arrowsize=0.7];",
    ]
    if graph.has_grads:
        lines.append(f'  label="{LEGEND}"; labelloc=b; fontsize=10; fontname="{FONT}";')
    for key in lay.order:
        node = lay.nodes[key]
        size = f"width={_inches(node.w)}, height={_inches(node.h)}"
        label = _quote("\n".join(node.lines))
        if node.kind == "op":
            shape = "circle" if node.circle else "box, style=rounded"
            lines.append(
                f"  {key} [label={label}, shape={shape}, fontsize={_layout.OP_FONT:g}, "
                f"pos={pos(node.x, node.y)}, {size}];"
            )
        else:
            color = ", fontcolor=gray40" if node.kind == "const" else ""
            if node.sum_line:
                rows = [html.escape(node.lines[0])] + [
                    f'<font color="red">{html.escape(line)}</font>' for line in node.lines[1:]
                ]
                label = "<" + "<br/>".join(rows) + ">"
            lines.append(
                f"  {key} [label={label}, shape=plaintext{color}, pos={pos(node.x, node.y)}, "
                f"{size}];"
            )
    for box, edge in zip(lay.edges, graph.edges, strict=True):
        bends = box.points[1:-1]
        chain = [edge.source] + [f"e{box.index}_{k}" for k in range(len(bends))] + [edge.target]
        for k, (x, y) in enumerate(bends):
            lines.append(
                f'  e{box.index}_{k} [shape=point, style=invis, width=0.01, height=0.01, label="", '
                f"pos={pos(x, y)}];"
            )
        for k, (a, b) in enumerate(pairwise(chain)):
            head = "" if k == len(chain) - 2 else " [arrowhead=none]"
            lines.append(f"  {a} -> {b}{head};")
        for kind, b, text in (
            ("v", box.value_box, box.value),
            ("g", box.grad_box, box.grad),
        ):
            if b is None or not text:
                continue
            color = ", fontcolor=red" if kind == "g" else ""
            x, y = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            lines.append(
                f"  e{box.index}{kind} [label={_quote(chr(10).join(text))}, shape=plaintext"
                f"{color}, pos={pos(x, y)}, width={_inches(b[2] - b[0])}, "
                f"height={_inches(b[3] - b[1])}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _free_dot(graph: Graph, rankdir: str) -> str:
    """DOT without positions (big graphs): Graphviz's own layered layout."""
    lines = [
        "digraph computational_graph {",
        f"  graph [rankdir={rankdir}, nodesep=0.4, ranksep=0.8];",
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    for i, x in enumerate(graph.leaves):
        style = "" if x.requires_grad else ", fontcolor=gray40"
        text = "\n".join(_layout.node_lines(graph, f"v{i}")[0])
        lines.append(f"  v{i} [label={_quote(text)}, shape=plaintext{style}];")
    for i, f in enumerate(graph.functions):
        shape = "circle" if len(f.label) <= 3 else "box, style=rounded"
        lines.append(f"  f{i} [label={_quote(f.label)}, shape={shape}];")
    if graph.functions:
        lines.append(f"  out [label={_quote(graph.name(graph.output))}, shape=plaintext];")
    for edge in graph.edges:
        value, grad = _layout.edge_lines(graph, edge)
        rows = [html.escape(v) for v in value]
        rows += [f'<font color="red">{html.escape(g)}</font>' for g in grad]
        lines.append(f"  {edge.source} -> {edge.target} [label=<{'<br/>'.join(rows)}>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(graph: Graph, rankdir: str = "LR") -> str:
    if rankdir == "LR" and graph.size <= LAYOUT_MAX_NODES:
        return _pinned_dot(graph, _layout.compute(graph))
    return _free_dot(graph, rankdir)


def draw_graph(output: Tensor, path=None, *, engine: str = "auto", rankdir: str = "LR") -> str:
    """The computational graph that produced ``output``, as Graphviz DOT text.

    Parameters
    ----------
    output : Tensor
        The end of the graph (usually the loss), before or after ``output.backward()``;
        gradients are shown once it has run (with ``retain_grad=True``, the default).
    path : str or Path, optional
        Also write the picture there (``.svg``, ``.png``, ``.dot``, ``.gv`` or ``.html``, the
        step-through page), see ``save_graph``.
    engine : "auto", "graphviz" or "matplotlib"
        How ``.svg``/``.png`` are drawn when ``path`` is given.
    rankdir : "LR" or "TB"
        Left to right as in the book (the layout shared by every picture and the page), or
        another Graphviz direction (Graphviz's own layout).

    Returns
    -------
    str
        The DOT text (render it with ``dot -Tsvg``).
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    dot = to_dot(build(output), rankdir)
    if path is not None:
        save_graph(output, path, engine=engine, rankdir=rankdir)
    return dot


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def graphviz_timeout(graph: Graph) -> float:
    """Seconds Graphviz may take: a few, more for bigger graphs, never more than 30."""
    return min(5.0 + 0.02 * graph.size, 30.0)


def _graphviz(dot: str, fmt: str, executable: str, timeout: float) -> bytes:
    options = ["-Gdpi=150"] if fmt == "png" else []  # sharp enough for a README
    result = subprocess.run(
        [executable, f"-T{fmt}", *options],
        input=dot.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OSError(f"Graphviz dot failed: {message[0] if message else result.returncode}")
    return result.stdout


def _matplotlib(graph: Graph, fmt: str) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyBboxPatch

    if graph.size > MATPLOTLIB_MAX_NODES:
        raise ValueError(
            f"the graph has {graph.size} nodes; the matplotlib drawing handles at most "
            f"{MATPLOTLIB_MAX_NODES}: install Graphviz (its dot program draws any size) or "
            f"write .dot text"
        )
    lay = _layout.compute(graph)
    legend = 18.0 if graph.has_grads else 0.0
    width, height = lay.width, lay.height + legend
    scale = min(1.0, 2880 / width, 2880 / height)  # at most 40 inches
    fig = Figure(figsize=(width / 72 * scale, height / 72 * scale), dpi=150 if fmt == "png" else 72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    font = {"family": "monospace", "fontsize": _layout.FONT_SIZE * scale}
    spacing = _layout.LINE / _layout.FONT_SIZE / 1.2  # matplotlib spaces lines 1.2 em apart

    for box in lay.edges:
        xs = [p[0] for p in box.points]
        ys = [p[1] for p in box.points]
        ax.plot(xs[:-1], ys[:-1], color="black", linewidth=0.9, solid_capstyle="butt")
        ax.annotate(
            "",
            xy=box.points[-1],
            xytext=box.points[-2],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "black",
                "linewidth": 0.9,
                "shrinkA": 0,
                "shrinkB": 0,
            },
        )
        for b, text, color in (
            (box.value_box, box.value, "black"),
            (box.grad_box, box.grad, "red"),
        ):
            if b is not None and text:
                ax.text(
                    (b[0] + b[2]) / 2,
                    (b[1] + b[3]) / 2,
                    "\n".join(text),
                    ha="center",
                    va="center",
                    color=color,
                    linespacing=spacing,
                    **font,
                )
    for node in lay.nodes.values():
        if node.kind == "op":
            if node.circle:
                ax.add_patch(
                    Circle((node.x, node.y), node.w / 2, facecolor="white", edgecolor="black")
                )
            else:
                x0, y0, x1, y1 = node.box
                ax.add_patch(
                    FancyBboxPatch(
                        (x0 + 4, y0 + 4),
                        x1 - x0 - 8,
                        y1 - y0 - 8,
                        boxstyle="round,pad=4",
                        facecolor="white",
                        edgecolor="black",
                    )
                )
            ax.text(
                node.x,
                node.y,
                node.lines[0],
                ha="center",
                va="center",
                family="monospace",
                fontsize=_layout.OP_FONT * scale,
            )
        else:
            color = "0.4" if node.kind == "const" else "black"
            ax.text(
                node.x,
                node.y - (node.h / 2 - _layout.LINE / 2 - 3) if node.sum_line else node.y,
                node.lines[0],
                ha="center",
                va="center",
                color=color,
                **font,
            )
            if node.sum_line:
                ax.text(
                    node.x,
                    node.y + _layout.LINE / 2,
                    "\n".join(node.lines[1:]),
                    ha="center",
                    va="center",
                    color="red",
                    linespacing=spacing,
                    **font,
                )
    if legend:
        ax.text(
            width / 2,
            height - legend / 2,
            LEGEND,
            ha="center",
            va="center",
            color="0.3",
            family="monospace",
            fontsize=10 * scale,
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def render(graph: Graph, fmt: str, engine: str = "auto", rankdir: str = "LR") -> tuple[bytes, str]:
    """The picture as bytes (``fmt`` "svg" or "png") and the engine that drew it."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    executable = None if engine == "matplotlib" else shutil.which("dot")
    if engine == "graphviz" and executable is None:
        raise OSError(
            "Graphviz's dot program is not on PATH; install Graphviz (e.g. apt-get install "
            "graphviz, brew install graphviz) or use engine='matplotlib'"
        )
    if executable is not None:
        timeout = graphviz_timeout(graph)
        try:
            return _graphviz(to_dot(graph, rankdir), fmt, executable, timeout), "graphviz"
        except subprocess.TimeoutExpired:
            message = (
                f"Graphviz took longer than {timeout:.0f} s to draw the graph of {graph.size} nodes"
            )
            if engine == "graphviz":
                raise OSError(f"{message}; try engine='matplotlib' or write .dot text") from None
            warnings.warn(
                f"{message}; drawing it with matplotlib instead", RuntimeWarning, stacklevel=3
            )
    return _matplotlib(graph, fmt), "matplotlib"


PICTURE_SUFFIXES = (".svg", ".png", ".dot", ".gv", ".html")


def save_graph(
    output: Tensor,
    path,
    *,
    engine: str = "auto",
    rankdir: str = "LR",
    lang: str = "en",
    title: str | None = None,
    note: str = "",
) -> str:
    """Write the picture of the graph of ``output`` to ``path``; return how it was made.

    ``.dot``/``.gv``: the DOT text. ``.svg``/``.png``: drawn by Graphviz's ``dot`` when it is
    on PATH (``engine="auto"`` or ``"graphviz"``), otherwise by matplotlib (``"auto"`` or
    ``"matplotlib"``); if Graphviz takes too long (``graphviz_timeout``), by matplotlib with
    a ``RuntimeWarning``. ``.html``: the step-through page (``lang`` is the language it opens
    in, ``title`` and ``note`` head it). Returns ``"dot-text"``, ``"graphviz"``,
    ``"matplotlib"`` or ``"page"``. The file is written atomically: on any error the previous
    file is left as it was.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PICTURE_SUFFIXES:
        raise ValueError(
            f"cannot write a graph to {str(path)!r}: the file name must end in .svg, .png, "
            f".dot, .gv or .html"
        )
    graph = build(output)
    if suffix in (".dot", ".gv"):
        data, used = to_dot(graph, rankdir).encode("utf-8"), "dot-text"
    elif suffix == ".html":
        from backprop.visualize.page import page_html

        data, used = page_html(graph, lang=lang, title=title, note=note).encode("utf-8"), "page"
    else:
        data, used = render(graph, suffix[1:], engine, rankdir)
    with atomic_write(path) as file:
        file.write(data)
    return used
