"""``cogos experiment CONFIG [key=value ...] [--out DIR] [--workers N] [--resume]``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from cogos.cli.config_args import config_overrides_and_out, progress_bar
from cogos.cli.errors import EXIT_RUNTIME, CLIError, to_cli_error
from cogos.errors import CogOSError


@click.command()
@config_overrides_and_out("Experiment directory [default: runs/experiments/NAME-TIME].")
@click.option("--workers", type=int, default=None, help="Parallel runs [default: number of CPUs].")
@click.option("--resume", is_flag=True, help="Skip runs that already finished in --out.")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: a process pool; ray: a Ray cluster (pip install 'cogos[dist]').",
)
@click.option("--ray-address", default=None, help="Ray cluster address (with --executor ray).")
def experiment(
    config: Path,
    overrides: tuple[str, ...],
    out_dir: Path | None,
    workers: int | None,
    resume: bool,
    executor: str,
    ray_address: str | None,
) -> None:
    """Run the grid of CONFIG (cells x seeds) and write results.csv, summary.md and plots.

    OVERRIDES apply to the experiment file itself, e.g. seeds=[0,1,2] or grid.episodes=[2].
    A failed run is recorded with its error and does not stop the others; the exit code is 1
    if any run failed.
    """
    from cogos.experiments.execute import make_executor
    from cogos.experiments.experiment import run_experiment
    from cogos.experiments.spec import cells, load_experiment

    console = Console()
    try:
        spec, base = load_experiment(config, list(overrides))
    except CogOSError as exc:
        raise to_cli_error(exc) from None
    out = out_dir or Path("runs") / "experiments" / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if resume and out_dir is None:
        raise CLIError("--resume needs --out (the directory to resume)")
    pool = make_executor(executor, workers or os.cpu_count() or 1, ray_address)
    progress = progress_bar(console)
    counts = {"done": 0, "failed": 0}
    total = len(spec.seeds) * len(cells(spec))
    with progress:
        task = progress.add_task(spec.name, total=total, status="")

        def on_run(status: dict[str, Any]) -> None:
            counts["done" if status.get("status") == "done" else "failed"] += 1
            progress.update(task, advance=1, status=f"{counts['failed']} failed")

        result = run_experiment(spec, base, out, pool, resume=resume, on_run=on_run)
    console.print(result.files["summary"].read_text(), soft_wrap=True)
    console.print(f"experiment directory: {out}", soft_wrap=True)
    if result.failed:
        raise CLIError(
            f"{result.failed} of {len(result.runs)} runs failed (see summary.md)", EXIT_RUNTIME
        )
