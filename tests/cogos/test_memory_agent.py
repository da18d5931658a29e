"""Memory inside the agent, end to end on the real maze: every cycle becomes an event with its
decision record, and memory measurably changes behaviour, also across a process restart."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cogos import load_config
from cogos.runner import run
from memory.memory_os import MemoryOS


def maze_run(
    repo: Path, out: Path, memory: Path | None, episodes: int, seed: int = 7
) -> list[dict[str, Any]]:
    overrides = [f"episodes={episodes}", f"env.options.maze_seed={seed}"]
    overrides.append(f"memory.path={memory}" if memory else "memory.path=null")
    result = run(load_config(repo / "config" / "maze_memory.yaml", overrides), out)
    return [s.to_json() for s in result.summaries]


def test_second_visit_is_near_optimal_with_memory_and_not_without(
    repo_root: Path, tmp_path: Path
) -> None:
    with_memory = maze_run(repo_root, tmp_path / "on", tmp_path / "mem", episodes=3)
    without = maze_run(repo_root, tmp_path / "off", None, episodes=3)
    first = with_memory[0]
    assert first["optimal_ratio"] > 1.05, (
        "the first visit has to explore (else this maze proves nothing)"
    )
    for later in with_memory[1:]:
        assert later["success"] and later["optimal_ratio"] <= 1.05
    assert [e["steps"] for e in without] == [first["steps"]] * 3, "memory off: no gain"


def test_memory_effect_survives_a_restart(repo_root: Path, tmp_path: Path) -> None:
    mem = tmp_path / "mem"
    maze_run(repo_root, tmp_path / "first", mem, episodes=1, seed=11)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cogos.cli.main",
            "run",
            "config/maze_memory.yaml",
            "--out",
            str(tmp_path / "second"),
            "episodes=1",
            "env.options.maze_seed=11",
            f"memory.path={mem}",
            "-q",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "second" / "metrics.json").read_text())
    assert metrics["per_episode"][0]["optimal_ratio"] <= 1.05
    first = json.loads((tmp_path / "first" / "metrics.json").read_text())
    assert first["per_episode"][0]["optimal_ratio"] > 1.05


def test_every_cycle_is_one_event_with_its_decision(repo_root: Path, tmp_path: Path) -> None:
    summaries = maze_run(repo_root, tmp_path / "run", tmp_path / "mem", episodes=2, seed=3)
    with MemoryOS.open(tmp_path / "mem") as memory:
        events = memory.recent(10_000, {"kind": "event"})
        assert len(events) == sum(int(s["cycles"]) for s in summaries)
        episodes = {e.episode for e in events}
        assert len(episodes) == 2
        some = events[len(events) // 2]
        decision = memory.decision(some.id)
        assert decision is not None
        assert decision["choice"]["name"] == some.metadata["action"]
        assert {"choice", "attempts", "outcome"} <= set(decision)
        assert decision["attempts"], "the candidates of each round are kept"
        assert tuple(a[0] for a in some.facts if a[0] == "at") == ("at",)
        chain = memory.episode(some.episode or "")
        assert [e.metadata["cycle"] for e in chain] == list(range(len(chain)))
        why = memory.why(some.id)
        assert why["decision"]["choice"]["name"] == some.metadata["action"]
        assert memory.knowledge(next(iter(memory.recent(1, {"kind": "fact"}))).metadata["context"])
