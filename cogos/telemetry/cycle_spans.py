"""The spans of a decision cycle: ``cogos.cycle`` with one child per phase.

A cycle is one trace: its span starts when the cycle perceives and ends when it commits, and
each phase of the trace's ``durations_us`` (perceive, retrieve, decide, execute, learn) is a
child span over the same stretch of the cycle. The spans the phases' own work makes (an LLM
call, a planner solve, a memory search) are children of their phase, because each phase runs
with its span as the current one; the memory commit that ends a cycle is a child of the cycle.

The daemon deliberates on one command and concludes on the next, so a cycle's spans travel in
its :class:`~cogos.cycle.PendingCycle` (a :class:`CycleTrace`), not in the current context.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import Span, Status, StatusCode, Tracer, set_span_in_context

from memory.cycle_records import CycleRecord, Decision
from memory.working import WorkingMemory

T = TypeVar("T")

CYCLE = "cogos.cycle"
PHASE = "cogos."
"""Prefix of the phase spans' names: ``cogos.perceive`` ... ``cogos.learn``."""


class CycleSpans:
    """Starts the spans of one agent's cycles (see the module docstring)."""

    def __init__(self, tracer: Tracer, agent: str) -> None:
        self.tracer = tracer
        self.agent = agent

    def begin(self, wm: WorkingMemory) -> CycleTrace:
        """A cycle's span, started now; it is not made current (see :class:`CycleTrace`)."""
        span = self.tracer.start_span(
            CYCLE,
            attributes={
                "cogos.agent": self.agent,
                "cogos.episode": wm.episode,
                "cogos.episode.id": wm.episode_id,
                "cogos.cycle": wm.cycle,
            },
        )
        return CycleTrace(self.tracer, span)


class CycleTrace:
    """One cycle's open spans, and how its phases run under them."""

    def __init__(self, tracer: Tracer, span: Span) -> None:
        self.tracer = tracer
        self.span = span
        self.context: Context = set_span_in_context(span)
        self.execute: Span | None = None

    async def phase(self, name: str, work: Awaitable[T]) -> T:
        """Await a phase's work under its own span, the current span while it runs.

        What ``start_as_current_span`` does, without its two generator-based context managers:
        a maze cycle has five phases and takes about 100 µs.
        """
        span = self.tracer.start_span(PHASE + name, context=self.context)
        token = attach(set_span_in_context(span, self.context))
        try:
            return await work
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:256]))
            raise
        finally:
            detach(token)
            span.end()

    def decided(self, decision: Decision) -> None:
        """The decision is made: note it on the cycle, and start the execute phase's span.

        That span ends in :meth:`executed`, once the action's outcome is known, which for an
        environment driven from outside is a later call.
        """
        chosen = decision.chosen
        self.span.set_attributes(
            {
                "cogos.action": chosen.name,
                "cogos.action.kind": chosen.kind,
                "cogos.action.source": chosen.source,
            }
        )
        self.execute = self.tracer.start_span(PHASE + "execute", context=self.context)

    async def executing(self, work: Awaitable[T]) -> T:
        """Await an internal action with the execute span current (its module's spans nest)."""
        if self.execute is None:
            return await work
        return await _as_current(self.execute, work)

    def executed(self) -> None:
        if self.execute is not None:
            self.execute.end()
            self.execute = None

    async def within(self, work: Awaitable[T]) -> T:
        """Await ``work`` with the cycle span current: the commit, after the learn phase."""
        return await _as_current(self.span, work)

    def end(self, record: CycleRecord) -> None:
        """The cycle is committed: its attributes as the trace's cycle line has them."""
        decision, outcome = record.decision, record.outcome
        last = decision.attempts[-1].candidates if decision.attempts else ()
        attributes = {
            "cogos.step": record.step,
            "cogos.decision.value": decision.value,
            "cogos.decision.forced": decision.forced,
            "cogos.decision.rejections": sum(1 for a in decision.attempts if a.rejection),
            "cogos.decision.candidates": len(last),
            "cogos.retrieved": len(record.retrieved),
            "cogos.outcome.reward": outcome.reward,
            "cogos.outcome.terminated": outcome.terminated,
            "cogos.outcome.truncated": outcome.truncated,
        }
        if outcome.success is not None:
            attributes["cogos.outcome.success"] = outcome.success
        self.span.set_attributes(attributes)
        self.executed()
        self.span.end()

    def fail(self, exc: BaseException) -> None:
        """The cycle raised: its span ends with the error.

        The phase that raised recorded the exception on its own span; an action that failed
        (the environment's step, an internal action) marks the execute span.
        """
        status = Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:256])
        if self.execute is not None:
            self.execute.record_exception(exc)
            self.execute.set_status(status)
        self.span.set_attribute("error.type", type(exc).__qualname__)
        self.span.set_status(status)
        self.executed()
        self.span.end()

    def abandon(self) -> None:
        """The cycle's action will never have an outcome (its external episode was cut off)."""
        self.span.set_attribute("cogos.cycle.abandoned", True)
        self.executed()
        self.span.end()


async def _as_current(span: Span, work: Awaitable[T]) -> T:
    """Await ``work`` with ``span`` current, leaving it open."""
    token = attach(set_span_in_context(span))
    try:
        return await work
    finally:
        detach(token)
