"""GymEnv: any gymnasium env by id, with the CogOS contract on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cogos import load_config_text
from cogos.env_handle import EnvHandle
from cogos.runner import run
from envs.gym_env import GymEnv, short_repr, wrapped_action_names
from tests.extras import needs_extra


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("CartPole-v1", {}),
        ("FrozenLake-v1", {"is_slippery": False}),
        ("Pendulum-v1", {"render_mode": "rgb_array"}),
    ],
)
# what check_env says of CartPole's and Pendulum's own spaces, wrapped or not
@pytest.mark.filterwarnings("ignore:.*(infinity|symmetric and normalized).*:UserWarning")
def test_check_env_passes(env_id: str, kwargs: dict[str, object]) -> None:
    env = GymEnv(id=env_id, **kwargs)  # type: ignore[arg-type]
    # no gymnasium spec of its own, so check_env cannot re-make it for each render mode
    check_env(env, skip_render_check=True)
    env.close()


def test_spaces_and_info_pass_through() -> None:
    env = GymEnv(id="CartPole-v1")
    raw = gym.make("CartPole-v1")
    assert env.action_space == raw.action_space
    assert env.observation_space == raw.observation_space
    assert env.action_names == ("0", "1")
    obs, info = env.reset(seed=3)
    raw_obs, _ = raw.reset(seed=3)
    np.testing.assert_array_equal(obs, raw_obs)
    assert info["facts"] == [] and info["optimal_steps"] is None
    assert info["text"].startswith("CartPole-v1 step 0: [")
    obs, reward, _, _, info = env.step(1)
    raw_obs, raw_reward, *_ = raw.step(1)
    np.testing.assert_array_equal(obs, raw_obs)
    assert reward == raw_reward and info["steps"] == 1 and "step 1" in info["text"]
    assert env.task.text == "Act in the gymnasium environment CartPole-v1."
    assert env.task.goal_facts == frozenset() and env.task.facts == frozenset()
    env.close()


def test_action_names_come_from_the_wrapped_env() -> None:
    needs_extra("envs", "minigrid")
    import minigrid  # noqa: F401 - registers the MiniGrid ids

    env = GymEnv(id="MiniGrid-Empty-5x5-v0")  # MiniGrid's Actions enum
    assert env.action_names == ("left", "right", "forward", "pickup", "drop", "toggle", "done")
    _, info = env.reset(seed=0)
    assert info["text"] == (
        "MiniGrid-Empty-5x5-v0 step 0: {image: <uint8 array 7x7x3>, direction: 0, "
        "mission: 'get to the green goal square'}"
    )
    assert EnvHandle(env, "gym").action_names == env.action_names
    import envs.maze  # noqa: F401 - registers cogos/Maze-v0

    maze = GymEnv(id="cogos/Maze-v0", width=5, height=5)
    assert maze.action_names == ("north", "east", "south", "west")
    _, info = maze.reset(seed=0)
    assert ("at", "c0_0") in info["facts"] and info["optimal_steps"] >= 8, "a CogOS env's own"


def test_names_and_offsets_of_other_spaces() -> None:
    class Meanings(gym.Env[np.int64, np.int64]):
        action_space = gym.spaces.Discrete(3, start=5)
        observation_space = gym.spaces.Discrete(2)

        def __init__(self, **kwargs: Any) -> None:  # gymnasium.make passes its kwargs
            super().__init__()

        def get_action_meanings(self) -> list[str]:
            return ["NOOP", "FIRE", "UP"]

        def reset(
            self, *, seed: int | None = None, options: dict[str, Any] | None = None
        ) -> tuple[np.int64, dict[str, Any]]:
            return np.int64(0), {}

        def step(self, action: np.int64) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
            return np.int64(action), 0.0, False, False, {"got": int(action)}

    gym.register("test/Meanings-v0", entry_point=Meanings)
    try:
        env = GymEnv(id="test/Meanings-v0", disable_env_checker=True)
        assert env.action_names == ("NOOP", "FIRE", "UP")
        assert env.action_space == gym.spaces.Discrete(3)
        env.reset(seed=0)
        *_, info = env.step(1)
        assert info["got"] == 6, "index 1 is the wrapped env's action start + 1"
    finally:
        del gym.registry["test/Meanings-v0"]
    assert wrapped_action_names(gym.make("Pendulum-v1")) == ()
    assert GymEnv(id="Pendulum-v1").action_names == ()


def test_success_when_positive_reward() -> None:
    # FrozenLake 4x4: SFFF / FHFH / FFFH / HFFG; actions 0 left, 1 down, 2 right, 3 up
    def outcome(success_when: str, moves: list[int]) -> bool:
        handle = EnvHandle(
            GymEnv(id="FrozenLake-v1", is_slippery=False, success_when=success_when), "gym"
        )
        handle.reset(seed=0)
        for move in moves:
            last = handle.step(move)
        assert last.terminated
        return last.success

    hole, goal = [2, 1], [1, 1, 2, 2, 1, 2]
    assert outcome("terminated", hole) is True, "the kernel's rule: any termination"
    assert outcome("positive_reward", hole) is False
    assert outcome("positive_reward", goal) is True
    with pytest.raises(ValueError, match="success_when"):
        GymEnv(id="CartPole-v1", success_when="never")


def test_short_repr() -> None:
    assert short_repr(np.arange(3.0)) == "[0., 1., 2.]"
    assert short_repr(np.zeros((7, 7, 3), dtype=np.uint8)) == "<uint8 array 7x7x3>"
    assert short_repr(np.float64(1.23456)) == "1.23"
    assert short_repr({"a": 1, "b": "x"}) == "{a: 1, b: 'x'}"
    assert short_repr("y" * 400, 20) == "'" + "y" * 16 + "..."


def test_unknown_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot make gymnasium env 'NoSuchEnv-v0'"):
        GymEnv(id="NoSuchEnv-v0")


CARTPOLE = """
name: cartpole-random
episodes: 3
env: {name: gym, options: {id: CartPole-v1}}
agent: {policy: {name: random}}
"""


def test_cartpole_runs_through_the_runner_with_the_random_policy(tmp_path: Path) -> None:
    result = run(load_config_text(CARTPOLE), tmp_path)
    assert len(result.summaries) == 3
    assert all(s.steps >= 8 and s.episode_return == s.steps for s in result.summaries)
    assert (tmp_path / "trace.jsonl").exists() and (tmp_path / "metrics.json").exists()
    again = run(load_config_text(CARTPOLE))
    assert [s.steps for s in again.summaries] == [s.steps for s in result.summaries], "seeded"
