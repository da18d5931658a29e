"""A run directory as the inspector reads it: its episodes at a glance, one episode's cycles.

A 20-episode maze run's trace is ~9 MB and ~2,500 lines, most of them cycles. Opening a run must
not parse them all: :func:`index_trace` walks the file once, keeping each episode's byte range
and parsing only the header and the episode lines (they are short, and their type is the first
key the tracer writes). An episode's cycles are parsed when that episode is asked for. The files
are opened for reading only; a run that is still being written shows what has been flushed, and
a torn last line is left out as :func:`cogos.trace.read_trace` leaves it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cogos.errors import CogOSError

_CYCLE = b'{"type":"cycle"'
_MESSAGE = b'{"type":"message"'


@dataclass
class EpisodeIndex:
    """Where one episode's lines are in the trace, and its start and end lines."""

    episode: int
    start: dict[str, Any]
    first: int  # byte offset of the episode_start line
    last: int  # byte offset just past the episode's last line
    cycles: int = 0
    end: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """One row of the run's episode table (outcome, steps, cost)."""
        end = self.end or {}
        extra = end.get("extra") or {}
        llm = extra.get("llm") or {}
        return {
            "episode": self.episode,
            "seed": self.start.get("seed"),
            "goal": self.start.get("goal", ""),
            "finished": self.end is not None,
            "success": end.get("success"),
            "steps": end.get("steps"),
            "cycles": end.get("cycles", self.cycles),
            "optimal_steps": end.get("optimal_steps"),
            "optimal_ratio": end.get("optimal_ratio"),
            "seconds": end.get("seconds"),
            "truncated": end.get("truncated"),
            "failure": extra.get("failure"),
            "task_family": extra.get("task_family"),
            "llm": {
                "calls": llm.get("calls", 0),
                "failures": llm.get("failures", 0),
                "tokens": llm.get("input_tokens", 0) + llm.get("output_tokens", 0),
            },
        }


@dataclass
class TraceIndex:
    """The header and the episodes of one trace."""

    header: dict[str, Any] = field(default_factory=dict)
    episodes: dict[int, EpisodeIndex] = field(default_factory=dict)
    size: int = 0


def _parse(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise TraceFormatError(f"{path}:{number}: not a JSON line ({exc})") from None
    if not isinstance(value, dict):
        raise TraceFormatError(f"{path}:{number}: expected a JSON object")
    return value


class TraceFormatError(CogOSError, ValueError):
    """A trace line that is not a JSON object (other than a torn last line)."""


def index_trace(path: Path) -> TraceIndex:
    """Index ``path`` in one pass (see the module docstring)."""
    data = path.read_bytes()
    out = TraceIndex(size=len(data))
    current: EpisodeIndex | None = None
    offset = 0
    number = 0
    while offset < len(data):
        newline = data.find(b"\n", offset)
        if newline < 0:  # a torn last line: the run was killed mid-write, or is still writing
            break
        line = data[offset:newline]
        number += 1
        nxt = newline + 1
        if line.startswith(_CYCLE):
            if current is not None:
                current.cycles += 1
                current.last = nxt
        elif line.startswith(_MESSAGE):  # trace.messages: true; they belong to the episode
            if current is not None:
                current.last = nxt
        elif line.strip():
            obj = _parse(line, path, number)
            kind = obj.get("type")
            if kind == "header":
                out.header = obj
            elif kind == "episode_start":
                current = EpisodeIndex(int(obj.get("episode", 0)), obj, offset, nxt)
                out.episodes[current.episode] = current
            elif kind == "episode_end" and current is not None:
                current.end = obj
                current.last = nxt
                current = None
            elif current is not None:  # a cycle written by another writer (other spacing)
                current.cycles += kind == "cycle"
                current.last = nxt
        offset = nxt
    return out


def episode_lines(path: Path, index: EpisodeIndex) -> list[dict[str, Any]]:
    """The ``cycle`` lines of one episode, parsed, in order."""
    with path.open("rb") as f:
        f.seek(index.first)
        chunk = f.read(index.last - index.first)
    lines = (json.loads(x) for x in chunk.splitlines() if x.strip() and not x.startswith(_MESSAGE))
    return [line for line in lines if line.get("type") == "cycle"]


class RunView:
    """One run directory: ``config.yaml``, ``trace.jsonl`` and ``metrics.json``.

    Any of them may be missing: a run killed early has no metrics, a run with tracing off has
    no trace.
    """

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self.trace = root / "trace.jsonl"
        self._index: TraceIndex | None = None
        self._index_size = -1
        # stepping through an episode asks for its cycles once per picture: keep a few parsed
        self._parsed: dict[int, dict[str, Any]] = {}
        self.memory_key: str | None = None  # the inspector's key of the memory the run used
        self.memory_note: str | None = None  # why that memory is not open

    @staticmethod
    def looks_like(root: Path) -> bool:
        return (root / "trace.jsonl").is_file() or (root / "metrics.json").is_file()

    @property
    def index(self) -> TraceIndex:
        """The trace's index, made again when the file has grown (a run still going)."""
        size = self.trace.stat().st_size if self.trace.is_file() else 0
        if self._index is None or size != self._index_size:
            self._index = index_trace(self.trace) if size else TraceIndex()
            self._index_size = size
            self._parsed = {}
        return self._index

    def metrics(self) -> dict[str, Any] | None:
        path = self.root / "metrics.json"
        if not path.is_file():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else None

    def config(self) -> dict[str, Any]:
        path = self.root / "config.yaml"
        if not path.is_file():
            return {}
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}

    def summary(self) -> dict[str, Any]:
        """The run at a glance: what ran, its totals and one row per episode."""
        index = self.index
        metrics = self.metrics() or {}
        totals = {k: v for k, v in metrics.items() if not isinstance(v, list | dict)}
        config = self.config()
        return {
            "key": self.key,
            "path": str(self.root),
            "name": index.header.get("config") or config.get("name"),
            "agent": index.header.get("agent"),
            "started": index.header.get("started"),
            "memory": index.header.get("memory"),
            "memory_key": self.memory_key,
            "memory_note": self.memory_note,
            "env": (config.get("env") or {}).get("name"),
            "policy": ((config.get("agent") or {}).get("policy") or {}).get("name"),
            "traced": self.trace.is_file(),
            "totals": totals,
            "episodes": [e.summary() for e in index.episodes.values()],
        }

    def episode(self, episode: int) -> dict[str, Any]:
        """One episode: its summary and every cycle line, as the tracer wrote them."""
        found = self.index.episodes.get(episode)
        if found is None:
            raise KeyError(f"run {self.key!r} has no episode {episode}")
        parsed = self._parsed.get(episode)
        if parsed is None:
            parsed = {
                "summary": found.summary(),
                "cycles": episode_lines(self.trace, found),
                "memory_key": self.memory_key,
                "env": (self.config().get("env") or {}).get("name"),
            }
            if len(self._parsed) >= 8:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[episode] = parsed
        return parsed
