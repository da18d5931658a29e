"""The gymnasium ids: made in a fresh interpreter, registered once, and passing ``check_env``.

Gymnasium 1.x has no plugin hook, so an id is known once ``envs`` is imported, or when the id
names its package (``gymnasium.make("envs:cogos/Maze-v0")``); see ``envs/registration.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from envs.registration import (
    AI2THOR_ID,
    GYM_IDS,
    MINIGRID_ID,
    register_envs,
    register_minigrid_tasks,
)
from tests.extras import missing, reason

REPO = Path(__file__).resolve().parents[2]
NO_MINIGRID = missing("minigrid")
NO_AI2THOR = missing("ai2thor")
NO_WFC = missing("imageio")  # MiniGrid's WFC tasks lay out their grids with it

if not NO_MINIGRID:
    import envs.minigrid  # noqa: F401 - registers cogos/<every MiniGrid task>


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter, warnings as errors, from the repository root."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_fresh_interpreter_makes_every_id_by_naming_its_package() -> None:
    made: dict[str, dict[str, Any]] = {
        "envs:cogos/Maze-v0": {"width": 5, "height": 5},
        "envs:cogos/Household-v0": {},
        # with a controller given, no simulator build is looked for before reset
        "envs:cogos/AI2Thor-v0": {"controller": None},
    }
    if not NO_MINIGRID:
        made["envs.minigrid:cogos/MiniGrid-v0"] = {}
        made["envs.minigrid:cogos/MiniGrid-DoorKey-5x5-v0"] = {}
    result = run_python(
        f"""
        import sys
        import gymnasium

        assert "envs" not in sys.modules
        assert not [i for i in gymnasium.registry if i.startswith("cogos/")]
        for env_id, kwargs in {made!r}.items():
            if "controller" in kwargs:
                kwargs["controller"] = object()
            env = gymnasium.make(env_id, **kwargs)
            print(env_id, type(env.unwrapped).__name__)
            env.close()
        env = gymnasium.make("cogos/Maze-v0")  # once envs is imported, by its plain id
        print("plain", type(env.unwrapped).__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "envs:cogos/Maze-v0 MazeEnv" in lines
    assert "envs:cogos/Household-v0 HouseholdEnv" in lines
    assert "envs:cogos/AI2Thor-v0 AI2ThorEnv" in lines
    assert "plain MazeEnv" in lines
    if not NO_MINIGRID:
        assert "envs.minigrid:cogos/MiniGrid-v0 MiniGridEnv" in lines
        assert "envs.minigrid:cogos/MiniGrid-DoorKey-5x5-v0 MiniGridEnv" in lines


def test_importing_in_any_order_and_registering_again_never_warns() -> None:
    packages = ["envs.maze", "envs.household", "envs.ai2thor"]
    if not NO_MINIGRID:
        packages.append("envs.minigrid")
    result = run_python(
        f"""
        import importlib
        import gymnasium
        from envs.registration import GYM_IDS, register_envs, register_minigrid_tasks

        for name in {packages[::-1]!r}:
            importlib.import_module(name)
        register_envs()
        register_minigrid_tasks()
        assert set(GYM_IDS) <= set(gymnasium.registry)
        """
    )
    assert result.returncode == 0, result.stderr


def test_every_id_is_registered_once_envs_is_imported() -> None:
    before = dict(gym.registry)
    register_envs()
    register_minigrid_tasks()
    assert dict(gym.registry) == before, "registering again changes nothing"
    assert set(GYM_IDS) <= set(gym.registry)


def _registered() -> list[Any]:
    """Every cogos/ id, each skipped (naming what it needs) where that is not installed."""
    params: list[Any] = []
    for env_id in sorted(i for i in gym.registry if i.startswith("cogos/")):
        marks: list[pytest.MarkDecorator] = []
        if env_id == AI2THOR_ID and NO_AI2THOR:  # the fake server drives ai2thor's Controller
            marks.append(pytest.mark.skip(reason=reason("envs", NO_AI2THOR)))
        if env_id.startswith(MINIGRID_ID.removesuffix("-v0")) and NO_MINIGRID:
            marks.append(pytest.mark.skip(reason=reason("envs", NO_MINIGRID)))
        if "-WFC-" in env_id and NO_WFC:
            marks.append(pytest.mark.skip(reason="needs imageio: pip install 'minigrid[wfc]'"))
        params.append(pytest.param(env_id, marks=marks))
    return params


def _kwargs(env_id: str) -> dict[str, Any]:
    """What making an id needs here: AI2-THOR runs on the fake server, not Unity."""
    if env_id != AI2THOR_ID:
        return {}
    from tests.envs.ai2thor_fake import FakeServer, FixtureScene, offline_controller

    task = {"type": "pick_and_place_simple", "object": "Apple", "receptacle": "Fridge"}
    return {"controller": offline_controller(FakeServer(FixtureScene())), "task": task}


# MiniGrid's own v0 ids with a v1 beside them: gymnasium says so when they are made
@pytest.mark.filterwarnings("ignore:.*is out of date:DeprecationWarning")
@pytest.mark.parametrize("env_id", _registered())
def test_check_env_passes_for_every_registered_id(env_id: str) -> None:
    env = gym.make(env_id, **_kwargs(env_id))
    try:
        # AI2-THOR's rgb_array frames come from Unity (the fake server sends none) and it
        # declares no render_fps, so gymnasium's render check is for a real build only
        check_env(env.unwrapped, skip_render_check=env_id == AI2THOR_ID)
    finally:
        env.close()
