"""The module protocol: how a capability plugs into the agent.

A module is a class registered by name (entry point group ``cogos.modules``) and configured in
YAML. It declares:

* its options: a pydantic model of its YAML options, given as type argument
  (``class M(Module[MOptions])``, see :mod:`cogos.component`) and validated before anything
  runs, so a typo is an exit-2 config error naming the key, not a crash mid-run;
* ``phases``: which phases of the decision cycle it fills, each backed by the method of the same
  name (``perceive``, ``retrieve``, ``propose``, ``evaluate``, ``critique``, ``execute``,
  ``learn``); declaring a phase without overriding its method is an error at construction;
* ``topics``: bus topic filters it handles with :meth:`Module.handle` (a return value answers a
  request).

Phases are called directly by the cycle (fast, typed) and each phase's output is also published
on the bus (``cycle/<phase>``), so everything stays observable and a remote process can follow.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from cogos.bus import Message, Subscription
from cogos.component import Component, OptionsT
from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.errors import RegistryError
from memory.cycle_records import Candidate, CycleRecord, Outcome, Percept, Rejection, RetrievedItem
from memory.working import WorkingMemory

if TYPE_CHECKING:
    from cogos.observation import Observation


class Phase(enum.StrEnum):
    """The phases of the CoALA decision cycle that modules can fill."""

    PERCEIVE = "perceive"
    RETRIEVE = "retrieve"
    PROPOSE = "propose"
    EVALUATE = "evaluate"
    CRITIQUE = "critique"
    EXECUTE = "execute"
    LEARN = "learn"


class Module(Component[OptionsT]):
    """Base class of every module; override the methods of the phases you declare.

    Subclass ``Module[MyOptions]`` to have ``self.options`` typed and validated as ``MyOptions``
    (see :mod:`cogos.component`); ``check_config`` and ``facts`` come from there too.
    """

    phases: ClassVar[frozenset[Phase]] = frozenset()
    topics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: ComponentContext) -> None:
        missing = [
            p for p in self.phases if getattr(type(self), p.value) is getattr(Module, p.value)
        ]
        if missing:
            raise RegistryError(
                f"module {type(self).__qualname__} declares phase(s) "
                f"{', '.join(sorted(missing))} but does not implement them"
            )
        super().__init__(ctx)
        self._subscriptions: list[Subscription] = []

    @classmethod
    def supports(cls, phase: Phase) -> bool:
        return phase in cls.phases

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe :meth:`handle` to ``topics``; override to open resources (call super)."""
        for topic_filter in self.topics:
            self._subscriptions.append(
                self.ctx.bus.subscribe(
                    topic_filter, self.handle, name=f"{self.name}:{topic_filter}"
                )
            )

    async def stop(self) -> None:
        """Unsubscribe; override to release resources (call super). Safe to call twice."""
        for sub in self._subscriptions:
            self.ctx.bus.unsubscribe(sub)
        self._subscriptions.clear()

    async def handle(self, message: Message) -> Any:
        """Handle a message on one of ``topics``; a non-None result answers a request."""
        raise NotImplementedError(f"module {self.name!r} subscribes to topics but has no handle()")

    async def begin_episode(self, episode: EpisodeStart) -> None:
        """Called before an episode's first cycle."""

    async def end_episode(self, summary: EpisodeSummary) -> None:
        """Called after an episode's last cycle."""

    # -- phases (override those listed in ``phases``) -----------------------------------------

    async def perceive(self, observation: Observation, wm: WorkingMemory) -> Percept | None:
        """Turn an observation into a percept (percepts of several perceivers are merged)."""
        raise NotImplementedError

    async def retrieve(self, wm: WorkingMemory) -> Sequence[RetrievedItem]:
        """Bring relevant long-term memories into working memory."""
        raise NotImplementedError

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        """Add candidates to the policy's own proposals."""
        raise NotImplementedError

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        """A value per candidate, added to the policy's values."""
        raise NotImplementedError

    async def critique(self, wm: WorkingMemory, candidate: Candidate) -> Rejection | None:
        """Veto the selected candidate with a reason (the cycle then proposes again)."""
        raise NotImplementedError

    async def execute(self, candidate: Candidate, wm: WorkingMemory) -> Outcome:
        """Carry out an internal action whose ``target`` is this module."""
        raise NotImplementedError

    async def learn(self, record: CycleRecord, wm: WorkingMemory) -> None:
        """Learn from a finished cycle (write to memory, update values)."""
        raise NotImplementedError
