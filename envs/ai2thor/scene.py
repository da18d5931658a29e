"""What AI2-THOR's metadata says, in the household vocabulary: names, facts and ALFWorld text.

AI2-THOR describes a scene as ``event.metadata["objects"]``, one dict per object with its
``objectId`` (``"Apple|-00.47|+01.15|+00.48"``), ``objectType`` and state flags. The agent, like
an ALFWorld agent, talks about entities: ``apple_1`` in facts (one token, as in PDDL), ``apple 1``
in text and commands. :class:`World` keeps the episode's stable mapping objectId <-> entity and
turns the latest metadata into facts, with the symbolic household's vocabulary
(``envs.household``, ``docs/household.md``) so that the same planner adapter works on both. It
is also a :class:`~envs.household.rules.HouseholdView`: the household's own rules say which
commands are admissible, and its own text (:mod:`envs.household.text`) describes the scene.

Two kinds of entities:

*receptacles*
    receptacles that do not move (``receptacle`` and not ``pickupable``): cabinets, counter
    tops, drawers, the fridge, the microwave, the sink basin, ... The targets of ``go to``.
    ``Floor`` is none, and ``Sink``/``Bathtub`` are replaced by their basins, as in ALFWorld.
*objects*
    everything the agent can pick up (``pickupable``), and desk and floor lamps (for ``use``).

Entities are numbered per kind in objectId order when first seen (``cabinet_1`` ... ``cabinet_9``)
and keep their number for the episode; slices that appear when an object is sliced are numbered
on from there (``applesliced_1`` ...). Other scene objects (walls, stove knobs, the faucet) get
no name; the environment still uses the faucet to ``clean``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from envs.base import Atom
from envs.household import rules
from envs.household.catalog import ABILITIES, RECEPTACLES
from envs.household.names import entity_parts, fact_name
from envs.household.names import text_name as strict_text_name

ThorObject = dict[str, Any]
"""One entry of ``event.metadata["objects"]``."""

NOT_RECEPTACLES = frozenset({"Floor", "Sink", "Bathtub"})
LAMP_TYPES = frozenset({"DeskLamp", "FloorLamp"})
KNIFE_TYPES = frozenset({"Knife", "ButterKnife"})

# ALFRED's lists of what can be heated, cooled and cleaned (by AI2-THOR type); ``sliceable``
# comes from the metadata's own flag and ``canslice`` from KNIFE_TYPES.


def _types(names: str) -> frozenset[str]:
    return frozenset(names.split())


HEATABLE = _types(
    "Apple AppleSliced Bread BreadSliced Cup Egg Mug Plate Potato PotatoSliced Tomato TomatoSliced"
)
COOLABLE = _types(
    "Apple AppleSliced Bowl Bread BreadSliced Cup Egg Lettuce LettuceSliced Mug Pan Plate Pot "
    "Potato PotatoSliced Tomato TomatoSliced WineBottle"
)
CLEANABLE = _types(
    "Apple AppleSliced Bowl ButterKnife Cloth Cup DishSponge Egg Fork Kettle Knife Ladle Lettuce "
    "LettuceSliced Mug Pan Plate Pot Potato PotatoSliced SoapBar Spatula Spoon Tomato TomatoSliced"
)

#: What each appliance does, by kind (the household's: ``microwave`` -> ``heat`` ...).
APPLIANCES = {k.name: k.ability for k in RECEPTACLES.values() if k.ability is not None}
#: The object state each treatment sets.
TREATED = {"heat": "heated", "cool": "cooled", "clean": "cleaned"}
#: Receptacle kinds things go *in* (the rest: *on*), for task texts.
IN_KINDS = frozenset(
    {"cabinet", "drawer", "fridge", "microwave", "sinkbasin", "bathtubbasin", "garbagecan", "safe"}
)


def text_name(entity: str) -> str:
    """``"apple_1"`` -> ``"apple 1"`` (the form commands and text use); other names unchanged."""
    try:
        return strict_text_name(entity)
    except ValueError:
        return entity


def entity_id(text: str) -> str:
    """``"apple 1"`` -> ``"apple_1"`` (the form facts use); other names unchanged."""
    try:
        return fact_name(text)
    except ValueError:
        return text


def entity_key(entity: str) -> tuple[str, int]:
    """Natural sort key (``cabinet_2`` before ``cabinet_10``)."""
    return entity_parts(entity) or (entity, 0)


def kind_word(object_type: str) -> str:
    """The kind an AI2-THOR type is named by: ``"SinkBasin"`` -> ``"sinkbasin"``."""
    return object_type.lower()


def kind_of(obj: Mapping[str, Any]) -> str | None:
    """``"receptacle"``, ``"object"`` or ``None`` (no name) for one metadata object."""
    object_type = str(obj.get("objectType", ""))
    if obj.get("pickupable") or object_type in LAMP_TYPES:
        return "object"
    if obj.get("receptacle") and object_type not in NOT_RECEPTACLES:
        return "receptacle"
    return None


def planar_distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Distance on the floor plane (x, z) between two positions."""
    return math.hypot(float(a["x"]) - float(b["x"]), float(a["z"]) - float(b["z"]))


def _hot(obj: Mapping[str, Any]) -> bool:
    return obj.get("temperature") == "Hot" or bool(obj.get("isCooked"))


def _cold(obj: Mapping[str, Any]) -> bool:
    return obj.get("temperature") == "Cold"


class World:
    """The agent's side of one episode: entity names, where the agent is, the latest metadata.

    ``at`` is the receptacle the agent last went to (``None`` at the start: "the middle of the
    room"). ``treated`` holds what a ``heat``/``cool``/``clean`` command did, by objectId, as
    ALFRED's own environment keeps it. An object also counts as heated (cooled, cleaned) when
    its metadata turns ``Hot`` or cooked (``Cold``; from dirty to clean) during the episode; a
    state it had at reset does not count (the egg that starts cold in the fridge has not been
    *cooled*). Heating an object un-cools it and cooling un-heats it, as in the household.
    """

    def __init__(self, metadata: Mapping[str, Any], *, partial: bool = True) -> None:
        self.partial = partial
        self.names: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._kinds: dict[str, str] = {}
        self._baseline: dict[str, tuple[bool, bool]] = {}
        self._was_dirty: set[str] = set()
        self.at: str | None = None
        self.treated: dict[str, str] = {}  # objectId -> heated | cooled | cleaned (last)
        self.cleaned: set[str] = set()
        self.metadata: Mapping[str, Any] = {}
        self.objects: dict[str, ThorObject] = {}
        self.update(metadata)

    # ------------------------------------------------------------------ updating

    def update(self, metadata: Mapping[str, Any]) -> None:
        """Take in a new event's metadata; objects seen for the first time get names."""
        self.metadata = metadata
        self.objects = {str(o["objectId"]): o for o in metadata.get("objects") or []}
        for oid in sorted(o for o in self.objects if o not in self._baseline):
            obj = self.objects[oid]
            self._baseline[oid] = (_hot(obj), _cold(obj))
            kind = kind_of(obj)
            if kind is None:
                continue
            word = kind_word(str(obj["objectType"]))
            self._counts[word] = self._counts.get(word, 0) + 1
            name = f"{word}_{self._counts[word]}"
            self.names[oid] = name
            self.ids[name] = oid
            self._kinds[oid] = kind
        self._was_dirty.update(oid for oid, obj in self.objects.items() if obj.get("isDirty"))

    def treat(self, verb: str, entity: str) -> None:
        """Record a successful ``heat``/``cool``/``clean`` of ``entity``."""
        oid = self.ids[entity]
        if verb == "clean":
            self.cleaned.add(oid)
        else:
            self.treated[oid] = TREATED[verb]

    # ------------------------------------------------------------------ queries

    def kind(self, entity: str) -> str | None:
        oid = self.ids.get(entity)
        return self._kinds.get(oid) if oid is not None else None

    def is_receptacle(self, entity: str) -> bool:
        return self.kind(entity) == "receptacle"

    def is_object(self, entity: str) -> bool:
        return self.kind(entity) == "object"

    def obj(self, entity: str) -> ThorObject | None:
        """The current metadata of an entity (``None`` once it is gone, e.g. sliced away)."""
        oid = self.ids.get(entity)
        return self.objects.get(oid) if oid is not None else None

    def thor_type(self, entity: str) -> str:
        obj = self.obj(entity)
        return str(obj["objectType"]) if obj is not None else ""

    def kind_word(self, entity: str) -> str:
        """The entity's kind word (``apple`` for ``apple_1``)."""
        return entity_key(entity)[0]

    def _present(self, kind: str) -> list[str]:
        return sorted(
            (
                n
                for oid, n in self.names.items()
                if self._kinds[oid] == kind and oid in self.objects
            ),
            key=entity_key,
        )

    @property
    def receptacles(self) -> list[str]:
        """Every receptacle entity in the scene, in natural order."""
        return self._present("receptacle")

    @property
    def things(self) -> list[str]:
        """Every object entity in the scene (perceived or not), in natural order."""
        return self._present("object")

    def is_lamp(self, entity: str) -> bool:
        return self.thor_type(entity) in LAMP_TYPES

    @property
    def holding(self) -> str | None:
        """The held object, from ``inventoryObjects``."""
        for entry in self.metadata.get("inventoryObjects") or []:
            name = self.names.get(str(entry.get("objectId")))
            if name is not None:
                return name
        return None

    def location_of(self, entity: str) -> str | None:
        """The receptacle an object is in or on: its first parent receptacle that has a name.

        A lamp standing on the floor (a floor lamp) is next to the nearest receptacle.
        """
        obj = self.obj(entity)
        if obj is None or obj.get("isPickedUp"):
            return None
        for parent in obj.get("parentReceptacles") or []:
            if self._kinds.get(str(parent)) == "receptacle":
                return self.names[str(parent)]
        if obj.get("objectType") in LAMP_TYPES and self.receptacles:
            position = obj["position"]
            return min(
                self.receptacles,
                key=lambda r: (planar_distance(self.objects[self.ids[r]]["position"], position), r),
            )
        return None

    def is_open(self, entity: str) -> bool:
        obj = self.obj(entity)
        return bool(obj is not None and obj.get("isOpen"))

    def openable(self, entity: str) -> bool:
        obj = self.obj(entity)
        return bool(obj is not None and obj.get("openable"))

    def contents(self, receptacle: str) -> list[str]:
        """The objects in or on a receptacle, in natural order, whether or not they are seen."""
        return [t for t in self.things if self.location_of(t) == receptacle]

    def in_view(self) -> list[str]:
        """Objects in or on the receptacle the agent is at, when it is accessible."""
        return rules.in_view(self)

    def perceived(self, entity: str) -> bool:
        """Whether the agent perceives an object now (always, under full observability).

        Partially observed (the default), as in ALFWorld: the object is held, or in view (in or
        on the receptacle the agent is at, which is open), or AI2-THOR reports it ``visible``
        (in the camera's view within ``visibilityDistance``; never inside something closed).
        """
        obj = self.obj(entity)
        if obj is None:
            return False
        if not self.partial or obj.get("isPickedUp") or obj.get("visible"):
            return True
        return entity in self.in_view()

    def properties(self, entity: str) -> set[str]:
        """The household's static properties of an object: heatable ... sliceable, canslice."""
        obj = self.obj(entity)
        if obj is None:
            return set()
        t = str(obj.get("objectType"))
        props = {
            p
            for p, types in (
                ("heatable", HEATABLE),
                ("coolable", COOLABLE),
                ("cleanable", CLEANABLE),
            )
            if t in types
        }
        if obj.get("sliceable"):
            props.add("sliceable")
        if t in KNIFE_TYPES:
            props.add("canslice")
        return props

    def has(self, obj: str, prop: str) -> bool:
        return prop in self.properties(obj)

    def ability(self, receptacle: str) -> str | None:
        """``heat``, ``cool`` or ``clean`` for a microwave, fridge or (faucet-fed) sink basin."""
        verb = APPLIANCES.get(self.kind_word(receptacle))
        if verb == "clean" and self.faucet_for(receptacle) is None:
            return None
        return verb

    def faucet_for(self, receptacle: str) -> str | None:
        """The objectId of the faucet nearest to a sink basin (``None``: no faucet)."""
        basin = self.obj(receptacle)
        if basin is None:
            return None
        faucets = [o for o in self.objects.values() if o.get("objectType") == "Faucet"]
        if not faucets:
            return None
        nearest = min(
            faucets,
            key=lambda o: (planar_distance(o["position"], basin["position"]), o["objectId"]),
        )
        return str(nearest["objectId"])

    def flags(self, entity: str) -> set[str]:
        """The state predicates that hold of an object: heated ... sliced, toggled."""
        oid = self.ids[entity]
        obj = self.objects.get(oid)
        if obj is None:
            return set()
        out: set[str] = set()
        hot0, cold0 = self._baseline.get(oid, (False, False))
        treated = self.treated.get(oid)
        if treated is not None:
            out.add(treated)
        elif _hot(obj) and not hot0:
            out.add("heated")
        elif _cold(obj) and not cold0:
            out.add("cooled")
        if oid in self.cleaned or (oid in self._was_dirty and not obj.get("isDirty")):
            out.add("cleaned")
        if obj.get("isSliced") or str(obj.get("objectType", "")).endswith("Sliced"):
            out.add("sliced")
        if obj.get("toggleable") and obj.get("isToggled"):
            out.add("toggled")
        return out

    # ------------------------------------------------------------------ facts

    def task_facts(self) -> frozenset[Atom]:
        """Static facts on every entity (kinds, properties), never where objects are.

        As the household's: ``receptacle``, ``type``, ``openable`` and ``canheat``/``cancool``/
        ``canclean`` for receptacles; ``object``, ``type``, ``pickupable`` (or ``toggleable`` for
        a lamp) and ``heatable``/``coolable``/``cleanable``/``sliceable``/``canslice`` for objects.
        """
        facts: set[Atom] = set()
        for r in self.receptacles:
            facts.add(("receptacle", r))
            facts.add(("type", r, self.kind_word(r)))
            if self.openable(r):
                facts.add(("openable", r))
            ability = self.ability(r)
            if ability is not None:
                facts.add((ABILITIES[ability], r))
        for o in self.things:
            facts.add(("object", o))
            facts.add(("type", o, self.kind_word(o)))
            facts.add(("toggleable", o) if self.is_lamp(o) else ("pickupable", o))
            facts.update((p, o) for p in self.properties(o))
        return frozenset(facts)

    def facts(self, *, everything: bool = False) -> list[Atom]:
        """The percept as sorted atoms; ``everything``: the full state (for scoring only).

        Perceived: ``("at", r)``; ``("opened", r)`` for the receptacle the agent is at;
        ``("holding", o)``; ``("in", o, r)`` for each perceived object (see :meth:`perceived`);
        ``heated``/``cooled``/``cleaned``/``sliced``/``toggled`` of each perceived object.
        """
        facts: set[Atom] = set()
        if self.at is not None:
            facts.add(("at", self.at))
        for r in self.receptacles:
            if (everything or r == self.at) and self.openable(r) and self.is_open(r):
                facts.add(("opened", r))
        held = self.holding
        for o in self.things:
            if not (everything or self.perceived(o)):
                continue
            if o == held:
                facts.add(("holding", o))
            else:
                loc = self.location_of(o)
                if loc is not None:
                    facts.add(("in", o, loc))
            facts.update((flag, o) for flag in self.flags(o))
        return sorted(facts)
