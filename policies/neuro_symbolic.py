"""``neuro_symbolic``: the LLM sets the goal, the planner finds a verified plan.

The planner's verdict keeps the LLM honest.

Use with the ``llm.goal`` module (the LLM translates or decomposes the task into PDDL goals) and
``planner.pddl`` (plans for whatever goal is in working memory). This policy follows the plan.
When the planner proves the LLM's goal infeasible (unsolvable, or an error), the round is
rejected with the planner's reason: CoALA's reject-and-loop sends it back to ``llm.goal``, which
asks the model again with that reason in the prompt, up to ``agent.cycle.max_rejects`` times.
When the model's goal already holds but the episode goes on, the goal cannot be the task's:
that round is rejected too, and the model is asked again with that feedback. While no plan
exists for other reasons (objects not yet found, goal not yet known) it explores like
``planner_first``, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory
from policies.planner_first import PlannerFirstPolicy

VETO_STATUSES = ("unsolvable", "error", "unsupported")


class NeuroSymbolicPolicy(PlannerFirstPolicy):
    """See the module docstring."""

    requires_modules = ("llm.goal", "planner.pddl")

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        planned = [c for c in candidates if c.source == "planner"]
        if planned:
            return planned[0]
        note = wm.notes.get("planner") or {}
        goal = wm.notes.get("llm.goal") or {}
        if goal.get("status") == "translated" and note.get("status") in VETO_STATUSES:
            reason = note.get("reason") or note.get("status")
            return Rejection(
                f"the planner found no plan for the goal {goal.get('goal')}: {reason}",
                by="planner",
            )
        if goal.get("status") == "translated" and note.get("status") == "goal_satisfied":
            # the episode goes on, so the model's goal is not the task's: ask again, saying so
            return Rejection(
                f"the goal {goal.get('goal')} already holds, but the task is not done: that "
                "goal is wrong or incomplete",
                by="planner",
            )
        return await super().select(wm, candidates, values)
