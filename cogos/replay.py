"""Read a run's trace back: the decisions it made, and whether a re-run makes the same ones.

A trace line per cycle holds the candidates with their values, the choice and the outcome, so
"why did the agent do X at step N" is answered from the file alone. ``verify`` re-runs the
resolved ``config.yaml`` that sits beside the trace and compares the choices cycle by cycle:
runs are seeded, so any divergence is a determinism bug (or a changed component). A run that
used long-term memory is re-run against a copy of the memory as it was when the run started
(the trace header records where its log stood); verifying never writes into the memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogos.config import load_config
from cogos.errors import CogOSError
from cogos.runner import run
from cogos.trace import read_trace
from memory import SnapshotUnavailable, copy_memory_as_of


@dataclass(frozen=True)
class DecisionLine:
    """One cycle's decision, flattened for display."""

    episode: int
    cycle: int
    step: int
    position: str | None
    candidates: list[tuple[str, float]]
    choice: str
    forced: bool
    rejections: list[str]
    reward: float
    done: bool
    success: bool | None


def decisions(records: list[dict[str, Any]]) -> Iterator[DecisionLine]:
    for rec in records:
        if rec.get("type") != "cycle":
            continue
        decision = rec["decision"]
        attempts = decision["attempts"]
        last = attempts[-1] if attempts else {"candidates": []}
        facts = rec.get("percept", {}).get("facts", [])
        position = next((f[1] for f in facts if f and f[0] == "at" and len(f) > 1), None)
        outcome = rec["outcome"]
        yield DecisionLine(
            episode=rec["episode"],
            cycle=rec["cycle"],
            step=rec["step"],
            position=position,
            candidates=[(c["name"], c["value"]) for c in last["candidates"]],
            choice=decision["choice"]["name"],
            forced=decision["forced"],
            rejections=[a["rejection"]["reason"] for a in attempts if a.get("rejection")],
            reward=outcome["reward"],
            done=outcome["terminated"] or outcome["truncated"],
            success=outcome.get("success"),
        )


def _value(v: float) -> str:
    return repr(float(v))


def describe_mismatch(recorded: DecisionLine, replayed: DecisionLine) -> str:
    """What differed between a recorded decision and its re-run: the choice or which values."""
    where = f"diverged at episode {recorded.episode} cycle {recorded.cycle}"
    if (recorded.episode, recorded.cycle) != (replayed.episode, replayed.cycle):
        return f"{where}: the re-run was at episode {replayed.episode} cycle {replayed.cycle}"
    names = [n for n, _ in recorded.candidates]
    names_re = [n for n, _ in replayed.candidates]
    values = ""
    if names != names_re:
        values = f"candidates differ: recorded {', '.join(names)}; re-run {', '.join(names_re)}"
    else:
        changed = [
            f"{n} {_value(a)} -> {_value(b)}"
            for (n, a), (_, b) in zip(recorded.candidates, replayed.candidates, strict=True)
            if a != b
        ]
        if changed:
            values = f"candidate values differ: {', '.join(changed)}"
    if recorded.choice != replayed.choice:
        return f"{where}: recorded {recorded.choice!r}, re-run chose {replayed.choice!r}" + (
            f" ({values})" if values else ""
        )
    return f"{where}: same choice {recorded.choice!r}, but {values or 'the decisions differ'}"


class VerifyError(CogOSError):
    """A trace that cannot be verified without changing what it verifies (or at all)."""


@dataclass(frozen=True)
class MemoryStart:
    """The long-term memory a traced run started from (its trace header's ``memory``)."""

    path: Path
    last_seq: int


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of re-running a traced run."""

    compared: int
    mismatch: tuple[DecisionLine, DecisionLine] | None
    length_recorded: int
    length_replayed: int
    memory: MemoryStart | None = None

    @property
    def ok(self) -> bool:
        return self.mismatch is None and self.length_recorded == self.length_replayed

    @property
    def problem(self) -> str | None:
        """One line saying how the re-run differed, or None when it did not."""
        if self.mismatch is not None:
            return describe_mismatch(*self.mismatch)
        if self.length_recorded != self.length_replayed:
            return f"re-run made {self.length_replayed} decisions, trace has {self.length_recorded}"
        return None


def memory_start(
    trace_path: Path, records: list[dict[str, Any]], configured: str | None
) -> MemoryStart | None:
    """Read the header's ``memory``; refuse a memory run whose trace does not say where it began.

    A trace without ``memory`` whose config has no ``memory.path`` ran without memory. One whose
    config has a path was written before traces recorded the memory's start (or edited): a
    re-run would start from the memory as it is now and add to it, so it is refused.
    """
    header = records[0] if records and records[0].get("type") == "header" else {}
    found = header.get("memory")
    if found is None and configured is None:
        return None
    path = found.get("path", configured) if isinstance(found, dict) else None
    if path is None or not isinstance(found, dict) or not isinstance(found.get("last_seq"), int):
        raise VerifyError(
            f"{trace_path}: the run used long-term memory ({configured}), but its trace header "
            "does not record the memory state the run started from (a trace from an older "
            "CogOS); re-running would start from the memory as it is now and write into it, "
            "so it is not verified; nothing was changed"
        )
    return MemoryStart(Path(str(path)), found["last_seq"])


def verify(trace_path: str | Path) -> VerifyResult:
    """Re-run the config beside ``trace_path`` and compare every decision.

    A run that used long-term memory is re-run against a copy of that memory as it was when the
    run started (:func:`memory.copy_memory_as_of`, in a temporary directory): the memory itself
    is only read, never opened for writing.
    """
    trace_path = Path(trace_path)
    config_path = trace_path.parent / "config.yaml"
    records = read_trace(trace_path)
    recorded = list(decisions(records))
    loaded = load_config(config_path)
    start = memory_start(trace_path, records, loaded.config.memory.path)
    with tempfile.TemporaryDirectory(prefix="cogos-replay-") as tmp:
        if start is not None:
            copy = Path(tmp) / "memory"
            try:
                copy_memory_as_of(start.path, copy, start.last_seq)
            except SnapshotUnavailable as exc:
                raise VerifyError(f"{trace_path} cannot be verified exactly: {exc}") from exc
            loaded = load_config(config_path, [f"memory.path={json.dumps(str(copy))}"])
        out = Path(tmp) / "run"
        run(loaded, out)
        replayed = list(decisions(read_trace(out / "trace.jsonl")))
    compared = 0
    for a, b in zip(recorded, replayed, strict=False):
        compared += 1
        if (a.episode, a.cycle, a.choice, a.candidates) != (
            b.episode,
            b.cycle,
            b.choice,
            b.candidates,
        ):
            return VerifyResult(compared, (a, b), len(recorded), len(replayed), start)
    return VerifyResult(compared, None, len(recorded), len(replayed), start)
