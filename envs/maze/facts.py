"""What the agent perceives from a cell: symbolic atoms for the planner and a sentence for LLMs.

The percept depends only on the maze and the agent's cell, so :class:`PerceptCache` builds it once
per cell visited and later visits cost a lookup: this is what keeps ``MazeEnv.step`` cheap.
Visibility is a plain Chebyshev square (no occlusion): a wall does not hide what is behind it,
which keeps the percept easy to reason about and the view a simple slice of the block grid.
"""

from __future__ import annotations

from functools import lru_cache

from envs.base import Atom
from envs.maze.generator import DIRECTIONS, Cell, Maze, cell_name


def visible_range(maze: Maze, cell: Cell, radius: int) -> tuple[range, range]:
    """Rows and columns of the cells within Chebyshev distance ``radius`` of ``cell``."""
    r, c = cell
    return (
        range(max(0, r - radius), min(maze.height, r + radius + 1)),
        range(max(0, c - radius), min(maze.width, c + radius + 1)),
    )


def _cell_atoms(maze: Maze, cell: Cell) -> tuple[Atom, ...]:
    """The atoms one visible cell contributes: itself and each in-bounds side, both ways round."""
    name = cell_name(cell)
    atoms: list[Atom] = [("cell", name)]
    r, c = cell
    for d in DIRECTIONS:
        nb = (r + d.drow, c + d.dcol)
        if not maze.in_bounds(nb):
            continue  # The outer wall separates the cell from nothing, so it yields no atom.
        other = cell_name(nb)
        pred = "blocked" if maze.blocks[2 * r + 1 + d.drow, 2 * c + 1 + d.dcol] else "open"
        atoms.append((pred, name, other))
        atoms.append((pred, other, name))
    return tuple(atoms)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _offset_phrase(dr: int, dc: int) -> str:
    parts = []
    if dr:
        parts.append(f"{abs(dr)} {'south' if dr > 0 else 'north'}")
    if dc:
        parts.append(f"{abs(dc)} {'east' if dc > 0 else 'west'}")
    return " and ".join(parts)


def percept_text(maze: Maze, cell: Cell, radius: int) -> str:
    """A short deterministic sentence of the same percept as :func:`visible_facts`.

    It names the exits of the agent's own cell (the outer boundary counts as a wall) and where
    the goal is relative to the agent when, and only when, the goal is visible.
    """
    r, c = cell
    exits = [d.name for d in DIRECTIONS if not maze.blocks[2 * r + 1 + d.drow, 2 * c + 1 + d.dcol]]
    walls = [d.name for d in DIRECTIONS if d.name not in exits]
    if not exits:
        layout = "Walls on all sides."
    elif not walls:
        layout = f"Passages lead {_join(exits)}."
    else:
        wall_phrase = (
            f"walls to the {_join(walls)}" if len(walls) > 1 else f"a wall to the {walls[0]}"
        )
        layout = f"Passages lead {_join(exits)}; {wall_phrase}."
    gr, gc = maze.goal
    if (gr, gc) == (r, c):
        goal = "You are on the goal."
    elif max(abs(gr - r), abs(gc - c)) <= radius:
        where = _offset_phrase(gr - r, gc - c)
        goal = f"The goal is in sight at {cell_name(maze.goal)}, {where} of you."
    else:
        goal = "The goal is not in sight."
    return f"You are at {cell_name(cell)}. {layout} {goal}"


def visible_facts(maze: Maze, cell: Cell, radius: int) -> list[Atom]:
    """Sorted atoms perceivable from ``cell``; the uncached reference for :class:`PerceptCache`.

    ``("at", c)`` for the agent, ``("cell", c)`` for each visible cell, ``("open"|"blocked", a, b)``
    in both orders for every in-bounds side of a visible cell, and ``("goal", c)`` when the goal
    cell is visible.
    """
    rows, cols = visible_range(maze, cell, radius)
    atoms: set[Atom] = {("at", cell_name(cell))}
    for r in rows:
        for c in cols:
            atoms.update(_cell_atoms(maze, (r, c)))
    if maze.goal[0] in rows and maze.goal[1] in cols:
        atoms.add(("goal", cell_name(maze.goal)))
    return sorted(atoms)


# Predicates in alphabetical order, so that integer sort keys order atoms as tuples would.
_PREDICATE_RANK = {"at": 0, "blocked": 1, "cell": 2, "goal": 3, "open": 4}


@lru_cache(maxsize=16)
def _naming(height: int, width: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Cell names by flat index and each name's rank in string order (shared across resets)."""
    names = tuple(cell_name(divmod(i, width)) for i in range(height * width))
    rank = [0] * len(names)
    for position, i in enumerate(sorted(range(len(names)), key=names.__getitem__)):
        rank[i] = position
    return names, tuple(rank)


class PerceptCache:
    """Memoised percepts (sorted atoms and text) per agent cell for one maze and radius.

    Sorting and de-duplicating ~150 string tuples per new cell would cost tens of microseconds,
    so every atom gets an integer key that sorts exactly like the tuple (predicate rank, then the
    cells' ranks in string order) and the work per new cell is done on integers. Per-cell atoms
    are built the first time a cell is seen, so a reset costs almost nothing here.
    """

    def __init__(self, maze: Maze, radius: int) -> None:
        self._maze = maze
        self._radius = radius
        self._width = maze.width
        self._names, self._rank = _naming(maze.height, maze.width)
        self._base = len(self._names) + 1
        self._moves = maze.move_table
        self._cell_pairs: list[tuple[tuple[int, Atom], ...] | None] = [None] * len(self._names)
        self._cache: dict[int, tuple[tuple[Atom, ...], str]] = {}

    @property
    def maze(self) -> Maze:
        return self._maze

    def _key(self, predicate: str, a: int, b: int = -1) -> int:
        base = self._base
        return (_PREDICATE_RANK[predicate] * base + self._rank[a]) * base + (
            self._rank[b] + 1 if b >= 0 else 0
        )

    def _pairs(self, i: int) -> tuple[tuple[int, Atom], ...]:
        """Keyed atoms contributed by visible cell ``i`` (see :func:`_cell_atoms`)."""
        names, h, w = self._names, self._maze.height, self._width
        r, c = divmod(i, w)
        pairs: list[tuple[int, Atom]] = [(self._key("cell", i), ("cell", names[i]))]
        for d, target in zip(DIRECTIONS, self._moves[i], strict=True):
            nr, nc = r + d.drow, c + d.dcol
            if not (0 <= nr < h and 0 <= nc < w):
                continue  # The outer wall separates the cell from nothing: no atom.
            j = nr * w + nc
            pred = "blocked" if target < 0 else "open"
            pairs.append((self._key(pred, i, j), (pred, names[i], names[j])))
            pairs.append((self._key(pred, j, i), (pred, names[j], names[i])))
        built = tuple(pairs)
        self._cell_pairs[i] = built
        return built

    def get(self, index: int) -> tuple[tuple[Atom, ...], str]:
        """Atoms and text for the cell with flat index ``row * width + col``.

        The atoms are returned as a shared tuple: callers that hand them out must copy them.
        """
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        maze, w, cell_pairs = self._maze, self._width, self._cell_pairs
        cell = divmod(index, w)
        rows, cols = visible_range(maze, cell, self._radius)
        found: dict[int, Atom] = {self._key("at", index): ("at", self._names[index])}
        for r in rows:
            for c in cols:
                i = r * w + c
                found.update(cell_pairs[i] or self._pairs(i))
        if maze.goal[0] in rows and maze.goal[1] in cols:
            g = maze.goal[0] * w + maze.goal[1]
            found[self._key("goal", g)] = ("goal", self._names[g])
        atoms = tuple(map(found.__getitem__, sorted(found)))
        entry = (atoms, percept_text(maze, cell, self._radius))
        self._cache[index] = entry
        return entry
