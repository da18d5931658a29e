"""The adapter contract between working memory and a PDDL domain.

An adapter keeps the agent's beliefs for the episode (folded in from percepts, task facts and
recalled memories), turns them into a planning state and goal, and maps a plan step to an
action the environment understands. The planner module does the rest (solving, caching,
validation, monitoring) the same way for every domain.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

from cogos.config import ComponentSpec
from memory.cycle_records import Atom, Candidate
from memory.working import WorkingMemory
from modules.planning.results import GroundAction, PlanResult


@dataclass(frozen=True)
class PlanningState:
    """What the planner plans from: typed objects, the believed state, and the goal."""

    objects: tuple[tuple[str, str], ...]
    state: frozenset[Atom]
    goal: frozenset[Atom]

    def key(self, domain: str) -> str:
        """Cache key: the domain, the goal, and the facts of the state (objects follow them)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(domain.encode())
        for part in (sorted(self.goal), sorted(self.state)):
            h.update(b"\x00")
            for atom in part:
                h.update("\x1f".join(atom).encode() + b"\x1e")
        return h.hexdigest()


class DomainAdapter(ABC):
    """Beliefs -> planning problem, plan step -> candidate action."""

    domain: str
    """The shipped domain (``modules/planning/domains/<name>.pddl``) this adapter plans in."""

    def begin_episode(self, wm: WorkingMemory) -> None:  # noqa: B027 - optional hook
        """Forget the previous episode's beliefs."""

    def typed_objects(self) -> tuple[tuple[str, str], ...]:
        """The objects of the episode with their domain types.

        Known once ``begin_episode`` or ``observe`` has seen them: what an LLM may name when it
        writes a goal.
        """
        return ()

    @classmethod  # noqa: B027 - an optional hook
    def check_env(cls, env: ComponentSpec, seed: int) -> None:
        """Refuse, when the config loads, an environment this adapter cannot plan for.

        Raise :class:`~cogos.errors.ConfigError` naming what is missing; the default accepts
        every environment.
        """

    def search(self, planning: PlanningState) -> PlanResult | None:
        """An exact plan by a direct search, where one is cheaper than a PDDL engine.

        None (the default): this problem is for the engine. An adapter whose problems are
        sometimes plain shortest paths (grid navigation to a cell) answers those itself: the
        planner is for what needs it. The plan is validated like an engine's.
        """
        return None

    @abstractmethod
    def observe(self, wm: WorkingMemory) -> None:
        """Fold the current percept (and recalled facts) into the beliefs."""

    @abstractmethod
    def planning_state(self, wm: WorkingMemory) -> PlanningState | str:
        """The state and goal to plan for, or why there is none yet (e.g. goal not seen)."""

    @abstractmethod
    def candidate(self, step: GroundAction, wm: WorkingMemory) -> Candidate:
        """The environment action that carries out ``step``."""
