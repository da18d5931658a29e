"""The daemon's configuration (``config/daemon.yaml``): the broker, and the agents it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cogos.bus import OverflowPolicy

EventKind = Literal["cycle", "percept", "episode", "metrics"]
DEFAULT_EVENTS: tuple[EventKind, ...] = ("cycle", "episode", "metrics")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TLSSpec(_Strict):
    """TLS to the broker (files are PEM); ``insecure`` skips host name checks (tests only)."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


class BrokerSpec(_Strict):
    """Where the broker is, how to authenticate, and how to reconnect."""

    mode: Literal["external", "embedded"] = Field(
        default="external", description="embedded: start an in-process broker (amqtt)"
    )
    host: str = "localhost"
    mqtt5: bool = Field(
        default=True,
        description="MQTT 5 (response topics); default: yes, except with the embedded broker, "
        "which speaks 3.1.1 only",
    )
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="environment variable holding the password (never the file)"
    )
    tls: TLSSpec | None = None
    keepalive: int = Field(default=30, ge=5)
    client_id: str | None = Field(
        default=None,
        description="default: cogos-<daemon name>. A broker drops the older of two connections "
        "with one client id; with mosquitto's use_username_as_clientid the broker uses the "
        "username instead (one broker user per daemon), see docs/mqtt.md",
    )
    session_expiry: int = Field(
        default=3600,
        ge=0,
        description="seconds the broker keeps our QoS 1 commands while we are away",
    )
    reconnect_initial: float = Field(default=0.5, gt=0)
    reconnect_max: float = Field(default=30.0, gt=0)
    auth_attempts: int = Field(
        default=3,
        ge=1,
        description="connection attempts in a row that the broker may refuse for the credentials "
        "or client id (CONNACK 0x85, 0x86, 0x87, 0x8C; MQTT 3.1.1: 2, 4, 5), or that fail the TLS "
        "handshake, before the daemon exits 2; an unreachable broker is retried forever",
    )
    probe_timeout: float = Field(
        default=2.0,
        ge=0,
        description="seconds to wait, at start, for a health answer under a name (the daemon's or "
        "an agent's) whose retained status says another daemon serves it; an answer means the "
        "name is taken and the daemon exits 2. Not waited when no retained status is live; "
        "0 skips the name check",
    )

    @model_validator(mode="before")
    @classmethod
    def _protocol_follows_mode(cls, data: Any) -> Any:
        """Left out, ``mqtt5`` follows ``mode``.

        An embedded broker must not be spoken 5 to, or the daemon would retry a refused
        connection forever.
        """
        if isinstance(data, dict) and data.get("mqtt5") is None:
            return {**data, "mqtt5": data.get("mode", "external") != "embedded"}
        return data

    @model_validator(mode="after")
    def _embedded_is_311(self) -> BrokerSpec:
        if self.mode == "embedded" and self.mqtt5:
            raise ValueError(
                "the embedded broker (amqtt) speaks MQTT 3.1.1 only: "
                "set broker.mqtt5 to false or leave it out"
            )
        return self


class OutgoingSpec(_Strict):
    """The queue of messages to publish, kept while the broker is unreachable."""

    size: int = Field(default=10_000, ge=1)
    overflow: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    flush_timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds a stopping daemon waits for the queue to go out; then it drops the "
        "QoS 0 events and waits as long again for the replies and statuses",
    )


class BridgeSpec(_Strict):
    """Which internal bus topics are mirrored to MQTT (out) and injected from it (in)."""

    out: list[str] = Field(default_factory=list, description="bus filters published to MQTT")
    into: list[str] = Field(
        default_factory=list, alias="in", description="bus topics accepted from MQTT"
    )


class AgentServiceSpec(_Strict):
    """One agent: a run config (with overrides), and what it publishes."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    config: str
    overrides: list[str] = Field(default_factory=list)
    autostart: int = Field(default=0, ge=0, description="episodes to run at start (internal env)")
    events: list[EventKind] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    metrics_every: float = Field(default=5.0, gt=0, description="seconds between metrics messages")
    bridge: BridgeSpec = Field(default_factory=BridgeSpec)


class DaemonConfig(_Strict):
    """``cogos daemon CONFIG``."""

    version: Literal[1] = 1
    name: str = Field(default="cogos", pattern=r"^[A-Za-z0-9_-]+$")
    prefix: str = Field(default="cogos", pattern=r"^[A-Za-z0-9_/-]+$")
    broker: BrokerSpec = Field(default_factory=BrokerSpec)
    outgoing: OutgoingSpec = Field(default_factory=OutgoingSpec)
    max_payload_bytes: int = Field(default=262_144, ge=256)
    agents: list[AgentServiceSpec] = Field(default_factory=list)

    def resolve(self, base: Path) -> DaemonConfig:
        """Agent config paths relative to the daemon config's directory."""
        agents = [
            a.model_copy(update={"config": str((base / a.config).resolve())})
            if not Path(a.config).is_absolute() and (base / a.config).exists()
            else a
            for a in self.agents
        ]
        return self.model_copy(update={"agents": agents})
