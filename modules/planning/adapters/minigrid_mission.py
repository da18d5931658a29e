"""A MiniGrid mission's progress, its next subgoal, and the direct search that reaches it.

The mission (:mod:`envs.minigrid.mission`) is a list of stages, each a set of instructions.
:class:`MissionProgress` marks an instruction done from what the agent observes (a matching
object in hand, a matching door seen open after it was closed, an object put down next to the
other) or does (the ``done`` said while facing the object of a "go to"). The current subgoal is
the nearest not-done instruction of the first stage not done whose object has been seen.

:func:`search_to_act` is the exact, cheap answer for most subgoals: a breadth-first search over
the believed grid to a cell beside the target, opening closed doors on the way and unlocking
locked ones with the key in hand, then the acting step. What it cannot answer (a key to fetch,
an object in the way) goes to the PDDL engine with the same goal.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from envs.minigrid.mission import Instruction, Mission, ObjDesc
from modules.planning.results import GroundAction

Thing = tuple[str, str]
"""``(kind, colour)`` of a key, ball, box or door."""
DIRS = {(-1, 0): "north", (0, 1): "east", (1, 0): "south", (0, -1): "west"}
_DIR_VEC = {"east": (1, 0), "south": (0, 1), "west": (-1, 0), "north": (0, -1)}
"""MiniGrid ``(dx, dy)`` of a facing direction."""


def coords(cell: str) -> tuple[int, int]:
    """``c<row>_<col>`` -> ``(row, col)``."""
    row, _, col = cell[1:].partition("_")
    return int(row), int(col)


def rowcol(cell: str) -> tuple[str, str]:
    """``c<row>_<col>`` -> the problem's row and column objects."""
    row, _, col = cell[1:].partition("_")
    return f"row{row}", f"col{col}"


def beside(a: str, b: str) -> bool:
    (r0, c0), (r1, c1) = coords(a), coords(b)
    return abs(r0 - r1) + abs(c0 - c1) == 1


def direction(src: str, dst: str) -> str:
    (r0, c0), (r1, c1) = coords(src), coords(dst)
    return DIRS[(r1 - r0, c1 - c0)]


@dataclass(frozen=True)
class Subgoal:
    """What to do next: ``verb`` on the object at ``target`` (``put`` drops next to it)."""

    instruction: Instruction
    verb: str
    """``go_to``, ``pick_up``, ``open``, ``put`` (drop what is held next to ``target``),
    ``reach`` (stand on the goal square) or ``unbox`` (open a box to see what it holds)."""
    target: str
    thing: Thing | None = None
    """What lies at ``target`` (``pick_up``) or what is put down (``put``)."""


@dataclass
class MissionProgress:
    """Which instructions are done, and which objects each may mean."""

    mission: Mission
    start: tuple[str, str] | None = None
    """The agent's cell and facing at the start: BabyAI's "on your left" is relative to it."""
    done: set[int] = field(default_factory=set)
    announced: set[str] = field(default_factory=set)
    """Cells where ``done`` was said while facing them, in the current stage."""
    origin: dict[str, str] = field(default_factory=dict)
    """Cell of an object now -> the cell it lay in at the start, for the objects the agent
    moved: a location in the mission names the object where it was."""
    start_room: frozenset[str] | None = None
    """The cells known to be in the room the agent starts in (set by the adapter as it sees
    more): BabyAI's locations apply only to the objects of that room."""
    _stage: int = -1

    def stage(self) -> list[tuple[int, Instruction]]:
        """The instructions of the first stage with one not done (empty: all done)."""
        index = 0
        for number, stage in enumerate(self.mission.stages):
            todo = [(index + i, ins) for i, ins in enumerate(stage) if index + i not in self.done]
            if todo:
                if number != self._stage:  # what was done before this stage counts for none
                    self._stage = number  # of it (BabyAI: "A, then B" needs B after A)
                    self.announced.clear()
                return todo
            index += len(stage)
        return []

    def restart(self) -> None:
        """Do every instruction again: all were marked done, yet the task goes on.

        One was not done as the task counts it.
        """
        self.done.clear()
        self.announced.clear()
        self._stage = -1

    def matches(self, desc: ObjDesc, cell: str, thing: Thing) -> bool:
        """``thing`` at ``cell`` fits ``desc``, its location included (from the start pose)."""
        if not desc.matches(*thing):
            return False
        if desc.loc is None or self.start is None:
            return True
        cell = self.origin.get(cell, cell)
        if self.start_room is not None and cell not in self.start_room:
            return False
        (r0, c0), (r, c) = coords(self.start[0]), coords(cell)
        dx, dy = _DIR_VEC[self.start[1]]
        vx, vy = c - c0, r - r0
        ahead, right = vx * dx + vy * dy, vx * -dy + vy * dx
        return {
            "front": ahead > 0,
            "behind": ahead < 0,
            "left": right < 0,
            "right": right > 0,
        }[desc.loc]

    def observe(
        self,
        things: Mapping[str, Thing],
        doors: Mapping[str, tuple[str, str]],
        opened: Iterable[str],
        picked: Thing | None,
        dropped: tuple[str, Thing] | None,
    ) -> None:
        """Mark done what the last step achieved.

        ``opened``: door cells seen open now that were closed or locked before; ``picked``:
        what is in hand now and was not before; ``dropped``: the cell and kind of what was put
        down since the last percept.
        """
        opened = set(opened)
        for index, ins in self.stage():
            if ins.obj is None:
                continue
            done = False
            if ins.verb == "pick_up" and picked is not None:
                done = ins.obj.matches(*picked)
            elif ins.verb == "open":
                done = any(self.matches(ins.obj, cell, ("door", doors[cell][0])) for cell in opened)
            elif ins.verb == "go_to":
                done = any(
                    self.matches(ins.obj, cell, found)
                    for cell in self.announced
                    if (found := _at(cell, things, doors)) is not None
                )
            elif ins.verb == "put_next" and dropped is not None and ins.near is not None:
                cell, thing = dropped
                done = ins.obj.matches(*thing) and any(
                    beside(cell, other) and self.matches(ins.near, other, found)
                    for other in (*things, *doors)
                    if other != cell and (found := _at(other, things, doors)) is not None
                )
            if done:
                self.done.add(index)

    def next_subgoal(
        self,
        things: Mapping[str, Thing],
        doors: Mapping[str, tuple[str, str]],
        holding: Thing | None,
        goal: str | None,
        nearest: Callable[[set[str]], str | None],
        keys: Collection[str] = (),
    ) -> Subgoal | None:
        """The nearest instruction of the current stage whose object is known (None: none is).

        ``keys``: colours of the keys known (held or seen); a locked door to open is a target
        only once its key is known, until then the key is looked for.
        """
        options: dict[str, Subgoal] = {}
        for _, ins in self.stage():
            if ins.verb == "reach_goal":
                if goal is not None:
                    options[goal] = Subgoal(ins, "reach", goal)
                continue
            assert ins.obj is not None
            if ins.verb == "put_next":
                assert ins.near is not None
                if holding is None or not ins.obj.matches(*holding):
                    self._add(options, ins, "pick_up", ins.obj, things, {}, keys)
                else:
                    for cell, found in _every(things, doors).items():
                        if self.matches(ins.near, cell, found):
                            options.setdefault(cell, Subgoal(ins, "put", cell, holding))
                continue
            items = {} if ins.verb == "open" else things
            pool = doors if ins.verb in ("open", "go_to") else {}
            self._add(options, ins, ins.verb, ins.obj, items, pool, keys)
        if not options:
            return None
        best = nearest(set(options))
        return options.get(best) if best is not None else None

    def _add(
        self,
        options: dict[str, Subgoal],
        ins: Instruction,
        verb: str,
        desc: ObjDesc,
        things: Mapping[str, Thing],
        doors: Mapping[str, tuple[str, str]],
        keys: Collection[str],
    ) -> None:
        for cell, thing in things.items():
            if self.matches(desc, cell, thing):
                options.setdefault(cell, Subgoal(ins, verb, cell, thing))
        for cell, (color, state) in doors.items():
            if verb == "open" and state == "open":
                continue  # BabyAI's "open" is met by opening it: an open door is not a target
            if verb == "open" and state == "locked" and color not in keys:
                continue  # its key is to be found first
            if self.matches(desc, cell, ("door", color)):
                options.setdefault(cell, Subgoal(ins, verb, cell, ("door", color)))


def _at(
    cell: str, things: Mapping[str, Thing], doors: Mapping[str, tuple[str, str]]
) -> Thing | None:
    if cell in things:
        return things[cell]
    if cell in doors:
        return ("door", doors[cell][0])
    return None


def _every(things: Mapping[str, Thing], doors: Mapping[str, tuple[str, str]]) -> dict[str, Thing]:
    out = dict(things)
    out.update((cell, ("door", color)) for cell, (color, _) in doors.items())
    return out


@dataclass(frozen=True)
class GridView:
    """What the direct search needs of the adapter's beliefs."""

    neighbours: Mapping[str, tuple[str, ...]]
    passable: Callable[[str], bool]
    """Clear now: floor, the goal, an open door, or never seen."""
    doors: Mapping[str, tuple[str, str]]
    holding: Thing | None
    floor: Callable[[str], bool]
    """Empty floor: something can be put down there."""


def search_to_act(view: GridView, start: str, subgoal: Subgoal) -> tuple[GroundAction, ...] | None:
    """Walk beside the target and act on it, or None when that needs more than walking.

    Closed doors on the way are opened, locked ones unlocked with the key in hand. ``pick_up``
    with something else in hand puts it down at the end, on a floor cell beside the agent.
    """
    verb, target = subgoal.verb, subgoal.target
    door = view.doors.get(target)
    if (
        verb == "open"
        and door is not None
        and door[1] == "locked"
        and view.holding != ("key", door[0])
    ):
        return None  # the key is to be fetched first: the engine's problem
    if verb == "reach":
        ends = {target}
    elif verb == "put":
        ends = {n for n in view.neighbours.get(target, ()) if view.floor(n)}
    else:
        ends = {target}
    path = _bfs(view, start, ends, enter=verb == "reach")
    if path is None:
        return None
    steps: list[GroundAction] = []
    held = view.holding
    cells = [start, *path]
    walk = cells if verb == "reach" else cells[:-1]
    for here, there in itertools.pairwise(walk):
        door = view.doors.get(there)
        if door is not None and door[1] == "closed":
            steps.append(_step("open", here, there))
        elif door is not None and door[1] == "locked":
            steps.append(_step("unlock", here, there, door[0]))
        steps.append(_step("move", here, there))
    if verb == "reach":
        return tuple(steps)
    stand, front = walk[-1], cells[-1]
    if verb == "go_to":
        steps += [_step("face", stand, front), _step("done", stand, front)]
    elif verb == "pick_up":
        assert subgoal.thing is not None
        if held is not None:  # one thing in hand: put it down beside, once there (a key
            # carried for the doors on the way is needed up to the end)
            spot = next(
                (n for n in view.neighbours.get(stand, ()) if view.floor(n) and n != front),
                None,
            )
            if spot is None:
                return None
            steps.append(_step("drop", stand, spot, *held))
        steps.append(_step("pickup", stand, front, *subgoal.thing))
    elif verb == "open":
        door = view.doors[front]
        if door[1] == "locked":
            steps.append(_step("unlock", stand, front, door[0]))
        else:
            steps.append(_step("open", stand, front))
    elif verb == "put":
        assert held is not None
        steps.append(_step("drop", stand, front, *held))
    elif verb == "unbox":
        assert subgoal.thing is not None
        steps.append(_step("openbox", stand, front, subgoal.thing[1]))
    return tuple(steps)


def _bfs(view: GridView, start: str, ends: set[str], *, enter: bool) -> list[str] | None:
    """Cells from ``start`` (excluded) to one of ``ends``.

    ``enter``: the end is stood on; else it is the cell faced at the end (the path's last
    cell, never entered).
    """
    if not ends:
        return None
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for n in view.neighbours.get(cell, ()):
            if n in parent:
                continue
            if n in ends and (not enter or _enterable(view, n)):
                path = [n, cell]
                while (prev := parent[path[-1]]) is not None:
                    path.append(prev)
                path.reverse()
                return path[1:]
            if _enterable(view, n):
                parent[n] = cell
                queue.append(n)
    return None


def _enterable(view: GridView, cell: str) -> bool:
    if view.passable(cell):
        return True
    door = view.doors.get(cell)
    if door is None:
        return False
    color, state = door
    held = view.holding
    return state == "closed" or (state == "locked" and held == ("key", color))


def _step(verb: str, here: str, there: str, *extra: str) -> GroundAction:
    return (f"{verb}-{direction(here, there)}", (*rowcol(here), *_other(here, there), *extra))


def _other(here: str, there: str) -> tuple[str, ...]:
    """The action's third parameter: the row (north, south) or column (east, west) moved to."""
    (r0, _), (r1, c1) = coords(here), coords(there)
    return (f"row{r1}",) if r1 != r0 else (f"col{c1}",)
