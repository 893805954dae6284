"""Pictures, pages and explanations of a computational graph, drawn like the book's figures.

Book: 5.1-5.3 (computational graphs with the values flowing forward above each edge and the
gradients flowing backward below it), 5.4-5.6 (the nodes and layers), Appendix A.

* ``draw_graph(output)`` returns the graph of a ``Tensor`` as Graphviz DOT text: a pure
  function. ``draw_graph(output, "graph.svg")`` also writes the picture; ``"graph.html"`` the
  step-through page (``page``): forward node by node, then backward in the order
  ``backward()`` used, with the numbers of the chain rule, offline, in English and Korean.
* ``save_graph(output, path)`` writes ``.dot``/``.gv`` text, ``.svg``/``.png`` through
  Graphviz's ``dot`` when installed (else matplotlib), or ``.html``. One layout
  (``layout.compute``) serves every picture and the page.
* ``explain(output, lang="en")`` writes the chain rule node by node, in English or with the
  Korean edition's terms (``lang="ko"``).
* In Jupyter a ``Tensor`` shows the step-through inline (``notebook.mimebundle``).

Modules: ``graph`` (the graph as data, the steps), ``layout``, ``render`` (DOT, Graphviz,
matplotlib), ``svg``, ``page``, ``explain``, ``notebook``. matplotlib and Graphviz are used
inside the functions that need them only.
"""

from backprop.autograd.core import register_display
from backprop.visualize.explain import explain
from backprop.visualize.notebook import mimebundle
from backprop.visualize.page import PAGE_MAX_NODES, page_html
from backprop.visualize.render import (
    ENGINES,
    LAYOUT_MAX_NODES,
    MATPLOTLIB_MAX_NODES,
    PICTURE_SUFFIXES,
    draw_graph,
    save_graph,
)

__all__ = [
    "ENGINES",
    "LAYOUT_MAX_NODES",
    "MATPLOTLIB_MAX_NODES",
    "PAGE_MAX_NODES",
    "PICTURE_SUFFIXES",
    "draw_graph",
    "explain",
    "mimebundle",
    "page_html",
    "save_graph",
]

register_display(mimebundle)
