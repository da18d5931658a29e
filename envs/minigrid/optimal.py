"""The length of a shortest solution from the start state, by breadth-first search, for scoring.

It searches the full (privileged) grid at reset, over states ``(cell, facing, held object,
opened doors)``, with the same action semantics as :mod:`envs.minigrid.env`:

* high-level actions (``cardinal``): a move, ``open_<dir>`` or ``pickup_<dir>`` is one step
  whatever the agent faces, so the facing is left out of the state;
* MiniGrid's primitive actions: turns, ``forward``, ``pickup`` and ``toggle`` are one step each.

The goal is reached by stepping onto a ``goal`` cell. Dropping is never searched (a task that
needs to put one object down to pick up another gets a longer, or no, optimum) and doors are
never closed. Tasks without a goal cell (Unlock, Fetch, ...) and searches that would exceed
``max_states`` give ``None``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from minigrid.core.constants import DIR_TO_VEC

_DIRS = tuple((int(v[0]), int(v[1])) for v in DIR_TO_VEC)  # MiniGrid's agent_dir order
_DIR_NAMES = ("east", "south", "west", "north")
_VERB = {"move": "", "open": "open_", "pickup": "pickup_"}
_PRIMITIVE = {"move": "forward", "open": "toggle", "pickup": "pickup"}

State = tuple[tuple[int, int], int, int, int]  # cell, facing, held object, opened doors


def shortest_solution(
    env: Any, *, primitive: bool = False, max_states: int = 400_000
) -> int | None:
    """Fewest steps from ``env``'s current state to a goal cell (see the module docstring)."""
    plan = solve(env, primitive=primitive, max_states=max_states)
    return None if plan is None else len(plan)


def solve(env: Any, *, primitive: bool = False, max_states: int = 400_000) -> list[str] | None:
    """A shortest solution as action names (``envs.minigrid.env``'s or MiniGrid's), or ``None``.

    ``env`` is MiniGrid's own env (``MiniGridEnv.minigrid``), in the state to plan from.
    """
    layout = _Layout(env.grid)
    if not layout.goals:
        return None
    start_pos = (int(env.agent_pos[0]), int(env.agent_pos[1]))
    start: State = (start_pos, int(env.agent_dir) if primitive else 0, -1, layout.opened)
    parent: dict[State, tuple[State, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action, nxt in layout.successors(state, primitive):
            if nxt in parent:
                continue
            parent[nxt] = (state, action)
            if nxt[0] in layout.goals and nxt[0] != state[0]:
                plan = [action]
                back = parent[state]
                while back is not None:
                    plan.append(back[1])
                    back = parent[back[0]]
                return plan[::-1]
            if len(parent) > max_states:
                return None
            queue.append(nxt)
    return None


class _Layout:
    """The static grid: what each cell holds, with doors and pickable objects numbered."""

    FREE, BLOCKED, GOAL, DOOR, OBJECT = range(5)

    def __init__(self, grid: Any) -> None:
        self.width, self.height = int(grid.width), int(grid.height)
        self.cells: dict[tuple[int, int], tuple[int, int]] = {}  # absent: free floor
        self.doors: list[tuple[str, bool]] = []  # colour, locked
        self.objects: list[tuple[str, str]] = []  # kind, colour
        self.goals: set[tuple[int, int]] = set()
        self.opened = 0
        for y in range(self.height):
            for x in range(self.width):
                self._add((x, y), grid.get(x, y))

    def _add(self, pos: tuple[int, int], cell: Any) -> None:
        if cell is None or cell.type == "floor":
            return
        if cell.type == "goal":
            self.cells[pos] = (self.GOAL, 0)
            self.goals.add(pos)
        elif cell.type == "door":
            self.cells[pos] = (self.DOOR, len(self.doors))
            if cell.is_open:
                self.opened |= 1 << len(self.doors)
            self.doors.append((cell.color, bool(cell.is_locked)))
        elif cell.can_pickup():
            self.cells[pos] = (self.OBJECT, len(self.objects))
            self.objects.append((cell.type, cell.color))
        else:  # walls, lava (entering it ends the episode), anything else that cannot be entered
            self.cells[pos] = (self.BLOCKED, 0)

    def enterable(self, pos: tuple[int, int], held: int, doors_open: int) -> bool:
        if not (0 <= pos[0] < self.width and 0 <= pos[1] < self.height):
            return False
        kind, k = self.cells.get(pos, (self.FREE, 0))
        if kind == self.DOOR:
            return bool(doors_open >> k & 1)
        if kind == self.OBJECT:
            return held == k  # picked up (and never put down): the cell is empty now
        return kind != self.BLOCKED

    def on_front(
        self, pos: tuple[int, int], front: tuple[int, int], held: int, doors_open: int
    ) -> list[tuple[str, tuple[int, int], int, int]]:
        """(verb, cell, held, opened) reachable by acting on ``front``; the cell may change."""
        out = []
        if self.enterable(front, held, doors_open):
            out.append(("move", front, held, doors_open))
        kind, k = self.cells.get(front, (self.FREE, 0))
        if kind == self.DOOR and not doors_open >> k & 1:
            color, locked = self.doors[k]
            if not locked or (held >= 0 and self.objects[held] == ("key", color)):
                out.append(("open", pos, held, doors_open | 1 << k))
        elif kind == self.OBJECT and held < 0:
            out.append(("pickup", pos, k, doors_open))
        return out

    def successors(self, state: State, primitive: bool) -> list[tuple[str, State]]:
        pos, facing, held, doors_open = state
        out: list[tuple[str, State]] = []
        if primitive:
            out.append(("left", (pos, (facing - 1) % 4, held, doors_open)))
            out.append(("right", (pos, (facing + 1) % 4, held, doors_open)))
            dx, dy = _DIRS[facing]
            for verb, p, h, o in self.on_front(pos, (pos[0] + dx, pos[1] + dy), held, doors_open):
                out.append((_PRIMITIVE[verb], (p, facing, h, o)))
            return out
        for d, (dx, dy) in enumerate(_DIRS):
            for verb, p, h, o in self.on_front(pos, (pos[0] + dx, pos[1] + dy), held, doors_open):
                out.append((_VERB[verb] + _DIR_NAMES[d], (p, 0, h, o)))
        return out
