"""What the agent perceives in a MiniGrid task: grid-vocabulary atoms and a sentence.

The percept is read from MiniGrid's **own partial observation**, ``obs["image"]``: the
egocentric ``agent_view_size`` square in front of the agent, encoded by ``Grid.encode`` with the
visibility mask of ``gen_obs_grid`` (walls and closed doors occlude what lies behind them unless
the task sets ``see_through_walls``). A view cell whose type is ``unseen`` (0) is not visible.
Each visible view cell is mapped back to world coordinates from the agent's position and
direction, the inverse of ``MiniGridEnv.get_view_coords``. Two exceptions, both things the agent
knows without looking: the agent's own cell (where MiniGrid's view shows the carried object, we
report what the agent stands on) and what it carries.

Cells are ``c<row>_<col>`` with row = MiniGrid's ``y`` and col = ``x`` (docs/facts.md).
Passable cells are floor, the goal and open doors; walls, lava, closed or locked doors and
objects (keys, balls, boxes) are not (a move does step into lava, which ends the episode: the
facts report lava as blocked so that an agent can avoid it). ``open``/``blocked`` are reported
between adjacent cells:

* both visible now: ``open`` when both are passable, else ``blocked`` (nothing between two walls);
* a visible passable cell next to a cell the agent has **never** had in view this episode:
  ``open``, both ways. This is the frontier: as far as the agent knows nothing blocks it, and
  the exploring policy heads for such cells. Once a cell has been in view it is never again
  reported from memory, so a wall seen earlier is not re-opened when it leaves the view.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy.typing as npt
from minigrid.core.constants import DIR_TO_VEC, IDX_TO_COLOR, OBJECT_TO_IDX

from envs.base import Atom

UNSEEN = OBJECT_TO_IDX["unseen"]
EMPTY = OBJECT_TO_IDX["empty"]
WALL = OBJECT_TO_IDX["wall"]
FLOOR = OBJECT_TO_IDX["floor"]
DOOR = OBJECT_TO_IDX["door"]
KEY = OBJECT_TO_IDX["key"]
BALL = OBJECT_TO_IDX["ball"]
BOX = OBJECT_TO_IDX["box"]
GOAL = OBJECT_TO_IDX["goal"]
LAVA = OBJECT_TO_IDX["lava"]
DOOR_OPEN, DOOR_CLOSED, DOOR_LOCKED = 0, 1, 2
OBJECTS = {KEY: "key", BALL: "ball", BOX: "box"}

# MiniGrid's agent_dir: 0 east (+x), 1 south (+y), 2 west, 3 north.
DIR_NAMES = ("east", "south", "west", "north")
CARDINALS = ("north", "east", "south", "west")
"""The four directions in the order of the high-level move actions (as in the maze)."""
CARDINAL_DIR = {"east": 0, "south": 1, "west": 2, "north": 3}
"""Direction name -> MiniGrid ``agent_dir``."""
STEP = {"north": (0, -1), "east": (1, 0), "south": (0, 1), "west": (-1, 0)}
"""Direction name -> ``(dx, dy)`` in MiniGrid coordinates."""

Encoded = tuple[int, int, int]
"""One cell of ``Grid.encode``: object type, colour, state."""


def cell_name(x: int, y: int) -> str:
    """``c<row>_<col>`` of MiniGrid position ``(x, y)``."""
    return f"c{y}_{x}"


_FREE = frozenset({EMPTY, FLOOR, GOAL})
_SORT_KEY = "\x00".join
"""Sorts atoms exactly as tuples of strings sort (no name holds a NUL), faster."""


def passable(code: Encoded) -> bool:
    """Whether a high-level move may step onto a cell with this encoding."""
    kind = code[0]
    return kind in _FREE or (kind == DOOR and code[2] == DOOR_OPEN)


@lru_cache(maxsize=32)
def view_offsets(view_size: int, agent_dir: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """World ``(dx, dy)`` of view cell ``[i][j]`` relative to the agent, for a direction.

    The agent sits at view cell ``(view_size // 2, view_size - 1)`` looking "up" the view; this
    is the inverse of ``MiniGridEnv.get_view_coords``.
    """
    fx, fy = (int(v) for v in DIR_TO_VEC[agent_dir])
    rx, ry = -fy, fx
    return tuple(
        tuple(
            (
                (view_size - 1 - j) * fx + (i - view_size // 2) * rx,
                (view_size - 1 - j) * fy + (i - view_size // 2) * ry,
            )
            for j in range(view_size)
        )
        for i in range(view_size)
    )


Neighbours = tuple[tuple[tuple[tuple[int, int], str, bool], ...], ...]
"""One grid row's cells, each with its neighbours (see :func:`_tables`)."""


@lru_cache(maxsize=16)
def _tables(width: int, height: int) -> tuple[tuple[tuple[str, ...], ...], tuple[Neighbours, ...]]:
    """Cell names by ``[y][x]``, and each cell's in-grid neighbours, shared across episodes.

    A neighbour is (position, name, whether it lies east or south of the cell).
    """
    names = tuple(tuple(cell_name(x, y) for x in range(width)) for y in range(height))
    neighbours = tuple(
        tuple(
            tuple(
                ((nx, ny), names[ny][nx], nx > x or ny > y)
                for nx, ny in ((x, y - 1), (x + 1, y), (x, y + 1), (x - 1, y))
                if 0 <= nx < width and 0 <= ny < height
            )
            for x in range(width)
        )
        for y in range(height)
    )
    return names, neighbours


class Perceiver:
    """Per-episode percept builder: remembers which cells have been in view (for the frontier)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.seen: set[tuple[int, int]] = set()
        """Cells (``(x, y)``) that have been in view this episode."""
        self._names, self._neighbours = _tables(width, height)

    def visible(
        self, image: npt.NDArray[Any], pos: tuple[int, int], agent_dir: int, under: Encoded
    ) -> dict[tuple[int, int], Encoded]:
        """World position -> encoding of every in-grid cell in view; ``under`` is the agent's."""
        ax, ay = pos
        w, h = self.width, self.height
        out: dict[tuple[int, int], Encoded] = {}
        for column, offsets in zip(
            image.tolist(), view_offsets(image.shape[0], agent_dir), strict=True
        ):
            for code, (dx, dy) in zip(column, offsets, strict=True):
                if code[0] != UNSEEN:
                    x, y = ax + dx, ay + dy
                    if 0 <= x < w and 0 <= y < h:
                        out[(x, y)] = (code[0], code[1], code[2])
        out[pos] = under
        return out

    def percept(
        self,
        image: npt.NDArray[Any],
        pos: tuple[int, int],
        agent_dir: int,
        under: Encoded,
        carrying: tuple[str, str] | None,
    ) -> tuple[list[Atom], str]:
        """Sorted atoms and a sentence for the current view; marks the view as seen."""
        view = self.visible(image, pos, agent_dir, under)
        facts = self.atoms(view, pos, agent_dir, carrying)
        text = describe(view, pos, agent_dir, carrying)
        self.seen.update(view)
        return sorted(facts, key=_SORT_KEY), text

    def atoms(
        self,
        view: dict[tuple[int, int], Encoded],
        pos: tuple[int, int],
        agent_dir: int,
        carrying: tuple[str, str] | None,
    ) -> set[Atom]:
        names, seen = self._names, self.seen
        facts: set[Atom] = {("at", names[pos[1]][pos[0]]), ("facing", DIR_NAMES[agent_dir])}
        add = facts.add
        if carrying is not None:
            held, color = carrying
            add(("holding", held, color))
            if held == "key":
                add(("carrying", color))
        open_ = {
            p: code[0] in _FREE or (code[0] == DOOR and code[2] == DOOR_OPEN)
            for p, code in view.items()
        }
        neighbours = self._neighbours
        for p, code in view.items():
            x, y = p
            name = names[y][x]
            add(("cell", name))
            kind = code[0]
            if kind == WALL:
                add(("wall", name))
            elif kind == LAVA:
                add(("lava", name))
            elif kind == GOAL:
                add(("goal", name))
            elif kind == DOOR:
                add(("door", name, IDX_TO_COLOR[code[1]]))
                if code[2] != DOOR_OPEN:
                    add(("closed", name))
                if code[2] == DOOR_LOCKED:
                    add(("locked", name))
            elif kind in OBJECTS:
                add((OBJECTS[kind], name, IDX_TO_COLOR[code[1]]))
            here = open_[p]
            for q, other, later in neighbours[y][x]:
                there = open_.get(q)
                if there is None:  # out of view: a frontier when never seen
                    if here and q not in seen:
                        add(("open", name, other))
                        add(("open", other, name))
                elif later and (kind != WALL or view[q][0] != WALL):
                    pred = "open" if here and there else "blocked"  # each pair once
                    add((pred, name, other))
                    add((pred, other, name))
        return facts


_SHOWN = frozenset({GOAL, DOOR, *OBJECTS})


def _thing(code: Encoded) -> str:
    kind, color = code[0], IDX_TO_COLOR.get(code[1], "")
    if kind == DOOR:
        state = {DOOR_OPEN: "open", DOOR_CLOSED: "closed", DOOR_LOCKED: "locked"}[code[2]]
        return f"a {state} {color} door"
    if kind in OBJECTS:
        return f"a {color} {OBJECTS[kind]}"
    return {GOAL: "the goal", WALL: "a wall", LAVA: "lava"}.get(kind, "open floor")


def _offset(dx: int, dy: int) -> str:
    parts = []
    if dy:
        parts.append(f"{abs(dy)} {'south' if dy > 0 else 'north'}")
    if dx:
        parts.append(f"{abs(dx)} {'east' if dx > 0 else 'west'}")
    return " and ".join(parts) or "here"


def describe(
    view: dict[tuple[int, int], Encoded],
    pos: tuple[int, int],
    agent_dir: int,
    carrying: tuple[str, str] | None,
) -> str:
    """One or two sentences: pose, what is ahead, and the goal, doors and objects in view."""
    x, y = pos
    head = f"You are at {cell_name(x, y)} facing {DIR_NAMES[agent_dir]}"
    if carrying is not None:
        head += f", carrying a {carrying[1]} {carrying[0]}"
    fx, fy = (int(v) for v in DIR_TO_VEC[agent_dir])
    ahead = view.get((x + fx, y + fy))
    parts = [head + (f"; ahead is {_thing(ahead)}." if ahead is not None else ".")]
    shown = sorted(
        ((cy, cx), code) for (cx, cy), code in view.items() if code[0] in _SHOWN and (cx, cy) != pos
    )
    things = [
        f"{_thing(code)} at {cell_name(cx, cy)} ({_offset(cx - x, cy - y)})"
        for (cy, cx), code in shown
    ]
    if view[pos][0] == GOAL:
        things.insert(0, "you are on the goal")
    parts.append(f"In view: {', '.join(things)}." if things else "No goal, door or object in view.")
    return " ".join(parts)
