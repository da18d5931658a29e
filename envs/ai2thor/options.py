"""AI2-THOR's options: what ``AI2ThorEnv`` checks before it looks for a simulator build.

The options passed on to ai2thor unchecked (``local_executable_path``, which
:func:`~envs.ai2thor.simulator.find_build` checks; ``x_display``; ``controller_options``; an
already-built ``controller``) are not in the model: ai2thor is their judge.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import Field, field_validator

from envs.ai2thor.tasks import TaskConfig
from envs.options import EnvOptions, Flag, Integer, Number

Observability = Literal["partial", "full"]
Platform = Literal["Linux64", "CloudRendering"]
RenderMode = Literal["ansi", "rgb_array"]
RENDER_MODES: tuple[str, ...] = get_args(RenderMode)

_ITHOR_RANGES = ((1, 30), (201, 230), (301, 330), (401, 430))
_ROBOTHOR = re.compile(r"^FloorPlan_(Train\d+_\d+|Val\d+_\d+)$")
_ITHOR = re.compile(r"^FloorPlan(\d+)(_physics)?$")


def check_scene(scene: object) -> str:
    """A scene name as ai2thor knows it: ``FloorPlan1``..``FloorPlan430`` (iTHOR) or RoboTHOR."""
    if not isinstance(scene, str):
        raise ValueError(f"scene must be a scene name like 'FloorPlan1', got {scene!r}")
    m = _ITHOR.match(scene)
    if m and any(lo <= int(m.group(1)) <= hi for lo, hi in _ITHOR_RANGES):
        return scene
    if _ROBOTHOR.match(scene):
        return scene
    raise ValueError(
        f"unknown AI2-THOR scene {scene!r}; iTHOR scenes are FloorPlan1-30 (kitchens), "
        "FloorPlan201-230 (living rooms), FloorPlan301-330 (bedrooms), FloorPlan401-430 "
        "(bathrooms); RoboTHOR scenes are FloorPlan_Train<i>_<j> and FloorPlan_Val<i>_<j>"
    )


def _names(choices: tuple[str, ...]) -> str:
    return ", ".join(choices)


class AI2ThorOptions(EnvOptions):
    """``AI2ThorEnv``'s checked constructor options (documented on the class)."""

    scene: Any = Field(default="FloorPlan1", description="a scene name like 'FloorPlan1'")
    task: Any = Field(default=None, description="a mapping or null")
    download: Flag = Field(default=False, description="true or false")
    observability: Observability = Field(
        default="partial", description=f"one of {_names(get_args(Observability))}"
    )
    max_steps: Integer = Field(default=50, ge=1, description="an integer >= 1")
    force_action: Flag = Field(default=True, description="true or false")
    randomize: Flag = Field(default=False, description="true or false")
    grid_size: Number = Field(default=0.25, gt=0, description="a number > 0")
    visibility_distance: Number = Field(default=1.5, gt=0, description="a number > 0")
    width: Integer = Field(default=300, ge=1, description="an integer >= 1")
    height: Integer = Field(default=300, ge=1, description="an integer >= 1")
    platform: Platform | None = Field(
        default=None, description=f"null or one of {_names(get_args(Platform))}"
    )
    render_mode: RenderMode | None = Field(
        default=None, description=f"None or one of {_names(RENDER_MODES)}"
    )

    @field_validator("scene")
    @classmethod
    def _known_scene(cls, scene: object) -> str:
        return check_scene(scene)

    @field_validator("task")
    @classmethod
    def _valid_task(cls, task: Any) -> Any:
        TaskConfig.parse(task)  # the task's own schema, and its words
        return task

    @property
    def task_config(self) -> TaskConfig | None:
        """The validated task, before it is grounded in a scene."""
        return TaskConfig.parse(self.task)
