"""The SVG of a layout, written by Python: the static picture of the page and the notebook.

Every element carries an id (``n-f0`` a node, ``e-3`` an edge, ``v-3``/``g-3`` its value and
gradient labels, ``s-v0`` the summed gradient of a leaf), so the page's script can show them
one step at a time; without the script (a notebook viewed on a code host) everything shows.
"""

from __future__ import annotations

from html import escape

from backprop.visualize import layout as _layout

__all__ = ["svg"]


def _text(x: float, y_top: float, lines: list[str], cls: str, ident: str, extra: str = "") -> str:
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{y_top + _layout.LINE * (k + 0.75):.1f}">{escape(line)}</tspan>'
        for k, line in enumerate(lines)
    )
    return f'<text class="{cls}" id="{ident}" text-anchor="middle"{extra}>{spans}</text>'


def svg(
    lay: _layout.Layout, prefix: str = "bp", *, big: dict | None = None, zoom: float = 1.0
) -> str:
    """An ``<svg>`` element; ``prefix`` makes the ids unique in a notebook with several
    graphs; ``big`` maps "v-3"/"g-3" to keys of array summaries that open on click."""
    big = big or {}
    w, h = lay.width, lay.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bp-graph" width="{w * zoom:.0f}" '
        f'height="{h * zoom:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" font-family="{_FONT}" '
        f'font-size="{_layout.FONT_SIZE:g}">',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>',
        f'<rect width="{w:.1f}" height="{h:.1f}" fill="white"/>',
    ]
    for box in lay.edges:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in box.points)
        out.append(
            f'<polyline class="edge" id="{prefix}-e-{box.index}" points="{points}" fill="none" '
            f'stroke="#222" stroke-width="1.2" marker-end="url(#{prefix}-arrow)"/>'
        )
    for box in lay.edges:
        for kind, b, text in (("v", box.value_box, box.value), ("g", box.grad_box, box.grad)):
            if b is None or not text:
                continue
            ident = f"{kind}-{box.index}"
            cls = "value" if kind == "v" else "grad"
            extra = ""
            if ident in big:
                cls += " summary"
                extra = f' data-array="{big[ident]}"'
            out.append(_text((b[0] + b[2]) / 2, b[1], text, cls, f"{prefix}-{ident}", extra))
    for key in lay.order:
        node = lay.nodes[key]
        parts = [f'<g class="node {node.kind}" id="{prefix}-n-{key}" data-node="{key}">']
        x0, y0, _, _ = node.box
        if node.kind == "op":
            if node.circle:
                parts.append(
                    f'<circle cx="{node.x:.1f}" cy="{node.y:.1f}" r="{node.w / 2:.1f}" '
                    'fill="white" stroke="#222" stroke-width="1.4"/>'
                )
            else:
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{node.w:.1f}" height="{node.h:.1f}" '
                    'rx="8" fill="white" stroke="#222" stroke-width="1.4"/>'
                )
            parts.append(
                f'<text x="{node.x:.1f}" y="{node.y + _layout.OP_FONT * 0.35:.1f}" '
                f'text-anchor="middle" font-size="{_layout.OP_FONT:g}">{escape(node.lines[0])}'
                "</text>"
            )
        else:
            parts.append(
                f'<rect class="halo" x="{x0:.1f}" y="{y0:.1f}" width="{node.w:.1f}" '
                f'height="{node.h:.1f}" rx="4" fill="none" stroke="none"/>'
            )
            fill = ' fill="#666"' if node.kind == "const" else ""
            parts.append(
                f'<text x="{node.x:.1f}" y="{y0 + 3 + _layout.LINE * 0.75:.1f}" '
                f'text-anchor="middle"{fill}>{escape(node.lines[0])}</text>'
            )
            if node.sum_line:
                parts.append(
                    _text(
                        node.x,
                        y0 + 3 + _layout.LINE,
                        node.lines[1:],
                        "grad sum",
                        f"{prefix}-s-{key}",
                    )
                )
        parts.append("</g>")
        out.append("".join(parts))
    out.append("</svg>")
    return "\n".join(out)


_FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
