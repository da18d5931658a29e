"""``planner_first``: follow the planner's validated plan; explore when there is none.

The PDDL planner module proposes the next step of its plan (candidates with
``source="planner"``). This policy values such a step above everything else. When the planner
proposes nothing (the goal is not known yet, no plan exists, the solve timed out) the policy
falls back to the exploring policy's frontier moves, and each fallback candidate's rationale
says why, so the trace shows every decision that was not the planner's and the reason. Each
episode's ``extra["decisions"]`` counts the cycles decided by the plan and by the fallback
(summed in ``metrics.json``), so a success that exploration earned is not taken for the plan's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.facts import ANY_FACTS
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory
from policies.explore import ExplorePolicy

PLAN_VALUE = 1e6
WAIT = "wait"
"""An environment's action that lets time pass: proposed when nothing else can be done."""


class PlannerFirstPolicy(ExplorePolicy):
    """The planner proposes; exploration is the fallback."""

    facts = ANY_FACTS  # any world the planner's domain describes, not only grids

    async def begin_episode(self, episode: EpisodeStart) -> None:
        await super().begin_episode(episode)
        self._decided: dict[int, str] = {}  # cycle -> "plan" | "fallback" (its last choice)

    async def end_episode(self, summary: EpisodeSummary) -> None:
        await super().end_episode(summary)
        counts = {"plan": 0, "fallback": 0}
        for by in self._decided.values():
            counts[by] += 1
        summary.extra["decisions"] = counts

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        candidates = list(await super().propose(wm))
        if not candidates and wm.percept.affordances:
            # no grid to explore (a text-command world): any admissible command, drawn at random
            # (seeded), so a fallback never gets stuck repeating one failing action
            order = self.rng.permutation(len(wm.percept.affordances))
            candidates = [
                Candidate(
                    wm.percept.affordances[i], action=wm.percept.affordances[i], source=self.name
                )
                for i in order
            ]
        if not candidates and WAIT in wm.action_names:
            # boxed in (Dynamic-Obstacles' moving obstacles): let time pass, the way may clear
            candidates = [Candidate(WAIT, action=wm.action_names.index(WAIT), source=self.name)]
        note = wm.notes.get("planner")
        why = "no planner module configured"
        if note is not None:
            why = note.get("reason") or note.get("status", "")
        return [
            Candidate(c.name, c.action, c.kind, c.source, c.target, c.args, f"fallback: {why}")
            for c in candidates
        ]

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        choice = await super().select(wm, candidates, values)
        if isinstance(choice, Candidate):
            self._decided[wm.cycle] = "plan" if choice.source == "planner" else "fallback"
        if isinstance(choice, Candidate) and choice.source != "planner":
            # the planner module proposes after the policy: its note is current only now
            note = wm.notes.get("planner") or {}
            why = note.get("reason") or note.get("status") or "no planner module configured"
            choice = replace(choice, rationale=f"fallback: {why}")
        return choice

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        """The plan's step above all; exploration's moves valued only when they may be taken.

        While the plan leads and nothing was rejected this cycle, the fallback moves are not
        valued (0): on a 41x41 grid that estimate is half of a cycle's time.
        """
        planned = any(c.source == "planner" for c in candidates)
        if planned and not wm.rejections:
            return [PLAN_VALUE if c.source == "planner" else 0.0 for c in candidates]
        explored = [c for c in candidates if c.source != "planner" and "to" in c.args]
        values = iter(await super().evaluate(wm, explored))
        return [
            PLAN_VALUE if c.source == "planner" else (next(values) if "to" in c.args else 0.0)
            for c in candidates
        ]
