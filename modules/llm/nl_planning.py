"""From a task in English to a verified plan: translate, check, solve, and tell the model why not.

The loop (LLM+P with the planner's verdict fed back):

1. the model translates the task into a problem (:mod:`modules.llm.problem_translation`);
2. the problem is checked before any planner runs: a goal at all, and every goal fact reachable
   when actions only add facts (:mod:`modules.planning.reachability`);
3. Fast Downward solves it in a worker with a wall-clock limit, and unified-planning validates
   the plan;
4. a failure (unreachable goal, unsolvable, malformed, planner error) goes back to the model with
   the reason, and the translation is asked again, up to ``rounds`` times; from the second round
   the model reads every sentence itself (nothing taken from the worked example);
5. a planner timeout splits the goal into ordered subgoals (Kwon et al., ICRA 2025), each planned
   from the state the previous one reached (``_Solver.by_subgoals``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from memory.cycle_records import Atom
from modules.llm.client import LLMClient, LLMError
from modules.llm.problem_translation import (
    Translation,
    WorkedExample,
    translate_facts,
    translate_objects,
)
from modules.llm.reasoning import decompose
from modules.llm.schemas import atom_schema
from modules.planning.domain import Domain
from modules.planning.engine import PlannerWorker, PlanRequest
from modules.planning.ipc_problems import GeneratedProblem
from modules.planning.reachability import relaxed_reach
from modules.planning.results import GroundAction, PlanResult, PlanStatus

SubgoalMode = Literal["auto", "always", "never"]
"""When to plan by subgoals: after a timeout of the whole problem, always (measured beside the
whole), or never."""


@dataclass
class NLPlan:
    """What :func:`plan_from_text` did, whether or not it found a plan."""

    translation: Translation | None = None
    plan: tuple[GroundAction, ...] | None = None
    validated: bool = False
    status: str = "no_problem"
    """``solved``, ``solved_by_subgoals``, or why not: ``no_problem``, ``unsolvable``, ..."""
    rounds: int = 0
    feedback: list[str] = field(default_factory=list)
    """Every reason given back to the model, in order."""
    whole: PlanResult | None = None
    """The last solve of the whole problem."""
    subgoals: list[list[Atom]] | None = None
    subgoal_plan: tuple[GroundAction, ...] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    seconds: float = 0.0

    @property
    def repairs(self) -> int:
        return len(self.feedback)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "validated": self.validated,
            "plan": None if self.plan is None else [[n, *a] for n, a in self.plan],
            "rounds": self.rounds,
            "feedback": self.feedback,
            "subgoals": self.subgoals,
            "subgoal_plan_length": None if self.subgoal_plan is None else len(self.subgoal_plan),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "llm_calls": self.llm_calls,
            "seconds": round(self.seconds, 3),
        }


def _count(out: NLPlan, answer: Any) -> None:
    if answer is not None:
        out.input_tokens += answer.input_tokens
        out.output_tokens += answer.output_tokens
        out.llm_calls += answer.attempts


async def plan_from_text(
    client: LLMClient,
    domain: Domain,
    task: str,
    worker: PlannerWorker,
    *,
    example: WorkedExample | None = None,
    domain_text: str | None = None,
    engine: str = "fast-downward",
    timeout: float = 60.0,
    rounds: int = 3,
    subgoals: SubgoalMode = "auto",
) -> NLPlan:
    """Translate ``task``, solve it, and repair the translation from the planner's verdict."""
    started = time.perf_counter()
    out = NLPlan()
    objects_feedback: list[str] = []
    facts_feedback: list[str] = []
    objects: dict[str, str] | None = None
    solver = _Solver(client, domain, worker, engine, timeout)
    try:
        for round_ in range(1, rounds + 1):
            out.rounds = round_
            if objects is None:
                objects, answer = await translate_objects(
                    client,
                    domain,
                    task,
                    example=example,
                    domain_text=domain_text,
                    feedback=objects_feedback,
                )
                _count(out, answer)
            translation, facts_answer = await translate_facts(
                client,
                domain,
                task,
                objects,
                example=example,
                domain_text=domain_text,
                feedback=facts_feedback,
                reuse_example=round_ == 1,
            )
            _count(out, facts_answer)
            out.translation = translation
            problem, about_objects = _check(domain, translation)
            if problem is None:
                problem = await solver.solve(out, translation, subgoals)
                if problem is None:
                    return out
            out.feedback.append(problem)
            facts_feedback.append(problem)
            if about_objects:
                objects_feedback.append(problem)
                objects = None  # list the objects again, with the reason
    except LLMError as exc:
        out.feedback.append(f"the model gave no usable answer: {exc}")
        out.status = "no_translation"
    finally:
        out.seconds = time.perf_counter() - started
    return out


def _check(domain: Domain, translation: Translation) -> tuple[str | None, bool]:
    """Why this problem cannot be right before a planner is asked (None: go ahead).

    Also whether the objects are at fault: a type with none that an action needs.
    """
    if not translation.goal:
        return "the problem has no goal: which sentences say what must hold at the end?", False
    reach = relaxed_reach(domain, translation.objects, translation.init, translation.goal)
    return reach.explain(), bool(reach.unreachable_goal and reach.missing_types)


@dataclass
class _Solver:
    """What solving a translated problem needs: the model (for subgoals) and the planner."""

    client: LLMClient
    domain: Domain
    worker: PlannerWorker
    engine: str
    timeout: float

    async def plan(
        self, translation: Translation, init: frozenset[Atom], goal: frozenset[Atom]
    ) -> PlanResult:
        # as PDDL text: a domain that names objects only its problems declare (tyreworld's
        # wrench) is read by the planner together with the problem
        problem = GeneratedProblem(
            "translated", self.domain.name, tuple(translation.objects.items()), init, goal
        )
        request = PlanRequest(self.domain.text, problem_pddl=problem.to_pddl())
        return await self.worker.asolve(request, self.engine, self.timeout)

    async def solve(
        self, out: NLPlan, translation: Translation, subgoals: SubgoalMode
    ) -> str | None:
        """Solve the whole problem (and by subgoals where asked); None when done, else why not."""
        whole = await self.plan(translation, translation.init, translation.goal)
        out.whole = whole
        if whole.status.solved and whole.plan is not None:
            out.plan, out.validated, out.status = whole.plan, whole.validated, "solved"
        timed_out = whole.status is PlanStatus.TIMEOUT
        if subgoals == "always" or (subgoals == "auto" and timed_out):
            await self.by_subgoals(out, translation)
            if out.plan is None and out.subgoal_plan is not None:
                out.plan, out.validated, out.status = out.subgoal_plan, True, "solved_by_subgoals"
        if out.plan is not None:
            return None
        out.status = whole.status.value
        if whole.status is PlanStatus.UNSOLVABLE:
            return (
                "the planner proved that no plan reaches the goal from the initial state as "
                "translated: a fact of the initial state or of the goal is wrong or missing"
            )
        if timed_out:
            return f"the planner found no plan within {self.timeout:g} s"
        return f"the planner could not use the problem: {whole.message}"

    async def by_subgoals(self, out: NLPlan, translation: Translation) -> None:
        """Ask the model for ordered subgoals and plan each from where the last one ended.

        The subgoals are atoms of the problem (checked); after the last, whatever of the goal
        does not hold yet is planned for too, so a poor split costs plan length, not
        correctness. The joined plan is checked by replaying it against the domain.
        """
        domain = self.domain
        goal_text = "; ".join(" ".join(a) for a in sorted(translation.goal))
        atom = atom_schema(domain.signatures, translation.objects, domain.subtypes)
        try:
            parts, answer = await decompose(
                self.client,
                f"Reach this goal, one group of facts at a time: {goal_text}",
                domain.predicates,
                translation.objects,
                atom=atom,
                signatures=domain.signatures,
            )
        except LLMError as exc:
            out.feedback.append(f"no subgoals: {exc}")
            return
        _count(out, answer)
        out.subgoals = [sorted(p) for p in parts]
        state = translation.init
        steps: list[GroundAction] = []
        for sub in [*parts, translation.goal]:
            if sub <= state:
                continue
            result = await self.plan(translation, state, sub)
            if not result.status.solved or result.plan is None:
                return
            state, failed = domain.replay(state, result.plan)
            if failed is not None:
                return
            steps.extend(result.plan)
        if translation.goal <= state:
            out.subgoal_plan = tuple(steps)
