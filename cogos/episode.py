"""What the kernel tells components when an episode starts and ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory.cycle_records import Atom


@dataclass(frozen=True, slots=True)
class EpisodeStart:
    """Given to every module and the policy before the first cycle of an episode.

    ``seed`` is the episode's seed: components that draw random numbers seed their own generator
    from it, so that a run is reproducible from its config alone.
    """

    episode: int
    seed: int
    goal_text: str
    goal_facts: frozenset[Atom] = frozenset()
    episode_id: str = ""


@dataclass(frozen=True, slots=True)
class EpisodeSummary:
    """How an episode went; one row of the CLI's table and of ``metrics.json``."""

    episode: int
    seed: int
    success: bool
    steps: int
    cycles: int
    episode_return: float
    optimal_steps: int | None
    seconds: float
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def optimal_ratio(self) -> float | None:
        """Steps taken over the optimal number, for successful episodes with a known optimum."""
        if not self.success or not self.optimal_steps:
            return None
        return self.steps / self.optimal_steps

    def to_json(self) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "seed": self.seed,
            "success": self.success,
            "steps": self.steps,
            "cycles": self.cycles,
            "return": self.episode_return,
            "optimal_steps": self.optimal_steps,
            "optimal_ratio": self.optimal_ratio,
            "seconds": self.seconds,
            "truncated": self.truncated,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeSummary:
        """The inverse of :meth:`to_json` (``metrics.json``'s ``per_episode`` entries)."""
        return cls(
            episode=int(data["episode"]),
            seed=int(data["seed"]),
            success=bool(data["success"]),
            steps=int(data["steps"]),
            cycles=int(data["cycles"]),
            episode_return=float(data["return"]),
            optimal_steps=data.get("optimal_steps"),
            seconds=float(data["seconds"]),
            truncated=bool(data.get("truncated", False)),
            extra=dict(data.get("extra", {})),
        )
