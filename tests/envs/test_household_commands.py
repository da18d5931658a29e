"""Command parsing and the admissibility rules, checked against hand-built situations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from envs.household import Command, Layout, State, generate_episode, parse_command
from envs.household.world import admissible, apply, is_admissible, perceived_facts

# A tiny hand-built household: every rule below is checked on it by hand.
LAYOUT = Layout(
    receptacles=("countertop_1", "fridge_1", "microwave_1", "sinkbasin_1", "sidetable_1"),
    objects=("apple_1", "book_1", "desklamp_1", "knife_1", "mug_1"),
    kinds={
        "countertop_1": "countertop",
        "fridge_1": "fridge",
        "microwave_1": "microwave",
        "sinkbasin_1": "sinkbasin",
        "sidetable_1": "sidetable",
        "apple_1": "apple",
        "book_1": "book",
        "desklamp_1": "desklamp",
        "knife_1": "knife",
        "mug_1": "mug",
    },
    openable=frozenset({"fridge_1", "microwave_1"}),
    abilities={"fridge_1": "cool", "microwave_1": "heat", "sinkbasin_1": "clean"},
    properties={
        "apple_1": frozenset({"heatable", "coolable", "cleanable", "sliceable"}),
        "book_1": frozenset(),
        "knife_1": frozenset({"cleanable", "canslice"}),
        "mug_1": frozenset({"heatable", "coolable", "cleanable"}),
    },
    lamps=frozenset({"desklamp_1"}),
)
START = State(
    at=None,
    holding=None,
    where=("fridge_1", "sidetable_1", "sidetable_1", "countertop_1", "countertop_1"),
)


def texts(state: State) -> set[str]:
    return {c.text for c in admissible(LAYOUT, state)}


def run(state: State, *commands: str) -> State:
    for text in commands:
        cmd = parse_command(text)
        assert cmd is not None and is_admissible(LAYOUT, state, cmd), text
        state = apply(LAYOUT, state, cmd)
    return state


GO = {f"go to {r.replace('_', ' ')}" for r in LAYOUT.receptacles}


def test_parse_canonical_and_aliases() -> None:
    assert parse_command("go to fridge 1") == Command("go", ("fridge_1",))
    put = Command("put", ("apple_1", "fridge_1"))
    for text in (
        "put apple 1 in/on fridge 1",
        "put apple 1 in fridge 1",
        "Put Apple 1 on Fridge 1.",
        "  put   apple 1 into fridge 1 ",
        "move apple 1 to fridge 1",
    ):
        assert parse_command(text) == put, text
    assert put.text == "put apple 1 in/on fridge 1" == str(put)
    assert parse_command("slice apple 1 with knife 1") == Command("slice", ("apple_1", "knife_1"))
    assert parse_command("look") == Command("look") and Command("inventory").text == "inventory"
    for junk in ("", "go", "go to fridge", "go to fridge_1", "take apple 1", "fly to moon 1", "42"):
        assert parse_command(junk) is None, junk


def test_admissible_at_the_start() -> None:
    assert texts(START) == GO | {"look", "inventory"}


def test_closed_receptacles_hide_and_block() -> None:
    at_fridge = run(START, "go to fridge 1")
    assert texts(at_fridge) == (GO - {"go to fridge 1"}) | {
        "look",
        "inventory",
        "examine fridge 1",
        "open fridge 1",
    }
    assert perceived_facts(LAYOUT, at_fridge) == {("at", "fridge_1")}
    opened = run(at_fridge, "open fridge 1")
    assert {"close fridge 1", "take apple 1 from fridge 1"} <= texts(opened)
    assert "open fridge 1" not in texts(opened)
    assert perceived_facts(LAYOUT, opened) == {
        ("at", "fridge_1"),
        ("opened", "fridge_1"),
        ("in", "apple_1", "fridge_1"),
    }
    closed_again = run(opened, "close fridge 1")
    assert closed_again.flags == frozenset()


def test_holding_heating_cooling_cleaning() -> None:
    held = run(START, "go to fridge 1", "open fridge 1", "take apple 1 from fridge 1")
    got = texts(held)
    assert {"put apple 1 in/on fridge 1", "cool apple 1 with fridge 1", "examine apple 1"} <= got
    assert not any(t.startswith(("take", "heat", "clean")) for t in got)
    at_micro = run(held, "go to microwave 1")  # a closed microwave still heats
    assert "heat apple 1 with microwave 1" in texts(at_micro)
    assert "put apple 1 in/on microwave 1" not in texts(at_micro)  # closed
    hot = run(at_micro, "heat apple 1 with microwave 1")
    assert ("heated", "apple_1") in perceived_facts(LAYOUT, hot)
    cold = run(hot, "go to fridge 1", "cool apple 1 with fridge 1")
    assert ("cooled", "apple_1") in cold.flags and ("heated", "apple_1") not in cold.flags
    clean = run(cold, "go to sinkbasin 1", "clean apple 1 with sinkbasin 1")
    assert {("cooled", "apple_1"), ("cleaned", "apple_1")} <= perceived_facts(LAYOUT, clean)
    # a book cannot be heated
    book = run(START, "go to sidetable 1", "take book 1 from sidetable 1", "go to microwave 1")
    assert not any(t.startswith("heat") for t in texts(book))


def test_slicing_needs_a_knife_in_hand_and_the_object_in_view() -> None:
    knife = run(START, "go to countertop 1", "take knife 1 from countertop 1")
    assert not any(t.startswith("slice") for t in texts(knife))  # the mug is not sliceable
    apple_down = run(
        START,
        "go to fridge 1",
        "open fridge 1",
        "take apple 1 from fridge 1",
        "go to countertop 1",
        "put apple 1 in/on countertop 1",
        "take knife 1 from countertop 1",
    )
    assert "slice apple 1 with knife 1" in texts(apple_down)
    sliced = run(apple_down, "slice apple 1 with knife 1")
    assert "slice apple 1 with knife 1" not in texts(sliced)
    assert ("sliced", "apple_1") in perceived_facts(LAYOUT, sliced)


def test_lamps_switch_and_are_seen_only_in_view() -> None:
    at_table = run(START, "go to sidetable 1")
    assert {"use desklamp 1", "take book 1 from sidetable 1"} <= texts(at_table)
    assert "take desklamp 1 from sidetable 1" not in texts(at_table)  # not portable
    on = run(at_table, "take book 1 from sidetable 1", "use desklamp 1")
    facts = perceived_facts(LAYOUT, on)
    assert {("holding", "book_1"), ("toggled", "desklamp_1")} <= facts
    away = run(on, "go to countertop 1")
    assert ("toggled", "desklamp_1") in away.flags
    assert ("toggled", "desklamp_1") not in perceived_facts(LAYOUT, away)
    off = run(away, "go to sidetable 1", "use desklamp 1")
    assert ("toggled", "desklamp_1") not in off.flags


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_admissible_list_equals_the_rules_for_every_command(seed: int) -> None:
    """Every command over every entity: admissible exactly when listed (random walk states)."""
    e = generate_episode(np.random.default_rng(seed))
    layout, state = e.layout, e.start
    entities = [*layout.receptacles, *layout.objects]
    rng = np.random.default_rng(seed)
    for _ in range(25):
        commands = {c.text: c for c in admissible(layout, state)}
        listed = set(commands)
        everything = [Command("look"), Command("inventory")]
        for verb in ("go", "open", "close", "use", "examine"):
            everything += [Command(verb, (x,)) for x in entities]
        for verb in ("take", "put", "heat", "cool", "clean", "slice"):
            everything += [Command(verb, p) for p in itertools.permutations(entities, 2)]
        ok = {c.text for c in everything if is_admissible(layout, state, c)}
        assert ok == listed
        choices = sorted(listed)
        state = apply(layout, state, commands[choices[int(rng.integers(len(choices)))]])
