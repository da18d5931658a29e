"""The typed, frozen form of a run configuration (``config/*.yaml``), schema version 1.

Unknown keys are errors everywhere (``extra="forbid"``): a misspelt key silently ignored is the
worst kind of config bug in an experiment. Component ``options`` are free-form here and checked
against the component's own options model once its name is resolved (see
:mod:`cogos.config.components`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cogos.bus import OverflowPolicy
from memory.config import MemoryConfig

CONFIG_VERSION = 1  # the only schema version so far; RunConfig.version must equal it


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSpec(_Strict):
    """A registered component chosen by name, with its options."""

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class ModuleSpec(ComponentSpec):
    """A module in the agent; ``id`` names the instance when one module is used twice."""

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")

    @property
    def instance_name(self) -> str:
        return self.id or self.name


class CycleSpec(_Strict):
    """Bounds of the decision cycle."""

    max_rejects: int = Field(default=3, ge=0, description="proposal rounds after a rejection")
    max_cycles: int = Field(
        default=100_000, ge=1, description="cycles per episode before it is cut off"
    )


class BusSpec(_Strict):
    """Defaults for the internal bus's subscriber queues."""

    queue_size: int = Field(default=1024, ge=1)
    overflow: OverflowPolicy = OverflowPolicy.BLOCK
    block_timeout: float | None = Field(default=10.0, gt=0)


class TraceSpec(_Strict):
    """What goes into ``trace.jsonl``."""

    enabled: bool = True
    messages: bool = Field(default=False, description="also one line per bus message")


def _default_modules() -> list[ModuleSpec]:
    return [ModuleSpec(name="perception.facts")]


class AgentSpec(_Strict):
    """The agent: its policy, its modules, and its cycle bounds."""

    name: str = Field(default="agent", pattern=r"^[A-Za-z0-9_-]+$")
    policy: ComponentSpec = Field(default_factory=lambda: ComponentSpec(name="explore"))
    modules: list[ModuleSpec] = Field(default_factory=_default_modules)
    cycle: CycleSpec = Field(default_factory=CycleSpec)


class LLMSpec(_Strict):
    """A chat model, for the components that reason with one (``llm``, ``neuro_symbolic``...).

    ``provider`` is any LangChain ``init_chat_model`` provider (``openai`` for OpenAI-compatible
    servers such as vLLM, llama.cpp's server or Ollama's ``/v1`` endpoint via ``base_url``;
    ``ollama``), ``llamacpp`` for a GGUF file in-process (``model`` is its path; needs the
    ``llama`` extra), or ``scripted`` (replies taken in order from ``responses``: for tests and
    offline demos). API keys are read from the environment variable named by ``api_key_env``,
    never from the config file.
    """

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int | None = Field(default=512, ge=1)
    timeout: float = Field(default=60.0, gt=0, description="seconds per call")
    max_retries: int = Field(default=3, ge=0, description="retries of failed calls, with backoff")
    max_repairs: int = Field(default=2, ge=0, description="re-asks after malformed output")
    cache: str | None = Field(default=None, description="SQLite response cache file")
    structured_output: Literal["auto", "json_schema", "json_object", "ollama", "off"] = Field(
        default="auto",
        description="how the answer's JSON schema reaches the provider: auto (json_schema for "
        "openai, json_object with a schema for llamacpp, format for ollama), json_schema "
        "(OpenAI, vLLM, llama.cpp's llama-server), json_object (llama-cpp-python's server), "
        "ollama, or off (parse and repair only)",
    )
    on_failure: Literal["fallback", "stop"] = Field(
        default="fallback",
        description="after a call that failed for good: fall back (explore, random action) "
        "or stop the run",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the model")
    responses: list[str] = Field(default_factory=list, description="scripted provider only")


class TelemetrySpec(_Strict):
    """OpenTelemetry spans of the run (docs/telemetry.md); off unless ``enabled``.

    Needs the ``telemetry`` extra. A setting left unset falls back to the standard
    ``OTEL_*`` environment variable, then to OpenTelemetry's own default, so a deployment that
    configures OpenTelemetry through its environment needs only ``enabled: true``. Nothing here
    is secret: the resolved config is written into the run directory, so tokens belong in
    ``OTEL_EXPORTER_OTLP_HEADERS``, not in ``headers``.
    """

    enabled: bool = False
    exporter: Literal["otlp", "console", "none"] = Field(
        default="otlp",
        description="otlp (OTLP over HTTP/protobuf, to a collector, Jaeger, Tempo...), console "
        "(one JSON object per span on stdout) or none (spans made and dropped: measures the cost)",
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="OTLP base URL, /v1/traces is appended; default "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, http://localhost:4318",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="extra HTTP headers of every export, beside OTEL_EXPORTER_OTLP_HEADERS",
    )
    timeout: float | None = Field(
        default=None, gt=0, description="seconds per export; default OTEL_EXPORTER_OTLP_TIMEOUT, 10"
    )
    service_name: str | None = Field(
        default=None, min_length=1, description="service.name; default OTEL_SERVICE_NAME, cogos"
    )
    sample_ratio: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="fraction of decision cycles traced; default OTEL_TRACES_SAMPLER, all",
    )
    resource: dict[str, str] = Field(
        default_factory=dict,
        description="resource attributes (deployment.environment.name...), beside "
        "OTEL_RESOURCE_ATTRIBUTES",
    )


class RunConfig(_Strict):
    """One agent in one environment for a number of episodes: what ``cogos run`` takes."""

    version: Literal[1] = 1
    name: str = Field(default="run", min_length=1)
    seed: int = Field(default=0, ge=0, description="episode i uses seed + i")
    episodes: int = Field(default=10, ge=1)
    env: ComponentSpec = Field(default_factory=lambda: ComponentSpec(name="maze"))
    agent: AgentSpec = Field(default_factory=AgentSpec)
    bus: BusSpec = Field(default_factory=BusSpec)
    trace: TraceSpec = Field(default_factory=TraceSpec)
    memory: MemoryConfig = Field(
        default_factory=MemoryConfig,
        description="long-term memory; off unless memory.path is set",
    )
    llm: LLMSpec | None = Field(default=None, description="the chat model, for LLM components")
    telemetry: TelemetrySpec = Field(
        default_factory=TelemetrySpec, description="OpenTelemetry spans; off unless enabled"
    )
