"""OpenTelemetry's in-memory exporter behind a CogOS ``Telemetry``, and its spans read as a tree.

The SDK is imported only by :func:`in_memory`, so that a test file can import this before its
``needs_extra("telemetry", *TELEMETRY_MODULES)`` skips it. Spans are exported as each one ends
(no batch), so a test reads them all as soon as its run returns, in the order they ended:
nothing waits on a batch timer, and no order is read off a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from cogos.telemetry.provider import Telemetry

TELEMETRY_MODULES = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
DOC = Path(__file__).resolve().parent.parent / "docs" / "telemetry.md"
PHASES = ["cogos.perceive", "cogos.retrieve", "cogos.decide", "cogos.execute", "cogos.learn"]


def in_memory() -> tuple[Telemetry, InMemorySpanExporter]:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from cogos.telemetry.provider import Telemetry

    exporter = InMemorySpanExporter()
    return Telemetry(exporter, batch=False), exporter


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict (empty for a span without any)."""
    return dict(span.attributes or {})


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    """The direct children of ``parent``, in the order they ended."""
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def parent_of(spans: Sequence[ReadableSpan], child: ReadableSpan) -> ReadableSpan | None:
    if child.parent is None:
        return None
    return next(
        s for s in spans if s.context is not None and s.context.span_id == child.parent.span_id
    )


def undocumented(spans: Sequence[ReadableSpan]) -> set[str]:
    """Span names and attribute keys that docs/telemetry.md does not name (as ``code``)."""
    doc = DOC.read_text(encoding="utf-8")
    names = {"chat {model}" if s.name.startswith("chat ") else s.name for s in spans}
    keys = {key for s in spans for key in (s.attributes or {})}
    return {name for name in names | keys if f"`{name}`" not in doc}
