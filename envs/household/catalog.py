"""What a household can contain: receptacle kinds, object kinds and their properties, lamps.

The tables follow ALFRED's (AI2-THOR's) object types, lower-cased as ALFWorld writes them, so
that goal texts and commands read like ALFWorld's and an AI2-THOR adapter can map the same
vocabulary onto the simulator. ``ObjectKind.receptacles`` is commonsense knowledge of where a
kind of object is found (ALFRED's placement constraints, simplified): the generator places
objects only there and draws goal receptacles from it, and a planner may use it as a prior on
where to look first. It is public knowledge, not a peek at any one episode's layout.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
"""The six ALFRED task families, in ALFWorld's spelling."""

PROPERTIES: tuple[str, ...] = ("heatable", "coolable", "cleanable", "sliceable", "canslice")
"""Object properties, as static task facts ``(property, object)``."""

ABILITIES: dict[str, str] = {"heat": "canheat", "cool": "cancool", "clean": "canclean"}
"""What an appliance receptacle does -> its static task fact ``(canheat|..., receptacle)``."""


@dataclass(frozen=True)
class ReceptacleKind:
    """A kind of receptacle: how many a layout has, whether it opens, what it can do."""

    name: str
    count: tuple[int, int]
    openable: bool = False
    ability: str | None = None
    preposition: str = "on"


@dataclass(frozen=True)
class ObjectKind:
    """A kind of portable object: where it is found and what can be done to it."""

    name: str
    receptacles: tuple[str, ...]
    properties: frozenset[str] = frozenset()


def _kind(name: str, receptacles: str, properties: str = "") -> ObjectKind:
    return ObjectKind(name, tuple(receptacles.split()), frozenset(properties.split()))


RECEPTACLES: dict[str, ReceptacleKind] = {
    k.name: k
    for k in (
        ReceptacleKind("countertop", (1, 2)),
        ReceptacleKind("cabinet", (2, 4), openable=True, preposition="in"),
        ReceptacleKind("drawer", (1, 3), openable=True, preposition="in"),
        ReceptacleKind("shelf", (1, 2)),
        ReceptacleKind("fridge", (1, 1), openable=True, ability="cool", preposition="in"),
        ReceptacleKind("microwave", (1, 1), openable=True, ability="heat", preposition="in"),
        ReceptacleKind("sinkbasin", (1, 1), ability="clean", preposition="in"),
        ReceptacleKind("stoveburner", (1, 2)),
        ReceptacleKind("coffeemachine", (1, 1)),
        ReceptacleKind("diningtable", (1, 1)),
        ReceptacleKind("garbagecan", (1, 1), preposition="in"),
        ReceptacleKind("sidetable", (1, 2)),
        ReceptacleKind("desk", (0, 1)),
        ReceptacleKind("dresser", (0, 1)),
        ReceptacleKind("bed", (0, 1)),
    )
}
"""Receptacle kinds in layout order; ``count`` is the inclusive range of instances."""

_FOOD = "heatable coolable cleanable sliceable"
OBJECTS: dict[str, ObjectKind] = {
    k.name: k
    for k in (
        _kind("apple", "countertop diningtable fridge garbagecan sinkbasin", _FOOD),
        _kind("bread", "countertop diningtable fridge cabinet", "heatable coolable sliceable"),
        _kind("lettuce", "countertop diningtable fridge sinkbasin", "coolable cleanable sliceable"),
        _kind("tomato", "countertop diningtable fridge sinkbasin garbagecan", _FOOD),
        _kind("potato", "countertop diningtable fridge garbagecan", _FOOD),
        _kind("egg", "countertop diningtable fridge garbagecan", "heatable coolable cleanable"),
        _kind(
            "mug",
            "countertop cabinet coffeemachine diningtable shelf sinkbasin",
            "heatable coolable cleanable",
        ),
        _kind("cup", "countertop cabinet diningtable shelf fridge", "heatable coolable cleanable"),
        _kind(
            "plate", "countertop cabinet diningtable shelf fridge", "heatable coolable cleanable"
        ),
        _kind("bowl", "countertop cabinet diningtable shelf fridge", "coolable cleanable"),
        _kind("pan", "countertop cabinet stoveburner sinkbasin", "coolable cleanable"),
        _kind("pot", "countertop cabinet stoveburner sinkbasin", "coolable cleanable"),
        _kind("knife", "countertop diningtable drawer sinkbasin", "cleanable canslice"),
        _kind("butterknife", "countertop diningtable drawer", "cleanable canslice"),
        _kind("spoon", "countertop diningtable drawer sinkbasin", "cleanable"),
        _kind("fork", "countertop diningtable drawer sinkbasin", "cleanable"),
        _kind("spatula", "countertop diningtable drawer", "cleanable"),
        _kind("ladle", "countertop diningtable drawer", "cleanable"),
        _kind("dishsponge", "countertop sinkbasin cabinet drawer", "cleanable"),
        _kind("soapbottle", "countertop cabinet shelf"),
        _kind("saltshaker", "countertop cabinet shelf diningtable"),
        _kind("peppershaker", "countertop cabinet shelf diningtable"),
        _kind("winebottle", "countertop fridge cabinet diningtable", "coolable"),
        _kind("book", "desk sidetable shelf bed diningtable drawer dresser"),
        _kind("cd", "desk drawer shelf sidetable dresser"),
        _kind("cellphone", "desk bed sidetable dresser drawer diningtable"),
        _kind("pen", "desk drawer sidetable shelf dresser"),
        _kind("pencil", "desk drawer sidetable shelf dresser"),
        _kind("keychain", "dresser drawer sidetable shelf desk"),
        _kind("creditcard", "desk drawer dresser sidetable countertop diningtable"),
        _kind("alarmclock", "desk sidetable dresser shelf"),
        _kind("remotecontrol", "sidetable dresser diningtable desk"),
        _kind("laptop", "desk bed diningtable dresser"),
        _kind("vase", "shelf sidetable dresser diningtable cabinet countertop"),
        _kind("statue", "shelf sidetable dresser diningtable desk"),
        _kind("watch", "dresser sidetable desk drawer shelf"),
    )
}
"""Portable object kinds: where each is found, and its properties (see ``PROPERTIES``)."""

LAMPS: dict[str, tuple[str, ...]] = {
    "desklamp": ("desk", "sidetable", "dresser"),
    "floorlamp": ("sidetable", "desk", "dresser"),
}
"""Lamp kinds (toggleable, not portable) and the receptacles they stand on or next to."""

LOOK_OBJECTS: tuple[str, ...] = (
    "alarmclock",
    "book",
    "bowl",
    "cd",
    "cellphone",
    "creditcard",
    "cup",
    "keychain",
    "laptop",
    "mug",
    "pen",
    "pencil",
    "plate",
    "remotecontrol",
    "statue",
    "vase",
    "watch",
)
"""Objects that ``look_at_obj_in_light`` asks to examine (ALFRED's list, for kinds we have)."""

APPLIANCE: dict[str, str] = {
    "pick_clean_then_place_in_recep": "sinkbasin",
    "pick_heat_then_place_in_recep": "microwave",
    "pick_cool_then_place_in_recep": "fridge",
}
"""The receptacle kind each transforming family uses (never the goal receptacle)."""

FAMILY_PROPERTY: dict[str, str] = {
    "pick_clean_then_place_in_recep": "cleanable",
    "pick_heat_then_place_in_recep": "heatable",
    "pick_cool_then_place_in_recep": "coolable",
}
"""The property a transforming family's object must have."""


def where_found(kind: str) -> tuple[str, ...]:
    """Receptacle kinds where an object or lamp of ``kind`` is found (empty if unknown)."""
    if kind in OBJECTS:
        return OBJECTS[kind].receptacles
    return LAMPS.get(kind, ())
