"""MiniGrid tasks with CogOS facts and high-level actions (needs ``pip install 'cogos[envs]'``).

Its gymnasium ids (see :mod:`envs.registration`) are ``cogos/MiniGrid-v0`` (FourRooms by default;
``gymnasium.make("cogos/MiniGrid-v0", actions="primitive")``) and, once this package is imported
(it loads ``minigrid``), ``cogos/<id>`` for every MiniGrid task id registered at that time, e.g.
``gymnasium.make("cogos/MiniGrid-DoorKey-8x8-v0")``. (``gymnasium.make`` takes the id as its own
first argument, so the task is chosen by the registered name rather than ``id=``.)
"""

from envs.minigrid.env import CARDINAL_ACTIONS, PRIMITIVE_ACTIONS, MiniGridEnv
from envs.minigrid.facts import CARDINALS, Perceiver, cell_name
from envs.minigrid.optimal import shortest_solution, solve
from envs.registration import MINIGRID_ID as GYM_ID
from envs.registration import register_minigrid_tasks

register_minigrid_tasks()

__all__ = [
    "CARDINALS",
    "CARDINAL_ACTIONS",
    "GYM_ID",
    "PRIMITIVE_ACTIONS",
    "MiniGridEnv",
    "Perceiver",
    "cell_name",
    "shortest_solution",
    "solve",
]
