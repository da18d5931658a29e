"""Tasks: ALFRED's six task families, or explicit goal facts, checked on the simulator's state.

A task is given as a mapping (YAML ``env.options.task``), one of:

``{type: pick_and_place_simple, object: Apple, receptacle: Fridge}``
    "put some apple in fridge." Likewise ``pick_clean_then_place_in_recep``,
    ``pick_heat_then_place_in_recep``, ``pick_cool_then_place_in_recep`` (clean, heat or cool
    the object first) and ``pick_two_obj_and_place`` (two of them); ``look_at_obj_in_light``
    takes ``object`` and ``toggle`` (``DeskLamp`` or ``FloorLamp``).
``{goal: [[in, apple_1, fridge_1], [opened, fridge_1]], text: "..."}``
    explicit goal atoms over the episode's entity names.

Types are AI2-THOR object types, in any case (``Apple``, ``apple``, ``SinkBasin``). As in ALFRED,
a family's goal is met by *any* object of the type; the task's ``goal_facts`` name the first
instances (by name), in the household's form, so that a planner has a ground goal:

==================================  ==============================================================
family                              goal facts
==================================  ==============================================================
``pick_and_place_simple``           ``("in", o, r)``
``look_at_obj_in_light``            ``("holding", o)``, ``("toggled", lamp)``
``pick_clean_then_place_in_recep``  ``("cleaned", o)``, ``("in", o, r)``
``pick_heat_then_place_in_recep``   ``("heated", o)``, ``("in", o, r)``
``pick_cool_then_place_in_recep``   ``("cooled", o)``, ``("in", o, r)``
``pick_two_obj_and_place``          ``("in", o1, r)``, ``("in", o2, r)``
==================================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envs.ai2thor.scene import IN_KINDS, LAMP_TYPES, TREATED, World, entity_key
from envs.base import Atom

TEMPLATES: dict[str, str | None] = {
    "pick_and_place_simple": None,
    "look_at_obj_in_light": None,
    "pick_clean_then_place_in_recep": "clean",
    "pick_heat_then_place_in_recep": "heat",
    "pick_cool_then_place_in_recep": "cool",
    "pick_two_obj_and_place": None,
}
"""ALFRED's task families and the treatment each needs first."""

_TEXTS = {
    "pick_and_place_simple": "put some {o} {p} {r}.",
    "look_at_obj_in_light": "look at {o} under the {l}.",
    "pick_clean_then_place_in_recep": "clean some {o} and put it {p} {r}.",
    "pick_heat_then_place_in_recep": "heat some {o} and put it {p} {r}.",
    "pick_cool_then_place_in_recep": "cool some {o} and put it {p} {r}.",
    "pick_two_obj_and_place": "find two {o} and put them {p} {r}.",
}
_APPLIANCE = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}
_LAMPS = frozenset(t.lower() for t in LAMP_TYPES)


@dataclass(frozen=True)
class TaskConfig:
    """A validated task option, before it is grounded in a scene."""

    kind: str  # a family, or "goal"
    object: str = ""  # kind words (lower case)
    receptacle: str = ""
    toggle: str = ""
    goal: tuple[Atom, ...] = ()
    text: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | None) -> TaskConfig | None:
        """Validate a task option; ``ValueError`` says what is wrong."""
        if spec is None:
            return None
        if not isinstance(spec, Mapping):
            raise ValueError(f"task must be a mapping or null, got {spec!r}")
        text = spec.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError(f"task.text must be a string, got {text!r}")
        if "goal" in spec:
            return cls._goal(spec, text)
        kind = spec.get("type")
        if kind not in TEMPLATES:
            raise ValueError(
                f"task.type must be one of {', '.join(TEMPLATES)} (or give task.goal); got {kind!r}"
            )
        look = kind == "look_at_obj_in_light"
        needed = ("object", "toggle") if look else ("object", "receptacle")
        unknown = set(spec) - {"type", "text", *needed}
        if unknown:
            raise ValueError(f"task {kind!r} takes {', '.join(needed)}; unknown {sorted(unknown)}")
        words: dict[str, str] = {}
        for key in needed:
            value = spec.get(key)
            if not isinstance(value, str) or not value.isalpha():
                raise ValueError(
                    f"task.{key} must be an AI2-THOR object type like Apple, got {value!r}"
                )
            words[key] = value.lower()
        if look and words["toggle"] not in _LAMPS:
            raise ValueError(f"task.toggle must be DeskLamp or FloorLamp, got {spec['toggle']!r}")
        return cls(
            str(kind),
            object=words["object"],
            receptacle=words.get("receptacle", ""),
            toggle=words.get("toggle", ""),
            text=text,
        )

    @classmethod
    def _goal(cls, spec: Mapping[str, Any], text: str | None) -> TaskConfig:
        unknown = set(spec) - {"goal", "text"}
        if unknown:
            raise ValueError(f"a goal task takes only 'goal' and 'text'; got {sorted(unknown)}")
        goal = spec["goal"]
        if not isinstance(goal, list | tuple) or not goal:
            raise ValueError(
                "task.goal must be a non-empty list of atoms like [in, apple_1, fridge_1]"
            )
        atoms: list[Atom] = []
        for atom in goal:
            if (
                not isinstance(atom, list | tuple)
                or not atom
                or not all(isinstance(a, str) for a in atom)
            ):
                raise ValueError(f"task.goal: an atom is a list of strings, got {atom!r}")
            atoms.append(tuple(atom))
        return cls("goal", goal=tuple(atoms), text=text)


@dataclass(frozen=True)
class Task:
    """A task grounded in one episode's scene."""

    config: TaskConfig | None
    text: str
    goal_facts: frozenset[Atom] = field(default_factory=frozenset)

    @property
    def family(self) -> str | None:
        return None if self.config is None else self.config.kind

    def satisfied(self, world: World) -> bool:
        """Whether the goal holds in the simulator's state (all of it, not only the percept)."""
        cfg = self.config
        if cfg is None:
            return False
        if cfg.kind == "goal":
            return set(cfg.goal) <= set(world.facts(everything=True))
        objects = [o for o in world.things if world.kind_word(o) == cfg.object]
        if cfg.kind == "look_at_obj_in_light":
            held = world.holding
            return held in objects and any(
                "toggled" in world.flags(lamp) and world.location_of(lamp) == world.at
                for lamp in world.things
                if world.kind_word(lamp) == cfg.toggle
            )
        state = TREATED.get(TEMPLATES[cfg.kind] or "")
        placed = [
            o
            for o in objects
            if (loc := world.location_of(o)) is not None
            and world.kind_word(loc) == cfg.receptacle
            and (state is None or state in world.flags(o))
        ]
        return len(placed) >= (2 if cfg.kind == "pick_two_obj_and_place" else 1)


def task_text(config: TaskConfig | None) -> str:
    """The goal text, ALFWorld's wording: "put some apple in fridge."."""
    if config is None:
        return "explore the room."
    if config.text:
        return config.text
    if config.kind == "goal":
        return "make " + " and ".join(" ".join(a) for a in config.goal) + " true."
    return _TEXTS[config.kind].format(
        o=config.object,
        p="in" if config.receptacle in IN_KINDS else "on",
        r=config.receptacle,
        l=config.toggle,
    )


def ground(config: TaskConfig | None, world: World, scene: str) -> Task:
    """Ground a task in the episode's scene: its text and goal facts.

    ``ValueError`` when the scene lacks what the task needs, or a goal names an unknown entity.
    """
    text = task_text(config)
    if config is None:
        return Task(None, text)
    names = set(world.names.values())
    if config.kind == "goal":
        for atom in config.goal:
            unknown = [a for a in atom[1:] if "_" in a and a not in names]
            if unknown:
                some = ", ".join(sorted(names, key=entity_key)[:6])
                raise ValueError(
                    f"task.goal atom {list(atom)} names {unknown[0]!r}, which scene {scene} "
                    f"has not got (it has {some}, ...)"
                )
        return Task(config, text, frozenset(config.goal))
    kinds = {world.kind_word(n) for n in names}
    modifier = TEMPLATES[config.kind]
    needed = [config.object, config.toggle or config.receptacle]
    if modifier is not None:
        needed.append(_APPLIANCE[modifier])
    for word in needed:
        if word not in kinds:
            raise ValueError(
                f"task {config.kind} needs a {word}, and scene {scene} has none "
                f"(it has: {', '.join(sorted(kinds))})"
            )
    objects = [o for o in world.things if world.kind_word(o) == config.object]
    if config.kind == "look_at_obj_in_light":
        lamp = next(o for o in world.things if world.kind_word(o) == config.toggle)
        return Task(config, text, frozenset({("holding", objects[0]), ("toggled", lamp)}))
    receptacles = [r for r in world.receptacles if world.kind_word(r) == config.receptacle]
    if not receptacles:
        raise ValueError(f"task {config.kind}: a {config.receptacle} is not a receptacle here")
    target = receptacles[0]
    if config.kind == "pick_two_obj_and_place":
        if len(objects) < 2:
            raise ValueError(
                f"task {config.kind} needs two {config.object}s; scene {scene} has one"
            )
        return Task(config, text, frozenset(("in", o, target) for o in objects[:2]))
    goal: set[Atom] = {("in", objects[0], target)}
    if modifier is not None:
        goal.add((TREATED[modifier], objects[0]))
    return Task(config, text, frozenset(goal))


def optimal_steps(task: Task, world: World) -> int | None:
    """The fewest commands that solve a family's task from the start, knowing where all is.

    Counted on the commands (each ``go to``, ``open``, ``take``, ``heat``, ``put``, ``use`` is
    one), minimised over the instances of each type; ``None`` for goal-fact tasks. An agent that
    must first look for the object needs more: for it this is a lower bound.
    """
    cfg = task.config
    if cfg is None or cfg.kind == "goal":
        return None
    if task.satisfied(world):
        return 0
    objects = [o for o in world.things if world.kind_word(o) == cfg.object]
    costs: list[int | None]
    if cfg.kind == "look_at_obj_in_light":
        lamps = [o for o in world.things if world.kind_word(o) == cfg.toggle]
        costs = [_Route(world).look(obj, lamp) for obj in objects for lamp in lamps]
    else:
        targets = [r for r in world.receptacles if world.kind_word(r) == cfg.receptacle]
        if cfg.kind == "pick_two_obj_and_place":
            costs = [
                _Route(world).place_two(a, b, target)
                for target in targets
                for a in objects
                for b in objects
                if a != b
            ]
        else:
            modifier = TEMPLATES[cfg.kind]
            appliances: list[str | None] = (
                [r for r in world.receptacles if world.kind_word(r) == _APPLIANCE[modifier]]
                if modifier
                else [None]
            )
            costs = [
                _Route(world).place(obj, target, modifier, appliance)
                for obj in objects
                for appliance in appliances
                for target in targets
            ]
    found = [c for c in costs if c is not None]
    return min(found) if found else None


class _Route:
    """Counts the commands of one way of solving a task, from the middle of the room."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.at: str | None = None
        self.opened = {r for r in world.receptacles if world.is_open(r)}
        self.steps = 0

    def go(self, receptacle: str) -> None:
        self.steps += receptacle != self.at
        self.at = receptacle

    def open(self, receptacle: str) -> None:
        if self.world.openable(receptacle) and receptacle not in self.opened:
            self.steps += 1
            self.opened.add(receptacle)

    def fetch(self, obj: str) -> bool:
        """Go to ``obj``, open its receptacle if closed, take it; False if it is nowhere."""
        loc = self.world.location_of(obj)
        if loc is None:
            return False
        self.go(loc)
        self.open(loc)
        self.steps += 1
        return True

    def deliver(self, target: str) -> None:
        self.go(target)
        self.open(target)
        self.steps += 1

    def place(
        self, obj: str, target: str, modifier: str | None, appliance: str | None
    ) -> int | None:
        if not self.fetch(obj):
            return None
        if appliance is not None:
            self.go(appliance)
            self.steps += 1  # heat, cool or clean: one command
            if modifier in ("heat", "cool"):
                self.opened.discard(appliance)  # ALFRED's composition closes it again
        self.deliver(target)
        return self.steps

    def place_two(self, first: str, second: str, target: str) -> int | None:
        if not self.fetch(first):
            return None
        self.deliver(target)
        if not self.fetch(second):
            return None
        self.deliver(target)
        return self.steps

    def look(self, obj: str, lamp: str) -> int | None:
        lamp_at = self.world.location_of(lamp)
        if lamp_at is None or not self.fetch(obj):
            return None
        self.go(lamp_at)
        self.steps += "toggled" not in self.world.flags(lamp)
        return self.steps
