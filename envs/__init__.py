"""Environments behind one gymnasium-style interface, each with symbolic facts for the planner.

This package imports nothing from the rest of CogOS: an environment is usable on its own with
``gymnasium.make("cogos/Maze-v0")``. The kernel finds environments by their registered CogOS name
(entry-point group ``cogos.envs``), see :mod:`envs.base` for the contract they share.
"""

from envs.base import Atom, CogEnv, TaskSpec, facts_to_json

__all__ = ["Atom", "CogEnv", "TaskSpec", "facts_to_json"]
