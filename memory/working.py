"""Working memory: the agent's short-term state for the current decision.

CoALA's working memory holds what the current cycle reasons over: the goal, the latest percept,
what retrieval brought in, the current plan, this round's candidates and rejections, and the last
action with its outcome. Everything else (episodes, facts, skills) lives in long-term memory and
enters here only through retrieval. ``notes`` is a per-episode scratch space that modules and
policies may use for state they keep between cycles, under their own key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory.cycle_records import Atom, Candidate, Outcome, Percept, Rejection, RetrievedItem


@dataclass
class WorkingMemory:
    """Mutable state of one agent; the kernel resets it at each episode start."""

    goal_text: str = ""
    goal_facts: frozenset[Atom] = frozenset()
    task_facts: frozenset[Atom] = frozenset()
    percept: Percept = field(default_factory=Percept)
    retrieved: list[RetrievedItem] = field(default_factory=list)
    plan: list[Candidate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    last_action: Candidate | None = None
    last_outcome: Outcome | None = None
    action_names: tuple[str, ...] = ()
    episode: int = 0
    episode_id: str = ""
    cycle: int = 0
    step: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def reset(
        self,
        *,
        episode: int,
        goal_text: str,
        goal_facts: frozenset[Atom],
        action_names: tuple[str, ...],
        episode_id: str = "",
        task_facts: frozenset[Atom] = frozenset(),
    ) -> None:
        """Forget everything of the previous episode (long-term memory is untouched)."""
        self.goal_text = goal_text
        self.goal_facts = goal_facts
        self.task_facts = task_facts
        self.percept = Percept()
        self.retrieved = []
        self.plan = []
        self.candidates = []
        self.values = []
        self.rejections = []
        self.last_action = None
        self.last_outcome = None
        self.action_names = action_names
        self.episode = episode
        self.episode_id = episode_id or str(episode)
        self.cycle = 0
        self.step = 0
        self.notes = {}

    def begin_cycle(self, percept: Percept) -> None:
        """Take in a new percept; per-cycle slots (candidates, rejections) start empty."""
        self.percept = percept
        self.candidates = []
        self.values = []
        self.rejections = []

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for debugging, health replies and the daemon's memory queries."""
        return {
            "goal_text": self.goal_text,
            "goal_facts": [list(a) for a in sorted(self.goal_facts)],
            "percept": self.percept.to_json(),
            "retrieved": [r.to_json() for r in self.retrieved],
            "plan": [c.name for c in self.plan],
            "candidates": [c.name for c in self.candidates],
            "rejections": [r.to_json() for r in self.rejections],
            "last_action": None if self.last_action is None else self.last_action.name,
            "episode": self.episode,
            "cycle": self.cycle,
            "step": self.step,
        }
