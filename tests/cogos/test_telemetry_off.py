"""Telemetry off costs nothing and needs nothing; on without its extra, a clear config error.

None of these need the ``telemetry`` extra: they run in the README's dev-only venv too.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogos import load_config_text
from cogos.errors import ConfigError
from tests.cli_runner import cogos

OFF_RUN = """
import json, sys
from cogos import load_config, run
runs = [
    ("config/maze.yaml", ["episodes=1"]),
    ("config/maze_memory.yaml", ["episodes=1", "memory.path={memory}",
                                 "agent.modules.1.options.search=true"]),
    ("config/maze_planner.yaml", ["episodes=1", "env.options.width=5", "env.options.height=5"]),
]
for config, overrides in runs:
    assert run(load_config(config, overrides)).metrics["success_rate"] == 1.0
print(json.dumps(sorted(m for m in sys.modules if "opentelemetry" in m or "telemetry." in m)))
"""


def test_telemetry_off_imports_no_opentelemetry(repo_root: Path, tmp_path: Path) -> None:
    """Runs with memory (writes and searches) and the planner, in a fresh interpreter."""
    code = OFF_RUN.format(memory=tmp_path / "memory")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_enabling_it_without_the_extra_names_the_extra(repo_root: Path, tmp_path: Path) -> None:
    """The extra is hidden from a real ``cogos run`` (its imports fail as if not installed)."""
    hide = (
        "import sys, runpy; sys.modules['opentelemetry'] = None; "
        "sys.argv = ['cogos', *sys.argv[1:]]; runpy.run_module('cogos.cli.main', run_name='__main__')"
    )
    out = tmp_path / "run"
    command = ["run", "config/maze.yaml", "episodes=1", "telemetry.enabled=true"]
    proc = subprocess.run(
        [sys.executable, "-c", hide, *command, "--out", str(out), "-q"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "telemetry.enabled" in proc.stderr
    assert "the 'telemetry' extra" in proc.stderr and 'pip install -e ".[telemetry]"' in proc.stderr
    assert not out.exists(), "refused before the run directory was made"


def test_telemetry_is_off_by_default_and_its_section_is_checked() -> None:
    base = "episodes: 1\n"
    assert load_config_text(base).config.telemetry.enabled is False
    with pytest.raises(ConfigError, match=r"telemetry\.endpoint"):
        load_config_text(base + "telemetry: {enabled: true, endpoint: localhost:4318}\n")
    with pytest.raises(ConfigError, match=r"telemetry\.exporter"):
        load_config_text(base + "telemetry: {exporter: jaeger}\n")
    with pytest.raises(ConfigError, match=r"telemetry\.sampel_ratio"):
        load_config_text(base + "telemetry: {sampel_ratio: 0.1}\n")


def test_cogos_run_without_telemetry_writes_its_section_off(
    repo_root: Path, tmp_path: Path
) -> None:
    proc = cogos(
        "run", "config/maze.yaml", "episodes=1", "--out", str(tmp_path), "-q", cwd=repo_root
    )
    assert proc.returncode == 0, proc.stderr
    resolved = (tmp_path / "config.yaml").read_text()
    assert "telemetry:\n  enabled: false\n  exporter: otlp\n" in resolved
