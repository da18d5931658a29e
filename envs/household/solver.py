"""Shortest plans with full knowledge, by breadth-first search over the env's own rules.

``info["optimal_steps"]`` is the length of the shortest command sequence that reaches the goal
when every object's location is known. The search uses :mod:`envs.household.world` itself, so
the optimum is measured with the rules the agent plays by, and only considers what can matter:

* the goal's objects (and lamp), and the receptacles they start in, the goal receptacle and the
  appliances the goal needs: going anywhere else, or touching any other object, never helps;
* ``go to``, ``open``, ``take``, ``put``, ``heat``/``cool``/``clean`` and ``use``: closing,
  slicing, looking and examining never bring the goal closer.

That leaves a few hundred states at most, searched in milliseconds at reset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from envs.base import Atom
from envs.household.catalog import ABILITIES
from envs.household.commands import Command
from envs.household.world import Layout, State, apply, goal_reached, is_admissible, location

_NEEDS = {"heated": "heat", "cooled": "cool", "cleaned": "clean"}


def relevant(layout: Layout, start: State, goal: frozenset[Atom]) -> tuple[list[str], list[str]]:
    """The objects and receptacles a shortest plan for ``goal`` can involve (layout order)."""
    named = {a for atom in goal for a in atom[1:]}
    objects = [o for o in layout.objects if o in named]
    places = {location(layout, start, o) for o in objects} | (named & layout.receptacle_set)
    abilities = {_NEEDS[atom[0]] for atom in goal if atom[0] in _NEEDS}
    places |= {r for r, a in layout.abilities.items() if a in abilities}
    return objects, [r for r in layout.receptacles if r in places]


def _moves(
    layout: Layout, state: State, objects: list[str], places: list[str]
) -> Iterator[Command]:
    for r in places:
        yield Command("go", (r,))
    at = state.at
    if at is None:
        return
    yield Command("open", (at,))
    held = state.holding
    if held is None:
        for o in objects:
            yield Command("take", (o, at))
    else:
        yield Command("put", (held, at))
        for verb in ABILITIES:
            yield Command(verb, (held, at))
    for o in objects:
        if o in layout.lamps:
            yield Command("use", (o,))


def shortest_plan(layout: Layout, start: State, goal: frozenset[Atom]) -> list[Command] | None:
    """A shortest command sequence from ``start`` to a state where ``goal`` holds, or ``None``."""
    if goal_reached(layout, start, goal):
        return []
    objects, places = relevant(layout, start, goal)
    parent: dict[State, tuple[State, Command] | None] = {start: None}
    frontier = deque([start])
    while frontier:
        state = frontier.popleft()
        for cmd in _moves(layout, state, objects, places):
            if not is_admissible(layout, state, cmd):
                continue
            nxt = apply(layout, state, cmd)
            if nxt in parent:
                continue
            parent[nxt] = (state, cmd)
            if goal_reached(layout, nxt, goal):
                plan = [cmd]
                link = parent[state]
                while link is not None:
                    plan.append(link[1])
                    link = parent[link[0]]
                return plan[::-1]
            frontier.append(nxt)
    return None
