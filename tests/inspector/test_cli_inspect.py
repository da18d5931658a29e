"""``cogos inspect`` as a user runs it: a real process serving on a free port until Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.cli_runner import cogos


def test_inspect_serves_a_run_until_interrupted(
    critic_run: Path, memory_dir: Path, repo_root: Path
) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "cogos.cli.main", "inspect", str(critic_run), str(memory_dir)],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("inspecting 1 run(s), 0 experiment(s), 1 ")
        line = server.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/sources", timeout=60) as answer:
            listing = json.loads(answer.read())
        assert [r["key"] for r in listing["runs"]] == ["inspected"]
        with urllib.request.urlopen(url, timeout=60) as answer:
            assert b"CogOS inspector" in answer.read()
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0, server.stderr.read() if server.stderr else ""


def test_inspect_refuses_what_it_cannot_show(tmp_path: Path, repo_root: Path) -> None:
    missing = cogos("inspect", str(tmp_path / "nope"), cwd=repo_root)
    assert missing.returncode == 2 and "no such directory" in missing.stderr
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    nothing = cogos("inspect", str(tmp_path / "notes"), cwd=repo_root)
    assert nothing.returncode == 2 and "not a run, experiment or memory" in nothing.stderr
    assert "Traceback" not in missing.stderr + nothing.stderr
