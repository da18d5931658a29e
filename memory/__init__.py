"""The memory OS: working memory, and long-term memory behind one write-ahead log.

This package imports nothing from the rest of CogOS. It owns the record types of a decision
cycle (what is perceived, proposed, chosen and observed) because those records are what memory
stores; the kernel builds them and the memory OS persists them.

Long-term memory in a few lines::

    from memory import MemoryConfig, MemoryOS

    with MemoryOS.open("runs/mem", MemoryConfig(embedder={"name": "hashing"})) as memory:
        memory.remember_text("Alice moved to Paris in May")
        memory.search("where does Alice live?", k=5)

The names below are imported on first use (PEP 562): the record types cost nothing, while the
memory OS itself pulls in FAISS, SQLite and networkx only when it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memory.config import MemoryConfig
    from memory.cycle_records import (
        Atom,
        Attempt,
        Candidate,
        CycleRecord,
        Decision,
        Outcome,
        Percept,
        Rejection,
        RetrievedItem,
        to_jsonable,
    )
    from memory.entries import Entry, Hit, MemoryItem
    from memory.memory_os import MemoryOS
    from memory.snapshot import SnapshotReport, SnapshotUnavailable, copy_memory_as_of
    from memory.working import WorkingMemory

_EXPORTS = {
    "Atom": "memory.cycle_records",
    "Attempt": "memory.cycle_records",
    "Candidate": "memory.cycle_records",
    "CycleRecord": "memory.cycle_records",
    "Decision": "memory.cycle_records",
    "Entry": "memory.entries",
    "Hit": "memory.entries",
    "MemoryConfig": "memory.config",
    "MemoryItem": "memory.entries",
    "MemoryOS": "memory.memory_os",
    "Outcome": "memory.cycle_records",
    "Percept": "memory.cycle_records",
    "Rejection": "memory.cycle_records",
    "RetrievedItem": "memory.cycle_records",
    "SnapshotReport": "memory.snapshot",
    "SnapshotUnavailable": "memory.snapshot",
    "WorkingMemory": "memory.working",
    "copy_memory_as_of": "memory.snapshot",
    "to_jsonable": "memory.cycle_records",
}

__all__ = [
    "Atom",
    "Attempt",
    "Candidate",
    "CycleRecord",
    "Decision",
    "Entry",
    "Hit",
    "MemoryConfig",
    "MemoryItem",
    "MemoryOS",
    "Outcome",
    "Percept",
    "Rejection",
    "RetrievedItem",
    "SnapshotReport",
    "SnapshotUnavailable",
    "WorkingMemory",
    "copy_memory_as_of",
    "to_jsonable",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
