"""The household's state and rules: one source of truth for the env, the solver and the tests.

A :class:`Layout` is what does not change during an episode (which receptacles and objects exist,
their kinds and properties); a :class:`State` is what does (where the agent and every object are,
what is open, heated, toggled...). States are immutable and hashable, so the same
:func:`admissible`/:func:`apply` pair steps the environment and drives the breadth-first search
that computes ``optimal_steps``: the optimum is measured with the very rules the agent plays by.

Which commands are admissible is written once, in :mod:`envs.household.rules`, for this
household and AI2-THOR's alike; :class:`StateView` shows a state to those rules, and
:func:`apply` says what an admissible command changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from envs.base import Atom
from envs.household import rules
from envs.household.catalog import ABILITIES
from envs.household.commands import Command

STATE_FLAGS: tuple[str, ...] = ("heated", "cooled", "cleaned", "sliced", "toggled")
"""Per-object state predicates, perceived for objects in view (or held)."""


@dataclass(frozen=True)
class Layout:
    """The static part of an episode (hashing is not needed, so mappings are fine here)."""

    receptacles: tuple[str, ...]
    objects: tuple[str, ...]
    kinds: Mapping[str, str]
    openable: frozenset[str]
    abilities: Mapping[str, str]
    properties: Mapping[str, frozenset[str]]
    lamps: frozenset[str]

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each object in ``objects`` (and in ``State.where``)."""
        return {o: i for i, o in enumerate(self.objects)}

    @cached_property
    def receptacle_set(self) -> frozenset[str]:
        return frozenset(self.receptacles)

    def has(self, obj: str, prop: str) -> bool:
        """Whether object ``obj`` has property ``prop`` (``heatable``, ``canslice``...)."""
        return prop in self.properties.get(obj, frozenset())

    def task_facts(self) -> frozenset[Atom]:
        """Static facts about every entity (kinds, properties), never where objects are."""
        facts: set[Atom] = set()
        for r in self.receptacles:
            facts.add(("receptacle", r))
            facts.add(("type", r, self.kinds[r]))
            if r in self.openable:
                facts.add(("openable", r))
            if r in self.abilities:
                facts.add((ABILITIES[self.abilities[r]], r))
        for o in self.objects:
            facts.add(("object", o))
            facts.add(("type", o, self.kinds[o]))
            if o in self.lamps:
                facts.add(("toggleable", o))
            else:
                facts.add(("pickupable", o))
            facts.update((p, o) for p in self.properties.get(o, ()))
        return frozenset(facts)


@dataclass(frozen=True, slots=True)
class State:
    """What changes during an episode.

    The agent's receptacle (``None``: the middle of the room), what it holds, each object's
    receptacle (aligned with ``Layout.objects``; ``None`` while held) and the
    flags ``("opened", r)``, ``("heated", o)``, ``("cooled", o)``, ``("cleaned", o)``,
    ``("sliced", o)``, ``("toggled", lamp)``.
    """

    at: str | None
    holding: str | None
    where: tuple[str | None, ...]
    flags: frozenset[Atom] = frozenset()


def location(layout: Layout, state: State, obj: str) -> str | None:
    """The receptacle ``obj`` is in (``None`` while held)."""
    return state.where[layout.index[obj]]


def contents(layout: Layout, state: State, receptacle: str) -> list[str]:
    """Objects in ``receptacle``, in layout order, whether or not they can be seen."""
    return [o for o, r in zip(layout.objects, state.where, strict=True) if r == receptacle]


@dataclass(frozen=True, slots=True)
class StateView:
    """A state of a layout, as the shared rules and text see a household (:mod:`.rules`)."""

    layout: Layout
    state: State

    @property
    def at(self) -> str | None:
        return self.state.at

    @property
    def holding(self) -> str | None:
        return self.state.holding

    @property
    def receptacles(self) -> tuple[str, ...]:
        return self.layout.receptacles

    def is_receptacle(self, entity: str) -> bool:
        return entity in self.layout.receptacle_set

    def is_object(self, entity: str) -> bool:
        return entity in self.layout.index

    def is_lamp(self, entity: str) -> bool:
        return entity in self.layout.lamps

    def openable(self, receptacle: str) -> bool:
        return receptacle in self.layout.openable

    def is_open(self, receptacle: str) -> bool:
        return ("opened", receptacle) in self.state.flags

    def contents(self, receptacle: str) -> list[str]:
        return contents(self.layout, self.state, receptacle)

    def location_of(self, obj: str) -> str | None:
        return location(self.layout, self.state, obj)

    def ability(self, receptacle: str) -> str | None:
        return self.layout.abilities.get(receptacle)

    def has(self, obj: str, prop: str) -> bool:
        return self.layout.has(obj, prop)

    def flags(self, obj: str) -> frozenset[str]:
        return frozenset(p for p in STATE_FLAGS if (p, obj) in self.state.flags)


def accessible(layout: Layout, state: State, receptacle: str) -> bool:
    """Whether a receptacle's contents can be seen and reached: it is open or cannot close."""
    return rules.accessible(StateView(layout, state), receptacle)


def in_view(layout: Layout, state: State) -> list[str]:
    """Objects the agent sees on or in the receptacle it is at (not what it holds)."""
    return rules.in_view(StateView(layout, state))


def is_admissible(layout: Layout, state: State, cmd: Command) -> bool:
    """Whether ``cmd`` can be carried out now (:func:`.rules.is_admissible`)."""
    return rules.is_admissible(StateView(layout, state), cmd)


def admissible(layout: Layout, state: State) -> list[Command]:
    """Every command that can be carried out now, sorted by its text (:func:`.rules.admissible`)."""
    return rules.admissible(StateView(layout, state))


def apply(layout: Layout, state: State, cmd: Command) -> State:
    """The state after an admissible ``cmd`` (the caller checks admissibility)."""
    verb, args, flags = cmd.verb, cmd.args, state.flags
    if verb == "go":
        return replace(state, at=args[0])
    if verb == "open":
        return replace(state, flags=flags | {("opened", args[0])})
    if verb == "close":
        return replace(state, flags=flags - {("opened", args[0])})
    if verb in ("take", "put"):
        obj = args[0]
        where = list(state.where)
        where[layout.index[obj]] = None if verb == "take" else state.at
        return replace(state, holding=obj if verb == "take" else None, where=tuple(where))
    if verb == "heat":
        return replace(state, flags=(flags - {("cooled", args[0])}) | {("heated", args[0])})
    if verb == "cool":
        return replace(state, flags=(flags - {("heated", args[0])}) | {("cooled", args[0])})
    if verb == "clean":
        return replace(state, flags=flags | {("cleaned", args[0])})
    if verb == "slice":
        return replace(state, flags=flags | {("sliced", args[0])})
    if verb == "use":
        return replace(state, flags=flags ^ {("toggled", args[0])})
    return state  # examine, look, inventory: nothing changes


def perceived_facts(layout: Layout, state: State) -> frozenset[Atom]:
    """What the agent perceives now: its own state and what is in view, never hidden state."""
    facts: set[Atom] = set()
    seen: list[str] = []
    if state.holding is not None:
        facts.add(("holding", state.holding))
        seen.append(state.holding)
    if state.at is not None:
        facts.add(("at", state.at))
        if ("opened", state.at) in state.flags:
            facts.add(("opened", state.at))
        for o in in_view(layout, state):
            facts.add(("in", o, state.at))
            seen.append(o)
    for o in seen:
        facts.update((p, o) for p in STATE_FLAGS if (p, o) in state.flags)
    return frozenset(facts)


def goal_reached(layout: Layout, state: State, goal: frozenset[Atom]) -> bool:
    """The goal holds when the agent perceives every goal atom (a lamp must be in view)."""
    return goal <= perceived_facts(layout, state)
