"""The episodic graph: episodes, events, entities and decision records as a networkx digraph.

Nodes are named ``episode:<id>``, ``event:<id>`` (``fact:<id>``, ``text:<id>`` for other
entries), ``entity:<name>`` and ``decision:<id>``; edges carry a ``kind``: ``has`` (episode ->
event), ``next`` (event -> following event of the episode), ``about`` (entry -> entity),
``decided`` (event -> its decision record). The graph is a view: it is rebuilt from the record
store's edges at start and then kept in step with every applied batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable

import networkx as nx

from memory.stores.record_store import Edge

ITEM_PREFIXES = ("event:", "fact:", "text:")


def item_id(node: str) -> int | None:
    """The memory id of an item node, else None."""
    for prefix in ITEM_PREFIXES:
        if node.startswith(prefix):
            return int(node[len(prefix) :])
    return None


class GraphStore(ABC):
    """Graph queries over remembered items."""

    @abstractmethod
    def add_edges(self, edges: Iterable[Edge]) -> None: ...

    @abstractmethod
    def remove_items(self, ids: Iterable[int]) -> None:
        """Drop item nodes (compaction); the ``next`` chain is bridged over a removed event."""

    @abstractmethod
    def about(self, entity: str) -> list[int]:
        """Ids of items linked to ``entity``, newest first."""

    @abstractmethod
    def episode_events(self, episode: str) -> list[int]:
        """Ids of an episode's events in order."""

    @abstractmethod
    def episodes(self) -> dict[str, int]:
        """Every episode id with its number of events, in the order episodes were first seen."""

    @abstractmethod
    def neighbours(self, item: int, hops: int = 1, *, via_entities: bool = True) -> list[int]:
        """Items within ``hops`` steps: along ``next`` and, if asked, through shared entities."""

    @abstractmethod
    def around(self, item: int, limit: int = 30) -> list[Edge]:
        """Edges touching an item's node, at most ``limit``.

        Links to its episode, the events before and after it and its decision come first, then
        the entities it is about.
        """

    @abstractmethod
    def path(self, source: str, target: str) -> list[str]:
        """Shortest node path between two nodes, ignoring direction ([] if none)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of nodes per prefix (``event``, ``entity``...) and of edges."""


class NetworkxGraphStore(GraphStore):
    """The graph in memory, as a ``networkx.DiGraph``.

    New edges wait in a list until the graph is next read: every decision cycle adds dozens (one
    per entity it is about), and adding them to networkx one batch at a time is most of what
    keeping the views up to date costs, in the thread that shares the interpreter with the
    agent's event loop. A read pays for the edges added since the last one, once.
    """

    def __init__(self) -> None:
        self._g: nx.DiGraph = nx.DiGraph()
        self._pending: list[Edge] = []

    @property
    def g(self) -> nx.DiGraph:
        """The graph, with every edge added so far."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._g.add_edges_from((src, dst, {"kind": kind}) for src, dst, kind in pending)
        return self._g

    def add_edges(self, edges: Iterable[Edge]) -> None:
        self._pending.extend(edges)

    def remove_items(self, ids: Iterable[int]) -> None:
        g = self.g
        for i in ids:
            for prefix in ITEM_PREFIXES:
                node = f"{prefix}{i}"
                if node not in g:
                    continue
                before = [p for p in g.predecessors(node) if g.edges[p, node]["kind"] == "next"]
                after = [s for s in g.successors(node) if g.edges[node, s]["kind"] == "next"]
                for p in before:
                    for s in after:
                        g.add_edge(p, s, kind="next")
                decision = f"decision:{i}"
                g.remove_node(node)
                if decision in g:
                    g.remove_node(decision)

    def about(self, entity: str) -> list[int]:
        node = f"entity:{entity}"
        if node not in self.g:
            return []
        ids = [item_id(p) for p in self.g.predecessors(node)]
        return sorted((i for i in ids if i is not None), reverse=True)

    def episode_events(self, episode: str) -> list[int]:
        node = f"episode:{episode}"
        if node not in self.g:
            return []
        ids = [item_id(s) for s in self.g.successors(node)]
        return sorted(i for i in ids if i is not None)

    def episodes(self) -> dict[str, int]:
        g = self.g
        return {
            node.removeprefix("episode:"): g.out_degree(node)
            for node in g
            if node.startswith("episode:")
        }

    def neighbours(self, item: int, hops: int = 1, *, via_entities: bool = True) -> list[int]:
        g = self.g
        start = next((f"{p}{item}" for p in ITEM_PREFIXES if f"{p}{item}" in g), None)
        if start is None:
            return []
        seen = {start: 0}
        queue = deque([start])
        found: list[int] = []
        while queue:
            node = queue.popleft()
            depth = seen[node]
            if depth == hops:
                continue
            steps: list[str] = []
            for other in (*g.successors(node), *g.predecessors(node)):
                kind = (
                    g.edges[node, other]["kind"]
                    if g.has_edge(node, other)
                    else g.edges[other, node]["kind"]
                )
                if kind == "next":
                    steps.append(other)
                elif kind == "about" and via_entities:
                    steps.extend(p for p in g.predecessors(other) if p != node)
            for other in steps:
                if other not in seen:
                    seen[other] = depth + 1
                    queue.append(other)
                    other_id = item_id(other)
                    if other_id is not None:
                        found.append(other_id)
        return found

    def around(self, item: int, limit: int = 30) -> list[Edge]:
        g = self.g
        start = next((f"{p}{item}" for p in ITEM_PREFIXES if f"{p}{item}" in g), None)
        if start is None:
            return []
        edges: list[Edge] = [(start, o, g.edges[start, o]["kind"]) for o in g.successors(start)]
        edges += [(o, start, g.edges[o, start]["kind"]) for o in g.predecessors(start)]
        edges.sort(key=lambda e: (e[2] == "about", e[0], e[1]))  # structure before entities
        return edges[:limit]

    def path(self, source: str, target: str) -> list[str]:
        try:
            return list(nx.shortest_path(self.g.to_undirected(as_view=True), source, target))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return []

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"edges": self.g.number_of_edges()}
        for node in self.g:
            kind = node.split(":", 1)[0]
            out[kind] = out.get(kind, 0) + 1
        return out
