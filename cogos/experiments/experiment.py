"""Orchestrating an experiment: expand, skip finished runs, execute, collect, summarise, plot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cogos.experiments.execute import Executor, finished, run_directory_info
from cogos.experiments.plots import learning_curve_plot, metric_plots
from cogos.experiments.results import learning_curves, rows, summary_markdown, write_csv
from cogos.experiments.spec import ExperimentSpec, RunSpec, expand

Progress = Callable[[dict[str, Any]], None]


@dataclass
class ExperimentResult:
    """What an experiment produced."""

    out: Path
    runs: list[RunSpec]
    statuses: dict[str, dict[str, Any]]
    files: dict[str, Path]

    @property
    def failed(self) -> int:
        return sum(s.get("status") != "done" for s in self.statuses.values())


def run_experiment(
    spec: ExperimentSpec,
    base: Path,
    out: Path,
    executor: Executor,
    *,
    resume: bool = False,
    on_run: Progress | None = None,
) -> ExperimentResult:
    out.mkdir(parents=True, exist_ok=True)
    runs = expand(spec, base, out)
    info = {**run_directory_info(), "started": time.time(), "seeds": spec.seeds, "runs": len(runs)}
    (out / "experiment.yaml").write_text(
        yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    )
    (out / "info.json").write_text(json.dumps(info, indent=2))
    statuses: dict[str, dict[str, Any]] = {}
    todo = []
    for run in runs:
        done = finished(run) if resume else None
        if done is not None:
            statuses[run.key] = {**done, "resumed": True}
            if on_run is not None:
                on_run(statuses[run.key])
        else:
            todo.append(run)
    for status in executor.map(todo):
        statuses[status["key"]] = status
        if on_run is not None:
            on_run(status)
    table = rows(spec, runs, statuses)
    curves = learning_curves(spec, runs, statuses)
    files = {"results": out / "results.csv", "summary": out / "summary.md"}
    write_csv(files["results"], table)
    files["summary"].write_text(summary_markdown(spec, table, curves, info), encoding="utf-8")
    for path in metric_plots(spec, table, out):
        files[path.stem] = path
    curve = learning_curve_plot(spec, curves, out)
    if curve is not None:
        files["learning_curve"] = curve
    return ExperimentResult(out, runs, statuses, files)
