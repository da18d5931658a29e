"""MiniGrid and BabyAI (``envs.minigrid``): missions as goals, optimistic planning, doors and keys.

Beliefs, folded in from every percept: what each cell seen so far holds (wall, lava, floor, the
goal, a door with its colour and state, a key, ball or box with its colour), the agent's cell
and facing, what it holds, and the grid size from the task facts (``("grid", rows, cols)``). A
cell's belief is replaced whenever the cell is in view again, so an opened door, a picked-up
key or a moving obstacle shows.

The planning state (domain ``minigrid.pddl``, cells as row and column objects) is optimistic:
a cell never seen is clear floor; walls, lava and objects are never clear, so a plan runs
through unseen cells, and when something shows up on it execution monitoring replans. Lava is
a hazard the agent avoids itself: the environment lets a move step into it.

The goal comes from the **mission** (``wm.goal_text``, parsed by :mod:`envs.minigrid.mission`,
no model needed): its current subgoal is the nearest instruction of the current stage whose
object has been seen (:mod:`modules.planning.adapters.minigrid_mission`):

* "go to X": face X and say done, ``(announced X)``; "pick up X": ``(holding kind colour)``;
  "open X": ``(clear X)``; "put X next to Y": pick X up, then ``(thing A kind colour)`` on a
  floor cell A beside Y; "reach the goal" (MiniGrid's "get to the green goal square"): ``(at g)``
  once the goal square has been seen;
* while no object of the current stage has been seen: **open a door**, the nearest closed door
  or locked door whose key is known. What lies behind a closed door cannot be seen, and the
  exploring fallback only walks, so opening doors is the planner's part of exploration;
* with neither, there is nothing to plan for: the planner-first policy explores.

Most subgoals are a walk and one act: :meth:`MiniGridAdapter.search` answers them exactly with a
breadth-first search; the others (a key to fetch first, an object in the way) go to the PDDL
engine. Plan steps map to the environment's high-level actions: ``move-<dir>`` to ``<dir>``,
``open-<dir>`` and ``unlock-<dir>`` to ``open_<dir>``, ``pickup-<dir>``, ``drop-<dir>`` and
``face-<dir>`` to ``pickup_<dir>``, ``drop_<dir>`` and ``face_<dir>``, ``done-<dir>`` to
``done``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cogos.config import ComponentSpec
from cogos.errors import ConfigError
from envs.minigrid.mission import Instruction, MissionError, parse_mission
from memory.cycle_records import Atom, Candidate
from memory.working import WorkingMemory
from modules.planning.adapters.base import PlanningState
from modules.planning.adapters.grid import GridAdapter
from modules.planning.adapters.minigrid_mission import (
    DIRS,
    GridView,
    MissionProgress,
    Subgoal,
    Thing,
    coords,
    rowcol,
    search_to_act,
)
from modules.planning.results import GroundAction, PlanResult, PlanStatus

_VERBS = {
    "move": "",
    "open": "open_",
    "unlock": "open_",
    "pickup": "pickup_",
    "drop": "drop_",
    "face": "face_",
    "openbox": "open_",
}
_KINDS = ("key", "ball", "box")
_FRONT = {name: step for step, name in DIRS.items()}
"""Direction name -> (row, column) step: the cell a facing agent acts on."""
_EXPLORE = Instruction("open")
"""The instruction behind an exploration subgoal (opening a door to look behind it)."""
_REACH = Instruction("reach_goal")


class MiniGridAdapter(GridAdapter):
    """See the module docstring."""

    domain = "minigrid"

    def __init__(self) -> None:
        self.begin_episode(WorkingMemory())

    @classmethod
    def check_env(cls, env: ComponentSpec, seed: int) -> None:
        """Only MiniGrid's high-level actions, and a mission this adapter can read.

        The mission of the first episode is read from a task made once here (a few ms):
        MiniGrid's Memory tasks ("go to the matching object at the end of the hallway") and
        Playground (no mission) are refused, naming the id, before anything runs.
        """
        if env.name != "minigrid":
            return
        if env.options.get("actions", "cardinal") != "cardinal":
            raise ConfigError(
                "the minigrid planning domain needs the high-level actions (actions: cardinal)",
                key="env.options.actions",
            )
        import gymnasium

        env_id = str(env.options.get("id", "MiniGrid-FourRooms-v0"))
        try:
            task = gymnasium.make(env_id, disable_env_checker=True)
        except Exception:  # an unknown id: the environment says so when it is built
            return
        try:
            task.reset(seed=seed)
            text = str(getattr(task.unwrapped, "mission", ""))
        except gymnasium.error.DependencyNotInstalled as exc:
            raise ConfigError(
                f"cannot make MiniGrid task {env_id!r}: {exc}", key="env.options.id"
            ) from None
        finally:
            task.close()
        try:
            parse_mission(text)
        except MissionError as exc:
            raise ConfigError(
                f"{env_id}: the minigrid planning domain cannot take this task's mission ({exc})",
                key="env.options.id",
            ) from None

    def begin_episode(self, wm: WorkingMemory) -> None:
        self.kind: dict[str, str] = {}  # cell -> wall | lava | floor | goal | door | thing
        self.doors: dict[str, tuple[str, str]] = {}  # cell -> (colour, open | closed | locked)
        self.things: dict[str, Thing] = {}  # cell -> (key | ball | box, colour)
        self.holding: Thing | None = None
        self.goal: str | None = None
        self.position: str | None = None
        self.facing: str | None = None
        self.size: tuple[int, int] | None = None
        self.progress: MissionProgress | None = None
        self.mission_error: str | None = None
        self._mission_text: str | None = None
        self._cells: tuple[str, ...] = ()
        self._neighbours: dict[str, tuple[str, ...]] = {}
        self._objects: tuple[tuple[str, str], ...] = ()
        self._static: frozenset[Atom] = frozenset()
        self._state: frozenset[Atom] | None = None
        self._subgoal: Subgoal | None = None
        self._held_from: str | None = None
        self._opening: str | None = None
        """A locked door being opened to look behind it, for which the object in hand was put
        down: it stays the subgoal until it is open."""
        self.moving = False
        """Objects were seen to move by themselves (MiniGrid's Dynamic-Obstacles): a way they
        block now may be free soon, so a plan may run through them and is repaired."""
        self.unboxed: set[str] = set()
        """Cells where the agent opened a box (what it held shows in the next percept)."""

    @property
    def carrying(self) -> str | None:
        """The colour of the key in hand (None: no key)."""
        return self.holding[1] if self.holding is not None and self.holding[0] == "key" else None

    @property
    def keys(self) -> dict[str, str]:
        """Cell -> colour of the keys lying about."""
        return {cell: color for cell, (kind, color) in self.things.items() if kind == "key"}

    # ------------------------------------------------------------------ beliefs

    def observe(self, wm: WorkingMemory) -> None:
        if self._mission_text is None:
            self._read_mission(wm.goal_text)
        before = (dict(self.doors), dict(self.things), self.holding)
        super().observe(wm)
        if self.progress is not None:
            if self.progress.start is None and self.position and self.facing:
                self.progress.start = (self.position, self.facing)
            doors, things, held = before
            opened = [
                c
                for c, (_, state) in self.doors.items()
                if state == "open" and c in doors and doors[c][1] != "open"
            ]
            dropped = None
            if held is not None and self.holding is None:
                dropped = next(
                    ((c, t) for c, t in self.things.items() if t == held and things.get(c) != t),
                    None,
                )
            picked = self.holding if self.holding != held else None
            self._track_moves(things, picked, dropped)
            self.progress.observe(self.things, self.doors, opened, picked, dropped)

    def _track_moves(
        self, before: dict[str, Thing], picked: Thing | None, dropped: tuple[str, Thing] | None
    ) -> None:
        """Follow the objects the agent moves back to where they lay at the start."""
        assert self.progress is not None
        origin = self.progress.origin
        if dropped is not None:
            origin[dropped[0]] = self._held_from or dropped[0]
            self._held_from = None
        if picked is not None:
            source = next(
                (c for c, t in before.items() if t == picked and c not in self.things),
                None,
            )
            self._held_from = origin.pop(source, source) if source is not None else None

    def _read_mission(self, text: str) -> None:
        self._mission_text = text
        if not text.strip():
            return  # no mission: the goal square, if any, is the goal
        try:
            mission = parse_mission(text)
        except MissionError as exc:
            self.mission_error = str(exc)
            return
        if any(i.verb != "reach_goal" for i in mission.instructions()):
            self.progress = MissionProgress(mission)

    def _fold(self, facts: frozenset[Atom] | list[Atom], *, percept: bool) -> None:
        before = (dict(self.doors), dict(self.things), self.holding)
        kinds = self.kind.copy()
        gone: list[tuple[str, Thing]] = []
        if percept:
            for atom in facts:
                if atom[0] == "cell" and len(atom) == 2:
                    self.kind[atom[1]] = "floor"
                    self.doors.pop(atom[1], None)
                    if (thing := self.things.pop(atom[1], None)) is not None:
                        gone.append((atom[1], thing))
            self.holding = None
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
            elif pred in _KINDS and n == 3:
                self.kind[atom[1]] = "thing"
                self.things[atom[1]] = (pred, atom[2])
            elif pred == "holding" and n == 3 and percept:
                self.holding = (atom[1], atom[2])
            elif pred == "at" and n == 2 and percept:
                self.position = atom[1]
            elif pred == "facing" and n == 2 and percept:
                self.facing = atom[1]
        if any(
            cell not in self.things and cell not in self.unboxed and thing != self.holding
            for cell, thing in gone
        ):
            self.moving = True  # gone from a cell in view, neither picked up nor opened
        for cell in closed | locked:
            if cell in self.doors:
                self.doors[cell] = (self.doors[cell][0], "locked" if cell in locked else "closed")
        if self._state is not None and (
            (self.doors, self.things, self.holding) != before
            or any(
                kinds.get(c) not in (None, "floor") or k != "floor"
                for c, k in self.kind.items()
                if kinds.get(c) != k
            )
        ):
            self._state = None  # what is clear, or where doors and objects are, changed

    def _set_size(self, rows: int, cols: int) -> None:
        self.size = (rows, cols)
        self._cells = tuple(f"c{r}_{c}" for r in range(rows) for c in range(cols))
        self._neighbours = {
            f"c{r}_{c}": tuple(
                f"c{r + dr}_{c + dc}"
                for dr, dc in DIRS
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

    def _floor(self, cell: str) -> bool:
        """Empty floor (or never seen): something can be put down there."""
        return self.kind.get(cell, "floor") == "floor"

    def _base_state(self) -> frozenset[Atom]:
        """Everything but the agent's cell and facing; rebuilt only when a belief changed."""
        if self._state is None:
            atoms: set[Atom] = set(self._static)
            for cell in self._cells:
                if self._passable(cell):
                    atoms.add(("clear", *rowcol(cell)))
                    if self._floor(cell):
                        atoms.add(("floor", *rowcol(cell)))
            for cell, (color, state) in self.doors.items():
                if state == "closed":
                    atoms.add(("closed", *rowcol(cell)))
                elif state == "locked":
                    atoms.add(("locked", *rowcol(cell), color))
            for cell, (kind, color) in self.things.items():
                atoms.add(("thing", *rowcol(cell), kind, color))
            if self.holding is not None:
                atoms.add(("holding", *self.holding))
            else:
                atoms.add(("handempty",))
            self._state = frozenset(atoms)
        return self._state

    def _keys_known(self) -> set[str]:
        return set(self.keys.values()) | ({self.carrying} if self.carrying else set())

    def _relaxed(self, keys: set[str]) -> Callable[[str], bool]:
        """A test of whether a cell could be entered at some point (a relaxation).

        Not a wall or lava, and not a locked door without a known key of its colour; closed
        doors can be opened, and keys, balls and boxes picked up and put elsewhere (a key in
        front of its door, a ball that blocks one).
        """

        def enterable(cell: str) -> bool:
            kind = self.kind.get(cell)
            if kind in ("wall", "lava"):
                return False
            return kind != "door" or self.doors[cell][1] != "locked" or self.doors[cell][0] in keys

        return enterable

    def _nearest(self, targets: set[str], *, beside: bool) -> str | None:
        """The target nearest to the agent on the relaxed map (entered, or reached ``beside``)."""
        if not targets or self.position is None:
            return None
        if self.position in targets:
            return self.position
        path = self._relaxed_path(targets, beside=beside)
        return path[-1] if path else None

    def _relaxed_path(self, targets: set[str], *, beside: bool) -> list[str]:
        """The cells from the agent to the nearest target on the relaxed map (empty: none)."""
        if not targets or self.position is None:
            return []
        enterable = self._relaxed(self._keys_known())
        parent: dict[str, str | None] = {self.position: None}
        queue = deque([self.position])
        while queue:
            cell = queue.popleft()
            for n in self._neighbours.get(cell, ()):
                if n in targets and (beside or enterable(n)):
                    path = [n, cell]
                    while (prev := parent[path[-1]]) is not None:
                        path.append(prev)
                    return path[::-1]
                if n not in parent and enterable(n):
                    parent[n] = cell
                    queue.append(n)
        return []

    def _next_subgoal(self) -> Subgoal | str:
        """The mission's next subgoal, the goal square, or a door to open to look further."""
        if self.mission_error is not None:
            return f"the mission cannot be read: {self.mission_error}"
        opening = self.doors.get(self._opening or "")
        if opening is not None and opening[1] != "open":
            assert self._opening is not None
            return Subgoal(_EXPLORE, "open", self._opening, ("door", opening[0]))
        self._opening = None
        if self.progress is not None:
            if self.progress.start is not None:
                self.progress.start_room = self._room_of(self.progress.start[0])
            subgoal = self.progress.next_subgoal(
                self.things,
                self.doors,
                self.holding,
                self.goal,
                lambda cells: self._nearest(cells, beside=True),
                self._keys_known(),
            )
            if subgoal is not None:
                return subgoal
            if not self.progress.stage():
                self.progress.restart()
                return "every instruction was marked done, but the task goes on: again"
        elif self.goal is not None and self._nearest({self.goal}, beside=False) is not None:
            return Subgoal(_REACH, "reach", self.goal)
        if self.progress is not None and self._frontier_reachable():
            # walk before opening doors: MiniGrid's GoToDoor ends the episode on a toggle, and
            # an object in this room is found sooner by looking around it
            return "no object of the mission's current step can be acted on yet: exploring"
        keys = self._keys_known()
        held = {self.carrying} if self.carrying else set()
        # what is in hand for the mission is not put down to look around, unless nothing else
        # is left to open (the object it is to be put beside lies behind a locked door)
        for usable in [held, keys] if self._holding_needed() else [keys]:
            doors = {
                cell
                for cell, (color, state) in self.doors.items()
                if state == "closed" or (state == "locked" and color in usable)
            }
            door = self._nearest(doors, beside=True)
            if door is not None:
                if usable is not held:
                    self._opening = door  # the object in hand goes down for its key: until
                    # the door is open, that comes before picking the object up again
                return Subgoal(_EXPLORE, "open", door, ("door", self.doors[door][0]))
        box = self._nearest(self._boxes_to_open(keys), beside=True)
        if box is not None:
            return Subgoal(_EXPLORE, "unbox", box, self.things[box])
        if self.progress is not None:
            return (
                "no object of the mission's current step can be acted on yet, and no door or "
                "box to open"
            )
        if self.goal is not None:
            return "no known way leads to the goal, and no closed door is known to open"
        return "the goal has not been seen yet and no closed door is known to open"

    def _holding_needed(self) -> bool:
        """What is in hand is to be put next to something in this stage of the mission."""
        if self.progress is None or self.holding is None:
            return False
        return any(
            ins.verb == "put_next" and ins.obj is not None and ins.obj.matches(*self.holding)
            for _, ins in self.progress.stage()
        )

    def _room_of(self, cell: str) -> frozenset[str]:
        """The seen cells joined to ``cell`` without crossing a wall or a door.

        Its room, as far as it has been seen: the objects in it, and the doors in its walls
        (as BabyAI counts them).
        """
        room = {cell}
        doors: set[str] = set()
        queue = deque([cell])
        while queue:
            here = queue.popleft()
            for n in self._neighbours.get(here, ()):
                kind = self.kind.get(n)
                if kind == "door":
                    doors.add(n)
                elif n not in room and kind in ("floor", "goal", "thing", "lava"):
                    room.add(n)
                    queue.append(n)
        return frozenset(room | doors)

    def _door_first(self, subgoal: Subgoal) -> Subgoal:
        """A locked door on the way to the subgoal, without its key in hand: open it first.

        Else an agent that holds what it is to put down next to something puts it down for
        the key, then picks it up again for the mission, and so on.
        """
        if subgoal.verb == "open" and subgoal.target in self.doors:
            return subgoal
        path = self._relaxed_path({subgoal.target}, beside=subgoal.verb != "reach")
        for cell in path[:-1]:
            door = self.doors.get(cell)
            if door is not None and door[1] == "locked" and self.holding != ("key", door[0]):
                return Subgoal(subgoal.instruction, "open", cell, ("door", door[0]))
        return subgoal

    def _key_first(self, subgoal: Subgoal) -> Subgoal:
        """To open a locked door without its key in hand, first pick up its key, if seen.

        Two walk-and-act subgoals that the direct search answers; the engine gets only what
        they cannot do (a ball in the way).
        """
        door = self.doors.get(subgoal.target)
        if subgoal.verb != "open" or door is None or door[1] != "locked":
            return subgoal
        key = ("key", door[0])
        if self.holding == key:
            return subgoal
        cells = {cell for cell, thing in self.things.items() if thing == key}
        nearest = self._nearest(cells, beside=True)
        if nearest is None:
            return subgoal
        return Subgoal(subgoal.instruction, "pick_up", nearest, key)

    def _boxes_to_open(self, keys: set[str]) -> set[str]:
        """Boxes that may hide a key: every box that is not one of the mission's objects.

        Only while a locked door's key has not been seen, or the mission's objects have not.
        """
        stuck = any(s == "locked" and c not in keys for c, s in self.doors.values())
        if not stuck and self.progress is None:
            return set()
        wanted = [i.obj for i in self.progress.mission.instructions()] if self.progress else []
        return {
            cell
            for cell, thing in self.things.items()
            if thing[0] == "box" and not any(d is not None and d.matches(*thing) for d in wanted)
        }

    def _frontier_reachable(self) -> bool:
        """A cell never seen lies beside one the agent can walk to now."""
        if self.position is None:
            return False
        seen = {self.position}
        queue = deque([self.position])
        while queue:
            cell = queue.popleft()
            for n in self._neighbours.get(cell, ()):
                if n not in self.kind:
                    return True
                if n not in seen and self._passable(n):
                    seen.add(n)
                    queue.append(n)
        return False

    def _goal_atoms(self, subgoal: Subgoal) -> frozenset[Atom] | None:
        target = rowcol(subgoal.target)
        if subgoal.verb == "unbox":
            return frozenset({("unboxed", *target)})
        if subgoal.verb == "reach":
            return frozenset({("at", *target)})
        if subgoal.verb == "go_to":
            return frozenset({("announced", *target)})
        if subgoal.verb == "open":
            return frozenset({("clear", *target)})
        if subgoal.verb == "pick_up":
            assert subgoal.thing is not None
            return frozenset({("holding", *subgoal.thing)})
        assert subgoal.verb == "put"
        assert subgoal.thing is not None
        spots = {n for n in self._neighbours.get(subgoal.target, ()) if self._floor(n)}
        spot = self._nearest(spots, beside=True)
        return None if spot is None else frozenset({("thing", *rowcol(spot), *subgoal.thing)})

    def planning_state(self, wm: WorkingMemory) -> PlanningState | str:
        self._subgoal = None
        if self.size is None:
            return "the grid size is unknown (no ('grid', rows, cols) task fact)"
        if self.position is None:
            return "the agent's cell is unknown"
        subgoal = self._next_subgoal()
        if isinstance(subgoal, str):
            return subgoal
        subgoal = self._key_first(self._door_first(subgoal))
        goal = self._goal_atoms(subgoal)
        if goal is None:
            return f"no free floor beside {subgoal.target} to put the object down"
        self._subgoal = subgoal
        state = self._base_state() | {("at", *rowcol(self.position))}
        front = self._front()
        if front is not None:
            state |= {("faced", *rowcol(front))}
        if self.progress is not None:
            state |= {("announced", *rowcol(c)) for c in self.progress.announced}
        state |= {("unboxed", *rowcol(c)) for c in self.unboxed}
        colors = {c for c, _ in self.doors.values()} | {c for _, c in self.things.values()}
        if self.holding is not None:
            colors.add(self.holding[1])
        colors |= {a[-1] for a in goal if a[0] in ("holding", "thing")}
        objects = (*self._objects, *((k, "color") for k in sorted(colors or {"grey"})))
        return PlanningState(objects, state, goal)

    def _front(self) -> str | None:
        if self.position is None or self.facing is None or self.size is None:
            return None
        (r, c), (dr, dc) = coords(self.position), _FRONT[self.facing]
        rows, cols = self.size
        return f"c{r + dr}_{c + dc}" if 0 <= r + dr < rows and 0 <= c + dc < cols else None

    def search(self, planning: PlanningState) -> PlanResult | None:
        """The walk-and-act plan of the current subgoal (None: the engine's to solve)."""
        if self._subgoal is None or self.position is None:
            return None
        started = time.perf_counter()
        view = GridView(self._neighbours, self._passable, self.doors, self.holding, self._floor)
        plan = search_to_act(view, self.position, self._subgoal)
        if plan is None and self.moving:
            things = self.things
            view = GridView(
                self._neighbours,
                lambda cell: cell in things or self._passable(cell),
                self.doors,
                self.holding,
                self._floor,
            )
            plan = search_to_act(view, self.position, self._subgoal)
        if plan is None:
            return None
        return PlanResult(PlanStatus.SOLVED, plan, "bfs", time.perf_counter() - started)

    def candidate(self, step: GroundAction, wm: WorkingMemory) -> Candidate:
        name, args = step
        verb, _, direction = name.partition("-")
        r, c = coords(self.position or "c0_0")
        dr, dc = _FRONT[direction]
        front = f"c{r + dr}_{c + dc}"
        if verb == "done":
            action = "done"
            if self.progress is not None:
                self.progress.announced.add(front)
        else:
            action = _VERBS[verb] + direction
            if verb == "openbox":
                self.unboxed.add(front)
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
