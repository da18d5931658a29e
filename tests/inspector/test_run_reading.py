"""Reading a run directory: the index agrees with the trace and metrics.json, torn and bad lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cogos.inspector.runs import RunView, TraceFormatError
from cogos.trace import read_trace


def test_the_index_agrees_with_the_trace_and_the_metrics(critic_run: Path) -> None:
    view = RunView(critic_run, "inspected")
    summary = view.summary()
    metrics = json.loads((critic_run / "metrics.json").read_text())
    assert [e["steps"] for e in summary["episodes"]] == [e["steps"] for e in metrics["per_episode"]]
    assert [e["success"] for e in summary["episodes"]] == [True] * 4
    assert summary["totals"]["success_rate"] == metrics["success_rate"]
    assert summary["env"] == "maze" and summary["policy"] == "explore"
    lines = read_trace(critic_run / "trace.jsonl")
    for number in range(4):
        cycles = [r for r in lines if r["type"] == "cycle" and r["episode"] == number]
        assert view.episode(number)["cycles"] == cycles
        assert summary["episodes"][number]["cycles"] == len(cycles)


def test_a_killed_run_shows_its_finished_episodes_and_the_one_cut_short(
    critic_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "killed"
    shutil.copytree(critic_run, run)
    (run / "metrics.json").unlink()
    lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
    ends = [i for i, line in enumerate(lines) if line.startswith(b'{"type":"episode_end"')]
    cut = lines[: ends[1] + 13]  # episode 2 has started: its start line and 11 cycles
    torn = cut[-1][: len(cut[-1]) // 2]  # the last cycle was torn by the kill: 10 remain
    (run / "trace.jsonl").write_bytes(b"".join(cut[:-1]) + torn)
    summary = RunView(run, "killed").summary()
    assert [e["finished"] for e in summary["episodes"]] == [True, True, False]
    assert summary["episodes"][2]["cycles"] == 10 and summary["totals"] == {}
    assert len(RunView(run, "killed").episode(2)["cycles"]) == 10


def test_a_bad_line_inside_the_trace_is_an_error_naming_file_and_line(
    critic_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "bad"
    shutil.copytree(critic_run, run)
    lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = b'{"type":"episode_start", oops\n'
    (run / "trace.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(TraceFormatError, match=r"trace\.jsonl:2: not a JSON line"):
        RunView(run, "bad").summary()


def test_a_run_still_being_written_is_read_again_as_it_grows(
    critic_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "growing"
    run.mkdir()
    data = (critic_run / "trace.jsonl").read_bytes()
    first_end = data.index(b"\n", data.index(b'{"type":"episode_end"')) + 1
    (run / "trace.jsonl").write_bytes(data[:first_end])
    view = RunView(run, "growing")
    assert len(view.summary()["episodes"]) == 1
    (run / "trace.jsonl").write_bytes(data)
    assert len(view.summary()["episodes"]) == 4
