"""Resolve the component names of a config to classes and validate their options.

Done at load time, before anything runs: an unknown name or a bad option is a config error
naming the key (``agent.policy.options.epsilon``), not a crash in the middle of a run.
Modules and policies declare a pydantic ``Options`` model. Environments are plain gymnasium
classes, so their options model is derived from the constructor's signature and type hints:
any gymnasium env can be configured and checked the same way.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from cogos.config.schema import ComponentSpec, RunConfig
from cogos.errors import ComponentNotFound, ConfigError, RegistryError
from cogos.module import Module
from cogos.policy import Policy
from cogos.registry import Kind, get
from memory.suggestions import close_matches, did_you_mean


@dataclass(frozen=True)
class ResolvedComponent:
    """A component ready to build: its class and validated options."""

    key: str
    name: str
    instance: str
    cls: type
    options: BaseModel

    def options_json(self) -> dict[str, Any]:
        return self.options.model_dump(mode="json")


@dataclass(frozen=True)
class ResolvedComponents:
    """The resolved env, policy and modules of one config."""

    env: ResolvedComponent
    policy: ResolvedComponent
    modules: tuple[ResolvedComponent, ...]


_BASES: dict[Kind, type] = {"module": Module, "policy": Policy, "env": gym.Env}


@cache
def signature_options(cls: type) -> type[BaseModel]:
    """A pydantic model of ``cls.__init__``'s keyword parameters (for gymnasium envs)."""
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    except Exception:  # unresolvable annotations: fall back to Any
        hints = {}
    fields: dict[str, Any] = {}
    extra = "forbid"
    init = cls.__init__  # type: ignore[misc]
    for param in list(inspect.signature(init).parameters.values())[1:]:
        if param.kind is param.VAR_KEYWORD:
            extra = "allow"
            continue
        if param.kind is param.VAR_POSITIONAL:
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(extra=extra, frozen=True, arbitrary_types_allowed=True)  # type: ignore[typeddict-item]
    model: type[BaseModel] = create_model(f"{cls.__name__}Options", __config__=config, **fields)
    return model


def options_model(kind: Kind, cls: type) -> type[BaseModel]:
    if kind == "env":
        return signature_options(cls)
    model = getattr(cls, "Options", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise RegistryError(f"{kind} {cls.__qualname__}: Options must be a pydantic BaseModel")
    return model


def _describe_error(err: Any, model: type[BaseModel]) -> str:
    if err["type"] == "extra_forbidden":
        name = str(err["loc"][-1])
        known = sorted(model.model_fields)
        hint = did_you_mean(close_matches(name, known, n=1))
        return f"unknown option{hint} (expected one of: {', '.join(known) or 'none'})"
    return f"{err['msg']} (got {err['input']!r})" if "input" in err else str(err["msg"])


def resolve_component(
    kind: Kind, key: str, spec: ComponentSpec, instance: str
) -> ResolvedComponent:
    try:
        cls = get(kind, spec.name)
    except (ComponentNotFound, RegistryError) as exc:
        raise ConfigError(str(exc), key=f"{key}.name") from None
    base = _BASES[kind]
    if not issubclass(cls, base):
        raise ConfigError(
            f"{spec.name!r} resolves to {cls.__qualname__}, which is not a {base.__qualname__}",
            key=f"{key}.name",
        )
    model = options_model(kind, cls)
    try:
        options = model.model_validate(spec.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            _describe_error(err, model), key=f"{key}.options.{loc}" if loc else f"{key}.options"
        ) from None
    return ResolvedComponent(key, spec.name, instance, cls, options)


def resolve_components(config: RunConfig) -> ResolvedComponents:
    env = resolve_component("env", "env", config.env, config.env.name)
    policy = resolve_component("policy", "agent.policy", config.agent.policy, "policy")
    modules: list[ResolvedComponent] = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(config.agent.modules):
        instance = spec.instance_name
        if instance in seen:
            raise ConfigError(
                f"module instance {instance!r} is configured twice "
                f"(also at index {seen[instance]});"
                " give one of them an 'id'",
                key=f"agent.modules.{i}.name",
            )
        seen[instance] = i
        modules.append(resolve_component("module", f"agent.modules.{i}", spec, instance))
    for component in (policy, *modules):
        check = getattr(component.cls, "check_config", None)
        if check is not None:
            check(config)
    required = getattr(policy.cls, "requires_modules", ())
    missing = [name for name in required if name not in {m.name for m in modules}]
    if missing:
        raise ConfigError(
            f"policy {policy.name!r} needs the module(s) {', '.join(missing)} in agent.modules "
            f"(it cannot work without them)",
            key="agent.modules",
        )
    return ResolvedComponents(env, policy, tuple(modules))
