"""Environment options as pydantic models, with errors worded "width must be ...".

Why a model per environment: the options and their constraints are then declared in one place
(type, range, choices, and a description that is also the error's wording), as the kernel's
modules and policies declare theirs, instead of being checked by hand in each constructor.

Why the constructor still takes plain keywords and words its own errors: an environment is a
gymnasium class, made with ``gymnasium.make(id, width=7)``, and the kernel derives its
config-time options from that signature (``cogos.config.components.signature_options``). A
constructor therefore calls :meth:`EnvOptions.check` with its arguments and gets either the
validated options or a ``ValueError`` whose message starts with the option's name
("width must be an integer >= 2, got 1"), which the kernel maps to the config key that set it.

The models are strict, as the hand-written checks were: ``True`` is not an integer, ``3.0`` is
not a width and ``"7"`` is not a number. NumPy scalars count as the Python numbers they hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


def _python_scalar(value: object) -> object:
    """A NumPy integer or float as the Python number it holds (NumPy's bool stays a non-number)."""
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


Integer = Annotated[int, BeforeValidator(_python_scalar)]
"""An ``int`` option that also takes a NumPy integer (never a bool or a float)."""
Number = Annotated[float, BeforeValidator(_python_scalar)]
"""A ``float`` option that also takes an int or a NumPy number (never a bool)."""
Flag = Annotated[bool, Field(strict=False)]
"""A ``bool`` option that, as before the models, also takes what reads as one (``1``, ``"yes"``)."""


class EnvOptions(BaseModel):
    """Base of an environment's options model.

    Every field has a ``description`` that completes "<name> must be ...": it documents the
    option and words its error. A field checked by a validator (a scene name, a task) raises a
    ``ValueError`` that is passed on as it is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @classmethod
    def check(cls, *, label: str | None = None, **values: Any) -> Self:
        """The options for ``values`` (the defaults for the rest), or ``ValueError``.

        ``label`` names the one option being checked in errors when it is not set by its own
        name, e.g. ``"options['maze_seed']"`` for a ``reset`` option.
        """
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ValueError(cls.describe(exc, label)) from None

    @classmethod
    def describe(cls, exc: ValidationError, label: str | None = None) -> str:
        """The first error of ``exc`` as "<name> must be <description>, got <value>"."""
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        field = cls.model_fields.get(name)
        if err["type"] == "value_error":
            return str(err["ctx"]["error"])
        if field is None or field.description is None:
            return f"{label or name}: {err['msg']}"
        return f"{label or name} must be {field.description}, got {err['input']!r}"
