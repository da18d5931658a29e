"""What a solve returns: a status (an expected outcome is a value, not an exception), the plan."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class PlanStatus(enum.StrEnum):
    """Outcome of one planning request (mirrors unified-planning's result statuses)."""

    SOLVED = "solved"
    SOLVED_OPTIMALLY = "solved_optimally"
    UNSOLVABLE = "unsolvable"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"
    ERROR = "error"

    @property
    def solved(self) -> bool:
        return self in (PlanStatus.SOLVED, PlanStatus.SOLVED_OPTIMALLY)


GroundAction = tuple[str, tuple[str, ...]]
"""``(action name, (object, ...))``: a plan step, independent of any unified-planning objects."""


@dataclass(frozen=True)
class PlanResult:
    """A solve's outcome: ``plan`` is set only when solved, ``cached`` when from the cache."""

    status: PlanStatus
    plan: tuple[GroundAction, ...] | None = None
    engine: str = ""
    seconds: float = 0.0
    message: str = ""
    cached: bool = False
    validated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cost(self) -> int | None:
        """Plan length (unit costs: the shipped domains have no action costs)."""
        return None if self.plan is None else len(self.plan)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "plan": None if self.plan is None else [f"({n} {' '.join(a)})" for n, a in self.plan],
            "cost": self.cost,
            "engine": self.engine,
            "seconds": round(self.seconds, 4),
            "message": self.message,
            "cached": self.cached,
            "validated": self.validated,
        }
