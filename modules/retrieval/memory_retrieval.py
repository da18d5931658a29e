"""``retrieval.memory``: what long-term memory knows, brought into working memory each cycle.

Two kinds of recall, both from the agent's memory OS:

* **Knowledge of this context.** At an episode's first cycle the module takes a signature of
  the first percept (where the episode starts) and retrieves the facts and skills consolidated
  for that signature by earlier episodes. A maze seen before is recognised by its start, and
  its passages and goal come back as remembered facts, which the policy may use as beliefs
  (the percept still wins where they disagree).
* **Similar experience** (``search: true``): every ``every`` cycles, a hybrid search with the
  percept text (and the goal) as the query; hits become retrieved items.

At the end of an episode it consolidates the episode (:meth:`MemoryOS.consolidate`): static
facts it observed, and, when it succeeded, its action sequence as a skill, under the same
signature. Without a memory OS configured it does nothing, so a config can keep it listed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.module import Module, Phase
from memory.cycle_records import Atom, CycleRecord, RetrievedItem
from memory.memory_os import MemoryOS
from memory.working import WorkingMemory


class MemoryRetrievalOptions(BaseModel):
    """Options of ``retrieval.memory``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    knowledge: bool = Field(default=True, description="recall facts/skills of this context")
    search: bool = Field(default=False, description="hybrid search with the percept each cycle")
    k: int = Field(default=5, ge=1, description="search hits per retrieval")
    every: int = Field(default=1, ge=1, description="search every N cycles")
    consolidate: bool = Field(default=True, description="distil each episode at its end")
    keep: list[str] | None = Field(default=None, description="predicates kept as facts (all)")
    drop: list[str] = Field(default_factory=lambda: ["at"], description="predicates never kept")


def context_signature(facts: Sequence[Atom]) -> str:
    """A stable name for "where this episode starts": a hash of the first percept's facts."""
    blob = "\n".join(" ".join(a) for a in sorted(facts)).encode()
    return hashlib.blake2b(blob, digest_size=10).hexdigest()


class MemoryRetrieval(Module[MemoryRetrievalOptions]):
    """See the module docstring."""

    phases: ClassVar = frozenset({Phase.RETRIEVE, Phase.LEARN})

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        # the memory OS itself, not any LongTermMemory: consolidation is its own (consolidate)
        self.memory: MemoryOS | None = ctx.memory if isinstance(ctx.memory, MemoryOS) else None
        self.context: str | None = None
        self.episode_id = ""
        self.goal = ""
        self._actions: list[str] = []

    async def begin_episode(self, episode: EpisodeStart) -> None:
        self.context = None
        self.episode_id = episode.episode_id
        self.goal = episode.goal_text
        self._actions = []

    async def retrieve(self, wm: WorkingMemory) -> Sequence[RetrievedItem]:
        memory = self.memory
        if memory is None:
            return []
        items: list[RetrievedItem] = []
        if self.context is None:
            self.context = context_signature(wm.percept.sorted_facts())
            wm.notes["memory.context"] = self.context
            if self.options.knowledge:
                known = await asyncio.to_thread(memory.knowledge, self.context)
                items.extend(_as_retrieved(item.kind, item) for item in known)
        if self.options.search and wm.cycle % self.options.every == 0:
            query = " ".join(p for p in (wm.goal_text, wm.percept.text) if p)
            if query:
                hits = await memory.asearch(query, self.options.k, touch=True)
                items.extend(
                    RetrievedItem(h.item.kind, h.item.text, h.score, "search", str(h.item.id))
                    for h in hits
                )
        return items

    async def learn(self, record: CycleRecord, wm: WorkingMemory) -> None:
        if record.decision.chosen.kind == "external":
            self._actions.append(record.decision.chosen.name)

    async def end_episode(self, summary: EpisodeSummary) -> None:
        memory = self.memory
        if memory is None or not self.options.consolidate or self.context is None:
            return
        result = await asyncio.to_thread(
            memory.consolidate,
            self.episode_id,
            context=self.context,
            keep=self.options.keep,
            drop=self.options.drop,
            success=summary.success,
            actions=self._actions,
            goal=self.goal,
        )
        self.ctx.logger.info("consolidated episode %s: %s", self.episode_id, result)


def _as_retrieved(kind: str, item: Any) -> RetrievedItem:
    """Facts carry their atom as content (policies read it); skills their action list."""
    content: Any = item.facts[0] if kind == "fact" and item.facts else item.metadata.get("actions")
    return RetrievedItem(kind, content, 1.0, "knowledge", str(item.id))
