"""Aggregate episode summaries into the figures ``metrics.json`` and the CLI report."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from cogos.episode import EpisodeSummary


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def summarize(summaries: Sequence[EpisodeSummary]) -> dict[str, Any]:
    """Run-level metrics.

    ``mean_steps`` averages over all episodes (failed ones ran to their step limit, which is
    honest for a baseline); ``mean_optimal_ratio`` only over successful episodes with a known
    optimum, since a failed episode has no meaningful ratio.
    """
    n = len(summaries)
    successes = [s for s in summaries if s.success]
    cycles = sum(s.cycles for s in summaries)
    seconds = sum(s.seconds for s in summaries)
    optimal = [float(s.optimal_steps) for s in summaries if s.optimal_steps is not None]
    ratios = [r for s in successes if (r := s.optimal_ratio) is not None]
    return {
        "episodes": n,
        "successes": len(successes),
        "success_rate": len(successes) / n if n else 0.0,
        "mean_steps": _mean([float(s.steps) for s in summaries]),
        "mean_steps_success": _mean([float(s.steps) for s in successes]),
        "mean_optimal_steps": _mean(optimal),
        "mean_optimal_ratio": _mean(ratios),
        "mean_return": _mean([s.episode_return for s in summaries]),
        "cycles": cycles,
        "episode_seconds": seconds,
        "cycles_per_second": cycles / seconds if seconds > 0 else None,
    }
