"""The memory OS: working memory now; the WAL, vector store, record store and episodic graph next.

This package imports nothing from the rest of CogOS. It owns the record types of a decision
cycle (what is perceived, proposed, chosen and observed) because those records are what memory
stores; the kernel builds them and the memory OS persists them.
"""

from memory.records import (
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
from memory.working import WorkingMemory

__all__ = [
    "Atom",
    "Attempt",
    "Candidate",
    "CycleRecord",
    "Decision",
    "Outcome",
    "Percept",
    "Rejection",
    "RetrievedItem",
    "WorkingMemory",
    "to_jsonable",
]
