"""The random baseline: every action proposed, one picked uniformly at random.

It exists to be beaten: an honest lower bound for success rate and steps that every other policy
is compared against, seeded per episode so that it is reproducible too.
"""

from __future__ import annotations

from collections.abc import Sequence

from cogos.policy import Policy
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory


class RandomPolicy(Policy):
    """Uniformly random over the environment's actions."""

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        if wm.percept.affordances:  # text-command environments: the admissible commands
            return [Candidate(cmd, action=cmd, source=self.name) for cmd in wm.percept.affordances]
        return [
            Candidate(name, action=i, source=self.name) for i, name in enumerate(wm.action_names)
        ]

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        if not candidates:
            return Rejection("the environment has no actions", by=self.name)
        return candidates[int(self.rng.integers(len(candidates)))]
