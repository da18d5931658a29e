"""The household's state and rules: one source of truth for the env, the solver and the tests.

A :class:`Layout` is what does not change during an episode (which receptacles and objects exist,
their kinds and properties); a :class:`State` is what does (where the agent and every object are,
what is open, heated, toggled...). States are immutable and hashable, so the same
:func:`admissible`/:func:`apply` pair steps the environment and drives the breadth-first search
that computes ``optimal_steps``: the optimum is measured with the very rules the agent plays by.

Rules, ALFWorld-like: the agent is at one receptacle at a time (``go to`` teleports, one step); it
sees inside a receptacle only while there and only if it is open (or cannot be closed); it holds
at most one object; ``heat``/``cool``/``clean`` need the object held at a receptacle that can do
it (a microwave, fridge, sinkbasin: used as a whole, no need to open it); ``slice`` needs a
knife held and the object in view; ``use`` switches a lamp in view on or off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from envs.base import Atom
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


def accessible(layout: Layout, state: State, receptacle: str) -> bool:
    """Whether a receptacle's contents can be seen and reached: it is open or cannot close."""
    return receptacle not in layout.openable or ("opened", receptacle) in state.flags


def contents(layout: Layout, state: State, receptacle: str) -> list[str]:
    """Objects in ``receptacle``, in layout order, whether or not they can be seen."""
    return [o for o, r in zip(layout.objects, state.where, strict=True) if r == receptacle]


def in_view(layout: Layout, state: State) -> list[str]:
    """Objects the agent sees on or in the receptacle it is at (not what it holds)."""
    if state.at is None or not accessible(layout, state, state.at):
        return []
    return contents(layout, state, state.at)


_ABLE = {"heat": "heatable", "cool": "coolable", "clean": "cleanable"}
"""The property an object needs for each appliance verb."""


def is_admissible(layout: Layout, state: State, cmd: Command) -> bool:
    """Whether ``cmd`` can be carried out now; unknown names make it inadmissible."""
    verb, args, at, held = cmd.verb, cmd.args, state.at, state.holding
    if verb in ("look", "inventory"):
        return True
    if verb == "go":
        return args[0] in layout.receptacle_set and args[0] != at
    if at is None:
        return False
    if verb in ("open", "close"):
        opened = ("opened", at) in state.flags
        return args[0] == at and at in layout.openable and opened == (verb == "close")
    if verb == "examine":
        return args[0] in (at, held)
    reach = accessible(layout, state, at)
    if verb == "take":
        obj, rec = args
        return (
            held is None
            and rec == at
            and reach
            and obj in layout.index
            and obj not in layout.lamps
            and location(layout, state, obj) == at
        )
    if verb == "put":
        return held is not None and args == (held, at) and reach
    if verb in ABILITIES:
        able = _ABLE[verb]
        return (
            held is not None
            and args == (held, at)
            and layout.abilities.get(at) == verb
            and layout.has(held, able)
        )
    if verb == "slice":
        obj, knife = args
        return (
            held == knife
            and layout.has(knife, "canslice")
            and reach
            and obj in layout.index
            and location(layout, state, obj) == at
            and layout.has(obj, "sliceable")
            and ("sliced", obj) not in state.flags
        )
    if verb == "use":
        lamp = args[0]
        return lamp in layout.lamps and reach and location(layout, state, lamp) == at
    return False


def admissible(layout: Layout, state: State) -> list[Command]:
    """Every command that can be carried out now, sorted by its text (stable, readable)."""
    at, held = state.at, state.holding
    out = [Command("go", (r,)) for r in layout.receptacles if r != at]
    out += [Command("look"), Command("inventory")]
    if held is not None:
        out.append(Command("examine", (held,)))
    if at is not None:
        out.append(Command("examine", (at,)))
        out += [Command(v, (at,)) for v in ("open", "close")]
        seen = in_view(layout, state)
        if held is None:
            out += [Command("take", (o, at)) for o in seen]
        else:
            out += [Command(v, (held, at)) for v in ("put", *ABILITIES)]
            out += [Command("slice", (o, held)) for o in seen]
        out += [Command("use", (o,)) for o in seen if o in layout.lamps]
    return sorted((c for c in out if is_admissible(layout, state, c)), key=lambda c: c.text)


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
