"""Run configuration: schema, YAML loading with line numbers, overrides, component resolution."""

from cogos.config.components import ResolvedComponent, ResolvedComponents, signature_options
from cogos.config.loader import LoadedConfig, load_config, load_config_text
from cogos.config.overrides import Override, apply_overrides, parse_override
from cogos.config.schema import (
    CONFIG_VERSION,
    AgentSpec,
    BusSpec,
    ComponentSpec,
    CycleSpec,
    LLMSpec,
    ModuleSpec,
    RunConfig,
    TelemetrySpec,
    TraceSpec,
)

__all__ = [
    "CONFIG_VERSION",
    "AgentSpec",
    "BusSpec",
    "ComponentSpec",
    "CycleSpec",
    "LLMSpec",
    "LoadedConfig",
    "ModuleSpec",
    "Override",
    "ResolvedComponent",
    "ResolvedComponents",
    "RunConfig",
    "TelemetrySpec",
    "TraceSpec",
    "apply_overrides",
    "load_config",
    "load_config_text",
    "parse_override",
    "signature_options",
]
