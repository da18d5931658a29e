"""CogOS: a cognitive-architecture agent runtime with a memory operating system.

The kernel: the message bus, the module and policy protocols, the CoALA decision cycle, the
agent, configuration, tracing and the ``cogos`` CLI. Concrete modules, policies and
environments live in the sibling packages and are found by registered name.

Running a config from Python::

    import cogos

    result = cogos.run(cogos.load_config("config/maze.yaml", ["episodes=3"]), "runs/py")
    print(result.metrics["success_rate"])
    cogos.RunResult.read("runs/py").summaries  # the same run, read back from its directory

The names below are imported on first use (PEP 562), so that ``import cogos`` and ``cogos
--help`` do not pay for FAISS, SQLite and the planner until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cogos._version import __version__
    from cogos.agent import Agent
    from cogos.bus import Bus, Message, OverflowPolicy
    from cogos.config import LoadedConfig, RunConfig, load_config, load_config_text
    from cogos.context import ComponentContext, NoOptions
    from cogos.cycle import CycleSink, DecisionCycle
    from cogos.env_handle import EnvHandle
    from cogos.episode import EpisodeStart, EpisodeSummary
    from cogos.errors import (
        BusError,
        CogOSError,
        ComponentNotFound,
        ConfigError,
        CycleError,
        LifecycleError,
        RegistryError,
    )
    from cogos.module import Module, Phase
    from cogos.observation import Observation
    from cogos.policy import Policy
    from cogos.registry import register
    from cogos.runner import RunResult, run, run_async

_EXPORTS = {
    "Agent": "cogos.agent",
    "Bus": "cogos.bus",
    "BusError": "cogos.errors",
    "CogOSError": "cogos.errors",
    "ComponentContext": "cogos.context",
    "ComponentNotFound": "cogos.errors",
    "ConfigError": "cogos.errors",
    "CycleError": "cogos.errors",
    "CycleSink": "cogos.cycle",
    "DecisionCycle": "cogos.cycle",
    "EnvHandle": "cogos.env_handle",
    "EpisodeStart": "cogos.episode",
    "EpisodeSummary": "cogos.episode",
    "LifecycleError": "cogos.errors",
    "LoadedConfig": "cogos.config",
    "Message": "cogos.bus",
    "Module": "cogos.module",
    "NoOptions": "cogos.context",
    "Observation": "cogos.observation",
    "OverflowPolicy": "cogos.bus",
    "Phase": "cogos.module",
    "Policy": "cogos.policy",
    "RegistryError": "cogos.errors",
    "RunConfig": "cogos.config",
    "RunResult": "cogos.runner",
    "__version__": "cogos._version",
    "load_config": "cogos.config",
    "load_config_text": "cogos.config",
    "register": "cogos.registry",
    "run": "cogos.runner",
    "run_async": "cogos.runner",
}

__all__ = [
    "Agent",
    "Bus",
    "BusError",
    "CogOSError",
    "ComponentContext",
    "ComponentNotFound",
    "ConfigError",
    "CycleError",
    "CycleSink",
    "DecisionCycle",
    "EnvHandle",
    "EpisodeStart",
    "EpisodeSummary",
    "LifecycleError",
    "LoadedConfig",
    "Message",
    "Module",
    "NoOptions",
    "Observation",
    "OverflowPolicy",
    "Phase",
    "Policy",
    "RegistryError",
    "RunConfig",
    "RunResult",
    "__version__",
    "load_config",
    "load_config_text",
    "register",
    "run",
    "run_async",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cogos' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
