"""One CoALA decision cycle, phase by phase.

perceive -> working memory -> retrieve -> propose -> evaluate -> select (or reject and propose
again, at most ``max_rejects`` times) -> execute (an env action, or an internal action run by the
module it targets) -> learn -> commit.

Each phase's output is published on the bus under ``cycle/<phase>`` (only when someone listens,
so an unobserved cycle pays nothing for it), and the whole cycle becomes one
:class:`~memory.cycle_records.CycleRecord`, published on ``cycle/commit`` and handed to long-term
memory when the agent has one.

With telemetry on (``spans``), every cycle is also a ``cogos.cycle`` span with a child span per
phase (:mod:`cogos.telemetry.cycle_spans`); off, each phase pays one ``is None`` test.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cogos.bus import Bus
from cogos.env_handle import EnvHandle
from cogos.errors import CycleError, NoActionError
from cogos.module import Module, Phase
from cogos.observation import Observation
from cogos.policy import Policy
from memory.cycle_records import (
    Attempt,
    Candidate,
    CycleRecord,
    Decision,
    Outcome,
    Percept,
    RetrievedItem,
)
from memory.working import WorkingMemory

if TYPE_CHECKING:
    from cogos.telemetry.cycle_spans import CycleSpans, CycleTrace

TOPIC_PREFIX = "cycle/"


@dataclass
class PendingCycle:
    """A cycle that has decided but not yet seen what its action did."""

    percept: Percept
    retrieved: list[RetrievedItem]
    decision: Decision
    durations: dict[str, float]
    decided_at: float
    telemetry: CycleTrace | None = None
    """The cycle's open spans, when telemetry is on: they end when it concludes."""


def outcome_of(observation: Observation) -> Outcome:
    """What an external action did, read off the observation that followed it."""
    return Outcome(
        observation.reward,
        observation.terminated,
        observation.truncated,
        observation.success if observation.terminated else None,
        {"action_success": observation.info.get("action_success", True)},
    )


class CycleSink(Protocol):
    """Where committed cycles go: the memory OS implements this (one WAL record per cycle)."""

    async def commit(self, record: CycleRecord) -> None: ...


class DecisionCycle:
    """Runs cycles for one agent; holds no state of its own beyond working memory."""

    def __init__(
        self,
        *,
        agent: str,
        bus: Bus,
        policy: Policy,
        modules: Sequence[Module],
        wm: WorkingMemory,
        env: EnvHandle,
        max_rejects: int = 3,
        sink: CycleSink | None = None,
        spans: CycleSpans | None = None,
    ) -> None:
        self.agent = agent
        self.bus = bus
        self.policy = policy
        self.wm = wm
        self.env = env
        self.max_rejects = max_rejects
        self.sink = sink
        self.spans = spans
        self.modules = {m.name: m for m in modules}
        by_phase = {p: [m for m in modules if m.supports(p)] for p in Phase}
        self._perceivers = by_phase[Phase.PERCEIVE]
        self._retrievers = by_phase[Phase.RETRIEVE]
        self._proposers = by_phase[Phase.PROPOSE]
        self._evaluators = by_phase[Phase.EVALUATE]
        self._critics = by_phase[Phase.CRITIQUE]
        self._learners = by_phase[Phase.LEARN]
        self._executors = {m.name: m for m in by_phase[Phase.EXECUTE]}

    async def _emit(self, phase: str, payload: Any) -> None:
        topic = TOPIC_PREFIX + phase
        if self.bus.has_subscribers(topic):
            await self.bus.publish(topic, payload, source=self.agent)

    async def run(self, observation: Observation) -> tuple[CycleRecord, Observation | None]:
        """Run one cycle on ``observation``.

        Returns the record and the next observation, or None when the chosen action was
        internal (the environment did not move; the next cycle perceives the same observation).
        """
        pending = await self.deliberate(observation)
        chosen = pending.decision.chosen
        next_observation: Observation | None = None
        if chosen.kind == "external":
            try:
                next_observation = self.env.step(chosen.action)
            except BaseException as exc:
                if pending.telemetry is not None:
                    pending.telemetry.fail(exc)
                raise
            outcome = outcome_of(next_observation)
            self.wm.step += 1
        else:
            outcome = await self.execute_internal(chosen, pending)
        record = await self.conclude(pending, outcome)
        return record, next_observation

    async def deliberate(self, observation: Observation) -> PendingCycle:
        """Perceive, retrieve, propose / evaluate / select: everything before acting.

        Split from :meth:`run` so that an agent driven from outside (the daemon's external
        environments) can send the chosen action away and conclude the cycle when the next
        observation arrives.
        """
        trace = None if self.spans is None else self.spans.begin(self.wm)
        clock = time.perf_counter
        try:
            t0 = clock()
            perceiving = self._perceive(observation)
            percept = await (perceiving if trace is None else trace.phase("perceive", perceiving))
            t1 = clock()
            retrieving = self._retrieve()
            retrieved = await (retrieving if trace is None else trace.phase("retrieve", retrieving))
            t2 = clock()
            deciding = self._decide()
            decision = await (deciding if trace is None else trace.phase("decide", deciding))
            t3 = clock()
        except BaseException as exc:
            if trace is not None:
                trace.fail(exc)
            raise
        if trace is not None:
            trace.decided(decision)
        return PendingCycle(
            percept,
            retrieved,
            decision,
            {"perceive": t1 - t0, "retrieve": t2 - t1, "decide": t3 - t2},
            t3,
            trace,
        )

    async def execute_internal(
        self, chosen: Candidate, pending: PendingCycle | None = None
    ) -> Outcome:
        """Carry out an internal action through the module it targets.

        ``pending`` is the cycle that chose it: with telemetry on, the module's own spans are
        then children of that cycle's execute phase (and a failure ends the cycle's spans).
        """
        trace = pending.telemetry if pending is not None else None
        try:
            executor = self._executors.get(chosen.target or "")
            if executor is None:
                raise CycleError(
                    f"internal action {chosen.name!r} targets {chosen.target!r}, which is no "
                    f"module with the execute phase (have: {', '.join(self._executors) or 'none'})"
                )
            executing = executor.execute(chosen, self.wm)
            return await (executing if trace is None else trace.executing(executing))
        except BaseException as exc:
            if trace is not None:
                trace.fail(exc)
            raise

    def abandon(self, pending: PendingCycle) -> None:
        """Drop a cycle whose action will never have an outcome (an external episode cut off).

        Nothing is recorded of it; with telemetry on, its spans end, marked abandoned.
        """
        if pending.telemetry is not None:
            pending.telemetry.abandon()

    async def conclude(self, pending: PendingCycle, outcome: Outcome) -> CycleRecord:
        """Record what the chosen action did, let modules learn, and commit the cycle."""
        wm = self.wm
        clock = time.perf_counter
        trace = pending.telemetry
        chosen = pending.decision.chosen
        try:
            wm.last_action = chosen
            wm.last_outcome = outcome
            await self._emit("execute", {"action": chosen, "outcome": outcome})
            t4 = clock()
            if trace is not None:
                trace.executed()
            durations = dict(pending.durations, execute=t4 - pending.decided_at)
            record = CycleRecord(
                self.agent,
                wm.episode,
                wm.cycle,
                wm.step,
                time.time(),
                pending.percept,
                pending.retrieved,
                pending.decision,
                outcome,
                durations,
                wm.episode_id,
            )
            learning = self._learn(record)
            await (learning if trace is None else trace.phase("learn", learning))
            durations["learn"] = clock() - t4
            if self.sink is not None:
                committing = self.sink.commit(record)
                await (committing if trace is None else trace.within(committing))
            await self._emit("commit", record)
        except BaseException as exc:
            if trace is not None:
                trace.fail(exc)
            raise
        wm.cycle += 1
        if trace is not None:
            trace.end(record)
        return record

    # -- the phases: each is one awaitable, which a phase span can wrap ----------------------

    async def _perceive(self, observation: Observation) -> Percept:
        """The percept (the perceivers' merged), taken into working memory and published."""
        if not self._perceivers:
            percept = Percept(observation.facts, observation.text, None, observation.affordances)
        else:
            percepts = [
                p for m in self._perceivers if (p := await m.perceive(observation, self.wm))
            ]
            percept = percepts[0] if len(percepts) == 1 else _merged(percepts)
        self.wm.begin_cycle(percept)
        await self._emit("percept", percept)
        return percept

    async def _retrieve(self) -> list[RetrievedItem]:
        retrieved: list[RetrievedItem] = []
        for module in self._retrievers:
            retrieved.extend(await module.retrieve(self.wm))
        self.wm.retrieved = retrieved
        if self._retrievers:
            await self._emit("retrieve", retrieved)
        return retrieved

    async def _learn(self, record: CycleRecord) -> None:
        for module in self._learners:
            await module.learn(record, self.wm)

    async def _decide(self) -> Decision:
        """Propose, evaluate, select; on a rejection record why and loop (max_rejects times).

        The decision is published on ``cycle/select``.
        """
        wm = self.wm
        policy = self.policy
        attempts: list[Attempt] = []
        candidates: list[Candidate] = []
        values: list[float] = []
        for _ in range(self.max_rejects + 1):
            candidates = list(await policy.propose(wm))
            for module in self._proposers:
                candidates.extend(await module.propose(wm))
            wm.candidates = candidates
            await self._emit("propose", candidates)

            values = [float(v) for v in await policy.evaluate(wm, candidates)]
            if len(values) != len(candidates):
                raise CycleError(
                    f"policy {policy.name!r} gave {len(values)} values for "
                    f"{len(candidates)} candidates"
                )
            for module in self._evaluators:
                extra = await module.evaluate(wm, candidates)
                if len(extra) != len(candidates):
                    raise CycleError(
                        f"module {module.name!r} gave {len(extra)} values for "
                        f"{len(candidates)} candidates"
                    )
                values = [v + float(e) for v, e in zip(values, extra, strict=True)]
            wm.values = values
            await self._emit("evaluate", {"candidates": candidates, "values": values})

            choice = await policy.select(wm, candidates, values)
            if isinstance(choice, Candidate):
                for critic in self._critics:
                    verdict = await critic.critique(wm, choice)
                    if verdict is not None:
                        choice = verdict
                        break
            if isinstance(choice, Candidate):
                attempts.append(Attempt(tuple(candidates), tuple(values), choice))
                value = values[candidates.index(choice)] if choice in candidates else 0.0
                decision = Decision(choice, value, tuple(attempts))
                await self._emit("select", decision)
                return decision
            attempts.append(Attempt(tuple(candidates), tuple(values), None, choice))
            wm.rejections.append(choice)
            await self._emit("reject", choice)
        decision = self._fallback(attempts, candidates, values)
        await self._emit("select", decision)
        return decision

    def _fallback(
        self, attempts: list[Attempt], candidates: list[Candidate], values: list[float]
    ) -> Decision:
        """Every round was rejected: take the best candidate not itself rejected, and say so."""
        rejected = [r.candidate for r in self.wm.rejections if r.candidate is not None]
        ranked = sorted(
            (i for i, c in enumerate(candidates) if c not in rejected),
            key=lambda i: -values[i],
        ) or sorted(range(len(candidates)), key=lambda i: -values[i])
        if not candidates:
            raise NoActionError(
                f"no action: policy {self.policy.name!r} and the modules proposed nothing for "
                f"this percept ({len(self.wm.percept.facts)} facts, "
                f"{len(self.wm.percept.affordances)} admissible actions)"
            )
        if not ranked:
            reasons = "; ".join(r.reason for r in self.wm.rejections)
            raise CycleError(
                f"no candidate after {len(attempts)} round(s) of proposals (rejections: {reasons})"
            )
        best = ranked[0]
        return Decision(candidates[best], values[best], tuple(attempts), forced=True)


def _merged(percepts: Sequence[Percept]) -> Percept:
    """One percept of several perceivers': every fact, every text, the first embedding."""
    facts: frozenset[tuple[str, ...]] = frozenset().union(*(p.facts for p in percepts))
    text = "\n".join(p.text for p in percepts if p.text)
    embedding = next((p.embedding for p in percepts if p.embedding is not None), None)
    affordances = next((p.affordances for p in percepts if p.affordances), ())
    return Percept(facts, text, embedding, affordances)
