"""MazeEnv dynamics, observations, seeding and the gymnasium registration."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import pytest
from gymnasium.utils.env_checker import check_env

from envs.base import TaskSpec
from envs.maze import DIRECTIONS, GYM_ID, MazeEnv

CONFIGS: list[dict[str, Any]] = [
    {},
    {"width": 7, "height": 5, "radius": 0},
    {"width": 5, "height": 9, "radius": 3, "loops": 0.2, "algorithm": "prim"},
    {"width": 6, "height": 6, "algorithm": "kruskal", "start_goal": "far", "render_mode": "ansi"},
    {"width": 4, "height": 3, "start_goal": "random", "maze_seed": 5, "render_mode": "rgb_array"},
]

# --- Independent reference, written from the block-grid definition alone (True = wall, cell
# (r, c) at block (2r+1, 2c+1)) and calling nothing in envs.maze, so a shared bug cannot hide.

Cell = tuple[int, int]
OFFSETS = {"north": (-1, 0), "east": (0, 1), "south": (1, 0), "west": (0, -1)}


def grid_size(blocks: npt.NDArray[np.bool_]) -> tuple[int, int]:
    return (blocks.shape[0] - 1) // 2, (blocks.shape[1] - 1) // 2


def wall_between(blocks: npt.NDArray[np.bool_], a: Cell, b: Cell) -> bool:
    return bool(blocks[a[0] + b[0] + 1, a[1] + b[1] + 1])


def bfs_distances(blocks: npt.NDArray[np.bool_], start: Cell) -> dict[Cell, int]:
    h, w = grid_size(blocks)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in OFFSETS.values():
            nb = (r + dr, c + dc)
            inside = 0 <= nb[0] < h and 0 <= nb[1] < w
            if inside and nb not in dist and not wall_between(blocks, (r, c), nb):
                dist[nb] = dist[(r, c)] + 1
                queue.append(nb)
    return dist


def action_towards(a: tuple[int, int], b: tuple[int, int]) -> int:
    delta = (b[0] - a[0], b[1] - a[1])
    return [(d.drow, d.dcol) for d in DIRECTIONS].index(delta)


@pytest.mark.parametrize("config", CONFIGS)
def test_check_env_passes(config: dict[str, Any]) -> None:
    env = gym.make(GYM_ID, **config)
    check_env(env.unwrapped)
    env.close()


def test_registered_id_makes_the_env() -> None:
    env = gym.make("cogos/Maze-v0", width=7, height=5)
    obs, info = env.reset(seed=0)
    assert isinstance(env.unwrapped, MazeEnv)
    assert info["grid"] == {"height": 5, "width": 7}
    assert obs in env.observation_space
    obs, _, _, _, info = env.step(env.action_space.sample())
    assert obs in env.observation_space
    assert info["steps"] == 1
    env.close()


@pytest.mark.parametrize("algorithm", ["dfs", "prim", "kruskal"])
@pytest.mark.parametrize("start_goal", ["corners", "random", "far"])
def test_optimal_steps_match_an_independent_bfs(algorithm: str, start_goal: str) -> None:
    sizes = [(2, 2), (7, 5), (4, 11), (15, 15)]
    for i, (w, h) in enumerate(sizes):
        for loops in (0.0, 0.25):
            env = MazeEnv(
                width=w, height=h, loops=loops, algorithm=algorithm, start_goal=start_goal
            )
            for seed in range(3):
                obs, info = env.reset(seed=100 * i + seed)
                maze = env.maze
                assert tuple(obs["position"]) == maze.start
                expected = bfs_distances(maze.blocks, maze.start)[maze.goal]
                assert info["optimal_steps"] == expected


def run(env: MazeEnv, seed: int, actions: list[int]) -> list[Any]:
    trace: list[Any] = []
    obs, info = env.reset(seed=seed)
    trace.append((obs["position"].tolist(), obs["view"].tolist(), info))
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        trace.append((obs["position"].tolist(), obs["view"].tolist(), reward, info))
        if terminated or truncated:
            break
    return trace


def test_seeded_runs_are_deterministic() -> None:
    actions = np.random.default_rng(0).integers(0, 4, size=200).tolist()
    for config in CONFIGS:
        kwargs = {k: v for k, v in config.items() if k != "render_mode"}
        assert run(MazeEnv(**kwargs), 7, actions) == run(MazeEnv(**kwargs), 7, actions)
    a = MazeEnv(width=9, height=9)
    b = MazeEnv(width=9, height=9)
    a.reset(seed=1)
    b.reset(seed=2)
    assert not np.array_equal(a.maze.blocks, b.maze.blocks)


def test_moving_into_a_wall_stays_put() -> None:
    env = MazeEnv(width=6, height=6)
    _, info = env.reset(seed=3)
    assert info["action_success"] is True
    assert info["steps"] == 0
    start = env.position
    assert start == (0, 0)
    # North and west of the top-left corner are the outer wall.
    for action in (0, 3):
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["action_success"] is False
        assert env.position == start
        assert tuple(obs["position"]) == start
        assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["steps"] == 2
    blocked = [a for a, d in enumerate(DIRECTIONS) if env.maze.blocks[1 + d.drow, 1 + d.dcol]]
    opened = [a for a in range(4) if a not in blocked]
    assert blocked
    assert opened
    _, _, _, _, info = env.step(opened[0])
    assert info["action_success"] is True
    assert env.position != start


@pytest.mark.parametrize("config", CONFIGS)
def test_following_the_shortest_path_reaches_the_goal(config: dict[str, Any]) -> None:
    env = MazeEnv(step_penalty=0.01, **config)
    _, info = env.reset(seed=11)
    path = env.maze.shortest_path()
    assert len(path) - 1 == info["optimal_steps"]
    rewards = []
    for i, (a, b) in enumerate(itertools.pairwise(path)):
        _, reward, terminated, truncated, info = env.step(action_towards(a, b))
        rewards.append(reward)
        last = i == len(path) - 2
        assert terminated is last
        assert truncated is False
        assert info["action_success"] is True
    assert rewards[-1] == 1.0
    assert all(r == -0.01 for r in rewards[:-1])
    goal_name = f"c{env.maze.goal[0]}_{env.maze.goal[1]}"
    assert ("at", goal_name) in info["facts"]
    assert ("goal", goal_name) in info["facts"]
    assert "You are on the goal." in info["text"]
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(0)


def test_truncation_at_max_steps() -> None:
    env = MazeEnv(width=5, height=5, max_steps=3, step_penalty=0.5)
    env.reset(seed=0)
    results = [env.step(0)[1:4] for _ in range(3)]  # bump into the north wall
    assert results == [(-0.5, False, False), (-0.5, False, False), (-0.5, False, True)]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=0)
    assert env.steps == 0
    assert MazeEnv(width=5, height=4).max_steps == 4 * 5 * 4


def test_maze_seed_fixes_the_layout() -> None:
    env = MazeEnv(width=8, height=6, start_goal="random", maze_seed=1234)
    layouts = set()
    for seed in range(5):
        env.reset(seed=seed)
        layouts.add((env.maze.blocks.tobytes(), env.maze.start, env.maze.goal))
    assert len(layouts) == 1

    free = MazeEnv(width=8, height=6, start_goal="random")
    free.reset(seed=0, options={"maze_seed": 1234})
    assert free.maze == env.maze
    free.reset(seed=0)
    assert free.maze != env.maze
    free.reset(seed=99, options={"maze_seed": 1234})
    assert free.maze == env.maze
    free.reset()  # the option applies to one episode only
    assert free.maze != env.maze
    fixed = env.maze
    env.reset(options={"maze_seed": 1})  # the option overrides the constructor's maze_seed
    assert env.maze != fixed
    env.reset(seed=5)
    assert env.maze == fixed


def visible_cells(center: tuple[int, int], radius: int, h: int, w: int) -> set[tuple[int, int]]:
    return {
        (r, c)
        for r in range(center[0] - radius, center[0] + radius + 1)
        for c in range(center[1] - radius, center[1] + radius + 1)
        if 0 <= r < h and 0 <= c < w
    }


def parse(name: str) -> tuple[int, int]:
    r, c = name[1:].split("_")
    return int(r), int(c)


def check_percept(env: MazeEnv, obs: dict[str, Any], info: dict[str, Any]) -> None:
    """Compare facts and view with what the raw block grid says should be visible."""
    maze, radius = env.maze, env.radius
    blocks, (h, w) = maze.blocks, (maze.height, maze.width)
    me = tuple(int(x) for x in obs["position"])
    visible = visible_cells(me, radius, h, w)  # type: ignore[arg-type]
    facts = info["facts"]
    assert facts == sorted(set(facts))
    assert all(isinstance(a, tuple) and all(isinstance(x, str) for x in a) for a in facts)

    expected: set[tuple[str, ...]] = {("at", f"c{me[0]}_{me[1]}")}
    for r, c in visible:
        expected.add(("cell", f"c{r}_{c}"))
        for dr, dc in OFFSETS.values():
            nr, nc = r + dr, c + dc
            if not (0 <= nr < h and 0 <= nc < w):
                continue
            pred = "blocked" if blocks[2 * r + 1 + dr, 2 * c + 1 + dc] else "open"
            expected.add((pred, f"c{r}_{c}", f"c{nr}_{nc}"))
            expected.add((pred, f"c{nr}_{nc}", f"c{r}_{c}"))
    goal_visible = maze.goal in visible
    if goal_visible:
        expected.add(("goal", f"c{maze.goal[0]}_{maze.goal[1]}"))
    assert set(facts) == expected

    # Every fact mentions only visible cells, except the far side of a visible cell's wall.
    for atom in facts:
        cells = [parse(x) for x in atom[1:]]
        if atom[0] in ("at", "cell", "goal"):
            assert cells[0] in visible
        else:
            assert cells[0] in visible or cells[1] in visible
            a, b = cells
            assert abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1
            wall = bool(blocks[a[0] + b[0] + 1, a[1] + b[1] + 1])
            assert wall is (atom[0] == "blocked")

    goal_name = f"c{maze.goal[0]}_{maze.goal[1]}"
    if maze.goal == me:
        assert info["text"].endswith("You are on the goal.")
    else:
        assert (goal_name in info["text"]) is goal_visible
    assert ("not in sight" in info["text"]) is (not goal_visible)
    assert info["text"].startswith(f"You are at c{me[0]}_{me[1]}. ")

    span = 4 * radius + 3
    view = obs["view"]
    assert view.shape == (span, span)
    assert view.dtype == np.int8
    for i in range(span):
        for j in range(span):
            br, bc = 2 * me[0] + 1 - (2 * radius + 1) + i, 2 * me[1] + 1 - (2 * radius + 1) + j
            inside = 0 <= br < 2 * h + 1 and 0 <= bc < 2 * w + 1
            if (br, bc) == (2 * maze.goal[0] + 1, 2 * maze.goal[1] + 1):
                want = 3
            elif not inside or blocks[br, bc]:
                want = 2
            else:
                want = 1
            assert view[i, j] == want
    assert bool((view == 3).any()) is goal_visible


@pytest.mark.parametrize("radius", [0, 1, 2, 3])
def test_facts_and_view_match_the_block_grid(radius: int) -> None:
    env = MazeEnv(width=7, height=6, radius=radius, loops=0.2)
    rng = np.random.default_rng(radius)
    saw_goal = saw_no_goal = False
    for episode in range(3):
        obs, info = env.reset(seed=episode)
        check_percept(env, obs, info)
        for _ in range(60):
            obs, _, terminated, truncated, info = env.step(int(rng.integers(4)))
            check_percept(env, obs, info)
            has_goal = any(a[0] == "goal" for a in info["facts"])
            saw_goal |= has_goal
            saw_no_goal |= not has_goal
            if terminated or truncated:
                break
        # Walk the rest of the way so the goal comes into view on every radius.
        if not (terminated or truncated):
            path = env.maze.shortest_path(env.position)
            for a, b in itertools.pairwise(path):
                obs, _, terminated, _, info = env.step(action_towards(a, b))
                check_percept(env, obs, info)
                saw_goal |= any(x[0] == "goal" for x in info["facts"])
            assert terminated
    assert saw_goal
    assert saw_no_goal


def test_reset_info_and_task() -> None:
    env = MazeEnv(width=6, height=4)
    obs, info = env.reset(seed=0)
    assert set(info) == {"facts", "text", "optimal_steps", "grid", "steps", "action_success"}
    assert info["grid"] == {"height": 4, "width": 6}
    assert info["steps"] == 0
    assert info["text"].startswith("You are at c0_0. Passages lead ")
    assert info["text"].endswith("The goal is not in sight.")
    assert env.task == TaskSpec(
        text="Find the goal cell in a 6x4 maze.",
        goal_facts=frozenset(),
        facts=frozenset({("grid", "4", "6")}),
    )
    assert env.action_names == ("north", "east", "south", "west")
    assert env.action_from_name("south") == 2
    assert env.action_name(np.int64(1)) == "east"
    assert obs["position"].dtype == np.int64


def test_text_describes_exits_and_visible_goal() -> None:
    env = MazeEnv(width=3, height=2, radius=5, loops=1.0)
    _, info = env.reset(seed=0)
    assert info["text"] == (
        "You are at c0_0. Passages lead east and south; walls to the north and west. "
        "The goal is in sight at c1_2, 1 south and 2 east of you."
    )
    _, _, _, _, info = env.step(1)
    assert info["text"] == (
        "You are at c0_1. Passages lead east, south and west; a wall to the north. "
        "The goal is in sight at c1_2, 1 south and 1 east of you."
    )


def test_render_modes(tmp_path: Any) -> None:
    from PIL import Image

    ansi = MazeEnv(width=7, height=5, render_mode="ansi")
    ansi.reset(seed=0)
    text = ansi.render()
    assert isinstance(text, str)
    lines = text.split("\n")
    assert len(lines) == 11
    assert all(len(line) == 15 for line in lines)
    assert text.count("A") == 1
    assert text.count("G") == 1
    assert lines[1][1] == "A"
    assert lines[9][13] == "G"
    assert "." in text  # parts not yet seen
    assert set(text) <= set("#AG .\n")

    rgb = MazeEnv(width=7, height=5, render_mode="rgb_array")
    rgb.reset(seed=0)
    frame = rgb.render()
    assert isinstance(frame, np.ndarray)
    assert frame.shape == (11 * 6, 15 * 6, 3)
    assert frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 5

    assert MazeEnv().render() is None
    path = tmp_path / "maze.png"
    rgb.save_png(path, scale=3)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (15 * 3, 11 * 3)
        assert np.array_equal(np.asarray(image.convert("RGB")), rgb._rgb(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 1}, "width must be an integer >= 2"),
        ({"radius": -1}, "radius must be an integer >= 0"),
        ({"max_steps": 0}, "max_steps must be None or an integer >= 1"),
        ({"maze_seed": -3}, "maze_seed must be None or a non-negative integer"),
        ({"step_penalty": float("inf")}, "step_penalty must be a finite number"),
        ({"render_mode": "human"}, "render_mode must be None or one of ansi, rgb_array"),
        ({"algorithm": "wilson"}, "algorithm must be one of"),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MazeEnv(**kwargs)


def test_misuse_errors() -> None:
    env = MazeEnv(width=4, height=4)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        _ = env.maze
    with pytest.raises(RuntimeError, match="reset"):
        _ = env.position
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"maze": 1})
    with pytest.raises(ValueError, match="maze_seed"):
        env.reset(options={"maze_seed": "x"})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in 0\.\.3"):
        env.step(4)


def test_goal_known_gives_the_goal_but_not_the_way() -> None:
    env = MazeEnv(width=6, height=5, radius=0, goal_known=True)
    _, info = env.reset(seed=3)
    goal = f"c{env.maze.goal[0]}_{env.maze.goal[1]}"
    assert env.task.goal_facts == frozenset({("at", goal)})
    assert ("goal", goal) in env.task.facts and ("grid", "5", "6") in env.task.facts
    assert goal in env.task.text
    assert not any(a[0] == "goal" for a in info["facts"]), "percepts still show only what is seen"
    assert MazeEnv(width=6, height=5).task.goal_facts == frozenset()
