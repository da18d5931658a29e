"""CogOS: a cognitive-architecture agent runtime with a memory operating system.

The kernel: the message bus, the module and policy protocols, the CoALA decision cycle, the
agent, configuration, tracing and the ``cogos`` CLI. Concrete modules, policies and
environments live in the sibling packages and are found by registered name.
"""

from cogos._version import __version__
from cogos.agent import Agent
from cogos.bus import Bus, Message, OverflowPolicy
from cogos.config import LoadedConfig, RunConfig, load_config, load_config_text
from cogos.context import ComponentContext, NoOptions
from cogos.cycle import CycleSink, DecisionCycle
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
from cogos.observation import EnvHandle, Observation
from cogos.policy import Policy
from cogos.registry import register
from cogos.runner import RunResult, run, run_async

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
