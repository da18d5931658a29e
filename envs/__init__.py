"""Environments behind one gymnasium-style interface, each with symbolic facts for the planner.

This package imports nothing from the rest of CogOS: an environment is usable on its own. Importing
it (or any ``envs.<x>``) registers the gymnasium ids (:mod:`envs.registration`), so
``gymnasium.make("cogos/Maze-v0")`` works after ``import envs``, and
``gymnasium.make("envs:cogos/Maze-v0")`` works with no import at all. The kernel finds
environments by their registered CogOS name (entry-point group ``cogos.envs``), see
:mod:`envs.base` for the contract they share.
"""

from envs.base import Atom, CogEnv, TaskSpec, facts_to_json
from envs.registration import register_envs

register_envs()

__all__ = ["Atom", "CogEnv", "TaskSpec", "facts_to_json"]
