"""The maze's options: what :func:`~envs.maze.generator.generate_maze` and ``MazeEnv`` accept.

:class:`GenerationOptions` is shared by the generator (a maze made directly) and
:class:`MazeOptions` (the environment's constructor, which adds what an episode needs), so a
bad size or algorithm fails at construction, with the same words, rather than at the first
``reset``.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from envs.options import EnvOptions, Flag, Integer, Number

Algorithm = Literal["dfs", "prim", "kruskal"]
StartGoal = Literal["corners", "random", "far"]
RenderMode = Literal["ansi", "rgb_array"]

ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
START_GOAL_MODES: tuple[str, ...] = get_args(StartGoal)
RENDER_MODES: tuple[str, ...] = get_args(RenderMode)


class GenerationOptions(EnvOptions):
    """How a maze is generated (see :func:`~envs.maze.generator.generate_maze`)."""

    width: Integer = Field(default=15, ge=2, description="an integer >= 2")
    height: Integer = Field(default=15, ge=2, description="an integer >= 2")
    loops: Number = Field(default=0.0, ge=0.0, le=1.0, description="a number in [0, 1]")
    algorithm: Algorithm = Field(default="dfs", description=f"one of {', '.join(ALGORITHMS)}")
    start_goal: StartGoal = Field(
        default="corners", description=f"one of {', '.join(START_GOAL_MODES)}"
    )


class MazeOptions(GenerationOptions):
    """``MazeEnv``'s constructor options (documented on the class)."""

    radius: Integer = Field(default=2, ge=0, description="an integer >= 0")
    max_steps: Integer | None = Field(default=None, ge=1, description="None or an integer >= 1")
    maze_seed: Integer | None = Field(
        default=None, ge=0, description="None or a non-negative integer"
    )
    goal_known: Flag = Field(default=False, description="true or false")
    step_penalty: Number = Field(default=0.0, allow_inf_nan=False, description="a finite number")
    render_mode: RenderMode | None = Field(
        default=None, description=f"None or one of {', '.join(RENDER_MODES)}"
    )
