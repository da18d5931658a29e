"""Reading the memory: search, recall by entity or episode, decisions and why.

Every query takes the store lock, which also brings the views up to date with the log (see
:mod:`memory.write_path`), so a query sees every write that has returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.config import MemoryConfig
from memory.embedding import Embedder
from memory.entries import Hit, MemoryItem
from memory.errors import UnknownItemError
from memory.lifecycle import heat
from memory.rank_fusion import expand, reciprocal_rank_fusion
from memory.stores.record_store import Where
from memory.stores.vectors import as_matrix
from memory.views import Views
from memory.write_path import StoreLock


@dataclass
class _Ranking:
    """One search's ranking: the top ``k``, each ranker's own list, and what expansion lifted."""

    top: list[tuple[int, float]] = field(default_factory=list)
    by_ranker: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    lifted: dict[int, int] = field(default_factory=dict)
    items: dict[int, MemoryItem] = field(default_factory=dict)


class Queries:
    """The read side of the memory OS (the facade's query methods come from here)."""

    def __init__(
        self, config: MemoryConfig, views: Views, lock: StoreLock, embedder: Embedder | None
    ) -> None:
        self.config = config
        self.views = views
        self.lock = lock
        self.embedder = embedder

    def get(self, item_id: int) -> MemoryItem:
        with self.lock:
            found = self.views.records.get([item_id])
        if not found:
            raise UnknownItemError(item_id)
        return found[0]

    def details(self, item_id: int, now: float | None = None) -> dict[str, Any]:
        """An item as a person inspects it: its record plus validity, TTL, heat and log seq.

        The id is the item's sequence number in the write-ahead log (``seq``). ``heat`` is the
        value eviction ranks by (retrievals, decayed by ``heat_half_life``); ``ttl`` is the
        validity interval's length when the item ends by itself.
        """
        now = time.time() if now is None else now
        with self.lock:
            found = self.views.records.get([item_id], include_deleted=True)
            access = self.views.records.access_of(item_id)
        if not found:
            raise UnknownItemError(item_id)
        item = found[0]
        hits, last_access = access or (0, item.time)
        start = item.time if item.valid_from is None else item.valid_from
        return {
            **item.to_json(),
            "seq": item.id,
            "valid": not item.deleted and item.valid_at(now),
            "ttl": None if item.valid_to is None else item.valid_to - start,
            "hits": hits,
            "last_access": last_access,
            "heat": heat(hits, last_access, now, self.config.lifecycle.heat_half_life),
        }

    def search(
        self,
        query: str | npt.ArrayLike,
        k: int = 10,
        where: Where | None = None,
        *,
        mode: str | None = None,
        expand: int | None = None,
        touch: bool = False,
    ) -> list[Hit]:
        """The ``k`` best items for ``query`` (see :mod:`memory.rank_fusion`).

        A text query runs the configured ``mode``: ``hybrid`` (dense and bm25, fused by
        reciprocal rank), ``dense`` or ``lexical``; without an embedder, hybrid falls back to
        lexical. A vector query is dense. ``where`` filters (metadata, time, ``as_of``) apply to
        every retriever. ``expand`` adds the graph neighbours of that many top hits. ``touch``
        counts the returned items as retrieved (for heat-based eviction).
        """
        ranking = self._rank(query, k, where, mode, expand, touch=touch)
        return [Hit(ranking.items[i], s) for i, s in ranking.top if i in ranking.items]

    def explain(
        self,
        query: str | npt.ArrayLike,
        k: int = 10,
        where: Where | None = None,
        *,
        mode: str | None = None,
        expand: int | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`search`'s hits with what each ranker gave them (for people: the inspector).

        Each hit has ``score`` (the fused, expanded one search ranks by), ``dense`` and
        ``lexical`` (its rank from 1 and raw score in that ranking, or None when that ranker did
        not return it) and ``graph`` (the hit whose neighbour it is, when expansion lifted it).
        Nothing is touched: explaining a search does not count as a retrieval.
        """
        ranking = self._rank(query, k, where, mode, expand)
        places = {
            name: {item: (rank, score) for rank, (item, score) in enumerate(ranked, start=1)}
            for name, ranked in ranking.by_ranker.items()
        }
        out = []
        for item_id, score in ranking.top:
            if item_id not in ranking.items:
                continue
            hit: dict[str, Any] = {"score": score, "item": ranking.items[item_id].to_json()}
            for name in ("dense", "lexical"):
                place = places.get(name, {}).get(item_id)
                hit[name] = None if place is None else {"rank": place[0], "score": place[1]}
            parent = ranking.lifted.get(item_id)
            hit["graph"] = None if parent is None else {"from": parent}
            out.append(hit)
        return out

    def mode_for(self, query: str | npt.ArrayLike, mode: str | None = None) -> str:
        """The retrievers a search with ``mode`` runs for ``query``.

        A vector query is dense; a hybrid text query without an embedder is lexical. A mode the
        search refuses (unknown, or dense by text without an embedder) is returned as it is.
        """
        mode = mode or self.config.retrieval.mode
        if not isinstance(query, str):
            return "dense"
        if mode == "hybrid" and self.embedder is None:
            return "lexical"
        return mode

    def _rank(
        self,
        query: str | npt.ArrayLike,
        k: int,
        where: Where | None,
        mode: str | None,
        expand: int | None,
        *,
        touch: bool = False,
    ) -> _Ranking:
        """Rank, then read the top items, in one hold of the lock (the query is embedded first)."""
        cfg = self.config.retrieval
        asked = mode or cfg.mode
        if asked not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"search mode must be hybrid, dense or lexical; got {asked!r}")
        if asked == "dense" and isinstance(query, str) and self.embedder is None:
            raise ValueError("dense search by text needs an embedder; pass a vector instead")
        mode = self.mode_for(query, asked)
        text = query if isinstance(query, str) else None
        vector = None
        if text is None:
            vector = as_matrix(query, self.config.dim, "query vector")
        elif mode != "lexical":
            assert self.embedder is not None  # refused above, or made lexical by mode_for
            vector = self.embedder.embed([text])
        n = max(cfg.candidates, k)
        out = _Ranking()
        with self.lock:
            rankings: list[tuple[list[tuple[int, float]], float]] = []
            if vector is not None:
                out.by_ranker["dense"] = self._dense(vector, n, where)
                rankings.append((out.by_ranker["dense"], cfg.dense_weight))
            if text is not None and mode != "dense":
                out.by_ranker["lexical"] = self.views.records.lexical(text, n, where)
                rankings.append((out.by_ranker["lexical"], cfg.lexical_weight))
            if len(rankings) == 1:
                ranked = rankings[0][0]
            else:
                ranked = reciprocal_rank_fusion(rankings, cfg.rrf_k)
            top = cfg.expand if expand is None else expand
            if top:
                ranked = self._expanded(ranked, top, cfg.expand_weight, where, out.lifted)
            out.top = ranked[:k]
            out.items = {i.id: i for i in self.views.records.get([i for i, _ in out.top])}
            if touch and out.items:
                self.views.records.touch(list(out.items), time.time())
        return out

    def _dense(
        self, vector: npt.NDArray[np.float32], n: int, where: Where | None
    ) -> list[tuple[int, float]]:
        allow = None
        if where:
            allow = self.views.records.filter_ids(where, with_vector=True)
            if not allow:
                return []
        ids, scores = self.views.vectors.search(vector[:1], n, allow)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if allow is None and found:  # the index also holds expired items: keep the valid ones
            valid = set(self.views.records.filter_ids({"id": [i for i, _ in found]}))
            found = [(i, s) for i, s in found if i in valid]
        return found

    def _expanded(
        self,
        ranked: list[tuple[int, float]],
        top: int,
        weight: float,
        where: Where | None,
        lifted: dict[int, int],
    ) -> list[tuple[int, float]]:
        # episode neighbours only: an entity shared by thousands of items would flood the results
        expanded = expand(
            ranked,
            lambda i: self.views.graph.neighbours(i, 1, via_entities=False),
            top,
            weight,
            lifted,
        )
        direct = {i for i, _ in ranked}
        new = [i for i, _ in expanded if i not in direct]
        if new:  # neighbours must pass the same filters as direct hits
            allowed = set(self.views.records.filter_ids({**(where or {}), "id": new}))
            expanded = [(i, s) for i, s in expanded if i in direct or i in allowed]
        return expanded

    async def asearch(
        self, query: str | npt.ArrayLike, k: int = 10, where: Where | None = None, **options: Any
    ) -> list[Hit]:
        return await asyncio.to_thread(lambda: self.search(query, k, where, **options))

    def recent(self, n: int = 10, where: Where | None = None) -> list[MemoryItem]:
        """The newest live items (e.g. ``where={"kind": "event", "episode": ...}``)."""
        with self.lock:
            return self.views.records.recent(n, where)

    def about(self, entity: str, n: int = 10) -> list[MemoryItem]:
        """The newest live items linked to ``entity`` in the graph."""
        with self.lock:
            return self.views.records.get(self.views.graph.about(entity)[: n * 2])[:n]

    def episode(self, episode: str) -> list[MemoryItem]:
        """An episode's live events in order."""
        with self.lock:
            return self.views.records.get(self.views.graph.episode_events(episode))

    def episodes(self) -> dict[str, int]:
        """Every remembered episode id with its number of events (what ``episode`` takes)."""
        with self.lock:
            return self.views.graph.episodes()

    def decision(self, item_id: int) -> dict[str, Any] | None:
        """The decision record of an event: candidates, values, choice, outcome."""
        with self.lock:
            return self.views.records.decision(item_id)

    def why(self, item_id: int, context: int = 3) -> dict[str, Any]:
        """Why the agent did what event ``item_id`` records: its decision and what led to it."""
        with self.lock:
            item = self.get(item_id)
            before: list[MemoryItem] = []
            if item.episode is not None:
                events = self.views.graph.episode_events(item.episode)
                at = events.index(item_id) if item_id in events else len(events)
                before = self.views.records.get(events[max(0, at - context) : at])
            return {
                "event": item.to_json(),
                "decision": self.views.records.decision(item_id),
                "preceding": [e.to_json() for e in before],
            }

    def neighbours(self, item_id: int, hops: int = 1) -> list[MemoryItem]:
        with self.lock:
            return self.views.records.get(self.views.graph.neighbours(item_id, hops))

    def neighbourhood(self, item_id: int, limit: int = 30) -> list[tuple[str, str, str]]:
        """The graph edges around an item, for drawing it.

        Edges are ``(source, target, kind)``, with nodes named as in :mod:`memory.stores.graph`.
        """
        with self.lock:
            return self.views.graph.around(item_id, limit)

    def path(self, source: str, target: str) -> list[str]:
        """Shortest path between graph nodes (``event:12``, ``entity:apple``...)."""
        with self.lock:
            return self.views.graph.path(source, target)

    def knowledge(self, context: str, *, as_of: float | None = None) -> list[MemoryItem]:
        """The facts and skills consolidated for ``context`` (valid now, or ``as_of``)."""
        where: dict[str, Any] = {"kind": ["fact", "skill"], "context": context}
        if as_of is not None:
            where["as_of"] = as_of
        with self.lock:
            return list(reversed(self.views.records.recent(1 << 30, where)))

    def export(self, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        """Every item as JSON (oldest first), with its decision record where it has one."""
        with self.lock:
            ids = sorted(self.views.records.filter_ids())
            if include_deleted:
                ids = sorted({*ids, *self.views.records.deleted_ids()})
            items = self.views.records.get(ids, include_deleted=include_deleted)
            decisions = {
                i.id: self.views.records.decision(i.id) for i in items if i.kind == "event"
            }
        for item in items:
            out = item.to_json()
            if decisions.get(item.id) is not None:
                out["decision"] = decisions[item.id]
            yield out
