"""Aggregate episode summaries into the figures ``metrics.json`` and the CLI report."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from cogos.episode import EpisodeSummary


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _llm_figures(usages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the LLM components' usage over the episodes (see modules/llm/client.py)."""

    def total(key: str) -> Any:
        return sum(u.get(key, 0) for u in usages)

    causes: dict[str, int] = {}
    for u in usages:
        for cause, n in (u.get("failures_by_cause") or {}).items():
            causes[cause] = causes.get(cause, 0) + n
    return {
        "llm_calls": total("calls"),
        "llm_answers": total("answers"),
        "llm_failures": total("failures"),
        "llm_failures_by_cause": causes,
        "llm_repairs": total("repairs"),
        "llm_retries": total("retries"),
        "llm_fallbacks": total("fallbacks"),
        "llm_input_tokens": total("input_tokens"),
        "llm_output_tokens": total("output_tokens"),
        "mean_llm_tokens": _mean(
            [float(u.get("input_tokens", 0) + u.get("output_tokens", 0)) for u in usages]
        ),
        "llm_seconds": total("seconds"),
    }


COUNTED_EXTRAS = ("decisions", "planner")
"""Per-episode counters (``extra[key]``, a dict of ints) summed over the run: who decided each
cycle (the plan or the fallback, from ``planner_first``), and the planner's solves, searches,
cache hits, replans, timeouts and failures."""


def _summed(summaries: Sequence[EpisodeSummary], key: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for s in summaries:
        counts = s.extra.get(key)
        if isinstance(counts, dict):
            for name, value in counts.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[name] = totals.get(name, 0) + value
    return totals


def summarize(summaries: Sequence[EpisodeSummary]) -> dict[str, Any]:
    """Run-level metrics (and per task family, for environments that report ``task_family``).

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
    families: dict[str, list[EpisodeSummary]] = {}
    for s in summaries:
        family = s.extra.get("task_family")
        if family is not None:
            families.setdefault(str(family), []).append(s)
    by_family = {
        name: {
            "episodes": len(group),
            "success_rate": sum(g.success for g in group) / len(group),
            "mean_steps": _mean([float(g.steps) for g in group]),
        }
        for name, group in sorted(families.items())
    }
    llm = [s.extra["llm"] for s in summaries if isinstance(s.extra.get("llm"), dict)]
    llm_figures = _llm_figures(llm) if llm else {}
    counted = {key: _summed(summaries, key) for key in COUNTED_EXTRAS}
    return {
        **({"by_task_family": by_family} if by_family else {}),
        **llm_figures,
        **{key: totals for key, totals in counted.items() if totals},
        "episodes": n,
        "successes": len(successes),
        "failed_episodes": sum("failure" in s.extra for s in summaries),
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
