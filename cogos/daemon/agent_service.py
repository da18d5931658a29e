"""One agent inside the daemon: its commands, its episodes, and what it publishes.

Commands for an agent are handled one at a time, in arrival order (an external environment's
observations must be processed in order); long work (running episodes of an internal
environment) happens in a background task, so queries and ``episode/stop`` are answered while
episodes run. Cycle and episode events from the agent's bus are forwarded to MQTT, throttled by
the outgoing queue's overflow policy rather than by the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from cogos.agent import Agent
from cogos.bus import Message
from cogos.config import load_config
from cogos.cycle import PendingCycle, outcome_of
from cogos.daemon.config import AgentServiceSpec
from cogos.daemon.protocol import (
    CommandError,
    Health,
    MemoryQuery,
    Observe,
    SetGoal,
    StartEpisodes,
    Status,
    StopEpisodes,
    _Command,
)
from cogos.episode import EpisodeSummary
from cogos.errors import NoActionError
from cogos.facts import FactError
from cogos.metrics import summarize
from cogos.observation import Observation
from memory.cycle_records import to_jsonable

log = logging.getLogger("cogos.daemon")

SEEN_IDS = 4096
"""Command ids remembered per agent, with their replies (docs/mqtt.md, Reliability)."""

Publish = Callable[[str, Any, int, bool], Awaitable[None]]
"""``publish(kind, payload, qos, retain)``: an agent event under ``<prefix>/<agent>/<kind>``."""


class AgentService:
    """See the module docstring."""

    def __init__(
        self,
        spec: AgentServiceSpec,
        publish: Publish,
        *,
        daemon: str | None = None,
        instance: str | None = None,
    ) -> None:
        """``daemon`` and ``instance``: who serves the agent, as its status says."""
        self.spec = spec
        self.name = spec.name
        self.publish = publish
        self.daemon = daemon
        self.instance = instance
        self.agent: Agent | None = None
        self.external = False
        self.state = "starting"
        self.queue: asyncio.Queue[tuple[_Command, Callable[[Any], Awaitable[None]], Hashable]] = (
            asyncio.Queue()
        )
        """Commands with their reply callback and fingerprint (what an id is checked against)."""
        self.episodes_task: asyncio.Task[None] | None = None
        self.pending: PendingCycle | None = None
        self.episode = -1
        self.episode_open = False
        """An external episode has begun and not ended: ``observe`` is accepted."""
        self.episode_return = 0.0
        self.episode_seed = 0
        self.episode_started = 0.0
        self.summaries: list[EpisodeSummary] = []
        self.cycles = 0
        self.commands = 0
        self._action_event: dict[str, Any] | None = None
        """The last observe's ``action`` event, published once its reply is queued: the reply,
        which the environment waits for, goes out first."""
        self.errors = 0
        self._seen: OrderedDict[str, tuple[Hashable, dict[str, Any]]] = OrderedDict()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        loaded = load_config(self.spec.config, [*self.spec.overrides, f"agent.name={self.name}"])
        agent = Agent(loaded)
        await agent.__aenter__()
        self.agent = agent
        self.external = bool(getattr(agent.env.env.unwrapped, "driven_externally", False))
        agent.bus.subscribe(("cycle/commit", "agent/episode/+"), self._forward, name="daemon")
        if "percept" in self.spec.events:
            agent.bus.subscribe("cycle/percept", self._forward_percept, name="daemon:percept")
        await self.set_state("external" if self.external else "idle")

    async def stop(self) -> None:
        """Finish the current cycle, make memory durable, close the agent."""
        if self.agent is None:
            return
        self.agent.request_stop()
        if self.episodes_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.episodes_task, timeout=30)
        if self.pending is not None and self.external:
            # an external episode cut short: its last decision had no outcome
            self.agent.cycle.abandon(self.pending)
            self.pending = None
        await self.agent.__aexit__(None, None, None)
        self.agent = None
        await self.set_state("offline")

    async def set_state(self, state: str) -> None:
        self.state = state
        await self.publish("status", self.status(), 1, True)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "agent": self.name,
            "external": self.external,
            "episode": self.episode,
            "cycles": self.cycles,
            "episodes_done": len(self.summaries),
            "time": time.time(),
            # which daemon serves the agent: the name check at start reads it (daemon/probe.py)
            "daemon": self.daemon,
            "instance": self.instance,
        }

    # -- events -------------------------------------------------------------------------------

    async def _forward(self, message: Message) -> None:
        if message.topic == "cycle/commit":
            record = message.payload
            self.cycles += 1
            if "cycle" in self.spec.events:
                chosen = record.decision.chosen
                await self.publish(
                    "cycle",
                    {
                        "episode": record.episode,
                        "cycle": record.cycle,
                        "step": record.step,
                        "action": chosen.name,
                        "source": chosen.source,
                        "value": record.decision.value,
                        "reward": record.outcome.reward,
                        "done": record.outcome.done,
                    },
                    0,
                    False,
                )
        elif "episode" in self.spec.events:
            await self.publish(
                "episode", {"event": message.topic.rsplit("/", 1)[-1], **message.payload}, 1, False
            )

    async def _forward_percept(self, message: Message) -> None:
        await self.publish("percept", to_jsonable(message.payload), 0, False)

    def metrics(self) -> dict[str, Any]:
        return {
            **summarize(self.summaries[-1000:]),
            "agent": self.name,
            "cycles_total": self.cycles,
            "commands": self.commands,
            "command_errors": self.errors,
            "state": self.state,
        }

    # -- commands -----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Handle queued commands one at a time, forever; nothing a command does ends it."""
        while True:
            command, reply, fingerprint = await self.queue.get()
            self.commands += 1
            try:
                try:
                    await reply(await self._answer(command, fingerprint))
                finally:
                    await self._publish_action()
                if self.pending is not None:  # while the environment acts: what the next
                    self.pending.percept.sorted_facts()  # observation's record will need
            except Exception:  # the reply could not be queued (a bug): logged, and go on
                log.exception("agent %s: replying to %s failed", self.name, type(command).__name__)

    async def _answer(self, command: _Command, fingerprint: Hashable) -> dict[str, Any]:
        """The reply to ``command``: remembered by id, so a redelivered one is not run twice."""
        if command.id is not None and command.id in self._seen:
            seen_as, earlier = self._seen[command.id]
            if seen_as == fingerprint:
                return earlier  # a redelivered QoS 1 command: the same answer
            self.errors += 1
            return _error(
                "id_reused",
                f"id {command.id!r} was already used by another command (one of the last "
                f"{SEEN_IDS} ids of agent {self.name}); give each command its own id",
            )
        try:
            result: dict[str, Any] = {"ok": True, "result": await self._handle(command)}
        except CommandError as exc:
            self.errors += 1
            result = _error(exc.kind, str(exc))
        except Exception as exc:  # a bug in handling one command must not stop the daemon
            self.errors += 1
            log.exception("agent %s: command %s failed", self.name, type(command).__name__)
            result = _error("internal", f"{type(exc).__name__}: {exc}")
        if command.id is not None:
            self._seen[command.id] = (fingerprint, result)
            while len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        return result

    async def handle(self, command: _Command) -> Any:
        """Carry out ``command`` and return its result (an observe's ``action`` event follows)."""
        result = await self._handle(command)
        await self._publish_action()
        return result

    async def _publish_action(self) -> None:
        event, self._action_event = self._action_event, None
        if event is not None:
            await self.publish("action", event, 1, False)

    async def _handle(self, command: _Command) -> Any:
        agent = self.agent
        if agent is None:
            raise CommandError("unavailable", f"agent {self.name} is not running")
        if isinstance(command, Health):
            return {"alive": True, "state": self.state}
        if isinstance(command, Status):
            return {**self.status(), "metrics": self.metrics()}
        if isinstance(command, SetGoal):
            if command.text:
                agent.wm.goal_text = command.text
            _check_facts(agent, [tuple(a) for a in command.facts], "facts")
            if command.facts:
                agent.wm.goal_facts = frozenset(tuple(a) for a in command.facts)
            return {
                "goal_text": agent.wm.goal_text,
                "goal_facts": [list(a) for a in sorted(agent.wm.goal_facts)],
            }
        if isinstance(command, MemoryQuery):
            return await self._memory_query(command)
        if isinstance(command, StartEpisodes):
            return await self._start(command)
        if isinstance(command, StopEpisodes):
            agent.request_stop()
            return {"stopping": self.episodes_task is not None and not self.episodes_task.done()}
        if isinstance(command, Observe):
            return await self._observe(command)
        raise CommandError("unknown_command", type(command).__name__)

    async def _start(self, command: StartEpisodes) -> Any:
        agent = self.agent
        assert agent is not None
        if self.external:
            if self.episode_open:  # a new episode cuts the current one short
                await self._finish_external(truncated=True)
            self.episode += 1
            seed = command.seed if command.seed is not None else self.episode
            await agent.begin_episode(self.episode, seed)
            self.episode_open = True
            self.episode_seed = seed
            self.episode_return = 0.0
            self.episode_started = time.perf_counter()
            return {"episode": self.episode, "awaiting": "observe"}
        if self.episodes_task is not None and not self.episodes_task.done():
            raise CommandError("busy", "episodes are already running; send episode/stop first")
        base = command.seed if command.seed is not None else agent.config.seed + self.episode + 1
        self.episodes_task = asyncio.get_running_loop().create_task(
            self._run_episodes(command.episodes, base), name=f"episodes:{self.name}"
        )
        return {"started": command.episodes, "first_seed": base}

    async def _run_episodes(self, count: int, seed: int) -> None:
        agent = self.agent
        assert agent is not None
        await self.set_state("running")
        try:
            for i in range(count):
                self.episode += 1
                summary = await agent.run_episode(self.episode, seed + i)
                self.summaries.append(summary)
                if agent._stop:
                    break
        finally:
            await self.set_state("idle")

    async def _observe(self, command: Observe) -> Any:
        agent = self.agent
        assert agent is not None
        if not self.external:
            raise CommandError("not_external", f"agent {self.name} runs its own environment")
        if not self.episode_open:
            raise CommandError(
                "no_episode",
                "send episode/start before the first observation"
                if self.episode < 0
                else f"episode {self.episode} has ended; send episode/start to begin the next",
            )
        atoms = list(map(tuple, command.facts))
        _check_facts(agent, atoms, "facts")
        facts = frozenset(atoms)
        info = {**command.info, "admissible_actions": command.admissible}
        if command.success is not None:
            info["success"] = command.success
        observation = Observation(
            None,
            command.reward,
            command.terminated,
            command.truncated,
            info,
            facts,
            command.text,
            tuple(command.admissible),
        )
        self.episode_return += command.reward  # even if the cycle before failed
        ends = command.terminated or command.truncated
        try:
            if self.pending is not None:  # the previous action's outcome is this observation
                agent.wm.step += 1  # as DecisionCycle.run counts it: the record is of the new step
                pending, self.pending = self.pending, None
                await agent.cycle.conclude(pending, outcome_of(observation))
        finally:
            if ends:  # the episode ends with this observation, whatever its last cycle did
                summary = await self._finish_external(
                    truncated=not command.terminated, success=observation.success
                )
        if ends:
            return {"done": True, "summary": summary.to_json()}
        try:
            pending = await agent.cycle.deliberate(observation)
            while pending.decision.chosen.kind == "internal":  # think until there is an action
                outcome = await agent.cycle.execute_internal(pending.decision.chosen, pending)
                await agent.cycle.conclude(pending, outcome)
                pending = await agent.cycle.deliberate(observation)
        except NoActionError as exc:
            raise CommandError("invalid", f"the agent found {exc}") from None
        finally:
            if agent.memory is not None:
                # the reply says this observation was taken: every cycle it concluded (internal
                # ones too) is durable first, under the memory's durability policy
                await agent.memory.flush()
        self.pending = pending
        chosen = pending.decision.chosen
        action = {
            "action": chosen.name,
            "native": to_jsonable(chosen.action),
            "value": pending.decision.value,
        }
        self._action_event = {"episode": self.episode, "step": agent.wm.step, **action}
        return action

    async def _finish_external(self, *, truncated: bool, success: bool = False) -> EpisodeSummary:
        agent = self.agent
        assert agent is not None
        if self.pending is not None:  # cut short (a new episode began): no outcome will come
            agent.cycle.abandon(self.pending)
        self.pending = None
        self.episode_open = False
        summary = EpisodeSummary(
            episode=self.episode,
            seed=self.episode_seed,
            success=success and not truncated,
            steps=agent.wm.step,
            cycles=agent.wm.cycle,  # concluded cycles: the pending one never was
            episode_return=self.episode_return,
            optimal_steps=None,
            seconds=time.perf_counter() - self.episode_started,
            truncated=truncated,
        )
        await agent.end_episode(summary)
        self.summaries.append(summary)
        return summary

    async def _memory_query(self, q: MemoryQuery) -> Any:
        agent = self.agent
        assert agent is not None
        memory = agent.memory
        if memory is None:
            raise CommandError("no_memory", f"agent {self.name} has no memory (set memory.path)")
        try:
            if q.op == "stats":
                return await asyncio.to_thread(memory.stats)
            if q.op == "search":
                if not q.query:
                    raise CommandError("invalid", "search needs 'query'")
                hits = await memory.asearch(q.query, q.k, q.where)
                return [h.to_json() for h in hits]
            if q.op == "recent":
                return [i.to_json() for i in await asyncio.to_thread(memory.recent, q.k, q.where)]
            if q.op == "about":
                if not q.entity:
                    raise CommandError("invalid", "about needs 'entity'")
                return [i.to_json() for i in await asyncio.to_thread(memory.about, q.entity, q.k)]
            if q.op == "episode":
                if not q.episode:
                    raise CommandError("invalid", "episode needs 'episode'")
                return [i.to_json() for i in await asyncio.to_thread(memory.episode, q.episode)]
            if q.item is None:
                raise CommandError("invalid", f"{q.op} needs 'item'")
            if q.op == "why":
                return await asyncio.to_thread(memory.why, q.item)
            return await asyncio.to_thread(memory.decision, q.item)
        except CommandError:
            raise
        except (ValueError, KeyError) as exc:
            raise CommandError("invalid", str(exc)) from None


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"type": kind, "message": message}}


def _check_facts(agent: Agent, facts: list[tuple[str, ...]], field: str) -> None:
    """Refuse atoms that do not fit what the agent's components read (before any cycle)."""
    try:
        agent.fact_schema.check(facts, field)
    except FactError as exc:
        raise CommandError("invalid", str(exc)) from None


_ENCODER = json.JSONEncoder(default=to_jsonable, separators=(",", ":"))
"""``json.dumps`` with these arguments builds an encoder per call: one, for every message."""


def encode(payload: Any) -> bytes:
    return _ENCODER.encode(payload).encode()
