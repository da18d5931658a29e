"""cogos experiment: grids, seeds, parallel runs, failures, resume, results and plots."""

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cogos.errors import ConfigError
from cogos.experiments.execute import LocalExecutor
from cogos.experiments.experiment import run_experiment
from cogos.experiments.results import Interval, confidence
from cogos.experiments.spec import cells, expand, load_experiment
from tests.extras import needs_extra

ROOT = Path(__file__).resolve().parent.parent.parent

EXPERIMENT = """
version: 1
name: tiny
base: {base}
overrides: [episodes=2, trace.enabled=false, env.options.width=6, env.options.height=6]
grid:
  agent.policy.name: [explore, random]
  env.options.max_steps: [60]
seeds: [0, 1]
group_by: [agent.policy.name]
"""


def write(tmp_path: Path, repo_root: Path, text: str = EXPERIMENT) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text.replace("{base}", str(repo_root / "config" / "maze.yaml")))
    return path


def test_grid_expansion_and_run_directories(tmp_path: Path, repo_root: Path) -> None:
    spec, base = load_experiment(write(tmp_path, repo_root))
    grid = cells(spec)
    assert [c.values for c in grid] == [
        {"agent.policy.name": "explore", "env.options.max_steps": 60},
        {"agent.policy.name": "random", "env.options.max_steps": 60},
    ]
    runs = expand(spec, base, tmp_path / "out")
    assert len(runs) == 4 and len({r.directory for r in runs}) == 4
    first = runs[0]
    assert "agent.policy.name=explore" in first.overrides and "seed=0" in first.overrides
    assert first.directory == tmp_path / "out" / "runs" / grid[0].id / "seed-0"
    templated = EXPERIMENT.replace("env.options.max_steps: [60]", 'memory.path: ["{run_dir}/mem"]')
    spec2, base2 = load_experiment(write(tmp_path, repo_root, templated))
    run = expand(spec2, base2, tmp_path / "o2")[0]
    assert f"memory.path={run.directory}/mem" in run.overrides


def test_experiment_runs_records_and_summarises(tmp_path: Path, repo_root: Path) -> None:
    spec, base = load_experiment(write(tmp_path, repo_root))
    seen: list[dict[str, Any]] = []
    result = run_experiment(spec, base, tmp_path / "out", LocalExecutor(2), on_run=seen.append)
    assert len(seen) == 4 and result.failed == 0
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    for row in rows:  # every row agrees with its run's own metrics.json
        metrics = json.loads(
            (
                tmp_path / "out" / "runs" / row["cell"] / f"seed-{row['seed']}" / "metrics.json"
            ).read_text()
        )
        assert float(row["success_rate"]) == metrics["success_rate"]
        assert float(row["mean_steps"]) == metrics["mean_steps"]
    summary = (tmp_path / "out" / "summary.md").read_text()
    explore = [r for r in rows if r["agent.policy.name"] == "explore"]
    mean_steps = sum(float(r["mean_steps"]) for r in explore) / len(explore)
    line = next(
        line for line in summary.splitlines() if line.startswith("| agent.policy.name=explore")
    )
    assert f"{mean_steps:.3g}" in line and "2/2" in line
    for name in ("success_rate.png", "mean_steps.png", "learning_curve.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000
    info = json.loads((tmp_path / "out" / "info.json").read_text())
    assert info["seeds"] == [0, 1] and info["cogos_version"]


def test_same_config_and_seed_give_the_same_results(tmp_path: Path, repo_root: Path) -> None:
    spec, base = load_experiment(write(tmp_path, repo_root), ["seeds=[3]"])
    a = run_experiment(spec, base, tmp_path / "a", LocalExecutor(1))
    b = run_experiment(spec, base, tmp_path / "b", LocalExecutor(1))
    strip = {"cycles_per_second", "episode_seconds"}
    for key in a.statuses:
        ma = {k: v for k, v in a.statuses[key]["metrics"].items() if k not in strip}
        mb = {k: v for k, v in b.statuses[key]["metrics"].items() if k not in strip}
        assert ma == mb


def test_a_failing_run_is_isolated_and_resume_skips_finished_runs(
    tmp_path: Path, repo_root: Path
) -> None:
    text = EXPERIMENT.replace(
        "env.options.max_steps: [60]", "env.options.width: [6, 1]"
    )  # width 1 is invalid
    spec, base = load_experiment(write(tmp_path, repo_root, text))
    out = tmp_path / "out"
    result = run_experiment(spec, base, out, LocalExecutor(2))
    assert len(result.runs) == 8  # 2 policies x 2 widths x 2 seeds
    failed = [s for s in result.statuses.values() if s["status"] == "failed"]
    assert len(failed) == 4 and all("width must be an integer >= 2" in s["error"] for s in failed)
    assert sum(s["status"] == "done" for s in result.statuses.values()) == 4
    assert "Failed runs" in (out / "summary.md").read_text()
    again = run_experiment(spec, base, out, LocalExecutor(2), resume=True)
    assert sum(bool(s.get("resumed")) for s in again.statuses.values()) == 4, (
        "finished runs skipped"
    )
    assert again.failed == 4, "failed runs are retried (and fail again)"


def test_a_run_past_its_timeout_fails_and_the_others_finish(
    tmp_path: Path, repo_root: Path
) -> None:
    slow = EXPERIMENT.replace("seeds: [0, 1]", "seeds: [0]\ntimeout: 3").replace(
        "env.options.max_steps: [60]", "episodes: [1, 100000]"
    )
    spec, base = load_experiment(write(tmp_path, repo_root, slow))
    result = run_experiment(spec, base, tmp_path / "out", LocalExecutor(2))
    statuses = list(result.statuses.values())
    assert len(statuses) == 4 and result.failed == 2, statuses  # the 100,000-episode cells
    failed = [s for s in statuses if s["status"] == "failed"]
    assert all("TimeoutError" in s["error"] for s in failed), failed
    assert all(s["seconds"] < 30 for s in failed)


def test_confidence_interval() -> None:
    ci = confidence([1.0, 2.0, 3.0])
    assert ci is not None and ci.mean == 2.0
    assert ci.high - 2.0 == pytest.approx(4.303 * 1.0 / 3**0.5, rel=1e-3)  # t(0.975, 2) = 4.303
    assert confidence([]) is None
    single = confidence([5.0])
    assert single is not None and single.low == single.high == 5.0


def test_cli_end_to_end(tmp_path: Path, repo_root: Path) -> None:
    path = write(tmp_path, repo_root)
    out = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cogos.cli.main",
            "experiment",
            str(path),
            "seeds=[0]",
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| agent.policy.name=explore | 1/1 |" in proc.stdout
    assert (out / "results.csv").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "experiment", str(path), "seedz=[0]"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "seedz" in bad.stderr


@pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::ResourceWarning"
)
def test_ray_executor_on_a_local_ray(tmp_path: Path, repo_root: Path) -> None:
    needs_extra("dist", "ray")
    import ray

    from cogos.experiments.execute import RayExecutor

    spec, base = load_experiment(write(tmp_path, repo_root), ["seeds=[0]"])
    try:
        result = run_experiment(spec, base, tmp_path / "ray", RayExecutor(num_cpus=2))
    finally:
        ray.shutdown()
    assert result.failed == 0 and len(result.statuses) == 2


def test_a_bad_grid_value_fails_the_experiment_up_front(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        f"version: 1\nname: bad\nbase: {ROOT / 'config' / 'maze.yaml'}\n"
        "grid:\n  agent.policy.name: [explore, explroe]\nseeds: [0, 1]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    err = info.value
    assert (err.key, err.line) == ("grid.agent.policy.name", 5)
    assert "unknown policy 'explroe'" in err.message
    assert "did you mean 'explore'" in err.message


def test_a_misspelt_experiment_key_gets_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(f"version: 1\nname: t\nbase: {ROOT / 'config' / 'maze.yaml'}\nseedz: [0]\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert (info.value.key, info.value.line) == ("seedz", 4)
    assert "did you mean 'seeds'" in info.value.message


@pytest.mark.parametrize(
    ("low", "high", "n", "text"),
    [(5430, 7390, 3, "6,410 ± 980"), (1, 1, 3, "1.00 ± 0.00"), (0.71, 0.95, 3, "0.83 ± 0.12")],
)
def test_intervals_print_in_plain_notation(low: float, high: float, n: int, text: str) -> None:
    assert str(Interval((low + high) / 2, low, high, n)) == text
