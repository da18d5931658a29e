"""The ``cogos`` command end to end, as a user runs it (a real subprocess, real files)."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cogos.trace import read_trace
from tests.cli_runner import cogos


def test_help_is_useful(repo_root: Path) -> None:
    top = cogos("--help", cwd=repo_root)
    assert top.returncode == 0
    for word in ("run", "replay", "components", "config/maze.yaml"):
        assert word in top.stdout
    sub = cogos("run", "--help", cwd=repo_root)
    assert "key=value" in sub.stdout
    assert "--out" in sub.stdout
    assert "--verify" in cogos("replay", "--help", cwd=repo_root).stdout


def test_default_demo_solves_every_maze(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = cogos("run", "config/maze.yaml", "--out", str(out), cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    assert "success rate 100%" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "episodes",
        "success_rate",
        "mean_steps",
        "mean_optimal_steps",
        "cycles_per_second",
    ):
        assert key in metrics
    assert metrics["episodes"] == 20
    assert metrics["success_rate"] == 1.0
    assert metrics["mean_steps"] >= metrics["mean_optimal_steps"]
    per_episode = metrics["per_episode"]
    assert all(e["steps"] >= e["optimal_steps"] for e in per_episode)
    lines = read_trace(out / "trace.jsonl")
    cycles = [line for line in lines if line["type"] == "cycle"]
    assert len(cycles) == sum(e["cycles"] for e in per_episode)
    assert sum(line["type"] == "episode_end" for line in lines) == 20
    first = cycles[0]
    assert {"percept", "decision", "outcome", "durations_us"} <= set(first)
    assert first["decision"]["attempts"][0]["candidates"][0]["value"] is not None
    resolved = (out / "config.yaml").read_text()
    assert "radius: 2" in resolved
    assert "avoid_revisits" in resolved


def test_random_baseline_is_reported_honestly(repo_root: Path, tmp_path: Path) -> None:
    proc = cogos(
        "run", "config/maze_random.yaml", "--out", str(tmp_path), "episodes=4", "-q", cwd=repo_root
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["episodes"] == 4
    # On 15x15 perfect mazes a random walk rarely finds the goal within 900 steps; whatever it
    # does, failures are counted as failures with their full step count.
    failed = [e for e in metrics["per_episode"] if not e["success"]]
    assert all(e["steps"] == 900 and e["truncated"] for e in failed)
    assert metrics["success_rate"] == (4 - len(failed)) / 4


def test_overrides_and_replay(repo_root: Path, tmp_path: Path) -> None:
    proc = cogos(
        "run",
        "config/maze.yaml",
        "--out",
        str(tmp_path),
        "episodes=2",
        "env.options.width=7",
        "env.options.height=6",
        "-q",
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "width: 7" in (tmp_path / "config.yaml").read_text()
    rep = cogos(
        "replay", str(tmp_path / "trace.jsonl"), "--episode", "1", "--limit", "5", cwd=repo_root
    )
    assert rep.returncode == 0, rep.stderr
    assert "candidates" in rep.stdout
    assert "c0_0" in rep.stdout
    as_json = cogos("replay", str(tmp_path / "trace.jsonl"), "--json", cwd=repo_root)
    decisions = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {d["episode"] for d in decisions} == {0, 1}
    assert decisions[-1]["success"] is True
    ver = cogos("replay", str(tmp_path / "trace.jsonl"), "--verify", cwd=repo_root)
    assert ver.returncode == 0, ver.stderr
    assert f"{len(decisions)} decisions identical" in ver.stdout


def test_verify_detects_a_tampered_trace(repo_root: Path, tmp_path: Path) -> None:
    assert (
        cogos(
            "run", "config/maze.yaml", "--out", str(tmp_path), "episodes=1", "-q", cwd=repo_root
        ).returncode
        == 0
    )
    trace = tmp_path / "trace.jsonl"
    lines = trace.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if '"type":"cycle"' in line)
    rec = json.loads(lines[idx])
    rec["decision"]["choice"]["name"] = "teleport"
    lines[idx] = json.dumps(rec)
    trace.write_text("\n".join(lines) + "\n")
    ver = cogos("replay", str(trace), "--verify", cwd=repo_root)
    assert ver.returncode == 1
    assert "diverged at episode 0 cycle 0" in ver.stderr


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        ("episodes: [1\n", (), "invalid YAML"),
        ("agent:\n  policy:\n    name: explor\n", (), "did you mean 'explore'"),
        (
            "agent:\n  modules:\n    - name: perception.fact\n",
            (),
            "unknown module 'perception.fact'",
        ),
        ("episodes: lots\n", (), "episodes"),
        ("episodes: 1\n", ("nonsense.key=1",), "unknown key"),
        ("episodes: 1\n", ("novalue",), "key=value"),
        ("env: {name: maze, options: {width: 1}}\n", (), "width"),
    ],
)
def test_config_errors_exit_2_with_one_clear_line(
    repo_root: Path, tmp_path: Path, content: str, args: tuple[str, ...], fragment: str
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    proc = cogos("run", str(cfg), *args, "--out", str(tmp_path / "out"), cwd=repo_root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert fragment in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_config_file_exits_2(repo_root: Path, tmp_path: Path) -> None:
    proc = cogos("run", str(tmp_path / "nope.yaml"), cwd=repo_root)
    assert proc.returncode == 2
    assert "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_components_lists_builtins(repo_root: Path) -> None:
    proc = cogos("components", "--options", cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    for name in ("maze", "explore", "random", "perception.facts", "avoid_revisits", "width"):
        assert name in proc.stdout


def test_help_lays_out_its_examples_without_loading_the_runtime(repo_root: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom cogos.cli.main import cli\ntry:\n    cli(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('faiss', 'sqlite_utils', 'networkx', 'unified_planning',"
            " 'pydantic', 'gymnasium', 'memory.memory_os') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", "cogos --help imported the runtime"
    assert "\\b" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert "    cogos run config/maze.yaml --out runs/demo" in lines
    assert "    cogos replay runs/demo/trace.jsonl --limit 20" in lines
    for command in ("components", "daemon", "experiment", "memory", "plan", "replay", "run"):
        assert any(line.strip().startswith(command + " ") for line in lines), command


def test_components_names_kinds_defaults_and_embedders(repo_root: Path) -> None:
    proc = cogos("components", "--options", cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "policies (entry points" in out
    assert "policys" not in out
    assert "PydanticUndefined" not in out
    assert "embedders (entry points: cogos.embedders)" in out
    assert "hashing" in out
    assert "minilm" in out
    assert "phases=['propose']" in out  # a default made by a factory is shown as its value


def test_an_unknown_episode_is_an_error_that_lists_what_exists(
    repo_root: Path, tmp_path: Path
) -> None:
    out, mem = tmp_path / "run", tmp_path / "mem"
    proc = cogos(
        "run",
        "config/maze_memory.yaml",
        "episodes=2",
        f"memory.path={mem}",
        "--out",
        str(out),
        "-q",
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr
    listed = cogos("memory", "recall", str(mem), "--episodes", "--json", cwd=repo_root)
    assert listed.returncode == 0, listed.stderr
    episodes = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(episodes) == 2
    assert all(e["events"] > 0 for e in episodes)
    first = episodes[0]["episode"]
    bare = cogos("memory", "recall", str(mem), "--episode", "0", cwd=repo_root)
    assert bare.returncode == 1
    assert f"did you mean '{first}'" in bare.stderr
    assert "--episodes lists them" in bare.stderr
    found = cogos("memory", "recall", str(mem), "--episode", first, "--json", cwd=repo_root)
    assert len(found.stdout.splitlines()) == episodes[0]["events"]
    replay = cogos("replay", str(out / "trace.jsonl"), "--episode", "99", cwd=repo_root)
    assert replay.returncode == 1
    assert "no episode 99 (episodes recorded: 0-1)" in replay.stderr


def test_household_reports_success_per_task_family(repo_root: Path, tmp_path: Path) -> None:
    proc = cogos(
        "run",
        "config/household.yaml",
        "episodes=3",
        "--out",
        str(tmp_path / "o"),
        "-q",
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    line = next(x for x in proc.stdout.splitlines() if x.startswith("by task family: "))
    for family, figures in metrics["by_task_family"].items():
        assert f"{family} {figures['success_rate']:.0%} (" in line


def test_ctrl_c_keeps_the_episodes_that_finished(repo_root: Path, tmp_path: Path) -> None:
    """SIGINT once an episode has ended (read from the trace, not guessed from the clock):
    exit 130, and metrics.json holds every finished episode."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogos.cli.main",
            "run",
            "config/maze.yaml",
            "episodes=100000",
            "--out",
            str(out),
            "-q",
        ],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a test run started in the background inherits SIGINT ignored, and so would the child:
        # give it the default disposition, which Python turns into KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    trace = out / "trace.jsonl"
    try:
        for _ in range(600):
            if trace.exists() and '"type":"episode_end"' in trace.read_text():
                break
            time.sleep(0.1)  # polling a file for an event; no outcome depends on the timing
        else:
            pytest.fail("no episode ended within a minute")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate(timeout=30)  # reaps it and closes the pipes
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True
    assert metrics["episodes_planned"] == 100000
    assert metrics["episodes"] >= 1
    assert len(metrics["per_episode"]) == metrics["episodes"]
    assert f"interrupted after {metrics['episodes']} of 100000 episodes" in stderr
    assert "success rate" in stdout
