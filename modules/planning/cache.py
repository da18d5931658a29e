"""The plan cache: solved problems by key, in memory and (when present) in procedural memory.

A hit skips the planner entirely. The key covers the domain, the goal and every fact of the
state (:meth:`PlanningState.key`), so a hit is only ever reused for the very same problem. With
a memory OS, each solved plan is also written as a ``skill`` item carrying its key, so the cache
survives restarts and is shared by every agent using that memory directory.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from cogos.long_term_memory import LongTermMemory
from memory.entries import Entry
from modules.planning.results import GroundAction


class PlanCache:
    """An LRU of plans, backed by procedural memory when a memory OS is given."""

    def __init__(self, size: int = 1024, memory: LongTermMemory | None = None) -> None:
        self.size = size
        self.memory = memory
        self._plans: OrderedDict[str, tuple[GroundAction, ...]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[GroundAction, ...] | None:
        plan = self._plans.get(key)
        if plan is None and self.memory is not None:
            found = self.memory.recent(1, {"kind": "skill", "plan_key": key})
            if found:
                plan = tuple((n, tuple(a)) for n, a in found[0].metadata["plan"])
                self._remember(key, plan)
        if plan is None:
            self.misses += 1
            return None
        self._plans.move_to_end(key)
        self.hits += 1
        return plan

    def _remember(self, key: str, plan: tuple[GroundAction, ...]) -> None:
        self._plans[key] = plan
        self._plans.move_to_end(key)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def put(self, key: str, plan: tuple[GroundAction, ...], *, domain: str, goal: Any) -> None:
        self._remember(key, plan)
        if self.memory is not None:
            steps = " ".join(f"({n} {' '.join(a)})" for n, a in plan)
            self.memory.remember(
                Entry(
                    "skill",
                    text=f"plan in {domain} for {goal}: {steps}",
                    metadata={"plan_key": key, "domain": domain, "plan": [list(s) for s in plan]},
                )
            )
