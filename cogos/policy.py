"""The policy protocol: how propose / evaluate / select are done.

A policy is the decision procedure of the cycle (planner-first, LLM, explore, random...). It
proposes candidates, gives each a value, and selects one, or rejects the round with a reason, in
which case the cycle records the rejection in working memory and asks again (CoALA's
reject-and-loop, bounded by ``agent.cycle.max_rejects``). Modules with the ``propose``,
``evaluate`` and ``critique`` phases contribute around the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from cogos.component import Component, OptionsT
from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory


class Policy(Component[OptionsT]):
    """Base class of every policy. ``propose`` is required; the rest have sensible defaults.

    Subclass ``Policy[MyOptions]`` to have ``self.options`` typed and validated as ``MyOptions``
    (see :mod:`cogos.component`); ``check_config`` and ``facts`` come from there too.
    """

    #: modules (registered names) this policy cannot work without; checked when a config loads,
    #: so a policy never quietly degrades into a different one
    requires_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        self.rng = np.random.default_rng(0)

    async def start(self) -> None:
        """Open resources (planner processes, model clients)."""

    async def stop(self) -> None:
        """Release resources; safe to call twice."""

    async def begin_episode(self, episode: EpisodeStart) -> None:
        """Reseed ``rng`` from the episode seed; override to reset episode state (call super)."""
        self.rng = np.random.default_rng(episode.seed)

    async def end_episode(self, summary: EpisodeSummary) -> None:
        """Called after an episode's last cycle."""

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        raise NotImplementedError

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        """Default: every candidate is worth the same."""
        return [0.0] * len(candidates)

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        """Default: the highest value; ties go to the earliest proposal."""
        if not candidates:
            return Rejection("no candidates were proposed", by=self.name)
        best = max(range(len(candidates)), key=values.__getitem__)
        return candidates[best]
