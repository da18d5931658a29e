"""``planner.pddl``: plans with a real PDDL planner and proposes the plan's next step.

Each cycle the module folds the percept into its domain adapter's beliefs, then:

1. **monitors** the current plan: the previous step's add effects must show up in the new state
   (else the action failed or the world differed) and the next step's preconditions must hold
   (else, say, a wall appeared on the way); either mismatch drops the plan;
2. **plans** when it has none: the planning state and goal come from the adapter; a problem the
   adapter can search exactly itself (grid navigation to a cell) is answered by that search; a
   plan cache hit skips the planner; otherwise a unified-planning engine solves it in a worker
   process under our own wall-clock timeout;
3. **validates** every plan before any of it reaches the policy: solved plans with
   unified-planning's sequential plan validator (in the worker, on the problem the engine
   solved), cached plans by replaying them against the domain from the current state;
4. **proposes** the plan's next step as a candidate with ``source="planner"``.

When it cannot plan (no goal known yet, unsolvable, timeout) it proposes nothing and records
why in ``wm.notes["planner"]``; a planner-first policy then falls back to exploring and says so.
Every solve, replan and cache hit is published on the bus (``planner/result``) and counted,
and with telemetry on each is a ``planner.solve`` span (:mod:`modules.planning.spans`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cogos.config import RunConfig
from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.errors import ConfigError
from cogos.module import Module, Phase
from cogos.registry import import_target
from memory.cycle_records import Atom, Candidate
from memory.working import WorkingMemory
from modules.planning.adapters.base import DomainAdapter, PlanningState
from modules.planning.cache import PlanCache
from modules.planning.domain import Domain, DomainError, load_domain
from modules.planning.engine import ENGINES, PlannerWorker, PlanRequest
from modules.planning.results import GroundAction, PlanResult, PlanStatus
from modules.planning.spans import traced_solve

MODULE_NAME = "planner.pddl"
"""This module's registered name (pyproject.toml's entry point)."""
ADAPTERS: dict[str, str] = {
    "gridnav": "modules.planning.adapters.gridnav:GridNavAdapter",
    "household": "modules.planning.adapters.household:HouseholdAdapter",
    "minigrid": "modules.planning.adapters.minigrid:MiniGridAdapter",
}


class PlannerOptions(BaseModel):
    """Options of ``planner.pddl``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    domain: str = Field(
        default="gridnav", description="adapter: gridnav | household | module:Class"
    )
    engine: str = Field(default="fast-downward", description=" | ".join(ENGINES))
    timeout: float = Field(default=10.0, gt=0, description="wall-clock seconds per solve")
    cache: bool = True
    cache_size: int = Field(default=1024, ge=1)
    validate_plans: bool = Field(default=True, alias="validate")
    max_replans: int = Field(default=1000, ge=0, description="per episode")
    direct_search: bool = Field(
        default=True,
        description="let the adapter answer problems it can search exactly itself (grid "
        "navigation to a cell by breadth-first search) instead of the engine",
    )


def make_adapter(name: str) -> DomainAdapter:
    target = ADAPTERS.get(name, name)
    if ":" not in target:
        raise ConfigError(
            f"unknown planning domain adapter {name!r}; expected one of {', '.join(ADAPTERS)} "
            "or 'package.module:Class'"
        )
    cls = import_target(target, "domain adapter")
    adapter = cls()
    if not isinstance(adapter, DomainAdapter):
        raise ConfigError(f"{target} is not a DomainAdapter")
    return adapter


class PlannerModule(Module[PlannerOptions]):
    """See the module docstring."""

    phases: ClassVar = frozenset({Phase.PROPOSE})

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        """The domain adapter's say on the environment (MiniGrid: a mission it can read)."""
        for spec in config.agent.modules:
            if spec.name != MODULE_NAME:
                continue
            domain = str(spec.options.get("domain", PlannerOptions().domain))
            target = ADAPTERS.get(domain, domain)
            if ":" in target:
                adapter = import_target(target, "domain adapter")
                if isinstance(adapter, type) and issubclass(adapter, DomainAdapter):
                    adapter.check_env(config.env, config.seed)

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        if self.options.engine not in ENGINES:
            raise ConfigError(
                f"unknown engine {self.options.engine!r}; expected one of {', '.join(ENGINES)}"
            )
        self.adapter: DomainAdapter = make_adapter(self.options.domain)
        try:
            self.domain: Domain = load_domain(self.adapter.domain)
        except DomainError as exc:
            raise ConfigError(str(exc)) from exc
        self.cache = PlanCache(self.options.cache_size, ctx.memory) if self.options.cache else None
        self.worker = PlannerWorker()
        self.plan: list[GroundAction] = []
        self.expected: frozenset[Atom] = frozenset()
        self.stats: dict[str, int] = {}
        self._failed: dict[str, PlanResult] = {}

    async def stop(self) -> None:
        self.worker.close()
        await super().stop()

    async def begin_episode(self, episode: EpisodeStart) -> None:
        self.adapter.begin_episode(WorkingMemory())
        self.plan = []
        self.expected = frozenset()
        self.stats = {
            "solves": 0,
            "searches": 0,
            "cache_hits": 0,
            "replans": 0,
            "timeouts": 0,
            "failures": 0,
        }
        self._failed = {}

    async def end_episode(self, summary: EpisodeSummary) -> None:
        summary.extra.setdefault("planner", dict(self.stats))

    def _note(self, wm: WorkingMemory, status: str, reason: str = "", **extra: Any) -> None:
        wm.notes["planner"] = {"status": status, "reason": reason, **extra}

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        self.adapter.observe(wm)
        planning = self.adapter.planning_state(wm)
        if isinstance(planning, str):
            self.plan = []
            self._note(wm, "no_problem", planning)
            return []
        if planning.goal <= planning.state:
            self.plan = []
            self._note(wm, "goal_satisfied", "the goal holds in the current state")
            return []
        if self.plan and not self._still_valid(planning):
            self.plan = []
            self.stats["replans"] += 1
        if not self.plan:
            if self.stats["replans"] > self.options.max_replans:
                self._note(wm, "gave_up", f"more than {self.options.max_replans} replans")
                return []
            solving = self._solve(planning)
            tracer = self.ctx.tracer
            if tracer is not None:
                solving = traced_solve(
                    tracer,
                    solving,
                    planning,
                    domain=self.domain.name,
                    engine=self.options.engine,
                    stats=self.stats,
                )
            result = await solving
            await self._publish(result)
            if not result.status.solved or result.plan is None:
                self._note(wm, result.status.value, result.message)
                return []
            self.plan = list(result.plan)
            self._note(wm, "planned", "", length=len(self.plan), cached=result.cached)
        step = self.plan[0]
        ground = self.domain.ground(step)
        self.expected = ground.add
        self.plan.pop(0)
        candidate = self.adapter.candidate(step, wm)
        left = len(self.plan)
        return [
            Candidate(
                candidate.name,
                candidate.action,
                candidate.kind,
                "planner",
                candidate.target,
                candidate.args,
                f"next step of a validated plan ({left} more after it)",
            )
        ]

    def _still_valid(self, planning: PlanningState) -> bool:
        """Execution monitoring: the last step worked and the rest can still run."""
        if not self.expected <= planning.state:
            return False
        return self.domain.first_inapplicable(planning.state, tuple(self.plan)) is None

    async def _solve(self, planning: PlanningState) -> PlanResult:
        direct = self.adapter.search(planning) if self.options.direct_search else None
        if direct is not None:
            self.stats["searches"] += 1
            if direct.plan is None:
                self.stats["failures"] += 1
                return direct
            if not self.options.validate_plans or self._valid(planning, direct.plan):
                return replace(direct, validated=self.options.validate_plans)
            self.stats["failures"] += 1  # an adapter's bug: the engine decides instead
        key = planning.key(self.domain.name)
        failed = self._failed.get(key)
        if failed is not None:  # the very same problem already failed: do not ask again
            return failed
        if self.cache is not None:
            started = time.perf_counter()
            plan = await asyncio.to_thread(self.cache.get, key)
            if plan is not None and self._valid(planning, plan):
                self.stats["cache_hits"] += 1
                return PlanResult(
                    PlanStatus.SOLVED,
                    plan,
                    self.options.engine,
                    time.perf_counter() - started,
                    cached=True,
                    validated=True,
                )
        request = PlanRequest(
            self.domain.text,
            objects=planning.objects,
            init=tuple(sorted(planning.state)),
            goal=tuple(sorted(planning.goal)),
        )
        self.stats["solves"] += 1
        result = await self.worker.asolve(
            request, self.options.engine, self.options.timeout, validate=self.options.validate_plans
        )
        if result.status is PlanStatus.TIMEOUT:
            self.stats["timeouts"] += 1
        if not result.status.solved or result.plan is None:
            self.stats["failures"] += 1
            if result.status is not PlanStatus.TIMEOUT:
                self._failed[key] = result
            return result
        if self.cache is not None:
            await asyncio.to_thread(
                self.cache.put,
                key,
                result.plan,
                domain=self.domain.name,
                goal=sorted(planning.goal),
            )
        return result

    def _valid(self, planning: PlanningState, plan: tuple[GroundAction, ...]) -> bool:
        try:
            end, failed = self.domain.replay(planning.state, plan)
        except DomainError:
            return False
        return failed is None and planning.goal <= end

    async def _publish(self, result: PlanResult) -> None:
        topic = "planner/result"
        if self.ctx.bus.has_subscribers(topic):
            await self.ctx.bus.publish(topic, result.to_json(), source=self.name)
