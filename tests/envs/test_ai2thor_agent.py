"""The whole agent (kernel, policy, planner) on AI2ThorEnv, offline: real Controller, fake server.

``FixtureThorEnv`` is AI2ThorEnv on a real ``Controller(download_only=True)`` whose server is a
``FakeServer`` answered from the FloorPlan1 fixtures; configs name it by class path, so the run
goes through ``cogos.runner.run`` exactly as ``cogos run`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.extras import needs_extra

needs_extra("envs", "ai2thor")


from cogos.config import load_config
from cogos.runner import run
from cogos.trace import read_trace
from envs.ai2thor import AI2ThorEnv
from tests.envs.ai2thor_fake import FakeServer, FixtureScene, offline_controller


class FixtureThorEnv(AI2ThorEnv):
    """AI2ThorEnv whose Controller talks to the fixture scene instead of Unity."""

    def __init__(self, **options: Any) -> None:
        scene = str(options.get("scene", "FloorPlan1"))
        self.fake_server = FakeServer(FixtureScene(scene))
        super().__init__(controller=offline_controller(self.fake_server), **options)


ENV = f"{__name__}:FixtureThorEnv"


def config(tmp_path: Path, agent: dict[str, Any], *, episodes: int, task: dict[str, str]) -> Path:
    path = tmp_path / "thor.yaml"
    document = {
        "version": 1,
        "name": "thor-fixture",
        "seed": 0,
        "episodes": episodes,
        "env": {"name": ENV, "options": {"scene": "FloorPlan1", "task": task, "max_steps": 30}},
        "agent": agent,
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_random_agent_runs_text_commands_through_the_controller(tmp_path: Path) -> None:
    task = {"type": "pick_and_place_simple", "object": "Apple", "receptacle": "Fridge"}
    agent = {
        "name": "random",
        "policy": {"name": "random"},
        "modules": [{"name": "perception.facts"}],
    }
    result = run(load_config(config(tmp_path, agent, episodes=2, task=task)), tmp_path / "run")
    assert len(result.summaries) == 2
    assert all(s.optimal_steps == 5 for s in result.summaries)
    cycles = [
        line for line in read_trace(tmp_path / "run" / "trace.jsonl") if line["type"] == "cycle"
    ]
    assert cycles
    first = cycles[0]
    assert "go to fridge 1" in first["percept"]["affordances"]
    assert all(c["decision"]["choice"]["action"] in c["percept"]["affordances"] for c in cycles)
    assert all(c["outcome"]["info"]["action_success"] for c in cycles)  # admissible: all work


@pytest.mark.slow
def test_the_shipped_config_solves_a_heat_task_offline(repo_root: Path, tmp_path: Path) -> None:
    """config/ai2thor.yaml as shipped (planner-first, household domain), on the fixture scene."""
    loaded = load_config(
        repo_root / "config" / "ai2thor.yaml",
        [
            f"env.name={ENV}",
            "episodes=1",
            "env.options.task={type: pick_heat_then_place_in_recep, object: Apple, receptacle: Fridge}",
            "agent.modules.1.options.timeout=120",  # a busy CI machine must not time a solve out
        ],
    )
    result = run(loaded, tmp_path / "run")
    summary = result.summaries[0]
    assert summary.success
    assert summary.optimal_steps == 7
    assert summary.steps <= 12
    cycles = [
        line for line in read_trace(tmp_path / "run" / "trace.jsonl") if line["type"] == "cycle"
    ]
    chosen = [c["decision"]["choice"]["action"] for c in cycles]
    assert "heat apple 1 with microwave 1" in chosen
    assert chosen[-1] == "put apple 1 in/on fridge 1"
    sources = [c["decision"]["choice"]["source"] for c in cycles]
    assert sources[-3:] == ["planner"] * 3  # heat, go to the fridge, put: the planner's steps
    assert all(c["outcome"]["info"]["action_success"] for c in cycles)
