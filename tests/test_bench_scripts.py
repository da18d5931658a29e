"""Every benchmark script starts, says what it measures, and prints its figures as JSON.

Run as ``python bench/<script>.py``, a script sees bench/ first on ``sys.path``: a script named
like one of our packages would stand in for it, so none is. ``--help`` imports everything a
script imports at the top, and runs nothing else. Each script's docstring opens with what it
measures and shows how to run it, ``--quick`` included; the fast ones are run with ``--quick``,
and their last line must be one JSON object with the figures their docstrings name, ratios
against the raw library among them (their values are not judged: no speed is asserted).
"""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.extras import requires_extra

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
OURS = {"cogos", "memory", "modules", "policies", "envs"}


def bench(
    script: str, *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python bench/<script> ARGS`` from ``cwd`` (not the repository root: the script must
    find our packages installed)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """A run that succeeded, and the JSON of its last line (where every script puts it)."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_script_is_named_like_a_package() -> None:
    assert not {name.removesuffix(".py") for name in SCRIPTS} & OURS


def test_the_issues_benchmarks_are_all_here() -> None:
    expected = {"cycle", "memory_os", "locomo", "planner", "environments", "llm_plan", "mqtt"}
    expected |= {"inspector", "startup", "memory_kills"}
    assert {name.removesuffix(".py") for name in SCRIPTS} >= expected


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts(script: str, tmp_path: Path) -> None:
    proc = bench(script, "--help", cwd=tmp_path, timeout=120)
    missing = re.search(r"No module named '([\w.]+)'", proc.stderr)
    if missing and missing.group(1).split(".")[0] not in OURS:
        pytest.skip(f"{script} needs {missing.group(1)} (an optional extra)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "usage:" in proc.stdout
    assert "--quick" in proc.stdout, "every script has a quick mode (CI smoke)"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_says_what_it_measures_and_how_to_run_it(script: str) -> None:
    tree = ast.parse((ROOT / "bench" / script).read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc, f"{script} has no module docstring"
    summary, *rest = doc.splitlines()
    assert summary.endswith(".") and len(summary) <= 100, "a one-line summary: what it measures"
    assert rest and rest[0] == "", "a blank line after the summary"
    usage = [line.strip() for line in rest if line.strip().startswith(f"python bench/{script}")]
    assert usage, f"no 'python bench/{script} ...' line"
    assert any("--quick" in line for line in usage), usage
    assert re.search(r"last (stdout )?(JSON )?line", doc, re.IGNORECASE) and "JSON" in doc, (
        "the docstring says the figures are on the last line, as JSON"
    )


QUICK = {
    "cycle.py": (
        [],
        {
            "cycles_per_s",
            "cycles_per_s_traced",
            "env_steps_per_s",
            "cycle_vs_env_ratio",
            "trivial_handler.bus_overhead_ratio",
            "tracer_handler.bus_overhead_ratio",
        },
    ),
    "startup.py": (
        [],
        {
            "python_start_s",
            "help_s",
            "import_cogos_s",
            "import_runtime_s",
            "plan_s",
            "raw_plan_s",
            "help_over_python_start",
            "ratio_plan_over_raw",
        },
    ),
    "inspector.py": (
        ["--items", "2000"],
        {
            "open_run.open_best_s",
            "open_run.raw_read_trace_s",
            "open_run.ratio_open_over_raw_read",
            "memory_search.search_p50_ms",
            "memory_search.raw_p50_ms",
            "memory_search.ratio_p50_over_raw",
        },
    ),
}
"""The scripts that run in seconds with ``--quick``: their arguments, and the figures (dotted:
nested) their last JSON line must hold, each a positive number. About 25 s for the three."""


def figure(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        assert isinstance(value, dict) and part in value, f"no {dotted!r} in {result}"
        value = value[part]
    return value


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(QUICK))
def test_quick_run_prints_its_figures_as_one_json_object(script: str, tmp_path: Path) -> None:
    extra, figures = QUICK[script]
    result = last_json(bench(script, "--quick", *extra, cwd=tmp_path))
    assert isinstance(result, dict), result
    assert result["bench"] == script.removesuffix(".py") and result["quick"] is True, result
    for name in sorted(figures):
        value = figure(result, name)
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)
        assert math.isfinite(value) and value > 0, (name, value)
    assert any("ratio" in name for name in figures), "set beside the raw library"


@requires_extra("llm", "langchain_core", "tenacity", "tqdm")
def test_a_script_whose_planner_runs_in_child_processes(tmp_path: Path) -> None:
    """The planner solves in processes that multiprocessing starts, which import the script
    again: they must find what it imports too. The oracle answers are ground truth, so every
    task must succeed; a child that fails to start shows up as a failed task."""
    data = ROOT / "tests" / "fixtures" / "nl_planning"
    resume = tmp_path / "done.jsonl"
    command = ["--oracle", "--quick", "--data", str(data), "--resume", str(resume)]
    proc = bench("llm_plan.py", *command, cwd=tmp_path)
    result = last_json(proc)
    lines = proc.stdout.strip().splitlines()
    rates = {
        (domain, method): scores["success_rate"]
        for domain, methods in result["domains"].items()
        for method, scores in methods.items()
    }
    assert set(rates) == {(d, m) for d in ("delivery", "stacks") for m in ("llm", "llm_p", "cogos")}
    assert all(rate == 1.0 for rate in rates.values()), rates
    rows = [json.loads(line) for line in lines if line.startswith('{"model"')]
    assert len(rows) == 6 and len(resume.read_text().splitlines()) == 6
    # a second run takes every task from the resume file and runs none again
    again = bench("llm_plan.py", *command, cwd=tmp_path)
    assert last_json(again)["tasks"] == 6
    assert not [line for line in again.stdout.splitlines() if line.startswith('{"model"')]
    assert len(resume.read_text().splitlines()) == 6


@requires_extra("llm", "langchain_core", "tenacity", "tqdm")
def test_llm_plan_refuses_bad_input_clearly(tmp_path: Path) -> None:
    script = str(ROOT / "bench" / "llm_plan.py")
    data = str(ROOT / "tests" / "fixtures" / "nl_planning")
    cases = [
        ([script, "--data", data], "needs a model"),
        ([script, "--oracle", "--data", str(tmp_path / "nowhere")], "not a directory"),
        ([script, "--oracle", "--data", data, "--domains", "barman"], "no domain folder barman"),
    ]
    for args, message in cases:
        proc = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={k: v for k, v in __import__("os").environ.items() if k != "COGOS_LLM_CONFIG"},
        )
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert message in proc.stderr, proc.stderr[-2000:]


@requires_extra("llm", "langchain_core", "tenacity", "tqdm")
def test_llm_plan_measures_subgoals_beside_the_whole_problem(tmp_path: Path) -> None:
    delivery = str(ROOT / "tests" / "fixtures" / "nl_planning" / "delivery")
    proc = bench(
        "llm_plan.py",
        "--oracle",
        "--data",
        delivery,
        "--tasks",
        "2",
        "--subgoals",
        "always",
        cwd=tmp_path,
    )
    cogos = last_json(proc)["domains"]["delivery"]["cogos"]
    assert cogos["tasks"] == 2 and cogos["success_rate"] == 1.0
    assert cogos["subgoal_success_rate"] == 1.0


@requires_extra("llm", "langchain_core", "tenacity", "tqdm")
def test_llm_plan_skips_a_domain_it_cannot_read_and_runs_the_rest(tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "domains"
    shutil.copytree(ROOT / "tests" / "fixtures" / "nl_planning" / "stacks", data / "stacks")
    broken = data / "broken"
    broken.mkdir()
    (broken / "domain.pddl").write_text("(define (domain broken) (:types a - b b - a)")
    proc = bench("llm_plan.py", "--oracle", "--tasks", "1", "--data", str(data), cwd=tmp_path)
    result = last_json(proc)
    assert set(result["domains"]) == {"stacks"}
    assert "broken" in result["skipped_domains"] and "skipped broken" in proc.stderr


@requires_extra("envs", "minigrid")
def test_envs_bench_solves_missions_beside_babyais_bot(tmp_path: Path) -> None:
    """``--missions``: the agent and BabyAI's bot on the same seeds, both figures printed."""
    proc = bench("environments.py", "--quick", "--missions", "2", cwd=tmp_path, timeout=600)
    missions = last_json(proc)["missions"]
    assert set(missions) == {
        "BabyAI-GoToLocal-v0",
        "BabyAI-PutNextLocal-v0",
        "MiniGrid-Fetch-8x8-N3-v0",
    }
    for level, row in missions.items():
        assert 0.0 <= row["cogos_success"] <= 1.0 and row["cogos_steps"] > 0
        if level.startswith("BabyAI"):
            assert row["bot_success"] == 1.0 and row["bot_steps"] > 0  # the reference solves
        else:
            assert row["bot_success"] is None  # the bot reads BabyAI's verifier: none here
