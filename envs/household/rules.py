"""ALFWorld's rules for which commands can be tried, written once for every household.

Two environments play by these rules: the symbolic household (its :class:`~envs.household.world.
State` seen through :class:`~envs.household.world.StateView`) and AI2-THOR (its
:class:`~envs.ai2thor.scene.World`, built from the simulator's metadata). Both answer the
questions of :class:`HouseholdView`, so the rules below are the only copy: a rule changed here
changes what both accept, what both list in ``info["admissible_actions"]``, and the optimum the
household's solver measures with them.

The rules, ALFWorld-like: the agent is at one receptacle at a time (``go to`` teleports, one
step); it sees inside a receptacle only while there and only if it is open (or cannot be closed);
it holds at most one object; ``heat``/``cool``/``clean`` need the object held at a receptacle
that can do it (a microwave, fridge, sinkbasin: used as a whole, no need to open it); ``slice``
needs a knife held and the object in view; ``use`` switches a lamp in view on or off.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from envs.household.commands import Command

TREATABLE: dict[str, str] = {"heat": "heatable", "cool": "coolable", "clean": "cleanable"}
"""The property an object needs for each appliance verb."""

APPLIANCE_VERBS: tuple[str, ...] = tuple(TREATABLE)


class HouseholdView(Protocol):
    """What the rules (and the text, :mod:`envs.household.text`) ask of a household now.

    Entities are entity ids (``apple_1``); a name the household does not know is neither a
    receptacle nor an object.
    """

    @property
    def at(self) -> str | None:
        """The receptacle the agent is at (``None``: the middle of the room)."""

    @property
    def holding(self) -> str | None:
        """The object the agent holds."""

    @property
    def receptacles(self) -> Sequence[str]:
        """Every receptacle, in the order the household lists them."""

    def is_receptacle(self, entity: str) -> bool: ...

    def is_object(self, entity: str) -> bool:
        """Whether ``entity`` is an object: something to pick up, or a lamp."""

    def is_lamp(self, entity: str) -> bool: ...

    def openable(self, receptacle: str) -> bool: ...

    def is_open(self, receptacle: str) -> bool: ...

    def contents(self, receptacle: str) -> list[str]:
        """The objects in or on ``receptacle``, whether or not they can be seen."""

    def location_of(self, obj: str) -> str | None:
        """The receptacle ``obj`` is in or on (``None`` while held)."""

    def ability(self, receptacle: str) -> str | None:
        """``heat``, ``cool`` or ``clean`` for an appliance, else ``None``."""

    def has(self, obj: str, prop: str) -> bool:
        """Whether ``obj`` has a static property (``heatable`` ... ``sliceable``, ``canslice``)."""

    def flags(self, obj: str) -> Collection[str]:
        """The state predicates that hold of ``obj``: ``heated`` ... ``sliced``, ``toggled``."""


def accessible(view: HouseholdView, receptacle: str) -> bool:
    """Whether a receptacle's contents can be seen and reached: it is open or cannot close."""
    return not view.openable(receptacle) or view.is_open(receptacle)


def in_view(view: HouseholdView) -> list[str]:
    """Objects the agent sees on or in the receptacle it is at (not what it holds)."""
    at = view.at
    if at is None or not accessible(view, at):
        return []
    return view.contents(at)


def is_admissible(view: HouseholdView, cmd: Command) -> bool:
    """Whether ``cmd`` can be tried now; unknown names make it inadmissible."""
    verb, args, at, held = cmd.verb, cmd.args, view.at, view.holding
    if verb in ("look", "inventory"):
        return True
    if verb == "go":
        return view.is_receptacle(args[0]) and args[0] != at
    if at is None:
        return False
    if verb in ("open", "close"):
        return args[0] == at and view.openable(at) and view.is_open(at) == (verb == "close")
    if verb == "examine":
        return args[0] in (at, held)
    reach = accessible(view, at)
    if verb == "take":
        obj, rec = args
        return (
            held is None
            and rec == at
            and reach
            and view.is_object(obj)
            and not view.is_lamp(obj)
            and view.location_of(obj) == at
        )
    if verb == "put":
        return held is not None and args == (held, at) and reach
    if verb in TREATABLE:
        return (
            held is not None
            and args == (held, at)
            and view.ability(at) == verb
            and view.has(held, TREATABLE[verb])
        )
    if verb == "slice":
        obj, knife = args
        return (
            held == knife
            and view.has(knife, "canslice")
            and reach
            and view.is_object(obj)
            and view.location_of(obj) == at
            and view.has(obj, "sliceable")
            and "sliced" not in view.flags(obj)
        )
    if verb == "use":
        lamp = args[0]
        return view.is_lamp(lamp) and reach and view.location_of(lamp) == at
    return False


def admissible(view: HouseholdView) -> list[Command]:
    """Every command that can be tried now, sorted by its text (stable, readable)."""
    at, held = view.at, view.holding
    out = [Command("go", (r,)) for r in view.receptacles if r != at]
    out += [Command("look"), Command("inventory")]
    if held is not None:
        out.append(Command("examine", (held,)))
    if at is not None:
        out.append(Command("examine", (at,)))
        out += [Command(v, (at,)) for v in ("open", "close")]
        seen = in_view(view)
        if held is None:
            out += [Command("take", (o, at)) for o in seen]
        else:
            out += [Command(v, (held, at)) for v in ("put", *APPLIANCE_VERBS)]
            out += [Command("slice", (o, held)) for o in seen]
        out += [Command("use", (o,)) for o in seen if view.is_lamp(o)]
    return sorted((c for c in out if is_admissible(view, c)), key=lambda c: c.text)
