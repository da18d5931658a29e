"""A planner solve as an OpenTelemetry span (``planner.solve``), when telemetry is on.

The span covers what ``planner.pddl`` does to get a plan: the adapter's exact search, the plan
cache, or the engine in its worker process (and the validation of the answer). Its attributes
say how big the problem was, which way was taken (``cogos.planner.method``), what came out and
how long the plan is. An unsolvable problem is an answer, not an error; a timeout or an engine
error marks the span as failed, with ``error.type`` the status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING

from modules.planning.adapters.base import PlanningState
from modules.planning.results import PlanResult, PlanStatus

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

SOLVE = "planner.solve"
_FAILED = (PlanStatus.TIMEOUT, PlanStatus.ERROR)
_METHODS = (("solves", "engine"), ("cache_hits", "cache"), ("searches", "search"))
"""Which counter of the module's stats a solve moved, and what that says it did."""


async def traced_solve(
    tracer: Tracer,
    solving: Awaitable[PlanResult],
    planning: PlanningState,
    *,
    domain: str,
    engine: str,
    stats: Mapping[str, int],
) -> PlanResult:
    """Await ``solving`` under a ``planner.solve`` span; ``stats`` are the module's counters."""
    from opentelemetry.trace import Status, StatusCode

    before = dict(stats)
    attributes: dict[str, str | int] = {
        "cogos.planner.domain": domain,
        "cogos.planner.engine": engine,
        "cogos.planner.objects": len(planning.objects),
        "cogos.planner.facts": len(planning.state),
        "cogos.planner.goals": len(planning.goal),
    }
    with tracer.start_as_current_span(SOLVE, attributes=attributes) as span:
        result = await solving
        # the same problem failed before and was not asked again: no counter moved
        method = next((m for key, m in _METHODS if stats[key] > before[key]), "known_failure")
        span.set_attributes(
            {
                "cogos.planner.method": method,
                "cogos.planner.solver": result.engine,
                "cogos.planner.status": result.status.value,
                "cogos.planner.cache_hit": result.cached,
                "cogos.planner.validated": result.validated,
            }
        )
        if result.plan is not None:
            span.set_attribute("cogos.planner.plan_length", len(result.plan))
        if result.status in _FAILED:
            span.set_attribute("error.type", result.status.value)
            span.set_status(Status(StatusCode.ERROR, result.message[:256]))
        return result
