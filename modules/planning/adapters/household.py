"""The symbolic household (``envs.household``): find the task's objects, then plan the task.

Beliefs: the static task facts (receptacles, objects, kinds, properties) and what percepts
showed: where the agent is, what it holds, where each object was last seen, which receptacles
are open, which it has seen inside (*explored*), and each object's state (heated, cleaned,
toggled...). What was seen stays believed after the agent walks away (nobody else moves things
in this world); a receptacle seen again overrides what was believed about it.

Object locations start unknown, so planning has two phases:

1. **search**: while an object or lamp that the goal names has not been located, the state
   gets ``(searching)`` and the goal is ``(explored r)`` for every unexplored receptacle where
   such an object is commonly found (``envs.household.where_found``; every unexplored receptacle
   once those are done). Only the ``search_`` actions add ``explored`` and they need
   ``(searching)``, so one plan is a tour of those receptacles;
2. **task**: as soon as everything needed is located ``(searching)`` is dropped, the rest of
   the tour can no longer be replayed, the planner module's monitoring replans, and the goal is
   the task's goal facts, plus being at the lamp for ``toggled`` (the lamp must be in view).

So an episode usually takes two solves. Plan steps map one to one onto ALFWorld commands.
"""

from __future__ import annotations

from envs.household import Command, where_found
from memory.cycle_records import Atom, Candidate
from memory.working import WorkingMemory
from modules.planning.adapters.base import DomainAdapter, PlanningState
from modules.planning.results import GroundAction

MIDDLE = "middle"
"""The PDDL location of the agent before it has gone anywhere (no ``at`` fact yet)."""

RECEPTACLE_STATIC = frozenset({"openable", "canheat", "cancool", "canclean"})
ITEM_STATIC = frozenset({"heatable", "coolable", "cleanable", "sliceable", "canslice"})
"""Static task-fact predicates that the domain uses as they are (on receptacles, on items)."""

FLAGS = ("heated", "cooled", "cleaned", "sliced", "toggled")
"""Object state predicates, perceived for objects in view and remembered afterwards."""

_COMMANDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "go_to": ("go", (1,)),
    "search_go_to": ("go", (1,)),
    "open": ("open", (0,)),
    "search_open": ("open", (0,)),
    "close": ("close", (0,)),
    "take": ("take", (0, 1)),
    "put": ("put", (0, 1)),
    "heat": ("heat", (0, 1)),
    "cool": ("cool", (0, 1)),
    "clean": ("clean", (0, 1)),
    "slice": ("slice", (0, 1)),
    "use": ("use", (0,)),
}
"""PDDL action -> command verb and which of the step's arguments the command names."""


def step_command(step: GroundAction) -> Command:
    """The environment command that carries out a plan step of the household domain."""
    name, args = step
    verb, picks = _COMMANDS[name]
    return Command(verb, tuple(args[i] for i in picks))


class HouseholdAdapter(DomainAdapter):
    """See the module docstring."""

    domain = "household"

    def __init__(self) -> None:
        self.begin_episode(WorkingMemory())

    def begin_episode(self, wm: WorkingMemory) -> None:
        self._static_from: frozenset[Atom] | None = None
        self.receptacles: list[str] = []
        self._receptacles: frozenset[str] = frozenset()
        self.kinds: dict[str, str] = {}
        self.openable: set[str] = set()
        self.items: frozenset[str] = frozenset()
        self.things: set[str] = set()
        self.static: frozenset[Atom] = frozenset()
        self.objects: tuple[tuple[str, str], ...] = ()
        self.position = MIDDLE
        self.holding: str | None = None
        self.where: dict[str, str] = {}
        self.opened: set[str] = set()
        self.explored: set[str] = set()
        self.flags: set[Atom] = set()

    def _load_static(self, facts: frozenset[Atom]) -> None:
        self._static_from = facts
        self.receptacles = sorted(a[1] for a in facts if a[0] == "receptacle" and len(a) == 2)
        self._receptacles = frozenset(self.receptacles)
        items = sorted(a[1] for a in facts if a[0] == "pickupable" and len(a) == 2)
        lamps = sorted(a[1] for a in facts if a[0] == "toggleable" and len(a) == 2)
        self.kinds = {a[1]: a[2] for a in facts if a[0] == "type" and len(a) == 3}
        self.openable = {a[1] for a in facts if a[0] == "openable" and len(a) == 2}
        self.items = frozenset(items)
        self.things = set(items) | set(lamps)
        self.static = frozenset(
            a
            for a in facts
            if len(a) == 2
            and (
                (a[0] in RECEPTACLE_STATIC and a[1] in self._receptacles)
                or (a[0] in ITEM_STATIC and a[1] in self.items)
            )
        )
        self.objects = (
            (MIDDLE, "location"),
            *((r, "receptacle") for r in self.receptacles),
            *((i, "item") for i in items),
            *((lamp, "lamp") for lamp in lamps),
        )

    def typed_objects(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.objects)

    def observe(self, wm: WorkingMemory) -> None:
        if self._static_from is not wm.task_facts:
            self._load_static(wm.task_facts)
        facts = wm.percept.facts
        at = next((a[1] for a in facts if a[0] == "at" and len(a) == 2), None)
        self.holding = next(
            (a[1] for a in facts if a[0] == "holding" and len(a) == 2 and a[1] in self.items),
            None,
        )
        # only entities the task facts declare: anything else could not go into the problem
        seen = {
            a[1]: a[2]
            for a in facts
            if a[0] == "in" and len(a) == 3 and a[1] in self.things and a[2] in self._receptacles
        }
        if at is not None and at in self._receptacles:
            self.position = at
            if at in self.openable:
                if ("opened", at) in facts:
                    self.opened.add(at)
                else:
                    self.opened.discard(at)
            if at not in self.openable or at in self.opened:
                self.explored.add(at)
                for thing in [t for t, r in self.where.items() if r == at and t not in seen]:
                    del self.where[thing]  # not there any more
        self.where.update(seen)
        visible = set(seen)
        if self.holding is not None:
            self.where.pop(self.holding, None)
            visible.add(self.holding)
        for thing in visible:
            for flag in FLAGS:
                if (flag, thing) in facts:
                    self.flags.add((flag, thing))
                else:
                    self.flags.discard((flag, thing))

    def _state(self) -> set[Atom]:
        state = set(self.static)
        state.add(("at", self.position))
        state.add(("handempty",) if self.holding is None else ("holding", self.holding))
        state.update(("in", t, r) for t, r in self.where.items())
        state.update(("opened", r) for r in self.opened)
        state.update(
            ("accessible", r)
            for r in self.receptacles
            if r not in self.openable or r in self.opened
        )
        state.update(("explored", r) for r in self.explored)
        state.update(self.flags)
        return state

    def missing(self, goal: frozenset[Atom]) -> list[str]:
        """Objects and lamps the goal names whose location is not known yet."""
        named = sorted({e for atom in goal for e in atom[1:] if e in self.things})
        return [e for e in named if e != self.holding and e not in self.where]

    def search_targets(self, missing: list[str]) -> list[str]:
        """Unexplored receptacles where the missing things are commonly found (else all)."""
        unexplored = [r for r in self.receptacles if r not in self.explored]
        likely = {k for e in missing for k in where_found(self.kinds.get(e, ""))}
        return [r for r in unexplored if self.kinds.get(r) in likely] or unexplored

    def planning_state(self, wm: WorkingMemory) -> PlanningState | str:
        if not self.receptacles:
            return "no household task facts (receptacle, type, pickupable ...) to plan with"
        if not wm.goal_facts:
            return "the task has no goal facts"
        state = self._state()
        missing = self.missing(wm.goal_facts)
        if missing:
            targets = self.search_targets(missing)
            if not targets:
                return f"{', '.join(missing)} not found, and every receptacle has been explored"
            state.add(("searching",))
            goal = frozenset(("explored", r) for r in targets)
            return PlanningState(self.objects, frozenset(state), goal)
        lamps = {a[1] for a in wm.goal_facts if a[0] == "toggled" and len(a) == 2}
        at_lamps = {("at", self.where[lamp]) for lamp in lamps if lamp in self.where}
        return PlanningState(self.objects, frozenset(state), wm.goal_facts | at_lamps)

    def candidate(self, step: GroundAction, wm: WorkingMemory) -> Candidate:
        text = step_command(step).text
        name, args = step
        return Candidate(text, action=text, source="planner", args={"step": [name, *args]})
