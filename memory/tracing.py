"""Spans of the memory OS's writes and searches, for a tracer the agent may hand it.

The memory OS imports nothing of OpenTelemetry (nor of the rest of CogOS): its ``tracer`` is
any object shaped like OpenTelemetry's ``Tracer`` (the protocol below), set by whoever owns the
memory when telemetry is on (the agent, from the config's ``telemetry:`` section). While it is
None, the facade's methods pay one attribute test each and make no span.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

REMEMBER = "memory.remember"
"""Span of a synchronous or asynchronous write of entries (one log group)."""
COMMIT = "memory.commit"
"""Span of a decision cycle queued as one event (durability is awaited by ``memory.flush``)."""
FLUSH = "memory.flush"
"""Span of waiting until every queued write is durable (the agent's episode end)."""
SEARCH = "memory.search"
"""Span of one search: its mode, ``k`` and the number of hits."""


class Span(Protocol):
    """What the memory OS does with a span: set attributes on it."""

    def set_attribute(self, key: str, value: Any) -> None: ...


class Tracer(Protocol):
    """The part of OpenTelemetry's ``Tracer`` the memory OS uses."""

    def start_as_current_span(
        self, name: str, context: Any = None, kind: Any = ..., attributes: Any = None
    ) -> AbstractContextManager[Span]: ...
