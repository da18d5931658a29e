"""``verify`` of traced runs: a memory run is re-run on a copy of the memory it started from, the
memory itself is never changed, and a divergence says what differed."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from cogos import load_config
from cogos.replay import DecisionLine, VerifyError, describe_mismatch, verify
from cogos.runner import RunResult, run
from cogos.trace import read_trace
from memory.memory_os import MemoryOS

SMALL_MAZE = ["env.options.width=9", "env.options.height=9", "env.options.maze_seed=3"]


def memory_run(repo: Path, out: Path, memory: Path, episodes: int = 2) -> RunResult:
    overrides = [f"episodes={episodes}", *SMALL_MAZE, f"memory.path={memory}"]
    return run(load_config(repo / "config" / "maze_memory.yaml", overrides), out)


def files(root: Path) -> dict[str, str]:
    """Every file under ``root`` (LOCK, FORMAT, the log, SQLite's files) with its digest."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def last_seq(memory: Path) -> int:
    with MemoryOS.open(memory) as m:
        return m.last_seq


def rewrite_header(trace: Path, change: Any) -> None:
    lines = trace.read_text().splitlines()
    header = json.loads(lines[0])
    change(header)
    lines[0] = json.dumps(header)
    trace.write_text("\n".join(lines) + "\n")


@pytest.fixture
def two_runs(repo_root: Path, tmp_path: Path) -> tuple[Path, int]:
    """Two runs on one memory; the second starts from what the first left. Returns the memory
    and the seq its log had reached when the second run started."""
    memory = tmp_path / "mem"
    memory_run(repo_root, tmp_path / "first", memory)
    seq = last_seq(memory)
    second = memory_run(repo_root, tmp_path / "second", memory)
    assert [s.steps for s in second.summaries] == [s.optimal_steps for s in second.summaries], (
        "the second run must use what the first remembered (else memory proves nothing here)"
    )
    return memory, seq


def test_header_records_where_the_memory_log_stood(
    tmp_path: Path, two_runs: tuple[Path, int]
) -> None:
    memory, seq = two_runs
    assert seq > 0
    first = read_trace(tmp_path / "first" / "trace.jsonl")[0]
    second = read_trace(tmp_path / "second" / "trace.jsonl")[0]
    assert first["memory"] == {"path": str(memory.resolve()), "last_seq": 0}
    assert second["memory"] == {"path": str(memory.resolve()), "last_seq": seq}


def test_memory_runs_verify_and_the_memory_is_not_changed(
    tmp_path: Path, two_runs: tuple[Path, int]
) -> None:
    memory, seq = two_runs
    before = files(memory)
    for name, start in (("second", seq), ("first", 0)):
        trace = tmp_path / name / "trace.jsonl"
        cycles = sum(1 for r in read_trace(trace) if r["type"] == "cycle")
        result = verify(trace)
        assert result.problem is None and result.ok
        assert result.compared == cycles
        assert result.memory is not None and result.memory.last_seq == start
        assert files(memory) == before, f"verifying the {name} run changed the memory"


def test_verify_re_runs_from_the_recorded_start_not_from_now(
    tmp_path: Path, two_runs: tuple[Path, int]
) -> None:
    # the second run re-run on the memory as the first found it (empty) must diverge: the
    # header's seq is what makes the memory run verifiable
    trace = tmp_path / "second" / "trace.jsonl"
    rewrite_header(trace, lambda h: h["memory"].update(last_seq=0))
    result = verify(trace)
    assert not result.ok
    assert result.problem is not None and result.problem.startswith("diverged at episode 0 ")


def test_a_memory_checkpointed_since_is_refused_and_not_changed(
    tmp_path: Path, two_runs: tuple[Path, int]
) -> None:
    memory, seq = two_runs
    with MemoryOS.open(memory) as m:
        m.checkpoint()
    before = files(memory)
    with pytest.raises(VerifyError) as caught:
        verify(tmp_path / "second" / "trace.jsonl")
    message = str(caught.value)
    assert "cannot be verified exactly" in message
    assert f"as it was at seq {seq}: it has been checkpointed" in message
    assert "nothing was changed" in message
    assert files(memory) == before
    assert verify(tmp_path / "first" / "trace.jsonl").ok, "seq 0 needs no record of the log"
    assert files(memory) == before


def test_an_old_trace_of_a_memory_run_is_refused(
    tmp_path: Path, two_runs: tuple[Path, int]
) -> None:
    memory, _ = two_runs
    trace = tmp_path / "second" / "trace.jsonl"
    rewrite_header(trace, lambda h: h.pop("memory"))
    before = files(memory)
    with pytest.raises(VerifyError, match="does not record the memory state the run started"):
        verify(trace)
    assert files(memory) == before


def test_a_run_without_memory_has_no_memory_header_and_verifies(
    repo_root: Path, tmp_path: Path
) -> None:
    loaded = load_config(repo_root / "config" / "maze.yaml", ["episodes=1", *SMALL_MAZE[:2]])
    run(loaded, tmp_path)
    assert "memory" not in read_trace(tmp_path / "trace.jsonl")[0]
    result = verify(tmp_path / "trace.jsonl")
    assert result.ok and result.memory is None


def test_a_value_divergence_names_the_candidate_and_both_values(
    repo_root: Path, tmp_path: Path
) -> None:
    run(load_config(repo_root / "config" / "maze.yaml", ["episodes=1", *SMALL_MAZE[:2]]), tmp_path)
    trace = tmp_path / "trace.jsonl"
    lines = trace.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if '"type":"cycle"' in line)
    rec = json.loads(lines[idx])
    choice = rec["decision"]["choice"]["name"]
    chosen = next(c for c in rec["decision"]["attempts"][-1]["candidates"] if c["name"] == choice)
    value = float(chosen["value"])
    chosen["value"] = value + 0.5
    lines[idx] = json.dumps(rec)
    trace.write_text("\n".join(lines) + "\n")
    result = verify(trace)
    assert result.problem == (
        f"diverged at episode 0 cycle {rec['cycle']}: same choice {choice!r}, but candidate "
        f"values differ: {choice} {value + 0.5!r} -> {value!r}"
    )


def line(choice: str, candidates: list[tuple[str, float]], cycle: int = 4) -> DecisionLine:
    return DecisionLine(0, cycle, cycle, None, candidates, choice, False, [], 0.0, False, None)


def test_describe_mismatch_says_what_differed() -> None:
    recorded = line("east", [("east", 0.9), ("west", 0.1)])
    assert describe_mismatch(recorded, line("west", [("east", 0.2), ("west", 0.3)])) == (
        "diverged at episode 0 cycle 4: recorded 'east', re-run chose 'west' "
        "(candidate values differ: east 0.9 -> 0.2, west 0.1 -> 0.3)"
    )
    assert describe_mismatch(recorded, line("east", [("east", 0.9), ("north", 0.1)])) == (
        "diverged at episode 0 cycle 4: same choice 'east', but candidates differ: "
        "recorded east, west; re-run east, north"
    )
    assert describe_mismatch(recorded, line("east", [("east", 0.9), ("west", 0.1)], 5)) == (
        "diverged at episode 0 cycle 4: the re-run was at episode 0 cycle 5"
    )
