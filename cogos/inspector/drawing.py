"""Drawing an item's neighbourhood in the episodic graph as SVG (networkx layout, matplotlib).

Drawn on the server so the page needs no graph library of its own: the SVG comes with links on
the item nodes (matplotlib writes an artist's URLs into the SVG), so clicking an event opens
its page. The Agg-free :class:`~matplotlib.figure.Figure` API is used: no global pyplot state,
safe from the server's worker threads.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import networkx as nx
from matplotlib.figure import Figure

# the graph's item nodes (memory/stores/graph.py): what a click can open
_ITEM_KINDS = ("event", "fact", "text")

_COLOURS = {
    "episode": "#8e6bbf",
    "event": "#3b7dd8",
    "fact": "#2f9e6e",
    "text": "#6c757d",
    "entity": "#e0a030",
    "decision": "#d9534f",
}


def _kind(node: str) -> str:
    return node.split(":", 1)[0]


def _item_id(node: str) -> int | None:
    kind, _, name = node.partition(":")
    return int(name) if kind in _ITEM_KINDS and name.isdigit() else None


def _label(node: str, centre: str) -> str:
    kind, _, name = node.partition(":")
    if node == centre:
        return f"{kind} {name}"
    if kind == "episode":
        return "episode " + name.rsplit(":", 1)[-1]
    return name if kind == "entity" else f"{kind[:2]} {name}"


def neighbourhood_svg(
    edges: Sequence[tuple[str, str, str]], centre: str, link: Callable[[int], str]
) -> str:
    """The edges as an SVG drawing centred on ``centre``; item nodes link to ``link(id)``."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_node(centre)
    for source, target, kind in edges:
        graph.add_edge(source, target, kind=kind)
    pos = nx.spring_layout(graph, seed=7, k=1.2 / max(1, len(graph)) ** 0.5)
    figure = Figure(figsize=(7.5, 5.5))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    nx.draw_networkx_edges(graph, pos, ax=axes, edge_color="#999", arrows=True, arrowsize=8)
    edge_labels = {(s, t): d["kind"] for s, t, d in graph.edges(data=True) if d["kind"] != "about"}
    nx.draw_networkx_edge_labels(graph, pos, edge_labels, ax=axes, font_size=7)
    for kind, colour in _COLOURS.items():
        nodes = [n for n in graph if _kind(n) == kind]
        if not nodes:
            continue
        drawn = nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=nodes,
            ax=axes,
            node_color=colour,
            node_size=[700 if n == centre else 260 for n in nodes],
            edgecolors=["#000" if n == centre else colour for n in nodes],
        )
        ids = [_item_id(n) for n in nodes]
        drawn.set_urls([link(i) if i is not None else None for i in ids])
    nx.draw_networkx_labels(graph, pos, {n: _label(n, centre) for n in graph}, ax=axes, font_size=7)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
