"""Topics and payloads of the MQTT interface (documented for users in docs/mqtt.md).

Commands arrive on ``<prefix>/<agent>/cmd/<command>`` (QoS 1) as JSON objects; each is validated
against its schema here. A request carrying an MQTT 5 response topic gets its reply there, with
the same correlation data: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"type":
..., "message": ...}}``. A bad payload is answered with an error and counted; it never stops the
daemon.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(
        default=None, max_length=128, description="client's id: repeats are answered once"
    )


class Health(_Command):
    """Is the daemon (or an agent) alive, and how busy."""


class Status(_Command):
    """The agent's state, episode, cycle counts and last metrics."""


class StartEpisodes(_Command):
    """Run episodes (an internal environment), or begin one driven by ``observe`` (external)."""

    episodes: int = Field(default=1, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=0)


class StopEpisodes(_Command):
    """Stop after the current cycle."""


class SetGoal(_Command):
    """Replace the goal in working memory (text and/or facts)."""

    text: str = Field(default="", max_length=4096)
    facts: list[list[str]] = Field(default_factory=list, max_length=1000)


class Observe(_Command):
    """One observation from an external environment; the reply carries the agent's action."""

    facts: list[list[str]] = Field(default_factory=list, max_length=100_000)
    text: str = Field(default="", max_length=65_536)
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    success: bool | None = None
    admissible: list[str] = Field(default_factory=list, max_length=10_000)
    info: dict[str, Any] = Field(default_factory=dict)


class MemoryQuery(_Command):
    """Ask the agent's long-term memory."""

    op: Literal["search", "recent", "about", "why", "episode", "decision", "stats"]
    query: str | None = Field(default=None, max_length=4096)
    k: int = Field(default=10, ge=1, le=1000)
    where: dict[str, Any] | None = None
    item: int | None = Field(default=None, ge=1)
    entity: str | None = Field(default=None, max_length=512)
    episode: str | None = Field(default=None, max_length=512)


COMMANDS: dict[str, type[_Command]] = {
    "health": Health,
    "status": Status,
    "episode/start": StartEpisodes,
    "episode/stop": StopEpisodes,
    "goal": SetGoal,
    "observe": Observe,
    "memory/query": MemoryQuery,
}


class CommandError(Exception):
    """A command that cannot be carried out; becomes an error reply."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def command_schema(name: str) -> type[_Command]:
    """The schema of command ``name`` (``unknown_command`` if there is none)."""
    schema = COMMANDS.get(name)
    if schema is None:
        raise CommandError(
            "unknown_command", f"unknown command {name!r}; known: {', '.join(COMMANDS)}"
        )
    return schema


def decode_payload(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """A payload's JSON object (``too_large``, ``bad_json`` or ``bad_payload`` otherwise)."""
    if len(payload) > max_bytes:
        raise CommandError("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        data = json.loads(payload.decode("utf-8")) if payload.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError("bad_json", f"payload is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError(
            "bad_payload", f"payload must be a JSON object, got {type(data).__name__}"
        )
    return data


def validate_command(schema: type[_Command], data: dict[str, Any]) -> _Command:
    """The command ``data`` describes (``invalid``, naming the fields, otherwise)."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(payload)'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise CommandError("invalid", problems) from None


def parse_command(name: str, payload: bytes, max_bytes: int) -> _Command:
    """Decode and validate a command payload; every failure is a :class:`CommandError`."""
    schema = command_schema(name)
    return validate_command(schema, decode_payload(payload, max_bytes))


def ok(result: Any) -> bytes:
    return json.dumps({"ok": True, "result": result}, default=str).encode()


def error(kind: str, message: str) -> bytes:
    return json.dumps({"ok": False, "error": {"type": kind, "message": message}}).encode()


class Topics:
    """Topic names under the configured prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")

    def command(self, agent: str, name: str) -> str:
        return f"{self.prefix}/{agent}/cmd/{name}"

    def commands(self, agent: str) -> str:
        return f"{self.prefix}/{agent}/cmd/#"

    def event(self, agent: str, kind: str) -> str:
        return f"{self.prefix}/{agent}/{kind}"

    def status(self, agent: str) -> str:
        return f"{self.prefix}/{agent}/status"

    def bus_out(self, agent: str, topic: str) -> str:
        return f"{self.prefix}/{agent}/bus/out/{topic}"

    def bus_in(self, agent: str) -> str:
        return f"{self.prefix}/{agent}/bus/in/#"

    def split_command(self, topic: str) -> tuple[str, str] | None:
        """``(agent, command)`` for a command topic, else None."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        agent, sep, rest = topic[len(head) :].partition("/cmd/")
        return (agent, rest) if sep and agent and rest else None
