"""``llm.goal``: the LLM turns the task text into the planner's goal (LLM+P).

At an episode's first cycle (and whenever the previous proposal round was rejected, e.g. because
the planner proved the goal infeasible) the module asks the model for the goal as PDDL atoms over
the world's objects and the planning domain's predicates, checks them (unknown predicates,
wrong arity and unknown objects are sent back for repair), and puts them in working memory's
goal slot, which the planner module plans for. With ``mode: subgoals`` it asks for an ordered
list of subgoals instead and hands them to the planner one at a time, moving on when the planner
reports the current one satisfied.

Place it before ``planner.pddl`` in the modules list: modules propose in config order, so the
planner sees the new goal in the same round. It proposes no actions itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cogos.config import RunConfig
from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.errors import ConfigError
from cogos.module import Module, Phase
from memory.cycle_records import Atom, Candidate
from memory.working import WorkingMemory
from modules.llm.chat import preflight
from modules.llm.client import LLMError
from modules.llm.component_llm import ComponentLLM
from modules.llm.reasoning import GOAL, SUBGOALS, AtomSetsQuestion, ask_atom_sets
from modules.llm.schemas import atom_schema
from modules.llm.world import world_objects
from modules.planning.domain import DomainError, load_domain
from modules.planning.planner_module import ADAPTERS, make_adapter


class GoalOptions(BaseModel):
    """Options of ``llm.goal``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = Field(default="household", description="planning domain the goal is written in")
    mode: Literal["goal", "subgoals"] = "goal"
    lessons: int = Field(default=3, ge=0, description="lessons recalled into the prompt")
    predicates: list[str] | None = Field(
        default=None,
        description="the predicates a goal may use (default: every one some action makes true)",
    )


class GoalModule(Module[GoalOptions]):
    """See the module docstring."""

    phases: ClassVar = frozenset({Phase.PROPOSE})

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        preflight(config.llm, "module 'llm.goal'")

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        try:
            self.domain = load_domain(self.options.domain)
        except DomainError as exc:
            raise ConfigError(str(exc), key=f"module {ctx.name}.options.domain") from exc
        signatures = self.domain.goal_signatures()
        unknown = sorted(set(self.options.predicates or ()) - set(self.domain.signatures))
        if unknown:
            raise ConfigError(
                f"no predicate {', '.join(map(repr, unknown))} in domain {self.domain.name!r} "
                f"(it has: {', '.join(sorted(self.domain.signatures))})",
                key=f"module {ctx.name}.options.predicates",
            )
        if self.options.predicates is not None:
            signatures = {p: self.domain.signatures[p] for p in self.options.predicates}
        self.signatures = signatures
        self.predicates = {p: len(sig) for p, sig in signatures.items()}
        self.llm = ComponentLLM(ctx, f"module {ctx.name!r}")
        # the planner's adapter for this domain types the episode's objects (no adapter: a
        # domain given as a file, whose objects come untyped from the facts)
        self.adapter = (
            make_adapter(self.options.domain) if self.options.domain in ADAPTERS else None
        )
        self._reset()

    def _reset(self) -> None:
        self.subgoals: list[frozenset[Atom]] = []
        self.translated = False
        self.feedback: list[str] = []

    async def begin_episode(self, episode: EpisodeStart) -> None:
        self._reset()
        await self.llm.begin_episode(episode, self.options.lessons)

    async def end_episode(self, summary: EpisodeSummary) -> None:
        self.llm.end_episode(summary)

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        rejected = [r.reason for r in wm.rejections]
        if self.translated and not rejected:
            self._advance(wm)
            return []
        self.feedback.extend(rejected)
        objects = self._objects(wm)
        atom = atom_schema(self.signatures, objects, self.domain.subtypes)
        # the goal is one set of atoms, subgoals several: the answer itself is not used here
        question: AtomSetsQuestion[Any] = GOAL if self.options.mode == "goal" else SUBGOALS
        try:
            self.subgoals, _ = await ask_atom_sets(
                question,
                self.llm.client,
                self.llm.task,
                self.predicates,
                objects,
                lessons=self.llm.lessons,
                feedback=self.feedback,
                atom=atom,
                signatures=self.signatures,
            )
        except LLMError as exc:
            self.llm.fall_back(exc)
            # no goal from the model: do not fall back to the task's own goal facts, which an
            # LLM+P evaluation must not see; the planner then has only what the agent perceives
            wm.goal_facts = frozenset()
            wm.notes["llm.goal"] = {"status": "failed", "error": str(exc)}
            self.translated = True
            return []
        self.translated = True
        wm.goal_facts = self.subgoals[0]
        wm.notes["llm.goal"] = {
            "status": "translated",
            "goal": [list(a) for a in sorted(self.subgoals[-1])],
            "subgoals": len(self.subgoals),
        }
        return []

    def _objects(self, wm: WorkingMemory) -> dict[str, str]:
        """The objects the goal may name, typed by the domain where the adapter knows them."""
        objects = world_objects(wm)
        if self.adapter is not None:
            if not self.translated:
                self.adapter.begin_episode(wm)
            self.adapter.observe(wm)
            objects.update(self.adapter.typed_objects())
        return objects

    def _advance(self, wm: WorkingMemory) -> None:
        """Subgoals: move on once the planner reports the current one satisfied."""
        note: dict[str, Any] = wm.notes.get("planner") or {}
        if len(self.subgoals) > 1 and note.get("status") == "goal_satisfied":
            self.subgoals.pop(0)
            wm.goal_facts = self.subgoals[0]
