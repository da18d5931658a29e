"""Experiment results: ``results.csv`` and ``summary.md``.

``results.csv`` has one row per run; ``summary.md`` gives, per cell, the mean and 95% confidence
interval of each metric, plus the learning-curve data for plots.

Intervals use Student's t (scipy) over the runs (seeds) of a cell: with few seeds a normal
approximation would understate the uncertainty.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean, stdev
from typing import Any

from cogos.experiments.spec import ExperimentSpec, RunSpec, value_label

SUMMARY_METRICS = (
    ("success_rate", "success rate"),
    ("mean_steps", "steps"),
    ("mean_optimal_ratio", "steps / optimal"),
    ("cycles_per_second", "cycles/s"),
    ("mean_llm_tokens", "LLM tokens / episode"),
    ("llm_failures", "LLM failures"),
    ("llm_fallbacks", "LLM fallbacks"),
)


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        """Both numbers in plain notation, to the same decimals.

        Two significant digits of the half-width: ``6,410 ± 980``, ``0.83 ± 0.12``,
        ``1.00 ± 0.00``; never ``6.41e+03``.
        """
        half = (self.high - self.low) / 2
        if self.n >= 2 and half > 0:
            decimals = max(0, min(4, 1 - math.floor(math.log10(half))))
        else:
            decimals = 2 if abs(self.mean) < 100 else 0
        mean = f"{self.mean:,.{decimals}f}"
        return mean if self.n < 2 else f"{mean} ± {half:,.{decimals}f}"


def confidence(values: Sequence[float], level: float = 0.95) -> Interval | None:
    """Mean and ``level`` confidence interval (t distribution); None without values."""
    data = [v for v in values if v is not None and not math.isnan(v)]
    if not data:
        return None
    mean = fmean(data)
    if len(data) < 2:
        return Interval(mean, mean, mean, 1)
    from scipy import stats

    half = stats.t.ppf((1 + level) / 2, len(data) - 1) * stdev(data) / math.sqrt(len(data))
    return Interval(mean, mean - half, mean + half, len(data))


def rows(
    spec: ExperimentSpec, runs: Sequence[RunSpec], statuses: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        status = statuses.get(run.key, {"status": "missing"})
        metrics = status.get("metrics") or {}
        row: dict[str, Any] = {
            "run": run.key,
            "cell": run.cell.id,
            "label": run.cell.label(spec),
            "seed": run.seed,
            **{k: run.cell.values[k] for k in spec.grid},
            "status": status.get("status"),
            "error": status.get("error", ""),
            "seconds": round(float(status.get("seconds", 0.0)), 3),
        }
        row.update({k: v for k, v in metrics.items() if isinstance(v, int | float | type(None))})
        out.append(row)
    return out


def write_csv(path: Path, table: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in table:
        columns.extend(k for k in row if k not in columns)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)


def group_key(spec: ExperimentSpec) -> list[str]:
    return spec.group_by if spec.group_by is not None else list(spec.grid)


def groups(spec: ExperimentSpec, table: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    keys = group_key(spec)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in table:
        label = ", ".join(value_label(spec, key, row.get(key)) for key in keys)
        out.setdefault(label or "all", []).append(row)
    return out


def learning_curves(
    spec: ExperimentSpec, runs: Sequence[RunSpec], statuses: dict[str, dict[str, Any]]
) -> dict[str, dict[int, list[float]]]:
    """Per group: episode index -> steps/optimal of that episode in each run (successes only)."""
    import json

    curves: dict[str, dict[int, list[float]]] = {}
    table = {r["run"]: r for r in rows(spec, runs, statuses)}
    grouped = groups(spec, list(table.values()))
    run_group = {row["run"]: name for name, members in grouped.items() for row in members}
    for run in runs:
        if statuses.get(run.key, {}).get("status") != "done":
            continue
        metrics_file = run.directory / "metrics.json"
        if not metrics_file.exists():
            continue
        episodes = json.loads(metrics_file.read_text()).get("per_episode", [])
        curve = curves.setdefault(run_group[run.key], {})
        for e in episodes:
            ratio = e.get("optimal_ratio")
            value = (
                ratio
                if ratio is not None
                else (float(e["steps"]) if e.get("success") else math.nan)
            )
            curve.setdefault(int(e["episode"]), []).append(value)
    return curves


def summary_markdown(
    spec: ExperimentSpec,
    table: list[dict[str, Any]],
    curves: dict[str, dict[int, list[float]]],
    info: dict[str, Any],
) -> str:
    grouped = groups(spec, table)
    present = [(k, name) for k, name in SUMMARY_METRICS if any(r.get(k) is not None for r in table)]
    lines = [
        f"# {spec.name}",
        "",
        f"{len(table)} runs ({sum(r['status'] == 'done' for r in table)} done, "
        f"{sum(r['status'] == 'failed' for r in table)} failed); seeds {spec.seeds}; "
        f"cogos {info.get('cogos_version')}, commit {info.get('git_commit') or 'unknown'}.",
        "",
        "Mean ± half-width of the 95% confidence interval over runs (Student's t).",
        "",
        "| group | runs | " + " | ".join(name for _, name in present) + " |",
        "| --- | --- | " + " | ".join("---" for _ in present) + " |",
    ]
    for name, members in grouped.items():
        done = [r for r in members if r["status"] == "done"]
        cells = []
        for key, _ in present:
            ci = confidence([float(r[key]) for r in done if r.get(key) is not None])
            cells.append(str(ci) if ci is not None else "-")
        lines.append(f"| {name} | {len(done)}/{len(members)} | " + " | ".join(cells) + " |")
    if curves and any(len(c) > 1 for c in curves.values()):
        width = max(max(c) for c in curves.values() if c) + 1
        lines += [
            "",
            "Learning curve: steps / optimal by episode (mean over runs; successful episodes).",
            "",
            "| group | " + " | ".join(f"ep {i}" for i in range(width)) + " |",
            "| --- | " + " | ".join("---" for _ in range(width)) + " |",
        ]
        for name, curve in curves.items():
            cols = []
            for i in range(width):
                ci = confidence(curve.get(i, []))
                cols.append(f"{ci.mean:.2f}" if ci is not None else "-")
            lines.append(f"| {name} | " + " | ".join(cols) + " |")
    failed = [r for r in table if r["status"] == "failed"]
    if failed:
        lines += ["", "Failed runs:", ""] + [f"- `{r['run']}`: {r['error']}" for r in failed]
    return "\n".join(lines) + "\n"
