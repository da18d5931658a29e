"""What modules and policies share: options typed by the class, the context, the config check.

A component names its options model once, as its type argument::

    class GoalModule(Module[GoalOptions]): ...

The type checker then knows ``self.options`` is a ``GoalOptions`` (no ``isinstance`` narrowing
in each constructor), and ``GoalModule.Options``, the model the config loader validates the YAML
against (:func:`cogos.config.components.options_model`), is set from the same argument, so the
two cannot drift apart. A class may still declare ``Options = GoalOptions`` itself: without a
type argument (third-party components written before this) it works as it always did, with
``self.options`` typed as a plain ``BaseModel``; with one, it must be that model or a subclass.

The options a component receives are checked once here, against ``Options``, so a component
built by hand (tests, notebooks) with the wrong model fails at once with a clear error instead
of an ``AttributeError`` deep in a cycle.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, ClassVar, Generic, cast

from pydantic import BaseModel
from typing_extensions import TypeVar  # a TypeVar default (PEP 696) is only in typing from 3.13

from cogos.context import ComponentContext, NoOptions
from cogos.errors import RegistryError
from cogos.facts import ANY_FACTS, FactSchema

if TYPE_CHECKING:
    from cogos.config.schema import RunConfig

OptionsT = TypeVar("OptionsT", bound=BaseModel, default=BaseModel)
"""A component's options model. The default keeps a bare ``Module`` (or ``Policy``) what it was:
options typed as ``BaseModel``, and no "missing type parameters" error under strict mypy."""


def options_argument(cls: type) -> type[BaseModel] | None:
    """The options model ``cls`` gives as type argument to a component base, nearest first.

    ``class M(Module[MOptions])`` gives ``MOptions``; a subclass of ``M`` inherits it. A type
    variable (a generic intermediate base) or no argument gives None.
    """
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if not (isinstance(origin, type) and issubclass(origin, Component)):
                continue
            args = typing.get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


class Component(Generic[OptionsT]):
    """Base of :class:`~cogos.module.Module` and :class:`~cogos.policy.Policy`."""

    Options: ClassVar[type[BaseModel]] = NoOptions
    #: the predicates this component reads and their argument kinds; facts sent from outside the
    #: process are checked against it before a cycle runs (see cogos.facts)
    facts: ClassVar[FactSchema] = ANY_FACTS

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        argument = options_argument(cls)
        if argument is None:
            return
        current = cls.Options  # declared here or inherited
        if isinstance(current, type) and issubclass(current, argument):
            return
        if "Options" in cls.__dict__:
            raise RegistryError(
                f"{cls.__qualname__} declares Options = {current!r}, which is not its type "
                f"argument {argument.__qualname__} (or a subclass of it); drop the Options line"
            )
        cls.Options = argument

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        """Checks that need the whole config, or the world outside it, before anything runs.

        Called when a config loads (so ``cogos experiment`` refuses a bad grid up front); a
        :class:`~cogos.errors.ConfigError` refuses the config. The default checks nothing.
        """

    def __init__(self, ctx: ComponentContext) -> None:
        expected = type(self).Options
        if not isinstance(ctx.options, expected):
            raise RegistryError(
                f"{type(self).__qualname__} takes options of type {expected.__qualname__}, "
                f"got {type(ctx.options).__qualname__}"
            )
        self.ctx = ctx
        self.name = ctx.name
        # checked just above: ``Options`` is the type argument or a subclass of it
        self.options = cast("OptionsT", ctx.options)
