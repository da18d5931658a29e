"""The environment's picture at a step is the environment the agent was in at that step."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cogos import load_config_text
from cogos.inspector.frames import EpisodeFrames, NoFrames, actions_before
from cogos.inspector.runs import RunView
from cogos.runner import run
from tests.extras import requires_extra


def test_replaying_the_actions_puts_the_agent_where_the_trace_says(critic_run: Path) -> None:
    frames = EpisodeFrames(critic_run)
    try:
        for number in (0, 3):
            episode = RunView(critic_run, "r").episode(number)
            cycles = episode["cycles"]
            actions = actions_before(cycles)
            for step in (0, 5, len(actions) // 2, 3):  # forward, forward, back
                frame = frames.frame(number, episode["summary"]["seed"], actions, step)
                position = frames._env.position  # the replayed maze's agent
                at = next(f for f in cycles[step]["percept"]["facts"] if f[0] == "at")
                assert at[1] == f"c{position[0]}_{position[1]}", (number, step)
                assert frame.png is not None
                assert Image.open(io.BytesIO(frame.png)).size[0] >= 300
    finally:
        frames.close()


def test_pictures_differ_as_the_agent_moves(critic_run: Path) -> None:
    episode = RunView(critic_run, "r").episode(1)
    actions = actions_before(episode["cycles"])
    frames = EpisodeFrames(critic_run)
    try:
        seed = episode["summary"]["seed"]
        assert frames.frame(1, seed, actions, 4).png != frames.frame(1, seed, actions, 5).png
        assert frames.frame(1, seed, actions, 4).png == frames.frame(1, seed, actions, 4).png
    finally:
        frames.close()


def test_text_environments_give_text(tmp_path: Path) -> None:
    text = "episodes: 1\nseed: 2\nenv: {name: household, options: {max_steps: 3}}\n"
    text += "agent: {policy: {name: random}}\n"
    run(load_config_text(text), tmp_path / "house")
    episode = RunView(tmp_path / "house", "h").episode(0)
    frames = EpisodeFrames(tmp_path / "house")
    try:
        frame = frames.frame(0, episode["summary"]["seed"], actions_before(episode["cycles"]), 1)
        assert frame.png is None and frame.text and "step" in frame.text.lower()
    finally:
        frames.close()


def test_a_run_without_its_config_has_no_pictures_and_says_why(
    critic_run: Path, tmp_path: Path
) -> None:
    with pytest.raises(NoFrames, match=r"no config\.yaml"):
        EpisodeFrames(tmp_path)
    (tmp_path / "config.yaml").write_text(
        (critic_run / "config.yaml").read_text().replace("name: maze", "name: mazee")
    )
    with pytest.raises(NoFrames, match="cannot rebuild the environment"):
        EpisodeFrames(tmp_path)


@requires_extra("envs", "minigrid")
def test_minigrid_pictures_follow_the_agent(tmp_path: Path) -> None:
    text = "episodes: 2\nseed: 1\nenv: {name: minigrid, options: {id: MiniGrid-DoorKey-6x6-v0}}\n"
    text += "agent: {policy: {name: planner_first}, modules: [{name: perception.facts}, "
    text += "{name: planner.pddl, options: {domain: minigrid}}]}\n"
    run(load_config_text(text), tmp_path / "mg")
    episode = RunView(tmp_path / "mg", "mg").episode(1)
    cycles = episode["cycles"]
    actions = actions_before(cycles)
    frames = EpisodeFrames(tmp_path / "mg")
    try:
        for step in range(len(actions)):
            assert frames.frame(1, episode["summary"]["seed"], actions, step).png
            x, y = frames._env._mg.agent_pos
            at = next(f for f in cycles[step]["percept"]["facts"] if f[0] == "at")
            assert at[1] == f"c{y}_{x}", step
    finally:
        frames.close()
