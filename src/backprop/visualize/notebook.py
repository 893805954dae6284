"""The notebook display of a ``Tensor``: the step-through page inline, the SVG as fallback.

``mimebundle(output)`` returns ``text/html`` (the static SVG with the script that turns it
into the step-through; JupyterLab, the classic notebook and VS Code run it) and
``image/svg+xml`` (the same picture, for viewers that run no scripts, such as a notebook shown
on a code host). ``backprop.visualize`` registers it with ``autograd.core`` as the display of
``Tensor``, so the engine itself never imports drawing code.
"""

from __future__ import annotations

from backprop.autograd.core import Tensor
from backprop.visualize import layout as _layout
from backprop.visualize.graph import build
from backprop.visualize.page import fragment, shown_graph
from backprop.visualize.svg import svg

__all__ = ["mimebundle"]


def mimebundle(output: Tensor) -> dict[str, str]:
    """The display of ``output``'s graph for Jupyter; empty for a leaf or for graphs too big
    to draw even with their chains collapsed (write a page instead)."""
    if output.creator is None:
        return {}
    graph = build(output)
    shown, mode = shown_graph(graph)
    if mode == "steps":
        return {}
    return {
        "text/html": fragment(graph),
        "image/svg+xml": svg(_layout.compute(shown), "bpstatic"),
    }
