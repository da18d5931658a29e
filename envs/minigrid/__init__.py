"""MiniGrid tasks with CogOS facts and high-level actions (needs ``pip install 'cogos[envs]'``).

Importing the package registers, once however often it is imported, the gymnasium id
``cogos/MiniGrid-v0`` (FourRooms by default; ``gymnasium.make("cogos/MiniGrid-v0",
actions="primitive")``) and ``cogos/<id>`` for every MiniGrid task id registered at that time,
e.g. ``gymnasium.make("cogos/MiniGrid-DoorKey-8x8-v0")``. (``gymnasium.make`` takes the id as
its own first argument, so the task is chosen by the registered name rather than ``id=``.)
"""

import gymnasium

from envs.minigrid.env import CARDINAL_ACTIONS, PRIMITIVE_ACTIONS, MiniGridEnv
from envs.minigrid.facts import CARDINALS, Perceiver, cell_name
from envs.minigrid.optimal import shortest_solution, solve

GYM_ID = "cogos/MiniGrid-v0"


def _register() -> None:
    if GYM_ID not in gymnasium.registry:
        gymnasium.register(id=GYM_ID, entry_point="envs.minigrid:MiniGridEnv")
    for task in [k for k in gymnasium.registry if k.startswith("MiniGrid-")]:
        ours = f"cogos/{task}"
        if ours not in gymnasium.registry:
            gymnasium.register(
                id=ours, entry_point="envs.minigrid:MiniGridEnv", kwargs={"id": task}
            )


_register()

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
