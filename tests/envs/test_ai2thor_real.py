"""AI2ThorEnv on a real AI2-THOR build: run with COGOS_AI2THOR_EXECUTABLE set, skipped otherwise.

    COGOS_AI2THOR_EXECUTABLE=~/.ai2thor/releases/thor-Linux64-COMMIT/thor-Linux64-COMMIT \\
        python -m pytest -m simulator tests/envs/test_ai2thor_real.py

The build needs an X display (``DISPLAY``; ``xvfb-run`` works). These tests check what the fake
server cannot: that Unity accepts the actions as the adapter sends them, and that the metadata
it returns maps onto the same names and facts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.extras import needs_extra

needs_extra("envs", "ai2thor")


from envs.ai2thor import EXECUTABLE_ENV, AI2ThorEnv
from envs.ai2thor.commands import call

EXECUTABLE = os.environ.get(EXECUTABLE_ENV, "")

pytestmark = [
    pytest.mark.simulator,
    pytest.mark.skipif(
        not (EXECUTABLE and Path(EXECUTABLE).expanduser().is_file()),
        reason=f"needs a local AI2-THOR build: set {EXECUTABLE_ENV}",
    ),
]

TASK = {"type": "pick_and_place_simple", "object": "Apple", "receptacle": "Fridge"}


@pytest.fixture(scope="module")
def env() -> Iterator[AI2ThorEnv]:
    environment = AI2ThorEnv(scene="FloorPlan1", task=TASK, observability="full")
    try:
        yield environment
    finally:
        environment.close()


def test_reset_names_the_kitchen(env: AI2ThorEnv) -> None:
    obs, info = env.reset(seed=0)
    assert "fridge 1" in obs
    assert "countertop 1" in obs
    names = set(env.world.names.values())
    assert {"fridge_1", "microwave_1", "sinkbasin_1", "apple_1"} <= names
    assert ("cancool", "fridge_1") in env.task.facts
    assert info["optimal_steps"] is not None


def test_apple_to_fridge_in_the_simulator(env: AI2ThorEnv) -> None:
    env.reset(seed=0)
    apple_at = env.world.location_of("apple_1")
    assert apple_at is not None
    steps = [f"go to {apple_at.replace('_', ' ')}"]
    if env.world.openable(apple_at):
        steps.append(f"open {apple_at.replace('_', ' ')}")
    steps += [f"take apple 1 from {apple_at.replace('_', ' ')}", "go to fridge 1", "open fridge 1"]
    for command in steps:
        _, _, _, _, info = env.step(command)
        assert info["action_success"], (command, info["error_message"])
    _, reward, terminated, _, info = env.step("put apple 1 in/on fridge 1")
    assert info["action_success"], info["error_message"]
    assert ("in", "apple_1", "fridge_1") in info["facts"]
    assert (reward, terminated) == (1.0, True)


def test_a_refused_action_comes_back_as_a_failure(env: AI2ThorEnv) -> None:
    env.reset(seed=0)
    # what the env does with every Controller.step: a fridge cannot be picked up, and Unity's
    # refusal (or ai2thor's ValueError) must come back as a failure with its message
    ok, error, event = env._thor([], call("PickupObject", objectId=env.world.ids["fridge_1"]))
    assert ok is False
    assert error
    assert event.metadata["lastActionSuccess"] is False
