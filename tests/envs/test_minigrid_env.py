"""The MiniGrid wrapper: gymnasium contract, high-level actions, optimal steps, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.extras import needs_extra

needs_extra("envs", "minigrid")

import gymnasium as gym
from gymnasium.utils.env_checker import check_env
from minigrid.core.world_object import Door, Key, Lava, Wall, WorldObj

from envs.minigrid import CARDINAL_ACTIONS, GYM_ID, PRIMITIVE_ACTIONS, MiniGridEnv, solve

TASKS = [
    "MiniGrid-Empty-5x5-v0",
    "MiniGrid-FourRooms-v0",
    "MiniGrid-DoorKey-8x8-v0",
    "MiniGrid-MultiRoom-N6-v0",
    "MiniGrid-LavaGapS7-v0",
]


def act(env: MiniGridEnv, name: str) -> tuple[Any, float, bool, bool, dict[str, Any]]:
    return env.step(env.action_names.index(name))


def lava() -> WorldObj:
    return Lava()  # type: ignore[no-untyped-call]  # minigrid leaves Lava() unannotated


def door_at(env: MiniGridEnv, x: int, y: int) -> Door:
    cell = env.minigrid.grid.get(x, y)
    assert isinstance(cell, Door)
    return cell


def give(env: MiniGridEnv, thing: WorldObj) -> None:
    """Put ``thing`` in the agent's hand (minigrid types ``carrying`` as ``None`` only)."""
    env.minigrid.carrying = thing  # type: ignore[assignment]


def held(env: MiniGridEnv) -> WorldObj | None:
    carrying: WorldObj | None = env.minigrid.carrying
    return carrying


def place(env: MiniGridEnv, pos: tuple[int, int], facing: int) -> None:
    """Put the agent somewhere (test set-up only: the env reads MiniGrid's state each step)."""
    env.minigrid.agent_pos = pos
    env.minigrid.agent_dir = facing


@pytest.mark.parametrize(
    ("gym_id", "kwargs"),
    [
        (GYM_ID, {}),
        ("cogos/MiniGrid-DoorKey-5x5-v0", {}),
        ("cogos/MiniGrid-MultiRoom-N2-S4-v0", {"actions": "primitive"}),
        ("cogos/MiniGrid-Empty-5x5-v0", {"render_mode": "rgb_array"}),
        ("cogos/MiniGrid-LavaGapS5-v0", {"render_mode": "ansi"}),
    ],
)
def test_check_env_passes(gym_id: str, kwargs: dict[str, Any]) -> None:
    env = gym.make(gym_id, **kwargs)
    check_env(env.unwrapped)
    env.close()


def test_registered_ids_and_spaces() -> None:
    env = gym.make(GYM_ID)
    inner = env.unwrapped
    assert isinstance(inner, MiniGridEnv) and inner.id == "MiniGrid-FourRooms-v0"
    assert inner.action_names == CARDINAL_ACTIONS
    assert CARDINAL_ACTIONS[:4] == ("north", "east", "south", "west")
    assert env.action_space == gym.spaces.Discrete(22)
    assert CARDINAL_ACTIONS[16:] == (
        "face_north",
        "face_east",
        "face_south",
        "face_west",
        "done",
        "wait",
    )
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and set(obs) == {"image", "direction", "mission"}
    assert info["grid"] == {"height": 19, "width": 19}
    assert inner.task.facts == frozenset({("grid", "19", "19")})
    assert inner.task.text == "Reach the goal."
    primitive = MiniGridEnv(id="MiniGrid-DoorKey-5x5-v0", actions="primitive")
    assert (
        primitive.action_names
        == PRIMITIVE_ACTIONS
        == (
            "left",
            "right",
            "forward",
            "pickup",
            "drop",
            "toggle",
            "done",
        )
    )
    inner = gym.make("cogos/MiniGrid-DoorKey-8x8-v0").unwrapped
    assert isinstance(inner, MiniGridEnv) and inner.id == "MiniGrid-DoorKey-8x8-v0"


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("actions", ["cardinal", "primitive"])
def test_the_optimal_plan_reaches_the_goal_in_optimal_steps(task: str, actions: str) -> None:
    env = MiniGridEnv(id=task, actions=actions)
    for seed in range(4):
        _, info = env.reset(seed=seed)
        plan = solve(env.minigrid, primitive=actions == "primitive")
        assert plan is not None and len(plan) == info["optimal_steps"]
        for i, name in enumerate(plan):
            _, reward, terminated, truncated, info = act(env, name)
            assert info["action_success"], (seed, i, name)
            assert terminated == (i == len(plan) - 1)
        assert reward > 0 and info["success"] and not truncated
        assert info["steps"] == len(plan)
        if actions == "primitive":
            assert info["primitive_steps"] == len(plan)
        else:
            assert info["primitive_steps"] >= len(plan)


def test_optimal_steps_is_a_lower_bound_found_by_an_independent_search() -> None:
    # A plain BFS over (cell, facing) in MiniGrid's primitive actions on Empty/FourRooms (no doors)
    env = MiniGridEnv(id="MiniGrid-FourRooms-v0", actions="primitive")
    for seed in range(5):
        _, info = env.reset(seed=seed)
        mg = env.minigrid
        x0, y0 = (int(v) for v in mg.agent_pos)
        start = ((x0, y0), int(mg.agent_dir))
        dist = {start: 0}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt: list[tuple[tuple[int, int], int]] = []
            for (x, y), d in frontier:
                dx, dy = ((1, 0), (0, 1), (-1, 0), (0, -1))[d]
                cell = mg.grid.get(x + dx, y + dy)
                moves = [((x, y), (d + 1) % 4), ((x, y), (d - 1) % 4)]
                if cell is None or cell.can_overlap():
                    moves.append(((x + dx, y + dy), d))
                    if cell is not None and cell.type == "goal":
                        found = dist[((x, y), d)] + 1
                for m in moves:
                    if m not in dist:
                        dist[m] = dist[((x, y), d)] + 1
                        nxt.append(m)
            frontier = nxt
        assert info["optimal_steps"] == found


def test_moves_turn_then_step_and_count_primitive_steps() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0")
    env.reset(seed=0)
    place(env, (3, 3), 0)  # facing east
    _, _, _, _, info = act(env, "east")
    assert info["action_success"] and tuple(env.minigrid.agent_pos) == (4, 3)
    assert info["action_primitive_steps"] == 1 and ("at", "c3_4") in info["facts"]
    _, _, _, _, info = act(env, "west")  # a half turn, then forward
    assert info["action_primitive_steps"] == 3 and tuple(env.minigrid.agent_pos) == (3, 3)
    _, _, _, _, info = act(env, "north")  # facing west: one right turn
    assert info["action_primitive_steps"] == 2 and ("facing", "north") in info["facts"]
    _, _, _, _, info = act(env, "east")  # facing north: one right turn
    assert info["action_primitive_steps"] == 2 and tuple(env.minigrid.agent_pos) == (4, 2)
    assert info["primitive_steps"] == env.minigrid.step_count == 8
    assert info["steps"] == env.steps == 4


def test_a_wall_ahead_stops_the_move_and_lava_is_the_agents_to_avoid() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0")
    env.reset(seed=0)
    place(env, (1, 1), 3)  # facing the outer wall to the north
    _, _, terminated, _, info = act(env, "north")
    assert not info["action_success"] and tuple(env.minigrid.agent_pos) == (1, 1)
    assert info["action_primitive_steps"] == 2, "no turn to make: a turn and back passes time"
    assert ("facing", "north") in info["facts"]
    assert ("blocked", "c1_1", "c0_1") in info["facts"] and ("wall", "c0_1") in info["facts"]
    _, _, _, _, info = act(env, "west")  # a turn, then no step into the wall
    assert not info["action_success"] and info["action_primitive_steps"] == 1
    assert ("facing", "west") in info["facts"]
    _, _, _, _, info = act(env, "face_south")  # turning only
    assert info["action_success"] and ("facing", "south") in info["facts"]
    assert tuple(env.minigrid.agent_pos) == (1, 1)
    _, _, _, _, info = act(env, "wait")
    assert info["action_primitive_steps"] == 2 and ("facing", "south") in info["facts"]
    env.minigrid.grid.set(2, 1, lava())
    _, _, _, _, info = act(env, "face_east")
    # reported blocked, so that an agent can avoid it; a move into it ends the episode
    assert ("lava", "c1_2") in info["facts"] and ("blocked", "c1_1", "c1_2") in info["facts"]
    _, reward, terminated, _, info = act(env, "east")
    assert terminated and reward == 0 and not info["success"], "lava ends it, as in MiniGrid"


def test_doors_keys_and_drops() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0")
    env.reset(seed=0)
    grid = env.minigrid.grid
    grid.set(3, 1, Door("yellow", is_locked=True))
    grid.set(1, 3, Key("yellow"))
    grid.set(3, 3, Door("red"))
    place(env, (2, 1), 0)
    _, _, _, _, info = act(env, "east")
    assert not info["action_success"], "a locked door blocks the way"
    assert {("door", "c1_3", "yellow"), ("locked", "c1_3"), ("closed", "c1_3")} <= set(
        info["facts"]
    )
    _, _, _, _, info = act(env, "open_east")
    assert not info["action_success"], "no key in hand"
    place(env, (1, 2), 1)
    _, _, _, _, info = act(env, "pickup_south")
    key = held(env)
    assert info["action_success"] and key is not None and key.type == "key"
    assert ("carrying", "yellow") in info["facts"] and ("holding", "key", "yellow") in info["facts"]
    assert not any(f[0] == "key" for f in info["facts"])
    _, _, _, _, info = act(env, "pickup_south")
    assert not info["action_success"], "nothing left to pick up"
    place(env, (2, 1), 0)
    _, _, _, _, info = act(env, "open_east")
    assert info["action_success"] and door_at(env, 3, 1).is_open
    assert ("door", "c1_3", "yellow") in info["facts"]
    assert ("closed", "c1_3") not in info["facts"] and ("locked", "c1_3") not in info["facts"]
    assert ("open", "c1_2", "c1_3") in info["facts"]
    _, _, _, _, info = act(env, "open_east")
    assert not info["action_success"] and door_at(env, 3, 1).is_open, "never closes"
    _, _, _, _, info = act(env, "east")
    assert info["action_success"] and tuple(env.minigrid.agent_pos) == (3, 1)
    place(env, (3, 2), 1)
    _, _, _, _, info = act(env, "open_south")  # an unlocked door opens without a key ...
    assert info["action_success"] and door_at(env, 3, 3).is_open
    place(env, (4, 2), 0)
    _, _, _, _, info = act(env, "drop_east")
    assert info["action_success"] and env.minigrid.carrying is None
    assert ("key", "c2_5", "yellow") in info["facts"]
    assert not any(f[0] in ("carrying", "holding") for f in info["facts"])
    _, _, _, _, info = act(env, "drop_east")
    assert not info["action_success"], "nothing to drop"


def test_primitive_actions_are_minigrids() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0", actions="primitive")
    env.reset(seed=0)
    place(env, (1, 1), 3)
    _, _, _, _, info = act(env, "forward")
    assert not info["action_success"] and info["action_primitive_steps"] == 1
    _, _, _, _, info = act(env, "right")
    assert info["action_success"] and ("facing", "east") in info["facts"]
    _, _, _, _, info = act(env, "forward")
    assert info["action_success"] and ("at", "c1_2") in info["facts"]


def test_reaching_the_goal_lava_and_truncation() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-5x5-v0")
    env.reset(seed=0)  # goal at (3, 3)
    place(env, (3, 2), 1)
    _, reward, terminated, truncated, info = act(env, "south")
    assert terminated and not truncated and reward > 0 and info["success"]
    with pytest.raises(RuntimeError, match="episode is over"):
        act(env, "north")
    env = MiniGridEnv(id="MiniGrid-LavaGapS5-v0", actions="primitive")
    env.reset(seed=0)
    env.minigrid.grid.set(2, 1, lava())
    place(env, (1, 1), 0)
    _, reward, terminated, _, info = act(env, "forward")
    assert terminated and reward == 0 and not info["success"], "lava ends it, as in MiniGrid"
    env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0", max_steps=5)
    env.reset(seed=0)
    place(env, (1, 1), 3)
    truncated = False
    for _ in range(3):
        _, _, _, truncated, info = act(env, "north")  # bumps the wall: a turn and back each
        if truncated:
            break
    assert truncated and not info["success"] and info["primitive_steps"] == 5


@pytest.mark.parametrize("actions", ["cardinal", "primitive"])
def test_seeded_runs_are_deterministic(actions: str) -> None:
    def run(seed: int) -> list[Any]:
        env = MiniGridEnv(id="MiniGrid-DoorKey-8x8-v0", actions=actions)
        obs, info = env.reset(seed=seed)
        rng = np.random.default_rng(7)
        out = [(obs["image"].tolist(), info["facts"], info["text"], info["optimal_steps"])]
        for _ in range(40):
            obs, reward, terminated, truncated, info = env.step(
                int(rng.integers(len(env.action_names)))
            )
            out.append((obs["image"].tolist(), reward, info["facts"], info["action_success"]))
            if terminated or truncated:
                break
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_text_describes_pose_and_things_in_view() -> None:
    env = MiniGridEnv(id="MiniGrid-DoorKey-8x8-v0")
    _, info = env.reset(seed=1)  # agent at (1, 6) facing north, key (2, 1), locked door (3, 1)
    assert info["text"] == (
        "You are at c6_1 facing north; ahead is open floor. In view: a yellow key at c1_2 "
        "(5 north and 1 east), a locked yellow door at c1_3 (5 north and 2 east)."
    )


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="actions must be one of"):
        MiniGridEnv(actions="macro")
    with pytest.raises(ValueError, match="render_mode"):
        MiniGridEnv(render_mode="human")
    with pytest.raises(ValueError, match="not a MiniGrid task"):
        MiniGridEnv(id="CartPole-v1")
    with pytest.raises(ValueError, match="cannot make MiniGrid task"):
        MiniGridEnv(id="MiniGrid-Nope-v0")
    env = MiniGridEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in 0\.\.21"):
        env.step(22)


def test_walls_are_reported_in_view() -> None:
    env = MiniGridEnv(id="MiniGrid-Empty-5x5-v0")
    _, info = env.reset(seed=0)
    walls = {f[1] for f in info["facts"] if f[0] == "wall"}
    grid = env.minigrid.grid
    for name in walls:
        row, col = (int(v) for v in name[1:].split("_"))
        assert isinstance(grid.get(col, row), Wall)


def test_tasks_without_a_goal_cell_have_no_optimum_but_still_report_success() -> None:
    env = MiniGridEnv(id="MiniGrid-Unlock-v0")  # success: open the locked door
    _, info = env.reset(seed=0)
    assert info["optimal_steps"] is None
    mg = env.minigrid
    (door,) = [
        (x, y)
        for x in range(mg.width)
        for y in range(mg.height)
        if isinstance(mg.grid.get(x, y), Door)
    ]
    give(env, Key(door_at(env, *door).color))
    place(env, (door[0] - 1, door[1]), 0)  # the door is in a vertical wall: open it eastward
    _, reward, terminated, _, info = act(env, "open_east")
    assert info["action_success"] and terminated and reward > 0 and info["success"]
