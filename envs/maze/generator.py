"""Maze data and procedural generation.

Walls live in a *block grid* (cells, the walls between them and the pillars at their corners all
as blocks of one boolean array) because one array serves everything downstream: the agent's view
is a slice of it, rendering is a colour lookup on it, and tests can check the environment against
it without trusting any of this module's graph code.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from envs.maze.options import GenerationOptions

Cell = tuple[int, int]
"""A maze cell as ``(row, col)``, row 0 at the top."""


class Direction(NamedTuple):
    """A compass direction as a cell offset; ``DIRECTIONS[i]`` is what maze action ``i`` does."""

    name: str
    drow: int
    dcol: int


DIRECTIONS: tuple[Direction, ...] = (
    Direction("north", -1, 0),
    Direction("east", 0, 1),
    Direction("south", 1, 0),
    Direction("west", 0, -1),
)


_CELL_NAME = re.compile(r"c(\d+)_(\d+)")


def cell_name(cell: Cell) -> str:
    """Symbolic name of a cell (``(2, 3)`` -> ``"c2_3"``), the constant used in facts."""
    return f"c{cell[0]}_{cell[1]}"


@lru_cache(maxsize=8)
def grid_neighbours(rows: int, cols: int) -> dict[str, tuple[str, ...]]:
    """Each cell of a grid by name, with the names of the cells beside it.

    Shared by every search over a grid of that size: built once, read many times.
    """
    return {
        cell_name((r, c)): tuple(
            cell_name((r + d.drow, c + d.dcol))
            for d in DIRECTIONS
            if 0 <= r + d.drow < rows and 0 <= c + d.dcol < cols
        )
        for r in range(rows)
        for c in range(cols)
    }


def parse_cell(name: str) -> Cell:
    """Inverse of :func:`cell_name`, so that planners can turn atoms back into coordinates."""
    match = _CELL_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not a cell name: {name!r}; expected 'c<row>_<col>', e.g. 'c2_3'")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, eq=False)
class Maze:
    """An immutable maze: its block grid plus the start and goal cells.

    ``blocks`` has shape ``(2*height+1, 2*width+1)``, ``True`` meaning wall; cell ``(r, c)`` is
    block ``(2r+1, 2c+1)`` and the wall between two adjacent cells is the block between theirs.
    The array is copied and made read-only so a maze can be shared between episodes safely.
    """

    blocks: npt.NDArray[np.bool_]
    start: Cell
    goal: Cell

    def __post_init__(self) -> None:
        blocks = np.array(self.blocks, dtype=np.bool_, copy=True)
        if blocks.ndim != 2 or blocks.shape[0] % 2 == 0 or blocks.shape[1] % 2 == 0:
            raise ValueError(
                "blocks must be a 2-D array of odd shape (2*height+1, 2*width+1), "
                f"got {blocks.shape}"
            )
        if blocks.shape[0] < 3 or blocks.shape[1] < 3:
            raise ValueError(f"blocks must hold at least one cell, got shape {blocks.shape}")
        if not (
            blocks[0].all() and blocks[-1].all() and blocks[:, 0].all() and blocks[:, -1].all()
        ):
            raise ValueError("blocks must be walled all around (outer rows and columns True)")
        if not blocks[::2, ::2].all():
            raise ValueError("blocks must have a wall at every pillar (even row, even column)")
        if blocks[1::2, 1::2].any():
            raise ValueError("blocks must be open at every cell (odd row, odd column)")
        blocks.setflags(write=False)
        object.__setattr__(self, "blocks", blocks)
        for label, given in (("start", self.start), ("goal", self.goal)):
            cell = (int(given[0]), int(given[1]))
            object.__setattr__(self, label, cell)
            if not self.in_bounds(cell):
                raise ValueError(
                    f"{label} cell {cell} is outside the {self.height}x{self.width} grid"
                )

    @property
    def height(self) -> int:
        return int(self.blocks.shape[0] - 1) // 2

    @property
    def width(self) -> int:
        return int(self.blocks.shape[1] - 1) // 2

    def in_bounds(self, cell: Cell) -> bool:
        return 0 <= cell[0] < self.height and 0 <= cell[1] < self.width

    def cells(self) -> Iterator[Cell]:
        """All cells in row-major order (the order used wherever ties must be broken)."""
        for r in range(self.height):
            for c in range(self.width):
                yield r, c

    def is_open(self, a: Cell, b: Cell) -> bool:
        """Whether one can step from ``a`` to the adjacent ``b``; the outer wall is never open."""
        if not self.in_bounds(a):
            raise ValueError(f"cell {a} is outside the {self.height}x{self.width} grid")
        if abs(a[0] - b[0]) + abs(a[1] - b[1]) != 1:
            raise ValueError(f"cells {a} and {b} are not adjacent")
        return not self.blocks[a[0] + b[0] + 1, a[1] + b[1] + 1]

    def open_neighbors(self, cell: Cell) -> list[Cell]:
        """Cells reachable in one step, in ``DIRECTIONS`` order (north, east, south, west)."""
        if not self.in_bounds(cell):
            raise ValueError(f"cell {cell} is outside the {self.height}x{self.width} grid")
        w = self.width
        return [divmod(j, w) for j in self.move_table[cell[0] * w + cell[1]] if j >= 0]

    @cached_property
    def move_table(self) -> tuple[tuple[int, int, int, int], ...]:
        """For each flat cell ``row * width + col``, the flat cell each action leads to.

        Entries follow ``DIRECTIONS`` order and are ``-1`` where a wall is in the way. Plain
        Python ints, because per-element numpy indexing would dominate BFS and ``step`` costs.
        """
        walls = self.blocks.tolist()
        w = self.width
        table = []
        for r in range(self.height):
            for c in range(w):
                n, e, s, west = (
                    -1
                    if walls[2 * r + 1 + d.drow][2 * c + 1 + d.dcol]
                    else (r + d.drow) * w + c + d.dcol
                    for d in DIRECTIONS
                )
                table.append((n, e, s, west))
        return tuple(table)

    def distances(self, source: Cell) -> npt.NDArray[np.int64]:
        """BFS step counts from ``source`` to every cell, ``-1`` where unreachable."""
        if not self.in_bounds(source):
            raise ValueError(f"cell {source} is outside the {self.height}x{self.width} grid")
        moves = self.move_table
        first = source[0] * self.width + source[1]
        dist = [-1] * len(moves)
        dist[first] = 0
        queue = deque([first])
        while queue:
            i = queue.popleft()
            nd = dist[i] + 1
            for j in moves[i]:
                if j >= 0 and dist[j] < 0:
                    dist[j] = nd
                    queue.append(j)
        return np.array(dist, dtype=np.int64).reshape(self.height, self.width)

    def shortest_path(self, start: Cell | None = None, goal: Cell | None = None) -> list[Cell]:
        """A shortest path as the list of cells from ``start`` to ``goal`` inclusive (BFS).

        Defaults to the maze's own start and goal. Ties are broken by ``DIRECTIONS`` order so the
        answer is deterministic.
        """
        start = self.start if start is None else start
        goal = self.goal if goal is None else goal
        if not self.in_bounds(goal):
            raise ValueError(f"cell {goal} is outside the {self.height}x{self.width} grid")
        dist = self.distances(goal)  # BFS from the goal lets us walk downhill from the start.
        if dist[start] < 0:
            raise ValueError(f"{goal} is not reachable from {start}")
        path = [start]
        cell = start
        while cell != goal:
            cell = next(nb for nb in self.open_neighbors(cell) if dist[nb] == dist[cell] - 1)
            path.append(cell)
        return path

    def shortest_path_length(self, start: Cell | None = None, goal: Cell | None = None) -> int:
        """Number of steps of a shortest path (``ValueError`` when there is none)."""
        start = self.start if start is None else start
        goal = self.goal if goal is None else goal
        d = int(self.distances(start)[goal])
        if d < 0:
            raise ValueError(f"{goal} is not reachable from {start}")
        return d

    @property
    def passages(self) -> int:
        """Number of open walls between adjacent cells; ``width*height - 1`` for a perfect maze."""
        between_cols = self.blocks[1:-1:2, 2:-1:2]
        between_rows = self.blocks[2:-1:2, 1:-1:2]
        return int(between_cols.size - between_cols.sum() + between_rows.size - between_rows.sum())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Maze):
            return NotImplemented
        return (
            self.start == other.start
            and self.goal == other.goal
            and np.array_equal(self.blocks, other.blocks)
        )

    def __hash__(self) -> int:
        return hash((self.blocks.shape, self.blocks.tobytes(), self.start, self.goal))


class _Uniform:
    """Random indices drawn from the generator in chunks.

    Generation makes hundreds of tiny random choices; one ``rng.random`` call per chunk instead
    of one ``rng.integers`` call per choice keeps reset cheap while staying a pure function of the
    generator's state.
    """

    _CHUNK = 256

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[float] = []
        self._i = 0

    def index(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        if self._i == len(self._buf):
            self._buf = self._rng.random(self._CHUNK).tolist()
            self._i = 0
        u = self._buf[self._i]
        self._i += 1
        return min(int(u * n), n - 1)


@lru_cache(maxsize=16)
def _neighbours(width: int, height: int) -> tuple[tuple[int, ...], ...]:
    """Flat indices (``r*width + c``) of each cell's in-bounds neighbours, ``DIRECTIONS`` order.

    Cached: it depends only on the grid size, and every reset of an env regenerates a maze.
    """
    return tuple(
        tuple(
            (r + d.drow) * width + c + d.dcol
            for d in DIRECTIONS
            if 0 <= r + d.drow < height and 0 <= c + d.dcol < width
        )
        for r in range(height)
        for c in range(width)
    )


def _wall_block(a: int, b: int, width: int) -> tuple[int, int]:
    """Block coordinates of the wall between adjacent flat cells ``a`` and ``b``."""
    ra, ca = divmod(a, width)
    rb, cb = divmod(b, width)
    return ra + rb + 1, ca + cb + 1


def _carve_dfs(width: int, height: int, draw: _Uniform) -> list[tuple[int, int]]:
    """Recursive backtracker (iterative): long winding corridors, few dead ends."""
    nbrs = _neighbours(width, height)
    visited = bytearray(width * height)
    first = draw.index(width * height)
    visited[first] = 1
    stack = [first]
    edges: list[tuple[int, int]] = []
    while stack:
        cur = stack[-1]
        cand = [n for n in nbrs[cur] if not visited[n]]
        if not cand:
            stack.pop()
            continue
        nxt = cand[draw.index(len(cand))]
        visited[nxt] = 1
        edges.append((cur, nxt))
        stack.append(nxt)
    return edges


def _carve_prim(width: int, height: int, draw: _Uniform) -> list[tuple[int, int]]:
    """Randomized Prim: grows from one cell by random frontier walls; many short dead ends."""
    nbrs = _neighbours(width, height)
    visited = bytearray(width * height)
    first = draw.index(width * height)
    visited[first] = 1
    frontier = [(first, n) for n in nbrs[first]]
    edges: list[tuple[int, int]] = []
    while frontier:
        i = draw.index(len(frontier))
        frontier[i], frontier[-1] = frontier[-1], frontier[i]
        a, b = frontier.pop()
        if visited[b]:
            continue
        visited[b] = 1
        edges.append((a, b))
        frontier.extend((b, n) for n in nbrs[b] if not visited[n])
    return edges


def _carve_kruskal(width: int, height: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Randomized Kruskal: joins random walls' sides when they are not yet connected."""
    walls = [(a, b) for a, ns in enumerate(_neighbours(width, height)) for b in ns if a < b]
    parent = list(range(width * height))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges: list[tuple[int, int]] = []
    for i in rng.permutation(len(walls)).tolist():
        a, b = walls[i]
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            edges.append((a, b))
    return edges


def validate_generation_args(
    width: object, height: object, loops: object, algorithm: object, start_goal: object
) -> None:
    """Raise ``ValueError`` for bad generation arguments, naming the parameter at fault.

    The rules are :class:`~envs.maze.options.GenerationOptions`, which ``MazeEnv``'s options
    extend, so a bad configuration fails at construction rather than at the first ``reset``.
    """
    GenerationOptions.check(
        width=width, height=height, loops=loops, algorithm=algorithm, start_goal=start_goal
    )


def generate_maze(
    width: int,
    height: int,
    rng: np.random.Generator,
    *,
    loops: float = 0.0,
    algorithm: str = "dfs",
    start_goal: str = "corners",
) -> Maze:
    """Generate a maze that is a pure function of ``rng``'s state.

    A spanning tree of the cell grid is carved first (``algorithm``: ``"dfs"``, ``"prim"`` or
    ``"kruskal"``), which makes a *perfect* maze: exactly one path between any two cells. Then a
    fraction ``loops`` of the interior walls still standing is knocked down, adding cycles (so
    ``loops=1`` leaves an open room). ``start_goal`` places the start and goal: ``"corners"``
    (top-left, bottom-right), ``"random"`` (two distinct random cells) or ``"far"`` (random start,
    goal at a maximal BFS distance from it, ties broken at random).
    """
    validate_generation_args(width, height, loops, algorithm, start_goal)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    width, height = int(width), int(height)
    draw = _Uniform(rng)
    if algorithm == "dfs":
        edges = _carve_dfs(width, height, draw)
    elif algorithm == "prim":
        edges = _carve_prim(width, height, draw)
    else:
        edges = _carve_kruskal(width, height, rng)

    blocks = np.ones((2 * height + 1, 2 * width + 1), dtype=np.bool_)
    blocks[1::2, 1::2] = False
    for a, b in edges:
        blocks[_wall_block(a, b, width)] = False

    if loops > 0:
        standing = [
            _wall_block(a, b, width)
            for a, ns in enumerate(_neighbours(width, height))
            for b in ns
            if a < b and blocks[_wall_block(a, b, width)]
        ]
        k = min(len(standing), math.floor(float(loops) * len(standing) + 0.5))
        for i in rng.choice(len(standing), size=k, replace=False).tolist():
            blocks[standing[i]] = False

    n = width * height
    if start_goal == "corners":
        start, goal = 0, n - 1
    elif start_goal == "random":
        start = draw.index(n)
        goal = draw.index(n - 1)
        if goal >= start:
            goal += 1
    else:
        start = draw.index(n)
        probe = Maze(blocks, divmod(start, width), divmod(start, width))
        dist = probe.distances(divmod(start, width)).ravel()
        far = np.flatnonzero(dist == dist.max())
        goal = int(far[draw.index(len(far))])
    return Maze(blocks, divmod(start, width), divmod(goal, width))
