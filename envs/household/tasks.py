"""The six ALFRED task families: each one's goal text (ALFWorld's templates) and symbolic goal.

Goal texts name kinds, not instances ("put a clean apple in fridge."), as ALFWorld's do. The
generator makes that exact: the layout has exactly one object of the target kind (two for
``pick_two_obj_and_place``), one receptacle of the goal kind and one lamp, so the ground goal
atoms below mean the same as the text.

Goal atoms are facts the agent perceives when the goal holds:

==================================  ==============================================================
family                              goal facts
==================================  ==============================================================
``pick_and_place_simple``           ``("in", o, r)``
``look_at_obj_in_light``            ``("holding", o)``, ``("toggled", lamp)`` (the lamp in view)
``pick_clean_then_place_in_recep``  ``("cleaned", o)``, ``("in", o, r)``
``pick_heat_then_place_in_recep``   ``("heated", o)``, ``("in", o, r)``
``pick_cool_then_place_in_recep``   ``("cooled", o)``, ``("in", o, r)``
``pick_two_obj_and_place``          ``("in", o1, r)``, ``("in", o2, r)``
==================================  ==============================================================

``toggled`` is perceived only while the lamp is in view, so the look-at goal holds exactly when
the agent holds the object at the lamp with the lamp on, which is ALFWorld's success test.
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.base import Atom
from envs.household.catalog import RECEPTACLES
from envs.household.names import kind_of

_TEMPLATES: dict[str, tuple[str, str]] = {
    "pick_and_place_simple": ("put a {o} {p} {r}.", "put some {o} {p} {r}."),
    "look_at_obj_in_light": ("look at {o} under the {l}.", "examine the {o} with the {l}."),
    "pick_clean_then_place_in_recep": (
        "put a clean {o} {p} {r}.",
        "clean some {o} and put it {p} {r}.",
    ),
    "pick_heat_then_place_in_recep": (
        "put a hot {o} {p} {r}.",
        "heat some {o} and put it {p} {r}.",
    ),
    "pick_cool_then_place_in_recep": (
        "put a cool {o} {p} {r}.",
        "cool some {o} and put it {p} {r}.",
    ),
    "pick_two_obj_and_place": ("put two {o} {p} {r}.", "find two {o} and put them {p} {r}."),
}

_FLAG: dict[str, str] = {
    "pick_clean_then_place_in_recep": "cleaned",
    "pick_heat_then_place_in_recep": "heated",
    "pick_cool_then_place_in_recep": "cooled",
}


@dataclass(frozen=True)
class Task:
    """One episode's task: its family, goal text and ground goal atoms, and the entities."""

    family: str
    text: str
    goal: frozenset[Atom]
    targets: tuple[str, ...]
    receptacle: str | None = None
    lamp: str | None = None


def make_task(
    family: str,
    targets: tuple[str, ...],
    *,
    receptacle: str | None = None,
    lamp: str | None = None,
    variant: int = 0,
) -> Task:
    """The task of ``family`` for these entities; ``variant`` picks one of two ALFWorld wordings."""
    template = _TEMPLATES[family][variant % 2]
    obj = kind_of(targets[0])
    if family == "look_at_obj_in_light":
        if lamp is None:
            raise ValueError("look_at_obj_in_light needs a lamp")
        text = template.format(o=obj, l=kind_of(lamp))
        goal: set[Atom] = {("holding", targets[0]), ("toggled", lamp)}
        return Task(family, text, frozenset(goal), targets, None, lamp)
    if receptacle is None:
        raise ValueError(f"{family} needs a goal receptacle")
    kind = kind_of(receptacle)
    text = template.format(o=obj, p=RECEPTACLES[kind].preposition, r=kind)
    goal = {("in", t, receptacle) for t in targets}
    if family in _FLAG:
        goal.add((_FLAG[family], targets[0]))
    return Task(family, text, frozenset(goal), targets, receptacle, lamp)
