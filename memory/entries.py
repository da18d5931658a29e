"""What the memory OS stores: entries going in, items coming out.

An :class:`Entry` is what a module asks to remember: an episode *event* (with the decision record
of the cycle that produced it), a semantic *fact*, or a plain *text*; any of them may carry a
vector. Once written to the log it becomes a :class:`MemoryItem` whose id is its WAL sequence
number, the same id in every view (FAISS, SQLite, graph).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from memory.cycle_records import Atom

_ARGUMENTS = itemgetter(slice(1, None))
"""A fact's arguments (all but its predicate)."""

EntryKind = Literal["event", "fact", "text", "skill"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("event", "fact", "text", "skill")
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Entry:
    """Something to remember. ``entities`` adds graph links beyond those named in ``facts``.

    Validity: an entry is valid from ``valid_from`` (default: its ``time``) until ``valid_to``
    (default: open-ended, or ``time + ttl`` when a TTL is given). Queries see what is valid now
    unless they ask "as of" another time; :meth:`~memory.memory_os.MemoryOS.forget` ends an
    entry's validity (a soft delete), compaction later removes it for good.
    """

    kind: EntryKind
    text: str = ""
    vector: Vector | None = None
    facts: Sequence[Atom] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    episode: str | None = None
    agent: str | None = None
    time: float = field(default_factory=time.time)
    decision: Mapping[str, Any] | None = None
    entities: Sequence[str] = ()
    valid_from: float | None = None
    valid_to: float | None = None
    ttl: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise ValueError(
                f"entry kind must be one of {', '.join(ENTRY_KINDS)}; got {self.kind!r}"
            )
        if self.decision is not None and self.kind != "event":
            raise ValueError("only events carry a decision record")
        if self.ttl is not None and (self.ttl <= 0 or self.valid_to is not None):
            raise ValueError("ttl must be > 0 and cannot be combined with valid_to")

    @property
    def effective_valid_from(self) -> float:
        return self.time if self.valid_from is None else self.valid_from

    @property
    def effective_valid_to(self) -> float | None:
        if self.ttl is not None:
            return self.effective_valid_from + self.ttl
        return self.valid_to

    def all_entities(self) -> list[str]:
        """Entities the graph links this entry to: every fact argument, plus ``entities``."""
        # map / chain keep the loop in C: a cycle's event holds ~150 facts, and the applier
        # thread computes this for every entry while the daemon waits for the GIL
        return list(
            dict.fromkeys(chain(chain.from_iterable(map(_ARGUMENTS, self.facts)), self.entities))
        )


@dataclass(frozen=True)
class MemoryItem:
    """A stored entry, as read back from the record store."""

    id: int
    kind: EntryKind
    text: str
    facts: tuple[Atom, ...]
    metadata: Mapping[str, Any]
    episode: str | None
    agent: str | None
    time: float
    has_vector: bool
    deleted: bool = False
    valid_from: float | None = None
    valid_to: float | None = None

    def valid_at(self, when: float) -> bool:
        start = self.time if self.valid_from is None else self.valid_from
        return start <= when and (self.valid_to is None or when < self.valid_to)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "facts": [list(a) for a in self.facts],
            "metadata": dict(self.metadata),
            "episode": self.episode,
            "agent": self.agent,
            "time": self.time,
            "has_vector": self.has_vector,
            "deleted": self.deleted,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }


@dataclass(frozen=True)
class Hit:
    """A search result: the item and its similarity score (higher is closer)."""

    item: MemoryItem
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, **self.item.to_json()}
