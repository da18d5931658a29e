"""The first policies on the real maze: explore always finishes; random is an honest baseline."""

import logging

import pytest

from cogos import Bus, load_config_text
from cogos.context import ComponentContext
from cogos.runner import run_async
from envs.maze import parse_cell
from memory.cycle_records import Candidate
from policies.explore import ExploreOptions, ExplorePolicy, GridMap, move_name


def cfg(policy: str, episodes: int, **env: object) -> str:
    opts = ", ".join(f"{k}: {v}" for k, v in env.items())
    return f"""
episodes: {episodes}
seed: 100
env: {{name: maze, options: {{{opts}}}}}
agent: {{policy: {{name: {policy}}}}}
"""


@pytest.mark.parametrize(
    "env",
    [
        {"width": 15, "height": 15, "radius": 2},
        {"width": 15, "height": 15, "radius": 0},
        {"width": 21, "height": 9, "radius": 1, "algorithm": "prim"},
        {"width": 12, "height": 12, "radius": 3, "algorithm": "kruskal", "loops": 0.3},
        {"width": 10, "height": 10, "radius": 2, "start_goal": "far", "loops": 0.1},
    ],
)
async def test_explore_solves_every_maze(env: dict[str, object]) -> None:
    result = await run_async(load_config_text(cfg("explore", 12, **env)))
    m = result.metrics
    assert m["success_rate"] == 1.0, [s.to_json() for s in result.summaries if not s.success]
    for s in result.summaries:
        assert s.optimal_steps is not None
        assert s.steps >= s.optimal_steps, "no agent beats the optimum"


async def test_explore_is_optimal_in_full_view() -> None:
    # Seeing the whole maze, the known-map shortest path is the true shortest path.
    result = await run_async(load_config_text(cfg("explore", 5, width=8, height=8, radius=8)))
    assert all(s.steps == s.optimal_steps for s in result.summaries)


async def test_runs_are_deterministic() -> None:
    text = cfg("random", 3, width=9, height=9, max_steps=200)
    a = await run_async(load_config_text(text))
    b = await run_async(load_config_text(text))
    assert [s.to_json() | {"seconds": 0} for s in a.summaries] == [
        s.to_json() | {"seconds": 0} for s in b.summaries
    ]


async def test_random_baseline_mostly_fails_on_15x15() -> None:
    result = await run_async(load_config_text(cfg("random", 6, width=15, height=15)))
    assert result.metrics["success_rate"] <= 0.5
    assert all(s.steps == 900 for s in result.summaries if not s.success)


def test_grid_map_and_cell_helpers() -> None:
    m = GridMap()
    m.update(
        frozenset(
            {("at", "c0_0"), ("cell", "c0_0"), ("open", "c0_0", "c0_1"), ("open", "c0_1", "c0_0")}
        )
    )
    assert m.frontier() == {"c0_1"}
    assert m.distances_to(m.targets()) == {"c0_1": 0, "c0_0": 1}
    m.update(frozenset({("goal", "c3_1")}))
    # the goal is in sight but not known to be reachable: frontier plus Manhattan distance
    assert m.targets() == {"c3_1": 0, "c0_1": 3}
    assert move_name("c2_2", "c1_2") == "north"
    assert move_name("c2_2", "c2_1") == "west"
    assert parse_cell("c12_3") == (12, 3)
    with pytest.raises(ValueError, match="cell name"):
        parse_cell("room1")


async def test_explore_values_the_candidates_other_modules_propose() -> None:
    """The planner module proposes moves too (without the explorer's ``to``): explore values
    each by where it leads, and a run with both finishes (it crashed with KeyError 'to')."""
    text = cfg("explore", 3, width=9, height=9) + (
        "  modules:\n"
        "    - {name: perception.facts}\n"
        "    - {name: planner.pddl, options: {domain: gridnav}}\n"
    )
    text = text.replace("agent: {policy: {name: explore}}\n", "agent:\n  policy: {name: explore}\n")
    result = await run_async(load_config_text(text))
    assert result.metrics["success_rate"] == 1.0


def test_a_foreign_move_leads_where_its_direction_points() -> None:
    ctx = ComponentContext(
        name="explore",
        agent="a",
        bus=Bus(),
        options=ExploreOptions(),
        logger=logging.getLogger("test"),
    )
    policy = ExplorePolicy(ctx)
    policy.map.update(
        frozenset(
            {("at", "c1_1"), ("cell", "c1_1"), ("open", "c1_1", "c1_2"), ("open", "c1_2", "c1_1")}
        )
    )
    assert policy.destination(Candidate("east", source="planner")) == "c1_2"
    assert policy.destination(Candidate("north", source="planner")) is None  # a wall
    assert policy.destination(Candidate("pickup", source="llm")) is None


def _fold(percepts: list[frozenset[tuple[str, ...]]]) -> GridMap:
    """The map as folding every atom of every percept in again would make it (no shortcut)."""
    m = GridMap()
    for facts in percepts:
        m.remember([])  # (forgets the last percept: the next one is folded in whole)
        m.update(facts)
    return m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_map_folds_in_only_what_is_new_and_plans_once_per_change(seed: int) -> None:
    """A percept's atoms that the previous one held are not folded in again, and the distances
    are computed again only when the map changed: the same map, and the same distances, as
    folding in every atom and planning afresh at every step."""
    import random

    from envs.maze import MazeEnv

    env = MazeEnv(width=11, height=11, radius=1, max_steps=10**6)
    _, info = env.reset(seed=seed)
    rng = random.Random(seed)
    m = GridMap()
    percepts = []
    for _ in range(300):
        facts = frozenset(tuple(f) for f in info["facts"])
        if rng.random() < 0.05:  # what memory recalls: a belief the next percept overrides
            m.remember([("open", "c0_0", "c0_1"), ("cell", "c9_9")])
            percepts.append(frozenset({("open", "c0_0", "c0_1"), ("cell", "c9_9")}))
        m.update(facts)
        percepts.append(facts)
        reference = _fold(percepts)
        assert (m.adjacent, m.seen, m.goal, m.position) == (
            reference.adjacent,
            reference.seen,
            reference.goal,
            reference.position,
        )
        assert m.frontier() == reference.frontier()
        assert m.estimates() == reference.distances_to(reference.targets())
        _, _, terminated, _, info = env.step(rng.randrange(4))
        if terminated:
            _, info = env.reset()


def test_a_known_goal_is_headed_for_through_unseen_cells() -> None:
    """Free-space assumption: with nothing seen, the estimate is the Manhattan distance; a
    seen cell's side that is not open is a wall, walked around."""
    m = GridMap()
    m.remember([("grid", "3", "4"), ("goal", "c0_0")])
    m.update(frozenset({("at", "c2_0")}))
    dist = m.estimates()
    assert dist["c2_0"] == 2 and dist["c2_3"] == 5 and dist["c0_3"] == 3
    # c1_0 seen: open to the south and the east only
    m.update(
        frozenset(
            {
                ("at", "c2_0"),
                ("cell", "c1_0"),
                ("open", "c1_0", "c2_0"),
                ("open", "c2_0", "c1_0"),
                ("open", "c1_0", "c1_1"),
                ("open", "c1_1", "c1_0"),
            }
        )
    )
    dist = m.estimates()
    assert dist["c1_0"] == 3  # east, north, west: around the wall
    assert dist["c2_0"] == 4  # was 2: through c1_0 or along row 2, then around


async def test_a_goal_the_task_gives_shortens_the_way_in_large_mazes() -> None:
    """Issue 17: at 41x41 a known goal changed nothing (526 steps either way): the explorer
    headed for the nearest frontier. It now heads for the goal."""
    env = {"width": 41, "height": 41, "radius": 2, "algorithm": "prim", "loops": 0.2}
    unknown = await run_async(load_config_text(cfg("explore", 3, **env)))
    known = await run_async(load_config_text(cfg("explore", 3, **env, goal_known="true")))
    assert unknown.metrics["success_rate"] == known.metrics["success_rate"] == 1.0
    for a, b in zip(known.summaries, unknown.summaries, strict=True):
        assert a.optimal_steps == b.optimal_steps  # the same mazes
    assert known.metrics["mean_steps"] < 0.5 * unknown.metrics["mean_steps"]
