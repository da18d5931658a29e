"""An agent: an environment, a policy, modules and working memory around one decision cycle.

Built from a :class:`~cogos.config.LoadedConfig` (names resolved through the registry; the kernel
imports no concrete component). Used as an async context manager, which starts the bus, then the
modules and the policy, and stops them in reverse order on exit, also on error. With the
config's ``telemetry:`` on, the agent owns a tracer provider: its components and its memory
make spans with it, and closing the agent exports what is left (:mod:`cogos.telemetry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from cogos.bus import Bus
from cogos.config import LoadedConfig, ResolvedComponent
from cogos.context import ComponentContext
from cogos.cycle import DecisionCycle
from cogos.env_handle import EnvHandle
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.errors import ConfigError, EnvError, LifecycleError, NoActionError
from cogos.facts import ANY_FACTS, FactSchema
from cogos.long_term_memory import LongTermMemory
from cogos.module import Module
from cogos.policy import Policy
from cogos.telemetry import start as start_telemetry
from memory.errors import DimensionError, FormatVersionError
from memory.memory_os import MemoryOS  # the default store only: it is used as LongTermMemory
from memory.working import WorkingMemory

if TYPE_CHECKING:
    from cogos.telemetry.provider import Telemetry

log = logging.getLogger("cogos.agent")

EPISODE_TOPIC = "agent/episode/"
TURN_SECONDS = 0.005
"""Longest run of cycles before an episode lets other tasks of its event loop run (the daemon's
other agents and its MQTT connection): a cycle whose awaits all complete at once never
suspends."""


def _fact_schema(components: Sequence[Module | Policy]) -> FactSchema:
    """The facts the components read, together (two that disagree on an arity: ConfigError)."""
    schema = ANY_FACTS
    for component in components:
        try:
            schema = schema.merged(type(component).facts)
        except ValueError as exc:
            raise ConfigError(f"{component.name}: {exc}", key="agent") from None
    return schema


def _construct(component: ResolvedComponent, arg: Any) -> Any:
    """Build a component; a constructor that rejects its options is a config error (exit 2).

    Options are type-checked at load time, but some constraints only the component knows
    (a maze needs width >= 2): its ValueError/TypeError is reported against its options key.
    """
    try:
        if isinstance(arg, dict):
            return component.cls(**arg)
        return component.cls(arg)
    except ConfigError:
        raise  # already says which key (the llm: section, memory...)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{component.name!r} rejected its options: {exc}", key=_option_key(component, exc)
        ) from exc


def _option_key(component: ResolvedComponent, exc: Exception) -> str:
    """The key of the option a constructor complained about, when its message starts with one.

    Components word their checks as "width must be ..."; naming ``env.options.width`` rather
    than ``env.options`` lets the error point at the line that set it.
    """
    match = re.match(r"\w+", str(exc))
    if match and match.group() in type(component.options).model_fields:
        return f"{component.key}.options.{match.group()}"
    return f"{component.key}.options"


class Agent:
    """One agent, ready to run episodes."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        memory: LongTermMemory | None = None,
        bus: Bus | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        """``memory``, ``bus`` and ``telemetry`` replace what the config would make.

        The agent closes what it is given along with what it made, also when building it fails
        (a module that rejects its options must not leave the memory directory locked in a
        daemon that goes on running).
        """
        cfg = loaded.config
        self.config = cfg
        self.name = cfg.agent.name
        self.run_id = f"{cfg.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(2).hex()}"
        # first: a missing extra is a config error before anything is opened
        if telemetry is None:
            telemetry = start_telemetry(cfg.telemetry, agent=self.name, run_id=self.run_id)
        self.telemetry = telemetry
        self.memory: LongTermMemory | None = None
        try:
            self._build(loaded, memory, bus)
        except BaseException:
            self._close_parts()
            raise

    def _close_parts(self) -> None:
        """Close what a failed build opened: the environment, the memory, the telemetry."""
        env: EnvHandle | None = getattr(self, "env", None)  # the first part _build makes
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
        if self.memory is not None:
            with contextlib.suppress(Exception):
                self.memory.close()  # nothing was committed yet: no flush to wait for
        if self.telemetry is not None:
            self.telemetry.shutdown()

    def _build(self, loaded: LoadedConfig, memory: LongTermMemory | None, bus: Bus | None) -> None:
        cfg = loaded.config
        tracer = self.telemetry.tracer if self.telemetry is not None else None
        self.bus = bus or Bus(
            name=cfg.agent.name,
            queue_size=cfg.bus.queue_size,
            overflow=cfg.bus.overflow,
            block_timeout=cfg.bus.block_timeout,
        )
        comps = loaded.components
        self.env = EnvHandle(_construct(comps.env, comps.env.options.model_dump()), comps.env.name)
        self.wm = WorkingMemory()
        if memory is None and cfg.memory.path is not None:
            try:
                memory = MemoryOS(cfg.memory)
            except (FormatVersionError, DimensionError) as exc:
                raise ConfigError(str(exc), key="memory") from exc
        if memory is not None and tracer is not None:
            memory.tracer = tracer
        self.memory = memory
        # The memory this agent starts from: where it is and how far its log had got. A trace
        # records it so that ``cogos replay --verify`` can re-run against that state (on a copy).
        self.memory_start: dict[str, Any] | None = (
            {"path": str(memory.root.resolve()), "last_seq": memory.last_seq}
            if memory is not None
            else None
        )

        def context(instance: str, options: Any, kind: str) -> ComponentContext:
            return ComponentContext(
                name=instance,
                agent=self.name,
                bus=self.bus,
                options=options,
                logger=logging.getLogger(f"cogos.{kind}.{instance}"),
                action_names=self.env.action_names,
                memory=memory,
                llm=cfg.llm,
                tracer=tracer,
            )

        self.modules: list[Module] = [
            _construct(rc, context(rc.instance, rc.options, "module")) for rc in comps.modules
        ]
        self.policy: Policy = _construct(
            comps.policy, context(comps.policy.name, comps.policy.options, "policy")
        )
        self.cycle = DecisionCycle(
            agent=self.name,
            bus=self.bus,
            policy=self.policy,
            modules=self.modules,
            wm=self.wm,
            env=self.env,
            max_rejects=cfg.agent.cycle.max_rejects,
            sink=memory,
            spans=self.telemetry.cycle_spans(self.name) if self.telemetry is not None else None,
        )
        self.fact_schema = _fact_schema(self._components())
        """What the policy and modules read: facts from outside are checked against it."""
        self._started: list[Module | Policy] = []
        self._running = False
        self._stop = False

    def _components(self) -> list[Module | Policy]:
        return [*self.modules, self.policy]

    async def __aenter__(self) -> Self:
        if self._running:
            raise LifecycleError(f"agent {self.name!r} is already running")
        if self.bus.state.value == "new":
            await self.bus.start()
        try:
            for component in self._components():
                await component.start()
                self._started.append(component)
        except BaseException:
            await self._shutdown()
            raise
        self._running = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        while self._started:
            await self._started.pop().stop()
        await self.bus.close()
        self.env.close()
        if self.memory is not None:
            await self.memory.aclose()
        if self.telemetry is not None:  # the export may wait on the network: not in the loop
            await asyncio.to_thread(self.telemetry.shutdown)
        self._running = False

    async def run_episode(self, episode: int, seed: int) -> EpisodeSummary:
        """Reset the environment with ``seed`` and run cycles until the episode ends.

        :meth:`request_stop` ends it early, after the current cycle (reported as truncated).
        """
        if not self._running:
            raise LifecycleError(f"agent {self.name!r} is not started; use 'async with agent'")
        started = time.perf_counter()
        try:
            observation = self.env.reset(seed=seed)
        except (ValueError, TypeError, OSError) as exc:
            raise EnvError(f"env {self.env.name!r} failed to reset: {exc}") from exc
        await self.begin_episode(episode, seed)
        episode_return = 0.0
        cycles = 0
        max_cycles = self.config.agent.cycle.max_cycles
        last = observation
        self._stop = False
        turn = time.perf_counter()
        failure: str | None = None
        while cycles < max_cycles and not self._stop:
            try:
                _, next_observation = await self.cycle.run(last)
            except NoActionError as exc:  # the policy's dead end fails this episode, not the run
                failure = str(exc)
                log.warning("agent %s: episode %d failed: %s", self.name, episode, failure)
                break
            cycles += 1
            if time.perf_counter() - turn > TURN_SECONDS:
                await asyncio.sleep(0)  # a cycle may never suspend: let the rest of the loop run
                turn = time.perf_counter()
            if next_observation is not None:
                last = next_observation
                episode_return += last.reward
                if last.terminated or last.truncated:
                    break
        optimal = observation.info.get("optimal_steps")
        summary = EpisodeSummary(
            episode=episode,
            seed=seed,
            success=last.terminated and last.success,
            steps=self.wm.step,
            cycles=cycles,
            episode_return=episode_return,
            optimal_steps=int(optimal) if optimal is not None else None,
            seconds=time.perf_counter() - started,
            truncated=not last.terminated,
        )
        family = last.info.get("task_family") or observation.info.get("task_family")
        if family is not None:
            summary.extra["task_family"] = str(family)
        primitive = last.info.get("primitive_steps")
        if isinstance(primitive, int):  # the env's own steps, under high-level actions
            summary.extra["primitive_steps"] = primitive
        if failure is not None:
            summary.extra["failure"] = failure
        await self.end_episode(summary)
        return summary

    def request_stop(self) -> None:
        """End the running episode after its current cycle."""
        self._stop = True

    async def begin_episode(self, episode: int, seed: int) -> EpisodeStart:
        """Reset working memory from the env's task and tell every component.

        Split from :meth:`run_episode` for agents whose environment is driven from outside (the
        daemon's ``observe`` command): they begin, then conclude cycles as observations arrive.
        """
        episode_id = f"{self.run_id}:{episode}"
        self.wm.reset(
            episode=episode,
            goal_text=self.env.task_text,
            goal_facts=self.env.goal_facts,
            action_names=self.env.action_names,
            episode_id=episode_id,
            task_facts=self.env.task_facts,
        )
        start = EpisodeStart(episode, seed, self.wm.goal_text, self.wm.goal_facts, episode_id)
        for component in self._components():
            await component.begin_episode(start)
        await self._publish_episode(
            "start", {"episode": episode, "seed": seed, "goal": start.goal_text, "id": episode_id}
        )
        return start

    async def end_episode(self, summary: EpisodeSummary) -> None:
        """Make the episode durable, then tell every component and the bus that it ended."""
        if self.memory is not None:
            await self.memory.flush()  # every cycle of the episode is durable before it ends
        for component in self._components():
            await component.end_episode(summary)
        await self._publish_episode("end", summary.to_json())

    async def _publish_episode(self, kind: str, payload: dict[str, Any]) -> None:
        topic = EPISODE_TOPIC + kind
        if self.bus.has_subscribers(topic):
            await self.bus.publish(topic, payload, source=self.name)

    async def run_episodes(self, seeds: Sequence[int]) -> list[EpisodeSummary]:
        return [await self.run_episode(i, seed) for i, seed in enumerate(seeds)]
