"""MiniGrid facts agree with the real grid and with MiniGrid's own notion of what is visible."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.extras import needs_extra

needs_extra("envs", "minigrid")

from minigrid.core.world_object import Door, Key, WorldObj

from envs.minigrid import MiniGridEnv, cell_name

TASKS = [
    "MiniGrid-FourRooms-v0",
    "MiniGrid-DoorKey-8x8-v0",
    "MiniGrid-MultiRoom-N6-v0",
    "MiniGrid-LavaGapS7-v0",
    "MiniGrid-KeyCorridorS3R3-v0",  # balls, boxes, keys and locked doors
]
DIRS = {"north": 3, "east": 0, "south": 1, "west": 2}


def visible_cells(env: MiniGridEnv) -> set[tuple[int, int]]:
    """In-grid cells MiniGrid says the agent sees: its view square and occlusion mask."""
    mg: Any = env.minigrid  # minigrid leaves gen_obs_grid and relative_coords unannotated
    _, vis = mg.gen_obs_grid()
    out = set()
    for x in range(mg.width):
        for y in range(mg.height):
            rel = mg.relative_coords(x, y)
            if rel is not None and vis[rel[0], rel[1]]:
                out.add((x, y))
    return out


def passable(cell: Any) -> bool:
    return cell is None or (cell.can_overlap() and cell.type != "lava")


def check(
    env: MiniGridEnv, facts: list[tuple[str, ...]], seen_before: set[tuple[int, int]]
) -> None:
    mg = env.minigrid
    grid = mg.grid
    assert facts == sorted(set(facts)), "sorted, no duplicates"
    visible = visible_cells(env)
    names = {cell_name(x, y): (x, y) for x in range(mg.width) for y in range(mg.height)}
    assert {f[1] for f in facts if f[0] == "cell"} == {cell_name(*p) for p in visible}
    x, y = (int(v) for v in mg.agent_pos)
    assert ("at", cell_name(x, y)) in facts
    assert ("facing", ("east", "south", "west", "north")[mg.agent_dir]) in facts
    by_kind: dict[str, set[tuple[str, ...]]] = {}
    for f in facts:
        by_kind.setdefault(f[0], set()).add(f[1:])
    expected: dict[str, set[tuple[str, ...]]] = {}
    for px, py in visible:
        cell = grid.get(px, py)
        if cell is None or cell.type == "floor":
            continue
        name = cell_name(px, py)
        if cell.type in ("wall", "lava", "goal"):
            expected.setdefault(cell.type, set()).add((name,))
        elif isinstance(cell, Door):
            expected.setdefault("door", set()).add((name, cell.color))
            if not cell.is_open:
                expected.setdefault("closed", set()).add((name,))
            if cell.is_locked:
                expected.setdefault("locked", set()).add((name,))
        else:
            expected.setdefault(cell.type, set()).add((name, cell.color))
    for kind in ("wall", "lava", "goal", "door", "closed", "locked", "key", "ball", "box"):
        assert by_kind.get(kind, set()) == expected.get(kind, set()), kind
    held: WorldObj | None = mg.carrying
    if held is None:
        assert "holding" not in by_kind and "carrying" not in by_kind
    else:
        assert by_kind["holding"] == {(held.type, held.color)}
        assert by_kind.get("carrying", set()) == ({(held.color,)} if held.type == "key" else set())
    # open/blocked: adjacent; true of the grid when both ends are visible; otherwise the far end
    # has never been in view and the near one is passable (the frontier)
    for pred in ("open", "blocked"):
        for a, b in by_kind.get(pred, set()):
            (ax, ay), (bx, by) = names[a], names[b]
            assert abs(ax - bx) + abs(ay - by) == 1
            if (ax, ay) in visible and (bx, by) in visible:
                both = passable(grid.get(ax, ay)) and passable(grid.get(bx, by))
                assert both == (pred == "open"), (pred, a, b)
                ca, cb = grid.get(ax, ay), grid.get(bx, by)
                assert not (
                    ca is not None and ca.type == "wall" and cb is not None and cb.type == "wall"
                )
            else:
                assert pred == "open"
                near, far = ((ax, ay), (bx, by)) if (ax, ay) in visible else ((bx, by), (ax, ay))
                assert near in visible and passable(grid.get(*near))
                assert far not in visible and far not in seen_before
    for px, py in visible:  # every edge between two visible cells, but wall-wall, is reported
        for qx, qy in ((px + 1, py), (px, py + 1)):
            if (qx, qy) not in visible:
                continue
            a, b = cell_name(px, py), cell_name(qx, qy)
            walls = [
                c is not None and c.type == "wall" for c in (grid.get(px, py), grid.get(qx, qy))
            ]
            reported = (a, b) in by_kind.get("open", set()) or (a, b) in by_kind.get(
                "blocked", set()
            )
            assert reported != all(walls), (a, b)


@pytest.mark.parametrize("task", TASKS)
def test_facts_match_the_grid_along_random_walks(task: str) -> None:
    env = MiniGridEnv(id=task)
    rng = np.random.default_rng(0)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        seen: set[tuple[int, int]] = set()
        check(env, info["facts"], seen)
        for _ in range(60):
            seen |= visible_cells(env)
            action = int(rng.integers(len(env.action_names)))
            _, _, terminated, truncated, info = env.step(action)
            check(env, info["facts"], seen)
            if terminated or truncated:
                break


def test_the_agent_cell_is_what_it_stands_on_not_what_it_carries() -> None:
    env = MiniGridEnv(id="MiniGrid-DoorKey-5x5-v0")
    env.reset(seed=0)
    mg = env.minigrid
    mg.carrying = Key("red")  # type: ignore[assignment]  # minigrid types carrying as None
    _, _, _, _, info = env.step(env.action_names.index("drop_north"))  # a turn, maybe a drop
    here = cell_name(*(int(v) for v in mg.agent_pos))
    assert ("key", here, "red") not in info["facts"]
    assert ("cell", here) in info["facts"]


def test_a_wall_seen_once_is_not_reopened_from_memory() -> None:
    # Empty-8x8 starts at (1, 1) facing east: the bottom rows have never been in view
    def percept(look_south_first: bool) -> list[tuple[str, ...]]:
        env = MiniGridEnv(id="MiniGrid-Empty-8x8-v0")
        env.reset(seed=0)
        mg = env.minigrid
        if look_south_first:
            mg.agent_pos, mg.agent_dir = (6, 6), 1  # the outer wall c7_6 straight ahead
            _, _, _, _, info = env.step(env.action_names.index("south"))
            assert ("wall", "c7_6") in info["facts"] and ("blocked", "c6_6", "c7_6") in info[
                "facts"
            ]
        mg.agent_pos, mg.agent_dir = (5, 6), 3  # c6_6 in view beside the agent, c7_6 behind
        _, _, _, _, info = env.step(env.action_names.index("pickup_north"))  # a no-op
        facts: list[tuple[str, ...]] = info["facts"]
        assert ("cell", "c6_6") in facts and ("cell", "c7_6") not in facts
        return facts

    never_seen = percept(look_south_first=False)
    assert ("open", "c6_6", "c7_6") in never_seen and ("open", "c7_6", "c6_6") in never_seen
    seen_once = percept(look_south_first=True)
    assert not [f for f in seen_once if f[0] in ("open", "blocked") and "c7_6" in f]
