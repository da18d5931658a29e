"""MiniGrid (``envs.minigrid``): optimistic planning with doors and keys.

Beliefs, folded in from every percept: what each cell seen so far holds (wall, lava, floor, the
goal, a door with its colour and state, a key, another object), the agent's cell, what it
carries, and the grid size from the task facts (``("grid", rows, cols)``). A cell's belief is
replaced whenever the cell is in view again, so an opened door or a picked-up key shows.

The planning state (domain ``minigrid.pddl``, cells as row and column objects) is optimistic,
like ``gridnav``'s: a cell never seen is clear floor and known walls and lava are never clear,
so a plan may run through unseen cells, and when a wall shows up on it execution monitoring
replans. Only the colours of locked doors and keys become objects (unified-planning enumerates
every grounding of every predicate when it writes a problem, so each object costs time).

The goal:

* ``(at g)`` once the goal cell ``g`` has been seen and a relaxed search (closed doors
  openable, keys pickable, locked doors only with a known key) finds a way there;
* else **open a door**: the nearest (on that relaxed map) closed door, or locked door whose key
  is known (carried or seen lying somewhere). What lies behind a closed door cannot be seen,
  and the exploring fallback only walks, so opening doors is the planner's part of
  exploration (MultiRoom's chain of doors, DoorKey's locked door);
* with neither, there is nothing to plan for: the planner-first policy explores.

Plan steps map to the environment's high-level actions: ``move-<dir>`` to ``<dir>``
(``north``/``east``/``south``/``west``), ``open-<dir>`` and ``unlock-<dir>`` to ``open_<dir>``,
``pickup-<dir>`` to ``pickup_<dir>``. Nothing is ever dropped: an agent holding a ball or a box
cannot plan to pick up a key.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from memory.records import Atom, Candidate
from memory.working import WorkingMemory
from modules.planning.adapters.base import PlanningState
from modules.planning.adapters.grid import GridAdapter
from modules.planning.results import GroundAction

_DIRECTIONS = {(-1, 0): "north", (0, 1): "east", (1, 0): "south", (0, -1): "west"}
_VERBS = {"move": "", "open": "open_", "unlock": "open_", "pickup": "pickup_"}


class MiniGridAdapter(GridAdapter):
    """See the module docstring."""

    domain = "minigrid"

    def __init__(self) -> None:
        self.begin_episode(WorkingMemory())

    def begin_episode(self, wm: WorkingMemory) -> None:
        self.kind: dict[str, str] = {}  # cell -> wall | lava | floor | goal | door | key | object
        self.doors: dict[str, tuple[str, str]] = {}  # cell -> (colour, open | closed | locked)
        self.keys: dict[str, str] = {}  # cell -> colour of the key lying there
        self.carrying: str | None = None  # colour of the key in hand
        self.holding = False  # anything in hand
        self.goal: str | None = None
        self.position: str | None = None
        self.size: tuple[int, int] | None = None
        self._cells: tuple[str, ...] = ()
        self._neighbours: dict[str, tuple[str, ...]] = {}
        self._objects: tuple[tuple[str, str], ...] = ()
        self._static: frozenset[Atom] = frozenset()
        self._state: frozenset[Atom] | None = None

    # ------------------------------------------------------------------ beliefs

    def _fold(self, facts: frozenset[Atom] | list[Atom], *, percept: bool) -> None:
        before = (dict(self.doors), dict(self.keys), self.carrying, self.holding)
        kinds = self.kind.copy()
        if percept:
            for atom in facts:
                if atom[0] == "cell" and len(atom) == 2:
                    self.kind[atom[1]] = "floor"
                    self.doors.pop(atom[1], None)
                    self.keys.pop(atom[1], None)
            self.carrying = None
            self.holding = False
        closed: set[str] = set()
        locked: set[str] = set()
        for atom in facts:
            pred, n = atom[0], len(atom)
            if pred in ("wall", "lava") and n == 2:
                self.kind[atom[1]] = pred
            elif pred == "goal" and n == 2:
                self.kind[atom[1]] = "goal"
                self.goal = atom[1]
            elif pred == "door" and n == 3:
                self.kind[atom[1]] = "door"
                self.doors[atom[1]] = (atom[2], "open")
            elif pred == "closed" and n == 2:
                closed.add(atom[1])
            elif pred == "locked" and n == 2:
                locked.add(atom[1])
            elif pred == "key" and n == 3:
                self.kind[atom[1]] = "key"
                self.keys[atom[1]] = atom[2]
            elif pred in ("ball", "box") and n == 3:
                self.kind[atom[1]] = "object"
            elif pred == "carrying" and n == 2 and percept:
                self.carrying = atom[1]
            elif pred == "holding" and percept:
                self.holding = True
            elif pred == "at" and n == 2 and percept:
                self.position = atom[1]
        for cell in closed | locked:
            if cell in self.doors:
                self.doors[cell] = (self.doors[cell][0], "locked" if cell in locked else "closed")
        if self._state is not None and (
            (self.doors, self.keys, self.carrying, self.holding) != before
            or any(
                kinds.get(c) not in (None, "floor") or k != "floor"
                for c, k in self.kind.items()
                if kinds.get(c) != k
            )
        ):
            self._state = None  # what is clear, or where doors and keys are, changed

    def _set_size(self, rows: int, cols: int) -> None:
        self.size = (rows, cols)
        self._cells = tuple(f"c{r}_{c}" for r in range(rows) for c in range(cols))
        self._neighbours = {
            f"c{r}_{c}": tuple(
                f"c{r + dr}_{c + dc}"
                for dr, dc in _DIRECTIONS
                if 0 <= r + dr < rows and 0 <= c + dc < cols
            )
            for r in range(rows)
            for c in range(cols)
        }
        self._objects = (
            *((f"row{r}", "row") for r in range(rows)),
            *((f"col{c}", "col") for c in range(cols)),
        )
        self._static = frozenset(
            {("next-row", f"row{r}", f"row{r + 1}") for r in range(rows - 1)}
            | {("next-col", f"col{c}", f"col{c + 1}") for c in range(cols - 1)}
        )
        self._state = None

    # ------------------------------------------------------------------ the problem

    def _passable(self, cell: str) -> bool:
        """Believed clear for a move now: unseen, floor, the goal or an open door."""
        kind = self.kind.get(cell)
        if kind is None or kind in ("floor", "goal"):
            return True
        return kind == "door" and self.doors[cell][1] == "open"

    def _base_state(self) -> frozenset[Atom]:
        """Everything but the agent's cell; rebuilt only when a belief that matters changed."""
        if self._state is None:
            atoms: set[Atom] = set(self._static)
            for cell in self._cells:
                if self._passable(cell):
                    atoms.add(("clear", *_coordinates(cell)))
            for cell, (color, state) in self.doors.items():
                if state == "closed":
                    atoms.add(("closed", *_coordinates(cell)))
                elif state == "locked":
                    atoms.add(("locked", *_coordinates(cell), color))
            for cell, color in self.keys.items():
                atoms.add(("key", *_coordinates(cell), color))
            if self.carrying is not None:
                atoms.add(("carrying", self.carrying))
            if not self.holding:
                atoms.add(("handempty",))
            self._state = frozenset(atoms)
        return self._state

    def _keys_known(self) -> set[str]:
        return set(self.keys.values()) | ({self.carrying} if self.carrying else set())

    def _relaxed(self, keys: set[str]) -> Callable[[str], bool]:
        """A test of whether a cell could be entered at some point (a relaxation).

        Not a wall, lava or a ball or box, and not a locked door without a known key of its
        colour; keys lying about can be picked up, closed doors opened.
        """

        def enterable(cell: str) -> bool:
            kind = self.kind.get(cell)
            if kind in ("wall", "lava", "object"):
                return False
            return kind != "door" or self.doors[cell][1] != "locked" or self.doors[cell][0] in keys

        return enterable

    def _nearest(self, targets: set[str], *, beside: bool) -> str | None:
        """The target nearest to the agent on the relaxed map (entered, or reached ``beside``)."""
        if not targets or self.position is None:
            return None
        enterable = self._relaxed(self._keys_known())
        seen = {self.position}
        queue = deque([self.position])
        while queue:
            cell = queue.popleft()
            for n in self._neighbours.get(cell, ()):
                if n in targets and (beside or enterable(n)):
                    return n
                if n not in seen and enterable(n):
                    seen.add(n)
                    queue.append(n)
        return None

    def planning_state(self, wm: WorkingMemory) -> PlanningState | str:
        if self.size is None:
            return "the grid size is unknown (no ('grid', rows, cols) task fact)"
        if self.position is None:
            return "the agent's cell is unknown"
        goal: Atom
        if self.goal is not None and self._nearest({self.goal}, beside=False) is not None:
            goal = ("at", *_coordinates(self.goal))
        else:
            keys = self._keys_known()
            doors = {
                cell
                for cell, (color, state) in self.doors.items()
                if state == "closed" or (state == "locked" and color in keys)
            }
            door = self._nearest(doors, beside=True)
            if door is None:
                if self.goal is not None:
                    return "no known way leads to the goal, and no closed door is known to open"
                return "the goal has not been seen yet and no closed door is known to open"
            goal = ("clear", *_coordinates(door))
        state = self._base_state() | {("at", *_coordinates(self.position))}
        # Only the colours of locked doors and keys: every grounding of a predicate with a
        # colour argument is enumerated by unified-planning when it writes the problem (a
        # problem still needs one colour object).
        colors = {c for c, state in self.doors.values() if state == "locked"}
        colors |= set(self.keys.values())
        if self.carrying is not None:
            colors.add(self.carrying)
        objects = (*self._objects, *((k, "color") for k in sorted(colors or {"grey"})))
        return PlanningState(objects, state, frozenset({goal}))

    def candidate(self, step: GroundAction, wm: WorkingMemory) -> Candidate:
        name, args = step
        verb, _, direction = name.partition("-")
        action = _VERBS[verb] + direction
        if action not in wm.action_names:
            raise ValueError(
                f"the environment has no action {action!r} (the minigrid adapter needs "
                "envs.minigrid's high-level actions, actions='cardinal')"
            )
        return Candidate(
            action,
            action=wm.action_names.index(action),
            source="planner",
            args={"step": [name, *args]},
        )


def _coordinates(cell: str) -> tuple[str, str]:
    """``c<row>_<col>`` -> the problem's row and column objects."""
    row, _, col = cell[1:].partition("_")
    return f"row{row}", f"col{col}"
