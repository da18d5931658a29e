"""Consolidation: what an episode teaches, kept as semantic facts and procedural skills.

Episodic memory holds what happened, cycle by cycle; it grows without bound and answers "what
did I see at step 40". Consolidation distils an episode into what stays true: the static facts
it observed (a maze's passages and its goal, not the agent's changing position) become *facts*,
and a successful episode's action sequence becomes a *skill*, both tagged with the *context*
they hold in (for example a signature of where the episode started). Later episodes in the same
context retrieve them instead of rediscovering them.

Facts are deduplicated against the facts already stored for that context. A skill replaces an
older one for the same context and goal only if it is shorter; the older one is then forgotten
(its validity ends), not deleted, so "as of" queries still see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from memory.cycle_records import Atom
from memory.entries import Entry, MemoryItem


@dataclass(frozen=True)
class ConsolidationPlan:
    """What to write: new facts and, maybe, a skill (and which old skill it supersedes)."""

    facts: list[Entry]
    skill: Entry | None
    supersedes: int | None


def observed_facts(
    events: Iterable[MemoryItem], keep: Sequence[str] | None, drop: Sequence[str]
) -> list[Atom]:
    """Distinct atoms seen in the events, in first-seen order, filtered by predicate."""
    seen: dict[Atom, None] = {}
    for event in events:
        for atom in event.facts:
            if atom[0] in drop or (keep is not None and atom[0] not in keep):
                continue
            seen.setdefault(tuple(atom), None)
    return list(seen)


def plan_consolidation(
    *,
    episode: str,
    context: str,
    events: Sequence[MemoryItem],
    known_facts: set[Atom],
    keep: Sequence[str] | None,
    drop: Sequence[str],
    success: bool,
    actions: Sequence[str] | None,
    goal: str | None,
    existing_skill: MemoryItem | None,
    time: float,
) -> ConsolidationPlan:
    meta: dict[str, Any] = {"context": context, "source": episode}
    facts = [
        Entry("fact", text=" ".join(atom), facts=(atom,), metadata=meta, time=time)
        for atom in observed_facts(events, keep, drop)
        if atom not in known_facts
    ]
    skill = None
    supersedes = None
    if success and actions:
        old_steps = int(existing_skill.metadata.get("steps", 1 << 30)) if existing_skill else None
        if old_steps is None or len(actions) < old_steps:
            skill = Entry(
                "skill",
                text=f"to reach {goal or 'the goal'}: {' '.join(actions)}",
                metadata={**meta, "goal": goal, "actions": list(actions), "steps": len(actions)},
                time=time,
            )
            supersedes = existing_skill.id if existing_skill is not None else None
    return ConsolidationPlan(facts, skill, supersedes)
