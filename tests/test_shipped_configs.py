"""Every config under config/ either runs to completion or refuses with exit 2 and one line.

Each is run as a user runs it: the real ``cogos`` CLI in a subprocess, briefly (one episode;
experiments on one seed). What each config is expected to do is written down here, so that a new
config file without an entry fails the suite until someone says what it should do.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import cogos
from tests.extras import missing

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"

RUNS = "runs"
REFUSES = "refuses"


def minigrid_expectation() -> tuple[str, str]:
    if missing("minigrid"):
        return REFUSES, r"'envs' extra"
    return RUNS, ""


def ai2thor_expectation() -> tuple[str, str]:
    if missing("ai2thor"):
        return REFUSES, r"cogos\[envs\]"
    if os.environ.get("COGOS_AI2THOR_EXECUTABLE"):
        return RUNS, ""
    return REFUSES, r"COGOS_AI2THOR_EXECUTABLE"


LLM_RECIPE_URL = "http://127.0.0.1:8089/v1"  # config/llm/llama_server.yaml, their default model


def model_server_running() -> bool:
    """A developer may have the recipe's model server up while testing: then these configs
    would run for real (for minutes), which is not what the test is about."""
    try:
        with socket.create_connection(("127.0.0.1", 8089), timeout=0.5):
            return True
    except OSError:
        return False


def llm_expectation() -> tuple[str, str]:
    if missing("langchain_core", "tenacity"):
        return REFUSES, r"'llm' extra"
    return REFUSES, r"llm\.base_url: cannot reach the model server"


needs_no_model_server = pytest.mark.skipif(
    model_server_running(), reason=f"a model server answers at {LLM_RECIPE_URL}"
)


# run configs: (expected outcome, a pattern the refusal must contain)
RUN_CONFIGS = {
    "maze.yaml": (RUNS, ""),
    "maze_random.yaml": (RUNS, ""),
    "maze_memory.yaml": (RUNS, ""),
    "maze_planner.yaml": (RUNS, ""),
    "household.yaml": (RUNS, ""),
    "minigrid_doorkey.yaml": minigrid_expectation(),
    "minigrid_fourrooms.yaml": minigrid_expectation(),
    "minigrid_multiroom.yaml": minigrid_expectation(),
    "babyai.yaml": minigrid_expectation(),
    "ai2thor.yaml": ai2thor_expectation(),
    "external_maze.yaml": (REFUSES, r"env\.name: .*cogos daemon"),
    # they need a chat model; none runs in the tests, so they must refuse before any episode
    "household_llm.yaml": llm_expectation(),
    "household_neuro_symbolic.yaml": llm_expectation(),
}
LLM_CONFIGS = {"household_llm.yaml", "household_neuro_symbolic.yaml"}
EXPERIMENTS = ["maze_memory.yaml", "policies.yaml"]
LLM_EXPERIMENTS = ["policies_llm.yaml"]
OTHER = {"daemon.yaml"}  # run by tests/daemon/test_shipped_config.py


def assert_refused(proc: subprocess.CompletedProcess[str], name: str, pattern: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1, f"a refusal is one line, got:\n{proc.stderr}"
    assert lines[0].startswith(f"error: {name}") or lines[0].startswith(f"error: config/{name}"), (
        lines[0]
    )
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in proc.stderr


def test_every_shipped_config_has_an_expectation() -> None:
    shipped = {p.name for p in CONFIG.glob("*.yaml")}
    assert shipped == set(RUN_CONFIGS) | OTHER
    assert {p.name for p in (CONFIG / "experiments").glob("*.yaml")} == set(
        EXPERIMENTS + LLM_EXPERIMENTS
    )


@pytest.mark.parametrize("name", sorted(p.name for p in (CONFIG / "llm").glob("*.yaml")))
def test_llm_recipes_are_valid_llm_sections(name: str) -> None:
    from cogos.config import LLMSpec

    data = yaml.safe_load((CONFIG / "llm" / name).read_text())
    spec = LLMSpec.model_validate(data["llm"])
    assert spec.provider in {"openai", "ollama", "llamacpp"}


@needs_no_model_server
@pytest.mark.parametrize("name", LLM_EXPERIMENTS)
def test_shipped_llm_experiment_refuses_without_a_model(name: str, tmp_path: Path) -> None:
    proc = cogos(
        "experiment", f"config/experiments/{name}", "--out", str(tmp_path / "exp"), cwd=ROOT
    )
    assert_refused(proc, f"config/experiments/{name}", llm_expectation()[1])
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize("name", sorted(RUN_CONFIGS))
def test_shipped_run_config(name: str, tmp_path: Path) -> None:
    outcome, pattern = RUN_CONFIGS[name]
    if name in LLM_CONFIGS and model_server_running():
        pytest.skip(f"a model server answers at {LLM_RECIPE_URL}")
    out = tmp_path / "run"
    # memory.path, where a config keeps memory across runs, goes to the temporary directory
    extra = ["memory.path=" + str(tmp_path / "mem")] if name == "maze_memory.yaml" else []
    proc = cogos("run", f"config/{name}", "episodes=1", *extra, "--out", str(out), "-q", cwd=ROOT)
    if outcome == REFUSES:
        assert_refused(proc, f"config/{name}", pattern)
        assert not (out / "metrics.json").exists()
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["episodes"] == 1
    assert metrics["interrupted"] is False
    assert "success rate" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_shipped_experiment(name: str, tmp_path: Path) -> None:
    out = tmp_path / "exp"
    proc = cogos(
        "experiment", f"config/experiments/{name}", "seeds=[0]", "--out", str(out), cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert len(rows) > 1
    summary = (out / "summary.md").read_text()
    assert re.search(r"\(\d+ done, 0 failed\)", summary), summary[:500]


@pytest.mark.parametrize(
    ("name", "command"),
    [("daemon.yaml", "cogos daemon"), ("experiments/policies.yaml", "cogos experiment")],
)
def test_run_names_the_command_for_other_kinds_of_config(name: str, command: str) -> None:
    proc = cogos("run", f"config/{name}", cwd=ROOT)
    assert_refused(proc, f"config/{name}", re.escape(command))
