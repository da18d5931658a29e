"""CogOS's gymnasium ids, in one table registered in one place.

Why ``import envs`` registers them rather than a ``gymnasium.envs`` entry point: gymnasium 0.2x
loaded such plugins when it was imported, but gymnasium 1.0 dropped the plugin system (1.x only
has ``register`` and ``make``), so an id is known once the package that registers it has been
imported. ``envs/__init__`` calls :func:`register_envs`, so any ``import envs.<x>`` registers
every id below, and in a fresh interpreter gymnasium's ``module:id`` form imports the package
itself: ``gymnasium.make("envs:cogos/Maze-v0")``.

MiniGrid's tasks are the exception: ``cogos/<task>`` (``cogos/MiniGrid-DoorKey-8x8-v0``) is
registered for every MiniGrid task id, and those ids exist only once ``minigrid`` (an optional,
slower import) is loaded, so :mod:`envs.minigrid` calls :func:`register_minigrid_tasks`
(``gymnasium.make("envs.minigrid:cogos/MiniGrid-DoorKey-8x8-v0")``).

Registering twice is harmless (every id is registered only when absent), so no import order
makes gymnasium warn about a re-registration.
"""

from __future__ import annotations

import gymnasium

NAMESPACE = "cogos"
MAZE_ID = "cogos/Maze-v0"
HOUSEHOLD_ID = "cogos/Household-v0"
MINIGRID_ID = "cogos/MiniGrid-v0"
AI2THOR_ID = "cogos/AI2Thor-v0"

GYM_IDS: dict[str, str] = {
    MAZE_ID: "envs.maze:MazeEnv",
    HOUSEHOLD_ID: "envs.household:HouseholdEnv",
    MINIGRID_ID: "envs.minigrid:MiniGridEnv",
    AI2THOR_ID: "envs.ai2thor:AI2ThorEnv",
}
"""Each id and its entry point; entry points are strings, so nothing is imported until made."""


def _register(env_id: str, entry_point: str, **kwargs: str) -> None:
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, entry_point=entry_point, kwargs=kwargs or None)


def register_envs() -> None:
    """Register every id of :data:`GYM_IDS` that is not registered yet."""
    for env_id, entry_point in GYM_IDS.items():
        _register(env_id, entry_point)


def register_minigrid_tasks() -> None:
    """Register ``cogos/<task>`` for each MiniGrid task id registered now (``minigrid`` loaded).

    ``gymnasium.make`` takes the id as its own first argument, so the task reaches
    :class:`~envs.minigrid.MiniGridEnv` as the registered ``id`` keyword.
    """
    for task in [k for k in gymnasium.registry if k.startswith("MiniGrid-")]:
        _register(f"{NAMESPACE}/{task}", GYM_IDS[MINIGRID_ID], id=task)
