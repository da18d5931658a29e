"""``cogos replay --verify`` on a memory run, as a user runs it: verified on a copy, the memory
directory byte for byte unchanged, and a checkpointed memory refused with exit code 1."""

import hashlib
import json
from pathlib import Path

from tests.cli_runner import cogos

SMALL_MAZE = ("env.options.width=9", "env.options.height=9", "env.options.maze_seed=3")


def files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def memory_run(repo: Path, out: Path, memory: Path) -> None:
    proc = cogos(
        "run",
        "config/maze_memory.yaml",
        "--out",
        str(out),
        "episodes=2",
        *SMALL_MAZE,
        f"memory.path={memory}",
        "-q",
        cwd=repo,
    )
    assert proc.returncode == 0, proc.stderr


def test_verify_a_memory_run_then_refuse_once_checkpointed(repo_root: Path, tmp_path: Path) -> None:
    memory = tmp_path / "mem"
    memory_run(repo_root, tmp_path / "first", memory)
    memory_run(repo_root, tmp_path / "second", memory)
    trace = str(tmp_path / "second" / "trace.jsonl")
    start = json.loads(Path(trace).read_text().splitlines()[0])["memory"]["last_seq"]
    before = files(memory)

    ver = cogos("replay", trace, "--verify", cwd=repo_root)
    assert ver.returncode == 0, ver.stderr
    assert "decisions identical on re-run" in ver.stdout
    assert f"as of seq {start}" in " ".join(ver.stdout.split())
    assert files(memory) == before

    assert cogos("memory", "compact", str(memory), cwd=repo_root).returncode == 0
    before = files(memory)
    ver = cogos("replay", trace, "--verify", cwd=repo_root)
    assert ver.returncode == 1
    err = " ".join(ver.stderr.split())
    assert err.startswith("error: ") and "cannot be verified exactly" in err
    assert "has been checkpointed" in err and "nothing was changed" in err
    assert "Traceback" not in ver.stderr
    assert files(memory) == before


def test_a_value_divergence_is_reported_as_such(repo_root: Path, tmp_path: Path) -> None:
    args = ("--out", str(tmp_path), "episodes=1", *SMALL_MAZE[:2], "-q")
    run = cogos("run", "config/maze.yaml", *args, cwd=repo_root)
    assert run.returncode == 0, run.stderr
    trace = tmp_path / "trace.jsonl"
    lines = trace.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if '"type":"cycle"' in line)
    rec = json.loads(lines[idx])
    choice = rec["decision"]["choice"]["name"]
    for cand in rec["decision"]["attempts"][-1]["candidates"]:
        if cand["name"] == choice:
            cand["value"] = 0.25 if cand["value"] != 0.25 else 0.5
    lines[idx] = json.dumps(rec)
    trace.write_text("\n".join(lines) + "\n")
    ver = cogos("replay", str(trace), "--verify", cwd=repo_root)
    assert ver.returncode == 1
    err = " ".join(ver.stderr.split())
    assert f"same choice {choice!r}, but candidate values differ: {choice} 0." in err
    assert f"re-run chose {choice!r}" not in err
