"""The default perception module: the environment's own facts and text become the percept.

CogOS environments already report what is perceivable as symbolic facts (see
:mod:`envs.base`); this module passes them on, optionally keeping only some predicates, so that
a planner or an LLM prompt is not flooded with facts it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cogos.context import ComponentContext
from cogos.module import Module, Phase
from memory.cycle_records import Percept
from memory.working import WorkingMemory

if TYPE_CHECKING:
    from cogos.observation import Observation


class FactPerceptionOptions(BaseModel):
    """Options of ``perception.facts``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    predicates: list[str] | None = Field(
        default=None, description="keep only facts with these predicates (all when unset)"
    )
    text: bool = Field(default=True, description="keep the environment's text description")


class FactPerception(Module[FactPerceptionOptions]):
    """Observation facts and text -> :class:`~memory.cycle_records.Percept`."""

    phases: ClassVar = frozenset({Phase.PERCEIVE})

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        self._keep = (
            frozenset(self.options.predicates) if self.options.predicates is not None else None
        )
        self._text = self.options.text

    async def perceive(self, observation: Observation, wm: WorkingMemory) -> Percept:
        facts = observation.facts
        if self._keep is not None:
            facts = frozenset(a for a in facts if a[0] in self._keep)
        return Percept(facts, observation.text if self._text else "", None, observation.affordances)
