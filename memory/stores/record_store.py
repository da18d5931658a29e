"""The record-store contract: entries, decision records and graph edges, with ``last_applied_seq``.

A backend applies a batch of log operations in one transaction together with the new
``last_applied_seq``, so after a crash it is at a clean batch boundary and recovery replays the
log from exactly there. Operations at or below ``last_applied_seq`` are skipped: replay is
idempotent.

The edges of the episodic graph are derived here, once, from each entry (see :func:`edges_for`),
stored with the records, and mirrored by the graph view.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.codec import LogOp
from memory.entries import Entry, MemoryItem

Edge = tuple[str, str, str]
"""``(source node, target node, kind)``; node names are ``episode:<id>``, ``event:<id>``,
``entity:<name>``, ``decision:<id>``."""

Where = Mapping[str, Any]
"""Metadata filter: ``kind``, ``episode``, ``agent``, ``time_from``, ``time_to`` (inclusive,
exclusive), and any other key is matched against the entry's metadata. A list value means "any
of these". Validity: by default only items valid now (not expired, not forgotten) match;
``as_of: T`` asks for the items valid at time T; ``include_expired: True`` drops the check."""

DEFAULT_DOC_FIELDS = ("speaker", "name", "actor", "user", "role")

COLUMNS = ("kind", "episode", "agent")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def check_where(where: Where | None) -> None:
    """Reject filter keys and values that cannot be expressed safely (no SQL from users)."""
    for key, value in (where or {}).items():
        if not _KEY.match(key):
            raise ValueError(f"filter key {key!r} is not a plain name (letters, digits, _ . -)")
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if not (v is None or isinstance(v, str | int | float | bool)):
                raise ValueError(f"filter {key!r}: values must be scalars, got {type(v).__name__}")


def doc_text(entry: Entry, fields: Sequence[str] = DEFAULT_DOC_FIELDS) -> str:
    """What search indexes for an entry: its text, who was involved, and when.

    Lexical and dense retrieval both see the actors (the agent and metadata fields such as
    ``speaker``) and the date written out ("8 May 2023"), so that "what did Alice say in May?"
    can match on the name and the month even when the text itself never says them.
    """
    parts = [entry.text]
    if entry.agent:
        parts.append(entry.agent)
    for key in fields:
        value = entry.metadata.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    parts.append(_date_words(int(entry.time // 86_400)))
    return " ".join(p for p in parts if p)


@lru_cache(maxsize=4096)
def _date_words(day: int) -> str:
    when = datetime.fromtimestamp(day * 86_400, tz=UTC)
    return f"{when.day} {when:%B %Y}"


ENTITY_PREFIX = "entity:"
"""An entity's node name is this and the entity's name (a store may build it in SQL)."""


def edges_for(
    seq: int, entry: Entry, previous_event: int | None, entities: Sequence[str] | None = None
) -> list[Edge]:
    """The graph edges one stored entry creates (``entities``: its ``all_entities()``)."""
    node = f"{entry.kind}:{seq}"
    edges: list[Edge] = []
    if entry.kind == "event" and entry.episode is not None:
        edges.append((f"episode:{entry.episode}", node, "has"))
        if previous_event is not None:
            edges.append((f"event:{previous_event}", node, "next"))
    if entities is None:
        entities = entry.all_entities()
    edges.extend([(node, f"{ENTITY_PREFIX}{name}", "about") for name in entities])
    if entry.decision is not None:
        edges.append((node, f"decision:{seq}", "decided"))
    return edges


class RecordStore(ABC):
    """Records of every entry, addressable by id, filterable, with the graph's edges."""

    @property
    @abstractmethod
    def last_applied_seq(self) -> int: ...

    @abstractmethod
    def setup(self) -> None:
        """Create the schema if needed (idempotent)."""

    @abstractmethod
    def apply(self, ops: Sequence[LogOp]) -> list[Edge]:
        """Apply puts/deletes after ``last_applied_seq`` in one transaction; return new edges."""

    @abstractmethod
    def get(self, ids: Sequence[int], *, include_deleted: bool = False) -> list[MemoryItem]:
        """Items by id, in the order asked; unknown (or deleted) ids are left out."""

    @abstractmethod
    def filter_ids(
        self,
        where: Where | None = None,
        *,
        with_vector: bool | None = None,
        limit: int | None = None,
    ) -> list[int]:
        """Ids of live items matching ``where``, newest first."""

    @abstractmethod
    def recent(self, n: int, where: Where | None = None) -> list[MemoryItem]:
        """The ``n`` newest live items matching ``where``, newest first."""

    @abstractmethod
    def count(
        self,
        where: Where | None = None,
        *,
        include_deleted: bool = False,
        with_vector: bool | None = None,
    ) -> int: ...

    @abstractmethod
    def edge_count(self) -> int: ...

    @abstractmethod
    def integrity(self) -> list[str]:
        """Internal consistency problems (e.g. an episode event without its ``has`` edge)."""

    @abstractmethod
    def lexical(self, query: str, k: int, where: Where | None = None) -> list[tuple[int, float]]:
        """Full-text (bm25) search: ``(id, score)`` best first, higher scores better."""

    @abstractmethod
    def touch(self, ids: Sequence[int], when: float) -> None:
        """Count a retrieval of ``ids`` (access statistics for eviction; soft state)."""

    @abstractmethod
    def access_of(self, item_id: int) -> tuple[int, float] | None:
        """One item's retrieval count and last access time (its time if never retrieved)."""

    @abstractmethod
    def access_stats(self, kinds: Sequence[str]) -> list[tuple[int, int, float]]:
        """``(id, hits, last access or creation time)`` of live items of ``kinds``."""

    @abstractmethod
    def expired_before(self, when: float) -> list[int]:
        """Ids of live items whose validity ended before ``when``."""

    @abstractmethod
    def decision(self, item_id: int) -> dict[str, Any] | None:
        """The decision record stored with an event, if any."""

    @abstractmethod
    def edges(self) -> Iterator[Edge]:
        """Every stored edge (the graph view is rebuilt from these)."""

    @abstractmethod
    def deleted_ids(self) -> list[int]:
        """Ids deleted but not yet compacted away."""

    @abstractmethod
    def make_durable(self) -> None:
        """Force everything applied so far to disk (before the log behind it is dropped)."""

    @abstractmethod
    def compact(self) -> int:
        """Hard-delete deleted items and their edges; return how many items went."""

    def snapshot(self, path: Path) -> None:
        """A consistent copy of the store in ``path``.

        A checkpoint keeps one, so that the store can be rebuilt once the log before the
        checkpoint is gone.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot snapshot itself")

    def stored_vectors(self) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        """Every live item's vector, in id order (what the vector index is rebuilt from)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no vectors")

    def missing_vectors(self) -> int:
        """Live items whose vector the store does not keep."""
        return self.count(with_vector=True)

    @abstractmethod
    def close(self) -> None:
        """Close; safe to call twice."""
