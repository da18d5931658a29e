"""AI2-THOR behind ALFWorld's text commands, with the household fact vocabulary.

``AI2ThorEnv`` drives the real ``ai2thor.controller.Controller``: each command (``go to fridge 1``,
``take apple 1 from countertop 2``, ``heat apple 1 with microwave 1``) becomes
``Controller.step`` calls, and ``event.metadata`` becomes facts in the symbolic household's
vocabulary (``("in", "apple_1", "fridge_1")``) and an ALFWorld-style sentence.
It needs an AI2-THOR Unity build to run (``local_executable_path``, ``COGOS_AI2THOR_EXECUTABLE``
or ``download``); :mod:`tests.envs.ai2thor_fake` runs the same code against a fake server fed with
the JSON fixtures in ``tests/fixtures/ai2thor``. See ``docs/ai2thor.md``.

Its gymnasium id is ``cogos/AI2Thor-v0`` (registered by importing ``envs``, see
:mod:`envs.registration`).
"""

from envs.ai2thor.commands import ThorCall, admissible, is_admissible
from envs.ai2thor.env import AI2ThorEnv
from envs.ai2thor.options import AI2ThorOptions, check_scene
from envs.ai2thor.scene import World, entity_id, kind_of, text_name
from envs.ai2thor.simulator import EXECUTABLE_ENV, SimulatorUnavailableError, find_build
from envs.ai2thor.tasks import TEMPLATES, Task, TaskConfig
from envs.household.commands import Command
from envs.household.commands import parse_command as parse
from envs.registration import AI2THOR_ID as GYM_ID

__all__ = [
    "EXECUTABLE_ENV",
    "GYM_ID",
    "TEMPLATES",
    "AI2ThorEnv",
    "AI2ThorOptions",
    "Command",
    "SimulatorUnavailableError",
    "Task",
    "TaskConfig",
    "ThorCall",
    "World",
    "admissible",
    "check_scene",
    "entity_id",
    "find_build",
    "is_admissible",
    "kind_of",
    "parse",
    "text_name",
]
