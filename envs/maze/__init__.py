"""The built-in maze: a partially observable grid maze whose goal must be found, not planned to.

Importing the package registers the gymnasium id ``cogos/Maze-v0`` (once, however often it is
imported), so ``gymnasium.make("cogos/Maze-v0", width=7, height=5)`` works after
``import envs.maze``.
"""

import gymnasium

from envs.maze.env import MazeEnv
from envs.maze.generator import (
    ALGORITHMS,
    DIRECTIONS,
    START_GOAL_MODES,
    Cell,
    Direction,
    Maze,
    cell_name,
    generate_maze,
    grid_neighbours,
    parse_cell,
)

GYM_ID = "cogos/Maze-v0"

if GYM_ID not in gymnasium.registry:
    gymnasium.register(id=GYM_ID, entry_point="envs.maze:MazeEnv")

__all__ = [
    "ALGORITHMS",
    "DIRECTIONS",
    "GYM_ID",
    "START_GOAL_MODES",
    "Cell",
    "Direction",
    "Maze",
    "MazeEnv",
    "cell_name",
    "generate_maze",
    "grid_neighbours",
    "parse_cell",
]
