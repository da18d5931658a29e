"""What a component gets from the kernel: bus, options, logger, memory, the env's action names.

A tracer comes too when the run's telemetry is on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cogos.bus import Bus
from cogos.long_term_memory import LongTermMemory

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


class NoOptions(BaseModel):
    """Options model of components that take none (unknown keys are still an error)."""

    model_config = {"extra": "forbid", "frozen": True}


@dataclass
class ComponentContext:
    """Handed to a module or policy at construction.

    ``memory`` is the agent's long-term memory (:class:`~cogos.long_term_memory.LongTermMemory`,
    the memory OS by default) when one is configured, else None; components must work without
    it. ``action_names`` are the environment's actions, index ``i`` naming native action ``i``.
    """

    name: str
    agent: str
    bus: Bus
    options: BaseModel
    logger: logging.Logger
    action_names: tuple[str, ...] = ()
    memory: LongTermMemory | None = None
    llm: Any | None = None
    """The run's ``LLMSpec`` (``llm:`` in the config) or None: components that need a model
    build it from this and fail with a clear config error when it is missing."""
    tracer: Tracer | None = None
    """OpenTelemetry's tracer when the run's ``telemetry:`` is on, else None: a component that
    makes spans of its own work (LLM calls, planner solves) tests for None first, and imports
    nothing of OpenTelemetry otherwise (docs/telemetry.md)."""
