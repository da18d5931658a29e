"""Finding a simulator build, building the Controller lazily, and failing clearly without one.

Nothing here touches the network or launches Unity: ``HOME`` points at an empty directory (no
cached build), ``Build.exists`` is patched where a lookup would ask AI2's server, and
``Controller.start`` (which launches Unity) is replaced by ``fake_unity``, so the rest of the
real ``Controller.__init__`` runs against a fake server.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.extras import needs_extra

needs_extra("envs", "ai2thor")

import ai2thor.build
import ai2thor.controller

from envs.ai2thor import EXECUTABLE_ENV, AI2ThorEnv, SimulatorUnavailableError, find_build
from tests.envs.ai2thor_fake import FakeServer, FixtureScene, fake_unity

TASK = {"type": "pick_and_place_simple", "object": "Apple", "receptacle": "Fridge"}


@pytest.fixture
def no_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without a build: empty HOME, no COGOS_AI2THOR_EXECUTABLE."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(EXECUTABLE_ENV, raising=False)
    return home


@pytest.fixture
def executable(tmp_path: Path) -> Path:
    """A file that stands for a local Unity build (it is never launched)."""
    path = tmp_path / "thor-Linux64-local" / "thor-Linux64-local"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_no_simulator_is_a_clear_one_line_error(no_simulator: Path) -> None:
    with pytest.raises(SimulatorUnavailableError) as caught:
        AI2ThorEnv(task=TASK)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)  # so CogOS reports it as one line, exit 2
    assert "\n" not in message
    assert message.startswith("no AI2-THOR simulator build is available")
    assert "env.options.local_executable_path" in message
    assert EXECUTABLE_ENV in message
    assert "env.options.download" in message
    assert ai2thor.build.COMMIT_ID[:8] in message


def test_a_missing_executable_is_named(
    no_simulator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "thor"
    with pytest.raises(SimulatorUnavailableError, match="does not exist"):
        AI2ThorEnv(local_executable_path=str(missing))
    monkeypatch.setenv(EXECUTABLE_ENV, str(missing))
    with pytest.raises(SimulatorUnavailableError, match=str(missing)):
        AI2ThorEnv()


def test_a_non_executable_file_is_refused(no_simulator: Path, tmp_path: Path) -> None:
    path = tmp_path / "thor"
    path.write_text("")
    path.chmod(0o644)
    with pytest.raises(SimulatorUnavailableError, match="not executable"):
        find_build(str(path), download=False)


def test_a_cached_build_is_found_without_the_network(no_simulator: Path) -> None:
    commit = ai2thor.build.COMMIT_ID
    build = no_simulator / ".ai2thor" / "releases" / f"thor-Linux64-{commit}"
    build.mkdir(parents=True)
    source = find_build(None, download=False)
    assert (source.kind, source.path) == ("cached", build)
    AI2ThorEnv(task=TASK)  # no error


def test_download_is_deferred_to_reset_and_fails_clearly_offline(
    no_simulator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = AI2ThorEnv(task=TASK, download=True)  # nothing is fetched yet
    assert env.controller is None
    # offline: ai2thor's HEAD request for the build finds nothing (patched: no real network)
    monkeypatch.setattr(ai2thor.build.Build, "exists", lambda self: False)
    with pytest.raises(SimulatorUnavailableError) as caught:
        env.reset(seed=0)
    message = str(caught.value)
    assert "\n" not in message
    assert "could not fetch and start the AI2-THOR build (is this machine offline?)" in message
    assert "no build exists" in message
    assert "env.options.local_executable_path" in message


def test_the_controller_is_built_lazily_on_the_local_build(
    no_simulator: Path, executable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXECUTABLE_ENV, str(executable))
    env = AI2ThorEnv(task=TASK, grid_size=0.5, visibility_distance=2.0, width=400, height=300)
    assert env.controller is None  # the constructor only checked that the build is there
    server = FakeServer(FixtureScene("FloorPlan1"))
    with fake_unity(server) as starts:
        obs, info = env.reset(seed=0)
        env.reset(seed=1)  # the running simulator is reset, not started again
    assert len(starts) == 1
    assert starts[0]["width"] == 400
    controller = env.controller
    assert isinstance(controller, ai2thor.controller.Controller)
    assert isinstance(controller._build, ai2thor.build.ExternalBuild)
    assert controller._build.executable_path == str(executable)
    actions = server.actions
    assert actions[:3] == ["GetScenesInBuild", "Reset", "Initialize"]
    assert actions[3:] == ["Reset", "Initialize"]
    initialize = server.requests[2]
    assert initialize["gridSize"] == 0.5
    assert initialize["visibilityDistance"] == 2.0
    assert initialize["renderDepthImage"] is False
    assert "fridge 1" in obs
    assert info["optimal_steps"] == 5
    _, _, _, _, info = env.step("go to countertop 2")
    assert info["action_success"] is True
    env.close()
    assert server.stopped  # it started the simulator, so it stops it
    assert env.controller is None


def test_controller_options_reach_the_controller(no_simulator: Path, executable: Path) -> None:
    env = AI2ThorEnv(
        local_executable_path=str(executable),
        controller_options={"quality": "Low", "renderInstanceSegmentation": True},
    )
    server = FakeServer(FixtureScene("FloorPlan1"))
    with fake_unity(server):
        env.reset(seed=0)
    assert env.controller.quality == "Low"
    assert server.requests[2]["renderInstanceSegmentation"] is True


def test_a_build_that_cannot_start_is_a_clear_error(
    no_simulator: Path, executable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(controller: object, **kwargs: object) -> None:
        raise RuntimeError("Unity process has exited\nreturncode=1")

    monkeypatch.setattr(ai2thor.controller.Controller, "start", crash)
    env = AI2ThorEnv(local_executable_path=str(executable))
    with pytest.raises(SimulatorUnavailableError) as caught:
        env.reset(seed=0)
    message = str(caught.value)
    assert message.startswith(f"could not start the AI2-THOR build {executable}: RuntimeError:")
    assert "Unity process has exited" in message
    assert "returncode" not in message  # first line only
    assert "xvfb-run" in message


def cogos(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != EXECUTABLE_ENV}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cogos_run_without_a_simulator_fails_in_one_line(
    repo_root: Path, no_simulator: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = cogos("run", "config/ai2thor.yaml", "--out", str(out), cwd=repo_root, home=no_simulator)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    # one error line (other lines could only be warnings from unrelated CLI plugins)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    line = errors[0]
    assert re.match(r"error: config/ai2thor\.yaml:\d+: env\.options: 'ai2thor' rejected", line), (
        line
    )
    assert "no AI2-THOR simulator build is available" in line
    assert "local_executable_path" in line
    assert EXECUTABLE_ENV in line
    assert not out.exists()  # it stopped before anything ran


def test_cogos_run_names_a_wrong_executable(
    repo_root: Path, no_simulator: Path, tmp_path: Path
) -> None:
    proc = cogos(
        "run",
        "config/ai2thor.yaml",
        f"env.options.local_executable_path={tmp_path}/nope",
        "--out",
        str(tmp_path / "run"),
        cwd=repo_root,
        home=no_simulator,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{tmp_path}/nope" in proc.stderr
    assert "does not exist" in proc.stderr


def test_a_scene_the_local_build_lacks_is_named(no_simulator: Path, executable: Path) -> None:
    env = AI2ThorEnv(local_executable_path=str(executable), scene="FloorPlan2")
    server = FakeServer(FixtureScene("FloorPlan1"))
    scenes = FixtureScene("FloorPlan1").respond({"action": "GetScenesInBuild"})
    scenes.metadata["actionReturn"] = ["FloorPlan1_physics"]
    server.queue(scenes)
    with fake_unity(server), pytest.raises(ValueError, match=r"^scene 'FloorPlan2': Scene"):
        env.reset(seed=0)
