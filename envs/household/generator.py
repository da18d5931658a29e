"""Seeded generation of a household episode: a layout, where everything starts, and a task.

An episode is a pure function of the numpy generator it is given, so a seed reproduces the
layout, the object placement, the task and its wording. The task is drawn first and the layout
is built around it, which is how the generated goal text stays exact: one object of the target
kind (two for ``pick_two_obj_and_place``), one receptacle of the goal kind, one lamp, and the
target never starts in the goal receptacle. Distractor objects of other kinds fill the room,
each placed where its kind is commonly found (``catalog.OBJECTS``). Openable receptacles start
closed, the agent starts in the middle of the room with empty hands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from envs.household.catalog import (
    APPLIANCE,
    FAMILIES,
    FAMILY_PROPERTY,
    LAMPS,
    LOOK_OBJECTS,
    OBJECTS,
    RECEPTACLES,
)
from envs.household.names import entity_id
from envs.household.tasks import Task, make_task
from envs.household.world import Layout, State

T = TypeVar("T")

DISTRACTOR_KINDS = (6, 10)
"""Inclusive range of how many other object kinds are scattered around."""


@dataclass(frozen=True)
class Episode:
    """A generated episode: the static layout, the start state and the task."""

    layout: Layout
    start: State
    task: Task


class _Draw:
    """Uniform choices from a numpy generator (so the episode is a function of its state)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.integers(len(items)))]

    def between(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))


def validate_family(task: object) -> str | None:
    """``None`` for ``"any"``, else the family; ``ValueError`` naming the choices otherwise."""
    if task == "any":
        return None
    if not isinstance(task, str) or task not in FAMILIES:
        raise ValueError(f"task must be 'any' or one of {', '.join(FAMILIES)}; got {task!r}")
    return task


def _target(draw: _Draw, family: str) -> tuple[str, str | None, list[str]]:
    """The target object kind, the goal receptacle kind and each target's start kind."""
    if family == "look_at_obj_in_light":
        kind = draw.pick(LOOK_OBJECTS)
        return kind, None, [draw.pick(OBJECTS[kind].receptacles)]
    needed = FAMILY_PROPERTY.get(family)
    kinds = [k for k, o in OBJECTS.items() if needed is None or needed in o.properties]
    kind = draw.pick(kinds)
    appliance = APPLIANCE.get(family)
    goal_kind = draw.pick([r for r in OBJECTS[kind].receptacles if r != appliance])
    starts = [r for r in OBJECTS[kind].receptacles if r != goal_kind]
    count = 2 if family == "pick_two_obj_and_place" else 1
    return kind, goal_kind, [draw.pick(starts) for _ in range(count)]


def generate_episode(rng: np.random.Generator, family: str | None = None) -> Episode:
    """A new episode; ``family`` fixes the task family, ``None`` draws one of the six."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    draw = _Draw(rng)
    family = validate_family("any" if family is None else family) or draw.pick(FAMILIES)
    kind, goal_kind, start_kinds = _target(draw, family)
    lamp_kind = draw.pick(sorted(LAMPS))

    counts = {r.name: draw.between(*r.count) for r in RECEPTACLES.values()}
    for start_kind in start_kinds:
        counts[start_kind] = max(counts[start_kind], 1)
    if goal_kind is not None:
        counts[goal_kind] = 1
    if not any(counts[h] for h in LAMPS[lamp_kind]):
        counts[LAMPS[lamp_kind][0]] = 1
    receptacles = [entity_id(k, n) for k in RECEPTACLES for n in range(1, counts[k] + 1)]
    by_kind = {k: [entity_id(k, n) for n in range(1, counts[k] + 1)] for k in RECEPTACLES}

    def somewhere(kinds: Sequence[str]) -> str | None:
        options = [r for k in kinds for r in by_kind[k]]
        return draw.pick(options) if options else None

    where: dict[str, str] = {}
    kinds: dict[str, str] = {r: r.rsplit("_", 1)[0] for r in receptacles}
    targets = tuple(entity_id(kind, n + 1) for n in range(len(start_kinds)))
    for target, start_kind in zip(targets, start_kinds, strict=True):
        where[target] = draw.pick(by_kind[start_kind])
        kinds[target] = kind
    lamp = entity_id(lamp_kind, 1)
    lamp_at = somewhere(LAMPS[lamp_kind])
    assert lamp_at is not None  # a holder was ensured above
    where[lamp] = lamp_at
    kinds[lamp] = lamp_kind

    others = [k for k in OBJECTS if k != kind]
    chosen = rng.permutation(len(others))[: draw.between(*DISTRACTOR_KINDS)].tolist()
    for other in sorted(others[i] for i in chosen):
        for n in range(1, draw.between(1, 2) + 1):
            place = somewhere(OBJECTS[other].receptacles)
            if place is not None:
                where[entity_id(other, n)] = place
                kinds[entity_id(other, n)] = other

    objects = tuple(sorted(where))
    layout = Layout(
        receptacles=tuple(receptacles),
        objects=objects,
        kinds=kinds,
        openable=frozenset(r for r in receptacles if RECEPTACLES[kinds[r]].openable),
        abilities={r: ability for r in receptacles if (ability := RECEPTACLES[kinds[r]].ability)},
        properties={o: OBJECTS[kinds[o]].properties for o in objects if kinds[o] in OBJECTS},
        lamps=frozenset({lamp}),
    )
    start = State(at=None, holding=None, where=tuple(where[o] for o in objects))
    goal_receptacle = by_kind[goal_kind][0] if goal_kind is not None else None
    task = make_task(
        family,
        targets,
        receptacle=goal_receptacle,
        lamp=lamp if family == "look_at_obj_in_light" else None,
        variant=draw.between(0, 1),
    )
    return Episode(layout, start, task)
