"""Maze generation and the Maze data type, checked against an independent BFS."""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import numpy.typing as npt
import pytest

from envs.maze import ALGORITHMS, DIRECTIONS, Maze, cell_name, generate_maze, parse_cell

SIZES = [(2, 2), (7, 5), (5, 9), (15, 15)]

# --- Independent reference, written from the block-grid definition alone (True = wall, cell
# (r, c) at block (2r+1, 2c+1)) and calling nothing in envs.maze, so a shared bug cannot hide.

Cell = tuple[int, int]
OFFSETS = {"north": (-1, 0), "east": (0, 1), "south": (1, 0), "west": (0, -1)}


def grid_size(blocks: npt.NDArray[np.bool_]) -> tuple[int, int]:
    return (blocks.shape[0] - 1) // 2, (blocks.shape[1] - 1) // 2


def wall_between(blocks: npt.NDArray[np.bool_], a: Cell, b: Cell) -> bool:
    return bool(blocks[a[0] + b[0] + 1, a[1] + b[1] + 1])


def bfs_distances(blocks: npt.NDArray[np.bool_], start: Cell) -> dict[Cell, int]:
    h, w = grid_size(blocks)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in OFFSETS.values():
            nb = (r + dr, c + dc)
            inside = 0 <= nb[0] < h and 0 <= nb[1] < w
            if inside and nb not in dist and not wall_between(blocks, (r, c), nb):
                dist[nb] = dist[(r, c)] + 1
                queue.append(nb)
    return dist


def count_passages(blocks: npt.NDArray[np.bool_]) -> int:
    h, w = grid_size(blocks)
    count = 0
    for r in range(h):
        for c in range(w):
            if c + 1 < w and not wall_between(blocks, (r, c), (r, c + 1)):
                count += 1
            if r + 1 < h and not wall_between(blocks, (r, c), (r + 1, c)):
                count += 1
    return count


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_perfect_maze_is_a_spanning_tree(algorithm: str, width: int, height: int) -> None:
    for seed in range(5):
        maze = generate_maze(width, height, np.random.default_rng(seed), algorithm=algorithm)
        assert maze.blocks.shape == (2 * height + 1, 2 * width + 1)
        assert (maze.height, maze.width) == (height, width)
        assert len(bfs_distances(maze.blocks, (0, 0))) == width * height  # all reachable
        assert count_passages(maze.blocks) == width * height - 1  # connected + n-1 edges = tree
        assert maze.passages == width * height - 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_loops_add_passages(algorithm: str) -> None:
    w, h = 9, 7
    interior = h * (w - 1) + w * (h - 1)
    rng_seed = 3
    perfect = generate_maze(w, h, np.random.default_rng(rng_seed), algorithm=algorithm)
    loopy = generate_maze(w, h, np.random.default_rng(rng_seed), algorithm=algorithm, loops=0.3)
    standing = interior - (w * h - 1)
    assert count_passages(loopy.blocks) == w * h - 1 + math.floor(0.3 * standing + 0.5)
    assert loopy.passages > perfect.passages
    assert len(bfs_distances(loopy.blocks, (0, 0))) == w * h
    room = generate_maze(w, h, np.random.default_rng(rng_seed), algorithm=algorithm, loops=1.0)
    assert count_passages(room.blocks) == interior
    assert room.shortest_path_length() == (h - 1) + (w - 1)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_seed_same_maze_and_different_seeds_differ(algorithm: str) -> None:
    def make(seed: int) -> Maze:
        return generate_maze(
            11, 8, np.random.default_rng(seed), algorithm=algorithm, loops=0.1, start_goal="random"
        )

    a, b = make(42), make(42)
    assert np.array_equal(a.blocks, b.blocks)
    assert (a.start, a.goal) == (b.start, b.goal)
    assert a == b
    assert hash(a) == hash(b)
    layouts = {make(seed).blocks.tobytes() for seed in range(10)}
    assert len(layouts) == 10


def test_algorithms_differ_for_the_same_seed() -> None:
    layouts = {
        generate_maze(10, 10, np.random.default_rng(0), algorithm=a).blocks.tobytes()
        for a in ALGORITHMS
    }
    assert len(layouts) == len(ALGORITHMS)


def test_start_goal_modes() -> None:
    for seed in range(20):
        corners = generate_maze(6, 4, np.random.default_rng(seed))
        assert (corners.start, corners.goal) == ((0, 0), (3, 5))

        rand = generate_maze(6, 4, np.random.default_rng(seed), start_goal="random")
        assert rand.start != rand.goal

        far = generate_maze(6, 4, np.random.default_rng(seed), start_goal="far", loops=0.2)
        dist = bfs_distances(far.blocks, far.start)
        assert dist[far.goal] == max(dist.values())
        assert far.start != far.goal
    starts = {
        generate_maze(6, 4, np.random.default_rng(s), start_goal="random").start for s in range(30)
    }
    assert len(starts) > 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 1}, "width must be an integer >= 2"),
        ({"height": 0}, "height must be an integer >= 2"),
        ({"width": 3.5}, "width must be an integer >= 2"),
        ({"loops": -0.1}, r"loops must be a number in \[0, 1\]"),
        ({"loops": 1.5}, r"loops must be a number in \[0, 1\]"),
        ({"loops": float("nan")}, r"loops must be a number in \[0, 1\]"),
        ({"algorithm": "bfs"}, "algorithm must be one of dfs, prim, kruskal"),
        ({"start_goal": "middle"}, "start_goal must be one of corners, random, far"),
    ],
)
def test_generation_argument_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"width": 5, "height": 5, **kwargs}
    width, height = args.pop("width"), args.pop("height")
    with pytest.raises(ValueError, match=message):
        generate_maze(width, height, np.random.default_rng(0), **args)  # type: ignore[arg-type]


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        generate_maze(5, 5, 0)  # type: ignore[arg-type]


def test_cell_names_round_trip() -> None:
    assert cell_name((2, 13)) == "c2_13"
    assert parse_cell("c2_13") == (2, 13)
    for bad in ["c2", "2_3", "c2_3x", "c-1_2", ""]:
        with pytest.raises(ValueError, match="not a cell name"):
            parse_cell(bad)


def test_maze_queries_agree_with_the_block_grid() -> None:
    maze = generate_maze(8, 6, np.random.default_rng(7), loops=0.15)
    h, _ = grid_size(maze.blocks)
    for r, c in maze.cells():
        expected = []
        for d in DIRECTIONS:
            nb = (r + d.drow, c + d.dcol)
            wall = bool(maze.blocks[2 * r + 1 + d.drow, 2 * c + 1 + d.dcol])
            assert maze.is_open((r, c), nb) is (not wall)
            if not wall:
                expected.append(nb)
        assert maze.open_neighbors((r, c)) == expected
    with pytest.raises(ValueError, match="not adjacent"):
        maze.is_open((0, 0), (1, 1))
    with pytest.raises(ValueError, match="outside"):
        maze.open_neighbors((h, 0))

    path = maze.shortest_path()
    assert path[0] == maze.start
    assert path[-1] == maze.goal
    assert len(path) - 1 == maze.shortest_path_length()
    assert len(path) - 1 == bfs_distances(maze.blocks, maze.start)[maze.goal]
    for a, b in itertools.pairwise(path):
        assert maze.is_open(a, b)


def test_maze_is_immutable_and_validated() -> None:
    maze = generate_maze(4, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="read-only"):
        maze.blocks[1, 2] = True
    with pytest.raises(ValueError, match="odd shape"):
        Maze(np.ones((4, 5), dtype=bool), (0, 0), (0, 0))
    walled = np.ones((5, 5), dtype=bool)
    with pytest.raises(ValueError, match="open at every cell"):
        Maze(walled, (0, 0), (1, 1))
    walled[1::2, 1::2] = False
    with pytest.raises(ValueError, match="goal cell"):
        Maze(walled, (0, 0), (2, 2))
    isolated = Maze(walled, (0, 0), (1, 1))
    assert isolated.passages == 0
    with pytest.raises(ValueError, match="not reachable"):
        isolated.shortest_path_length()
    with pytest.raises(ValueError, match="not reachable"):
        isolated.shortest_path()
