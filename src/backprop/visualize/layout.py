"""One layout of a graph, computed once: it serves the SVG/PNG pictures and the HTML page.

Book: the figures of 5.1-5.6, drawn left to right: the inputs on the left, the loss on the
right, each value written above its edge and the gradient flowing back below it (in red).

The layout is layered: an operation goes one rank after its latest input, a variable one rank
before its first use, the output last. An edge that skips ranks passes through each rank it
crosses at a slot of its own. Between two ranks every edge has a *lane*: a horizontal stretch
where its labels sit, the value above the line and the gradient below. Lanes are stacked
around the node they enter, in the order of its inputs (the first input on top, as the book
draws x above y), and nodes are spaced so that no two stacks meet. So, by construction, no
label sits on a line, on a node or on another label; ``overlaps`` checks it.

Units are points (1/72 inch), y downwards, as in SVG. Text is set in a monospace font whose
advance is ``CHAR`` points at ``FONT_SIZE``, so label widths are known in advance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from backprop.visualize._format import value_lines
from backprop.visualize.graph import Edge, Graph

__all__ = ["FONT_SIZE", "Layout", "NodeBox", "compute", "overlaps"]

FONT_SIZE = 12.0
CHAR = 7.25  # advance of one monospace character at FONT_SIZE (0.6 em, a little spare)
LINE = 15.0  # line height
OP_FONT = 14.0
OP_CHAR = 8.6
MARGIN = 26.0  # the slanted ends of an edge, between a node and the edge's labels
LABEL_GAP = 3.0  # between a line and its labels
LANE_PAD = 8.0  # between two stacks of labels
NODE_PAD = 18.0  # between two nodes of a rank
MIN_GAP = 70.0  # the shortest gap between two ranks
PAD = 16.0  # around the picture


@dataclass
class NodeBox:
    """A node as drawn: ``kind`` is "op", "var" (a variable), "const" or "out"."""

    id: str
    kind: str
    lines: list[str]  # text lines (an op's symbol; a leaf's name, and its summed gradient)
    x: float
    y: float
    w: float
    h: float
    circle: bool = False
    sum_line: bool = False  # the last line is the summed gradient of a leaf used twice

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2, self.y - self.h / 2, self.x + self.w / 2, self.y + self.h / 2)


@dataclass
class EdgeBox:
    index: int
    points: list[tuple[float, float]]  # the polyline, source to target
    value: list[str]
    grad: list[str]
    value_box: tuple[float, float, float, float] | None = None
    grad_box: tuple[float, float, float, float] | None = None


@dataclass
class Layout:
    nodes: dict[str, NodeBox]
    edges: list[EdgeBox]
    width: float
    height: float
    order: list[str] = field(default_factory=list)  # node ids, forward order


def _width(lines: list[str], char: float = CHAR) -> float:
    return char * max((len(line) for line in lines), default=0)


def node_lines(graph: Graph, key: str) -> tuple[list[str], bool]:
    """The text of a node and whether its last line is a leaf's summed gradient."""
    if key == "out":
        return [graph.name(graph.output)], False
    if key[0] == "f":
        return [graph.functions[int(key[1:])].label], False
    x = graph.leaves[int(key[1:])]
    lines = [graph.name(x)]
    if x.requires_grad and x.grad is not None and len(graph.uses.get(id(x), [])) > 1:
        grad = value_lines(x.grad, shape=False)
        lines.append(f"∂L/∂{graph.name(x)} = {grad[0]}")
        lines += grad[1:]
        return lines, True
    return lines, False


def edge_lines(graph: Graph, edge: Edge) -> tuple[list[str], list[str]]:
    """The value written above an edge (``t = 3``, shape and values) and the gradient below."""
    x = edge.tensor
    value = value_lines(x.data)
    if x.creator is not None and edge.target != "out":  # an intermediate: t = 3
        value[0] = f"{graph.name(x)} = {value[0]}"
    grad = [] if edge.grad is None else value_lines(edge.grad, shape=False)
    return value, grad


def _node(graph: Graph, key: str) -> NodeBox:
    lines, sum_line = node_lines(graph, key)
    if key[0] == "f":
        label = lines[0]
        if len(label) <= 3:
            return NodeBox(key, "op", lines, 0.0, 0.0, 38.0, 38.0, circle=True)
        return NodeBox(key, "op", lines, 0.0, 0.0, _width(lines, OP_CHAR) + 22, 30.0)
    if key == "out":
        kind = "out"
    else:
        kind = "var" if graph.leaves[int(key[1:])].requires_grad else "const"
    return NodeBox(
        key, kind, lines, 0.0, 0.0, _width(lines) + 10, LINE * len(lines) + 6, False, sum_line
    )


def compute(graph: Graph) -> Layout:
    """Place the nodes, the edges and their labels of ``graph``."""
    # Ranks.
    rank: dict[str, int] = {}
    users: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        users.setdefault(edge.source, []).append(edge)
    for i in range(len(graph.functions)):
        rank[f"f{i}"] = 1  # rank 0 is for the inputs
    for edge in graph.edges:  # edges come in forward order of their targets
        if edge.target[0] == "f" and edge.source[0] == "f":
            rank[edge.target] = max(rank[edge.target], rank[edge.source] + 1)
    for i in range(len(graph.leaves)):
        key = f"v{i}"
        rank[key] = min((rank[e.target] for e in users.get(key, [])), default=1) - 1
    if graph.functions:
        rank["out"] = rank[f"f{len(graph.functions) - 1}"] + 1
    if graph.functions and min(rank.values()) < 0:  # pragma: no cover - ranks start at 0
        raise AssertionError("negative rank")

    nodes = {key: _node(graph, key) for key in rank}
    labels = [edge_lines(graph, edge) for edge in graph.edges]

    # Items of each rank: nodes, and the slots of edges passing through (a "d" key).
    columns: dict[int, list] = {}
    for key in rank:
        columns.setdefault(rank[key], []).append(key)
    # segments[e] = the items an edge goes through, source to target
    segments: list[list] = []
    for edge in graph.edges:
        path = [edge.source]
        for r in range(rank[edge.source] + 1, rank[edge.target]):
            slot = ("d", edge.index, r)
            columns[r].append(slot)
            path.append(slot)
        path.append(edge.target)
        segments.append(path)
    item_rank = dict(rank)
    for path in segments:
        for item in path[1:-1]:
            item_rank[item] = item[2]

    def half_height(item) -> float:
        return nodes[item].h / 2 if item in nodes else 0.0

    def half_width(item) -> float:
        return nodes[item].w / 2 if item in nodes else 0.0

    # What enters each item in the gap before it: (edge index, above, below), in input order.
    entering: dict = {}
    leaving: dict = {}
    for edge, path in zip(graph.edges, segments, strict=True):
        value, grad = labels[edge.index]
        for a, b in pairwise(path):
            if b == edge.target:  # the labels sit in the last gap, before the target
                above = LINE * len(value) + LABEL_GAP
                below = LINE * len(grad) + LABEL_GAP if grad else LABEL_GAP
                if graph.has_grads and not grad:
                    below = LABEL_GAP
            else:
                above = below = LABEL_GAP
            entering.setdefault(b, []).append((edge.index, above, below, a))
            leaving.setdefault(a, []).append((edge.index, b))

    def stack(item) -> float:
        parts = entering.get(item, [])
        return sum(a + b for _, a, b, _ in parts) + LANE_PAD * max(len(parts) - 1, 0)

    def extent(item) -> float:
        return max(half_height(item), stack(item) / 2)

    # Heights, from the output back to the inputs.
    y: dict = {}
    lane: dict[tuple[int, int], float] = {}  # (edge index, rank of the gap's right side) → y
    ranks = sorted(columns)
    for r in reversed(ranks):
        items = columns[r]
        if r == ranks[-1]:
            wanted = {item: 0.0 for item in items}
        else:
            wanted = {}
            for item in items:
                targets = [lane[(e, r + 1)] for e, b in leaving.get(item, []) if (e, r + 1) in lane]
                wanted[item] = float(np.mean(targets)) if targets else 0.0
        order = sorted(items, key=lambda item: wanted[item])
        placed: list[float] = []
        for k, item in enumerate(order):
            if not placed:
                placed.append(wanted[item])
            else:
                previous = order[k - 1]
                gap = extent(previous) + extent(item) + NODE_PAD
                placed.append(max(wanted[item], placed[-1] + gap))
        shift = float(np.mean([wanted[i] for i in order]) - np.mean(placed)) if order else 0.0
        for item, value in zip(order, placed, strict=True):
            y[item] = value + shift
        # The lanes entering this rank: stacked around each item, first input on top.
        for item in items:
            parts = entering.get(item, [])
            top = y[item] - stack(item) / 2
            for e, above, below, _ in parts:
                lane[(e, r)] = top + above
                top += above + below + LANE_PAD

    # Widths of the ranks and of the gaps between them.
    column_half = {r: max([half_width(i) for i in columns[r]] or [0.0]) for r in ranks}
    gap_width = {}
    for r in ranks[1:]:
        widths = [0.0]
        for item in columns[r]:
            for e, _, _, _ in entering.get(item, []):
                if graph.edges[e].target == item:
                    value, grad = labels[e]
                    widths.append(_width(value + grad))
        gap_width[r] = max(max(widths) + 2 * MARGIN + 8, MIN_GAP)
    x_of = {}
    x = PAD + column_half[ranks[0]] if ranks else PAD
    for k, r in enumerate(ranks):
        if k:
            x += column_half[ranks[k - 1]] + gap_width[r] + column_half[r]
        x_of[r] = x
    for key, node in nodes.items():
        node.x, node.y = x_of[rank[key]], y[key]

    # Edges: polylines through their lanes, with their label boxes.
    edges: list[EdgeBox] = []
    for edge, path in zip(graph.edges, segments, strict=True):
        value, grad = labels[edge.index]
        points: list[tuple[float, float]] = []
        box = EdgeBox(edge.index, points, value, grad)
        for a, b in pairwise(path):
            r = item_rank[b]
            gx0 = x_of[r - 1] + column_half[r - 1]
            gx1 = x_of[r] - column_half[r]
            ya = y[a]
            start = (
                (x_of[r - 1] + half_width(a), ya)
                if a in nodes
                else (x_of[r - 1] - column_half[r - 1], ya)
            )
            if not points:
                points.append(start)
            else:
                points.append((start[0] if a in nodes else x_of[r - 1] - column_half[r - 1], ya))
            points.append((gx0, ya))
            ly = lane[(edge.index, r)]
            points += [(gx0 + MARGIN, ly), (gx1 - MARGIN, ly)]
            if b in nodes:
                node = nodes[b]
                if node.circle:
                    dx, dy = node.x - (gx1 - MARGIN), node.y - ly
                    length = max(float(np.hypot(dx, dy)), 1e-9)
                    points.append(
                        (node.x - dx / length * node.w / 2, node.y - dy / length * node.w / 2)
                    )
                else:
                    inner = max(node.h / 2 - 4, 0.0)
                    points.append(
                        (node.x - node.w / 2, min(max(ly, node.y - inner), node.y + inner))
                    )
                cx = (gx0 + gx1) / 2
                w = _width(value + grad) + 4
                box.value_box = (
                    cx - w / 2,
                    ly - LABEL_GAP - LINE * len(value),
                    cx + w / 2,
                    ly - LABEL_GAP,
                )
                if grad:
                    box.grad_box = (
                        cx - w / 2,
                        ly + LABEL_GAP,
                        cx + w / 2,
                        ly + LABEL_GAP + LINE * len(grad),
                    )
            else:
                points.append((gx1, y[b]))
        edges.append(box)

    # Move everything into view.
    xs0, ys0, xs1, ys1 = [], [], [], []
    for node in nodes.values():
        b = node.box
        xs0.append(b[0]), ys0.append(b[1]), xs1.append(b[2]), ys1.append(b[3])
    for box in edges:
        for b in (box.value_box, box.grad_box):
            if b is not None:
                xs0.append(b[0]), ys0.append(b[1]), xs1.append(b[2]), ys1.append(b[3])
    dx = PAD - min(xs0, default=0.0)
    dy = PAD - min(ys0, default=0.0)
    for node in nodes.values():
        node.x += dx
        node.y += dy
    for box in edges:
        box.points[:] = [(px + dx, py + dy) for px, py in box.points]
        if box.value_box is not None:
            box.value_box = _moved(box.value_box, dx, dy)
        if box.grad_box is not None:
            box.grad_box = _moved(box.grad_box, dx, dy)
    width = max(xs1, default=0.0) + dx + PAD
    height = max(ys1, default=0.0) + dy + PAD
    order = [f"v{i}" for i in range(len(graph.leaves))] + [
        f"f{i}" for i in range(len(graph.functions))
    ]
    if graph.functions:
        order.append("out")
    return Layout(nodes, edges, width, height, order)


def _moved(b, dx, dy):
    return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def _boxes_meet(a, b, pad: float = 0.5) -> bool:
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


def _segment_meets_box(p, q, b, pad: float = 0.5) -> bool:
    """Whether the segment p-q passes through the inside of box b (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = b[0] + pad, b[1] + pad, b[2] - pad, b[3] - pad
    if x0 >= x1 or y0 >= y1:
        return False
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if pk == 0:
            if qk < 0:
                return False
        else:
            t = qk / pk
            if pk < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return True


def overlaps(layout: Layout) -> list[str]:
    """Every label that sits on a line, a node or another label (empty for a good layout)."""
    labels = []
    for box in layout.edges:
        for kind, b in (("value", box.value_box), ("grad", box.grad_box)):
            if b is not None:
                labels.append((f"{kind} of edge {box.index}", b))
    problems = []
    for i, (name, b) in enumerate(labels):
        for other, c in labels[i + 1 :]:
            if _boxes_meet(b, c):
                problems.append(f"{name} meets {other}")
        for node in layout.nodes.values():
            if _boxes_meet(b, node.box):
                problems.append(f"{name} meets node {node.id}")
        for box in layout.edges:
            for p, q in pairwise(box.points):
                if _segment_meets_box(p, q, b):
                    problems.append(f"{name} meets the line of edge {box.index}")
                    break
    for i, a in enumerate(list(layout.nodes.values())):
        for c in list(layout.nodes.values())[i + 1 :]:
            if _boxes_meet(a.box, c.box):
                problems.append(f"node {a.id} meets node {c.id}")
    return problems
