"""The household's options: what ``HouseholdEnv`` (and ``reset(options=...)``) accepts."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator

from envs.household.catalog import FAMILIES
from envs.household.generator import validate_family
from envs.options import EnvOptions, Integer

RenderMode = Literal["ansi"]
RENDER_MODES: tuple[str, ...] = get_args(RenderMode)


class HouseholdOptions(EnvOptions):
    """``HouseholdEnv``'s constructor options (documented on the class)."""

    task: str = Field(default="any", description=f"'any' or one of {', '.join(FAMILIES)}")
    max_steps: Integer = Field(default=50, ge=1, description="an integer >= 1")
    layout_seed: Integer | None = Field(
        default=None, ge=0, description="None or a non-negative integer"
    )
    render_mode: RenderMode | None = Field(default=None, description="None or 'ansi'")

    @field_validator("task")
    @classmethod
    def _known_family(cls, task: str) -> str:
        validate_family(task)  # the generator's rule, and its words
        return task

    @property
    def family(self) -> str | None:
        """The task family, ``None`` for ``"any"`` (drawn at each reset)."""
        return validate_family(self.task)
