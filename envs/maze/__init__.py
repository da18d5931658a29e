"""The built-in maze: a partially observable grid maze whose goal must be found, not planned to.

Its gymnasium id is ``cogos/Maze-v0`` (registered by importing ``envs``, see
:mod:`envs.registration`): ``gymnasium.make("cogos/Maze-v0", width=7, height=5)``.
"""

from envs.maze.env import MazeEnv
from envs.maze.generator import (
    DIRECTIONS,
    Cell,
    Direction,
    Maze,
    cell_name,
    generate_maze,
    grid_neighbours,
    parse_cell,
)
from envs.maze.options import ALGORITHMS, START_GOAL_MODES, MazeOptions
from envs.registration import MAZE_ID as GYM_ID

__all__ = [
    "ALGORITHMS",
    "DIRECTIONS",
    "GYM_ID",
    "START_GOAL_MODES",
    "Cell",
    "Direction",
    "Maze",
    "MazeEnv",
    "MazeOptions",
    "cell_name",
    "generate_maze",
    "grid_neighbours",
    "parse_cell",
]
