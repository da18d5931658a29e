"""PNG plots of an experiment.

One bar chart per metric (mean and 95% CI per group), and the learning curve over episodes
(the memory ablation's figure).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cogos.experiments.results import SUMMARY_METRICS, confidence, groups
from cogos.experiments.spec import ExperimentSpec


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def metric_plots(spec: ExperimentSpec, table: list[dict[str, Any]], out: Path) -> list[Path]:
    plt = _pyplot()
    grouped = groups(spec, table)
    written = []
    for key, title in SUMMARY_METRICS:
        stats = []
        for name, members in grouped.items():
            ci = confidence(
                [float(r[key]) for r in members if r["status"] == "done" and r.get(key) is not None]
            )
            if ci is not None:
                stats.append((name, ci))
        if not stats:
            continue
        fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(stats)), 3.2), dpi=120)
        names = [n for n, _ in stats]
        means = [c.mean for _, c in stats]
        errors = [(c.high - c.low) / 2 for _, c in stats]
        ax.bar(range(len(stats)), means, yerr=errors, capsize=4, color="#4c72b0")
        ax.set_xticks(range(len(stats)), names, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(title)
        ax.set_title(f"{spec.name}: {title}", fontsize=9)
        fig.tight_layout()
        path = out / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def learning_curve_plot(
    spec: ExperimentSpec, curves: dict[str, dict[int, list[float]]], out: Path
) -> Path | None:
    if not curves or not any(len(c) > 1 for c in curves.values()):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=120)
    for name, curve in curves.items():
        xs = sorted(curve)
        stats = [confidence(curve[x]) for x in xs]
        ys = [s.mean if s else math.nan for s in stats]
        err = [(s.high - s.low) / 2 if s else 0.0 for s in stats]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=name)
    ax.set_xlabel("episode")
    ax.set_ylabel("steps / optimal")
    ax.set_title(f"{spec.name}: learning curve", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "learning_curve.png"
    fig.savefig(path)
    plt.close(fig)
    return path
