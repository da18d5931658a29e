"""The tracer: one JSON line per cycle (and, optionally, per bus message) in ``trace.jsonl``.

It is an ordinary bus subscriber (``cycle/commit``, ``agent/episode/+`` and ``llm/call``, or
everything when ``messages`` is on; one subscription, so lines keep publication order): tracing
takes the same path as any observer, and a run's trace can be read back by :mod:`cogos.replay`.
A model call is published while its cycle runs, before the cycle commits: the calls seen since the
last line go into the next cycle line (``llm``), or into the episode's end line when no cycle
follows them. Lines are
written through a buffered file and flushed at each episode end and on close.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from cogos.bus import Bus, Message, OverflowPolicy, Subscription
from memory.cycle_records import to_jsonable

TRACE_VERSION = 1


def _default(value: Any) -> Any:
    return to_jsonable(value)


class Tracer:
    """Writes trace lines for one run; use as ``attach(bus)`` ... ``close()``."""

    def __init__(self, path: str | Path, *, messages: bool = False) -> None:
        self.path = Path(path)
        self.messages = messages
        self._file: IO[str] | None = None
        self._subs: list[Subscription] = []
        self._bus: Bus | None = None
        self._calls: list[dict[str, Any]] = []  # llm/call payloads waiting for their cycle line
        self.lines = 0

    def attach(self, bus: Bus, *, header: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8", buffering=1 << 16)
        self._bus = bus
        self._write({"type": "header", "trace_version": TRACE_VERSION, **(header or {})})
        # The tracer must see every cycle: it applies back-pressure rather than dropping.
        policy = OverflowPolicy.BLOCK
        filters = (
            ("#", "$bus/#") if self.messages else ("cycle/commit", "agent/episode/+", "llm/call")
        )
        self._subs.append(bus.subscribe(filters, self._on_message, name="tracer", overflow=policy))

    def _write(self, obj: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(obj, default=_default, separators=(",", ":")) + "\n")
        self.lines += 1

    def _on_message(self, message: Message) -> None:
        topic = message.topic
        if topic == "cycle/commit":
            line = to_jsonable(message.payload)
            if self._calls:
                line["llm"], self._calls = self._calls, []
            self._write(line)
        elif topic == "llm/call":
            self._calls.append({"module": message.source, **to_jsonable(message.payload)})
        elif topic.startswith("agent/episode/"):
            kind = topic.rsplit("/", 1)[-1]
            line = {"type": f"episode_{kind}", **to_jsonable(message.payload)}
            if kind == "end" and self._calls:
                line["llm"], self._calls = self._calls, []
            self._write(line)
            if kind == "end" and self._file is not None:
                self._file.flush()
        if self.messages:
            self._write({"type": "message", **to_jsonable(message.to_json())})

    def close(self) -> None:
        """Unsubscribe and flush; safe to call twice."""
        if self._bus is not None:
            for sub in self._subs:
                self._bus.unsubscribe(sub)
        self._subs.clear()
        self._bus = None
        if self._file is not None:
            self._file.close()
            self._file = None


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """All lines of a trace; a torn last line (a killed run) is skipped, others must parse."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i == len(lines):
                break
            raise ValueError(f"{path}:{i}: not a JSON line ({exc.msg})") from None
    return out
