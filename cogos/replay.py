"""Read a run's trace back: the decisions it made, and whether a re-run makes the same ones.

A trace line per cycle holds the candidates with their values, the choice and the outcome, so
"why did the agent do X at step N" is answered from the file alone. ``verify`` re-runs the
resolved ``config.yaml`` that sits beside the trace and compares the choices cycle by cycle:
runs are seeded, so any divergence is a determinism bug (or a changed component).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogos.config import load_config
from cogos.runner import run
from cogos.trace import read_trace


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


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of re-running a traced run."""

    compared: int
    mismatch: tuple[DecisionLine, DecisionLine] | None
    length_recorded: int
    length_replayed: int

    @property
    def ok(self) -> bool:
        return self.mismatch is None and self.length_recorded == self.length_replayed


def verify(trace_path: str | Path) -> VerifyResult:
    """Re-run the config beside ``trace_path`` and compare every decision."""
    trace_path = Path(trace_path)
    config_path = trace_path.parent / "config.yaml"
    recorded = list(decisions(read_trace(trace_path)))
    loaded = load_config(config_path)
    with tempfile.TemporaryDirectory(prefix="cogos-replay-") as tmp:
        run(loaded, tmp)
        replayed = list(decisions(read_trace(Path(tmp) / "trace.jsonl")))
    compared = 0
    for a, b in zip(recorded, replayed, strict=False):
        compared += 1
        if (a.episode, a.cycle, a.choice, a.candidates) != (
            b.episode,
            b.cycle,
            b.choice,
            b.candidates,
        ):
            return VerifyResult(compared, (a, b), len(recorded), len(replayed))
    return VerifyResult(compared, None, len(recorded), len(replayed))
