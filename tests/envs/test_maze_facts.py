"""The memoised percepts agree with the straightforward reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from envs.maze import generate_maze
from envs.maze.facts import PerceptCache, percept_text, visible_facts


@pytest.mark.parametrize(
    ("width", "height", "radius"), [(2, 2, 0), (7, 5, 1), (12, 9, 2), (6, 13, 4)]
)
def test_cache_matches_reference(width: int, height: int, radius: int) -> None:
    maze = generate_maze(width, height, np.random.default_rng(width), loops=0.2, start_goal="far")
    cache = PerceptCache(maze, radius)
    order = np.random.default_rng(radius).permutation(width * height).tolist()
    for index in order + order:  # second pass hits the memo
        cell = divmod(index, width)
        atoms, text = cache.get(index)
        assert list(atoms) == visible_facts(maze, cell, radius)
        assert text == percept_text(maze, cell, radius)
