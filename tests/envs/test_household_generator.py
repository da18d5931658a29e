"""Household generation: seeded, every family, goal texts that mean exactly the goal atoms."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from envs.household import FAMILIES, LAMPS, OBJECTS, RECEPTACLES, generate_episode, kind_of
from envs.household.generator import Episode
from envs.household.names import entity_id, fact_name, text_name


def episode(seed: int, family: str | None = None) -> Episode:
    return generate_episode(np.random.default_rng(seed), family)


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_same_seed_same_episode(seed: int) -> None:
    a, b = episode(seed), episode(seed)
    assert a.layout.receptacles == b.layout.receptacles
    assert a.layout.objects == b.layout.objects
    assert dict(a.layout.kinds) == dict(b.layout.kinds)
    assert a.start == b.start
    assert a.task == b.task


def test_different_seeds_differ() -> None:
    episodes = [episode(s) for s in range(20)]
    assert len({(e.layout.receptacles, e.start.where, e.task.text) for e in episodes}) == 20


def test_any_draws_every_family() -> None:
    counts = Counter(episode(s).task.family for s in range(120))
    assert set(counts) == set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_invariants(family: str) -> None:
    for seed in range(40):
        e = episode(seed, family)
        layout, task = e.layout, e.task
        assert task.family == family
        kinds = Counter(layout.kinds[o] for o in layout.objects)
        target_kind = kind_of(task.targets[0])
        # the text names kinds, so the layout must make them unambiguous
        want = 2 if family == "pick_two_obj_and_place" else 1
        assert kinds[target_kind] == want == len(task.targets)
        assert f" {target_kind} " in f" {task.text} "
        assert len(layout.lamps) == 1
        for t in task.targets:
            assert e.start.where[layout.index[t]] != task.receptacle
        if family == "look_at_obj_in_light":
            (lamp,) = layout.lamps
            assert task.lamp == lamp and kind_of(lamp) in task.text
            assert task.goal == {("holding", task.targets[0]), ("toggled", lamp)}
        else:
            assert task.receptacle is not None
            goal_kind = kind_of(task.receptacle)
            assert task.text.endswith(f" {goal_kind}.")
            assert sum(layout.kinds[r] == goal_kind for r in layout.receptacles) == 1
            assert {("in", t, task.receptacle) for t in task.targets} <= task.goal
        transform = {
            "pick_clean_then_place_in_recep": ("cleaned", "clean", "clean"),
            "pick_heat_then_place_in_recep": ("heated", "hot", "heat"),
            "pick_cool_then_place_in_recep": ("cooled", "cool", "cool"),
        }.get(family)
        if transform is not None:
            flag, adjective, verb = transform
            assert (flag, task.targets[0]) in task.goal and len(task.goal) == 2
            assert task.text.startswith((f"put a {adjective} ", f"{verb} some "))


@pytest.mark.parametrize("seed", range(30))
def test_layout_is_plausible_and_starts_closed(seed: int) -> None:
    e = episode(seed)
    layout = e.layout
    per_kind = Counter(layout.kinds[r] for r in layout.receptacles)
    for kind, n in per_kind.items():
        low, high = RECEPTACLES[kind].count
        assert 1 <= n <= max(high, 1) and n >= min(low, 1)
    # numbering: kind_1 .. kind_n, no gaps
    for kind, n in per_kind.items():
        assert {r for r in layout.receptacles if layout.kinds[r] == kind} == {
            entity_id(kind, i) for i in range(1, n + 1)
        }
    for obj, place in zip(layout.objects, e.start.where, strict=True):
        assert place is not None
        kind = layout.kinds[obj]
        allowed = OBJECTS[kind].receptacles if kind in OBJECTS else LAMPS[kind]
        assert layout.kinds[place] in allowed, (obj, place)
    assert e.start.at is None and e.start.holding is None and not e.start.flags
    assert {layout.kinds[r] for r in layout.openable} <= {
        "cabinet",
        "drawer",
        "fridge",
        "microwave",
    }


def test_task_facts_describe_entities_but_not_locations() -> None:
    e = episode(5)
    facts = e.layout.task_facts()
    assert {a[0] for a in facts} <= {
        "receptacle",
        "object",
        "type",
        "openable",
        "canheat",
        "cancool",
        "canclean",
        "pickupable",
        "toggleable",
        "heatable",
        "coolable",
        "cleanable",
        "sliceable",
        "canslice",
    }
    for r in e.layout.receptacles:
        assert ("receptacle", r) in facts and ("type", r, e.layout.kinds[r]) in facts
    for o in e.layout.objects:
        assert ("object", o) in facts and ("type", o, e.layout.kinds[o]) in facts
    assert ("canheat", "microwave_1") in facts and ("cancool", "fridge_1") in facts
    assert ("canclean", "sinkbasin_1") in facts and ("openable", "fridge_1") in facts


def test_names_round_trip_and_reject_junk() -> None:
    assert text_name("apple_1") == "apple 1" and fact_name("apple 1") == "apple_1"
    assert kind_of("sinkbasin_1") == kind_of("sinkbasin 1") == "sinkbasin"
    assert entity_id("cd", 2) == "cd_2"
    for bad in ("apple", "apple_0", "Apple_1", "apple 1", "apple_1_2", ""):
        with pytest.raises(ValueError, match="entity"):
            text_name(bad)
    with pytest.raises(ValueError, match="entity"):
        fact_name("apple_1")


def test_unknown_family_is_rejected() -> None:
    with pytest.raises(ValueError, match="task must be 'any' or one of"):
        generate_episode(np.random.default_rng(0), "make_coffee")
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        generate_episode(0, None)  # type: ignore[arg-type]
