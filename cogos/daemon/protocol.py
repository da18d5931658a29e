"""Topics and payloads of the MQTT interface (documented for users in docs/mqtt.md).

Commands arrive on ``<prefix>/<agent>/cmd/<command>`` (QoS 1) as JSON objects; each is validated
against its schema here. A request carrying an MQTT 5 response topic gets its reply there, with
the same correlation data: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"type":
..., "message": ...}}``. A bad payload is answered with an error and counted; it never stops the
daemon.
"""

from __future__ import annotations

import json
import math
from itertools import chain, compress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from cogos.errors import CogOSError

Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Atom = Annotated[list[Name], Field(min_length=1, max_length=16)]
"""A ground atom as JSON: ``["open", "c0_0", "c0_1"]``; its arity is checked against what the
agent reads (cogos.facts) when the command runs."""


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="client's id: repeats are answered once",
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
    facts: list[Atom] = Field(default_factory=list, max_length=1000)


class Observe(_Command):
    """One observation from an external environment; the reply carries the agent's action."""

    facts: list[Atom] = Field(default_factory=list, max_length=100_000)
    text: str = Field(default="", max_length=65_536)
    reward: float = Field(default=0.0, allow_inf_nan=False)
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


class CommandError(CogOSError):
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


MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a payload may have (commands need 4)."""
MAX_NUMBER_CHARS = 64
"""Longest number literal: far beyond any float's precision, and Python's int() limit (4,300
digits) is never reached, nor its quadratic time."""


class _Limit(CogOSError, ValueError):
    """A payload past the decoder's limits (``bad_json``)."""


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Limit(f"a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})")
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Limit(f"{text} is not a finite number")
        return value

    return parse


def _constant(name: str) -> Any:
    raise _Limit(f"{name} is not a finite number")


_parse_int, _parse_float = _number(int), _number(float)


_CONTAINERS = frozenset({dict, list})
_is_container = _CONTAINERS.__contains__


def _too_deep(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels.

    Level by level, without recursion, and cheap: it runs on every command (an observation's
    hundreds of facts are one level of lists, flattened and scanned by C loops).
    """
    level = [value]
    for _ in range(limit):
        kinds = set(map(type, level))
        if kinds == {list}:
            children = list(chain.from_iterable(level))
        elif kinds == {dict}:
            children = list(chain.from_iterable(map(dict.values, level)))
        else:
            children = list(
                chain.from_iterable(i.values() if type(i) is dict else i for i in level)
            )
        if _CONTAINERS.isdisjoint(map(type, children)):
            return False
        level = list(compress(children, map(_is_container, map(type, children))))
    return True


def decode_json(payload: bytes) -> Any:
    """Strict JSON with limits: no NaN/Infinity, bounded numbers and nesting (``bad_json``)."""
    try:
        value = json.loads(
            payload.decode("utf-8"),
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_constant,
        )
    except RecursionError:
        raise CommandError("bad_json", f"payload nests too deep (at most {MAX_DEPTH})") from None
    except _Limit as exc:
        raise CommandError("bad_json", f"payload exceeds the decoder's limits: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError("bad_json", f"payload is not UTF-8 JSON: {exc}") from None
    if isinstance(value, dict | list) and _too_deep(value, MAX_DEPTH):
        raise CommandError("bad_json", f"payload nests too deep (at most {MAX_DEPTH})")
    return value


def decode_payload(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """A payload's JSON object (``too_large``, ``bad_json`` or ``bad_payload`` otherwise).

    An empty payload is ``bad_json``: a command is a JSON object, ``{}`` at the least.
    """
    if len(payload) > max_bytes:
        raise CommandError("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    if not payload.strip():
        raise CommandError("bad_json", "the payload is empty; a command is a JSON object ({})")
    data = decode_json(payload)
    if not isinstance(data, dict):
        raise CommandError(
            "bad_payload", f"payload must be a JSON object, got {type(data).__name__}"
        )
    return data


def _where(loc: tuple[int | str, ...]) -> str:
    """A field's place as a client writes it: ``facts[0][1]``, ``where.kind``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(payload)"


def validate_command(schema: type[_Command], data: dict[str, Any]) -> _Command:
    """The command ``data`` describes (``invalid``, naming the fields, otherwise)."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
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
        """``(agent, command)`` for a command topic, else None (the command may be empty)."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        agent, sep, rest = topic[len(head) :].partition("/cmd")
        if not sep or not agent or "/" in agent or (rest and not rest.startswith("/")):
            return None
        return agent, rest[1:]

    def owns(self, topic: str) -> bool:
        """Whether ``topic`` is one the daemon acts on or that carries its state.

        A reply published there would run a command, enter an agent's bus, or overwrite a
        status, with the daemon's own permissions.
        """
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return False
        rest = topic[len(head) :]
        return (
            self.split_command(topic) is not None
            or "/bus/in/" in rest
            or (rest.count("/") == 1 and rest.endswith("/status"))
        )


MAX_TOPIC_BYTES = 65_535
"""MQTT's limit on a topic name."""


class Unanswerable(CogOSError):
    """A request whose reply topic cannot be published to; dropped and counted."""


def reply_topic_problem(topic: object, topics: Topics) -> str | None:
    """Why the daemon must not publish a reply to ``topic`` (None if it may)."""
    if not isinstance(topic, str):
        return f"reply_to must be a topic string, got {type(topic).__name__}"
    if not topic:
        return "the reply topic is empty"
    if "+" in topic or "#" in topic:
        return f"reply topic {topic[:100]!r} has a wildcard (+ or #)"
    if "\x00" in topic:
        return "the reply topic holds a NUL character"
    if topic.startswith("$"):
        return f"reply topic {topic[:100]!r} is reserved to the broker ($)"
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        return "the reply topic is not valid UTF-8"
    if size > MAX_TOPIC_BYTES:
        return f"the reply topic has {size} bytes (MQTT allows {MAX_TOPIC_BYTES})"
    if topics.owns(topic):
        return f"reply topic {topic[:100]!r} is one of the daemon's own topics"
    return None
