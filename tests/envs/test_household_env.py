"""HouseholdEnv: the gymnasium contract, text, facts, failures, and every family solved."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.base import TaskSpec
from envs.household import FAMILIES, GYM_ID, HouseholdEnv, shortest_plan, text_name
from envs.household.world import location


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"task": "look_at_obj_in_light", "render_mode": "ansi"},
        {"task": "pick_two_obj_and_place", "max_steps": 5},
        {"layout_seed": 3},
    ],
)
def test_check_env_passes(config: dict[str, Any]) -> None:
    env = gym.make(GYM_ID, **config)
    check_env(env.unwrapped)
    env.close()


def test_registered_id_makes_the_env() -> None:
    env = gym.make("cogos/Household-v0", task="pick_heat_then_place_in_recep")
    obs, info = env.reset(seed=0)
    assert isinstance(env.unwrapped, HouseholdEnv)
    assert obs in env.observation_space and info["task_family"] == "pick_heat_then_place_in_recep"
    obs, *_ = env.step(info["admissible_actions"][0])
    assert obs in env.observation_space
    env.close()


def test_reset_is_seeded() -> None:
    env = HouseholdEnv()
    first = env.reset(seed=42)
    task = env.task
    again = env.reset(seed=42)
    assert first == again and env.task == task
    assert env.reset(seed=43)[0] != first[0] or env.task != task


def test_layout_seed_fixes_the_episode() -> None:
    env = HouseholdEnv(layout_seed=9)
    a = env.reset(seed=1)
    b = env.reset(seed=2)
    assert a == b
    c = env.reset(seed=1, options={"layout_seed": 10})
    assert c != a
    d = env.reset(seed=1, options={"task": "pick_cool_then_place_in_recep"})
    assert d[1]["task_family"] == "pick_cool_then_place_in_recep"


def test_reset_text_facts_and_info() -> None:
    env = HouseholdEnv(task="pick_clean_then_place_in_recep")
    obs, info = env.reset(seed=0)
    task = env.task
    assert isinstance(task, TaskSpec) and task.goal_facts and task.facts
    assert obs.startswith("You are in the middle of a room. Looking quickly around you, you see ")
    assert obs.endswith(f"\n\nYour task is to: {task.text}")
    assert task.text.startswith(("put a clean ", "clean some "))
    for r in env.episode.layout.receptacles:
        assert f"a {text_name(r)}" in obs
    assert info["facts"] == []  # nothing seen yet: no object locations leak
    assert info["text"] == obs
    assert info["task_family"] == "pick_clean_then_place_in_recep"
    assert info["action_success"] is True and info["steps"] == 0 and info["won"] is False
    assert set(info["admissible_actions"]) == {
        f"go to {text_name(r)}" for r in env.episode.layout.receptacles
    } | {"look", "inventory"}
    assert isinstance(info["optimal_steps"], int) and info["optimal_steps"] >= 5
    assert not any(a[0] == "in" for a in task.facts)


def test_going_and_opening_reveal_what_is_inside() -> None:
    env = HouseholdEnv()
    for seed in range(10):
        env.reset(seed=seed)
        layout = env.episode.layout
        closed = next(r for r in layout.receptacles if r in layout.openable)
        name = text_name(closed)
        obs, _, _, _, info = env.step(f"go to {name}")
        assert obs == f"You arrive at {name}. The {name} is closed."
        assert info["facts"] == [("at", closed)]
        assert f"open {name}" in info["admissible_actions"]
        obs, _, _, _, info = env.step(f"open {name}")
        inside = [o for o in layout.objects if location(layout, env.state, o) == closed]
        seen = ", ".join(f"a {text_name(o)}" for o in inside)
        if len(inside) > 1:
            seen = seen.rsplit(", ", 1)[0] + ", and " + seen.rsplit(", ", 1)[1]
        assert (
            obs == f"You open the {name}. The {name} is open. In it, you see {seen or 'nothing'}."
        )
        assert set(info["facts"]) == {("at", closed), ("opened", closed)} | {
            ("in", o, closed) for o in inside
        }
        flat = next(r for r in layout.receptacles if r not in layout.openable)
        obs, _, _, _, info = env.step(f"go to {text_name(flat)}")
        assert obs.startswith(f"You arrive at {text_name(flat)}. On the {text_name(flat)}, you see")
        assert ("at", flat) in info["facts"] and ("opened", closed) not in info["facts"]


@pytest.mark.parametrize(
    "command",
    [
        "",
        "dance",
        "go to moon 1",
        "go to fridge_1",
        "take apple 1 from fridge 1",
        "put apple 1 in/on fridge 1",
        "use desklamp 9",
        "open countertop 1",
        "slice apple 1 with apple 1",
        12,
        None,
        b"look",
    ],
)
def test_invalid_commands_fail_without_changing_anything(command: Any) -> None:
    env = HouseholdEnv(task="pick_and_place_simple")
    _, info = env.reset(seed=4)
    state = env.state
    obs, reward, terminated, truncated, after = env.step(command)
    assert obs == "Nothing happens."
    assert after["action_success"] is False
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert env.state == state and after["facts"] == info["facts"]
    assert after["admissible_actions"] == info["admissible_actions"]
    assert after["steps"] == 1


def test_every_admissible_command_succeeds_and_inadmissible_ones_fail() -> None:
    env = HouseholdEnv()
    _, info = env.reset(seed=8)
    for k in range(30):
        admissible = info["admissible_actions"]
        inadmissible = "close fridge 1" if "close fridge 1" not in admissible else "open fridge 1"
        state = env.state
        _, _, _, _, failed = env.step(inadmissible)
        assert failed["action_success"] is False and env.state == state
        _, _, terminated, truncated, info = env.step(admissible[(k * 5) % len(admissible)])
        assert info["action_success"] is True
        if terminated or truncated:
            break


def test_inventory_look_examine() -> None:
    env = HouseholdEnv(task="pick_heat_then_place_in_recep")
    env.reset(seed=2)
    assert env.step("inventory")[0] == "You are not carrying anything."
    assert env.step("look")[0].startswith("You are in the middle of a room.")
    layout, task = env.episode.layout, env.episode.task
    target = task.targets[0]
    place = location(layout, env.state, target)
    assert place is not None
    env.step(f"go to {text_name(place)}")
    if place in layout.openable:
        env.step(f"open {text_name(place)}")
    assert env.step(f"take {text_name(target)} from {text_name(place)}")[4]["action_success"]
    assert env.step("inventory")[0] == f"You are carrying: a {text_name(target)}."
    assert env.step(f"examine {text_name(target)}")[0] == (
        f"There's nothing special about {text_name(target)}."
    )
    env.step("go to microwave 1")
    obs = env.step(f"heat {text_name(target)} with microwave 1")[0]
    assert obs == f"You heat the {text_name(target)} using the microwave 1."
    assert env.step(f"examine {text_name(target)}")[0] == f"This is a hot {text_name(target)}."
    assert env.step("look")[0] == "You are at microwave 1. The microwave 1 is closed."


def test_truncation_and_stepping_after_the_end() -> None:
    env = HouseholdEnv(max_steps=3)
    env.reset(seed=0)
    assert env.step("look")[3] is False
    assert env.step("look")[3] is False
    _, reward, terminated, truncated, _ = env.step("look")
    assert (reward, terminated, truncated) == (0.0, False, True)
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("look")
    with pytest.raises(RuntimeError, match="reset"):
        HouseholdEnv().step("look")


def test_render() -> None:
    env = HouseholdEnv(render_mode="ansi")
    env.reset(seed=1)
    picture = env.render()
    assert isinstance(picture, str)
    assert picture.splitlines()[0].startswith(f"task: {env.task.text}")
    assert "* the agent is in the middle of the room" in picture
    assert "fridge 1 [closed]" in picture
    env.reset(seed=1)
    assert HouseholdEnv().render() is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "make_coffee"}, "task must be 'any' or one of"),
        ({"task": 3}, "task must be"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": True}, "max_steps"),
        ({"layout_seed": -1}, "layout_seed"),
        ({"layout_seed": 1.5}, "layout_seed"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        HouseholdEnv(**kwargs)


def test_bad_reset_options_are_rejected() -> None:
    env = HouseholdEnv()
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"size": 3})
    with pytest.raises(ValueError, match="task must be"):
        env.reset(options={"task": "nope"})
    with pytest.raises(ValueError, match="layout_seed"):
        env.reset(options={"layout_seed": "x"})


# --- The goal test: a scripted oracle per family that reads the full (privileged) state. ---


def oracle(env: HouseholdEnv) -> list[str]:
    """A straightforward plan written from the family's recipe, not from the BFS solver."""
    layout, task = env.episode.layout, env.episode.task
    where = {o: location(layout, env.state, o) for o in layout.objects}
    plan: list[str] = []
    at: list[str | None] = [None]
    opened: set[str] = set()

    def go(r: str) -> None:
        if at[0] != r:
            plan.append(f"go to {text_name(r)}")
            at[0] = r

    def reach(r: str) -> None:
        go(r)
        if r in layout.openable and r not in opened:
            plan.append(f"open {text_name(r)}")
            opened.add(r)

    def fetch(obj: str) -> None:
        place = where[obj]
        assert place is not None
        reach(place)
        plan.append(f"take {text_name(obj)} from {text_name(place)}")

    def place(obj: str, r: str) -> None:
        reach(r)
        plan.append(f"put {text_name(obj)} in/on {text_name(r)}")

    def use(verb: str, kind: str, obj: str) -> None:
        appliance = next(r for r in layout.receptacles if layout.kinds[r] == kind)
        go(appliance)
        plan.append(f"{verb} {text_name(obj)} with {text_name(appliance)}")

    first = task.targets[0]
    fetch(first)
    if task.family == "look_at_obj_in_light":
        assert task.lamp is not None
        lamp_at = where[task.lamp]
        assert lamp_at is not None
        go(lamp_at)
        plan.append(f"use {text_name(task.lamp)}")
        return plan
    assert task.receptacle is not None
    appliance = {
        "pick_clean_then_place_in_recep": ("clean", "sinkbasin"),
        "pick_heat_then_place_in_recep": ("heat", "microwave"),
        "pick_cool_then_place_in_recep": ("cool", "fridge"),
    }.get(task.family)
    if appliance is not None:
        use(appliance[0], appliance[1], first)
    place(first, task.receptacle)
    if task.family == "pick_two_obj_and_place":
        fetch(task.targets[1])
        place(task.targets[1], task.receptacle)
    return plan


def play(env: HouseholdEnv, plan: list[str]) -> tuple[bool, int]:
    for i, command in enumerate(plan, 1):
        _, reward, terminated, truncated, info = env.step(command)
        assert info["action_success"], command
        if terminated:
            assert reward == 1.0 and not truncated and info["won"]
            return True, i
        assert reward == 0.0 and not info["won"]
    return False, len(plan)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_is_solved_by_the_oracle_and_optimal_steps_is_a_lower_bound(
    family: str,
) -> None:
    env = HouseholdEnv(task=family)
    for seed in range(25):
        _, info = env.reset(seed=seed)
        plan = oracle(env)
        solved, used = play(env, plan)
        assert solved and used == len(plan), (seed, plan)
        assert info["optimal_steps"] <= len(plan)
        # the BFS plan behind optimal_steps is itself a valid plan of exactly that length
        _, info = env.reset(seed=seed)
        best = shortest_plan(env.episode.layout, env.state, env.task.goal_facts)
        assert best is not None and len(best) == info["optimal_steps"]
        assert play(env, [c.text for c in best]) == (True, len(best))


def test_look_at_needs_the_lamp_in_view() -> None:
    """Holding the object with the lamp on elsewhere is not success: the lamp must be in view."""
    env = HouseholdEnv(task="look_at_obj_in_light")
    for seed in range(30):
        env.reset(seed=seed)
        layout, task = env.episode.layout, env.episode.task
        assert task.lamp is not None
        lamp_at = location(layout, env.state, task.lamp)
        target_at = location(layout, env.state, task.targets[0])
        if lamp_at == target_at or target_at in layout.openable:
            continue
        assert lamp_at is not None and target_at is not None
        env.step(f"go to {text_name(lamp_at)}")
        assert env.step(f"use {text_name(task.lamp)}")[4]["action_success"]
        env.step(f"go to {text_name(target_at)}")
        _, _, terminated, _, _ = env.step(
            f"take {text_name(task.targets[0])} from {text_name(target_at)}"
        )
        assert not terminated
        _, reward, terminated, _, _ = env.step(f"go to {text_name(lamp_at)}")
        assert terminated and reward == 1.0
        return
    pytest.fail("no layout with the lamp and the object apart")


def test_optimal_steps_formula_for_simple_tasks() -> None:
    """pick_and_place_simple: go, (open), take, go, (open), put."""
    env = HouseholdEnv(task="pick_and_place_simple")
    for seed in range(30):
        _, info = env.reset(seed=seed)
        layout, task = env.episode.layout, env.episode.task
        start = location(layout, env.state, task.targets[0])
        assert task.receptacle is not None
        expected = 4 + (start in layout.openable) + (task.receptacle in layout.openable)
        assert info["optimal_steps"] == expected


def test_random_walks_stay_in_the_spaces_and_only_show_what_is_in_view() -> None:
    env = HouseholdEnv(max_steps=40)
    rng = np.random.default_rng(0)
    for seed in range(15):
        obs, info = env.reset(seed=seed)
        layout = env.episode.layout
        done = False
        while not done:
            assert obs in env.observation_space
            state = env.state
            for atom in info["facts"]:
                if atom[0] == "in":
                    assert atom[2] == state.at and location(layout, state, atom[1]) == state.at
                    assert atom[2] not in layout.openable or ("opened", atom[2]) in state.flags
                elif atom[0] in ("heated", "cooled", "cleaned", "sliced", "toggled"):
                    assert atom in state.flags
                    assert atom[1] == state.holding or ("in", atom[1], state.at) in info["facts"]
                else:
                    assert atom[0] in ("at", "opened", "holding")
            choices = info["admissible_actions"]
            command = choices[int(rng.integers(len(choices)))]
            assert command in env.action_space
            obs, _, terminated, truncated, info = env.step(command)
            assert info["action_success"]
            done = terminated or truncated
