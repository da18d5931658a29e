"""``broker.mode: embedded``: an in-process MQTT broker (amqtt) for trying the daemon.

A new user needs nothing installed. It speaks MQTT 3.1.1 only (replies then go to the topic the
request names in its payload, see docs/mqtt.md); production deployments use mosquitto or a
clustered broker (EMQX, VerneMQ, HiveMQ).

A broker is a server: nothing a client sends, nor how it hangs up, may end in a traceback. amqtt
handles each client connection in a task that asyncio starts, and lets some errors escape it:
when a client resets the connection just as amqtt refuses it (an MQTT 5 client, say), closing
the socket raises ``OSError: [Errno 107] Transport endpoint is not connected`` or a
``ConnectionResetError``, and asyncio logs it with its traceback. Every connection therefore goes
through :meth:`_Guard.serve`, which ends with at most one warning line, and those lines are
rate-limited, so that a client retrying forever cannot flood the log. A client that speaks
another protocol than MQTT 3.1.1 is recognised from its CONNECT packet, and is reported in a
single line of ours instead of amqtt's own two warnings.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from cogos.errors import CogOSError

log = logging.getLogger("cogos.daemon.broker")

PROTOCOLS = {(b"MQIsdp", 3): "MQTT 3.1", (b"MQTT", 4): "MQTT 3.1.1", (b"MQTT", 5): "MQTT 5"}
SUPPORTED = (b"MQTT", 4)
_HEAD = 16
"""Bytes of a connection's first packet kept: enough for a CONNECT's protocol name and level."""


def connect_protocol(head: bytes | bytearray) -> tuple[bytes, int] | None:
    """The protocol name and level of a CONNECT packet's start (None: not one, or cut short)."""
    if len(head) < 2 or head[0] >> 4 != 1:
        return None
    i = 1
    while head[i] & 0x80:  # the remaining length: 1 to 4 bytes, 7 bits each
        i += 1
        if i >= min(len(head), 5):
            return None
    i += 1
    if len(head) < i + 2:
        return None
    size = int.from_bytes(head[i : i + 2], "big")
    if len(head) < i + 2 + size + 1:
        return None
    return bytes(head[i + 2 : i + 2 + size]), head[i + 2 + size]


def protocol_name(protocol: tuple[bytes, int]) -> str:
    name, level = protocol
    return PROTOCOLS.get(protocol, f"{name.decode(errors='replace')} level {level}")


_REFUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("refused", default=False)
"""Set in a connection's task once its CONNECT names an unsupported protocol."""


class _SniffingReader:
    """An ``asyncio.StreamReader`` that keeps the first bytes read through it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.head = bytearray()

    def _keep(self, data: bytes) -> bytes:
        if len(self.head) < _HEAD:
            self.head += data[: _HEAD - len(self.head)]
            protocol = connect_protocol(self.head)
            if protocol is not None and protocol != SUPPORTED:
                _REFUSED.set(True)  # in this connection's task (its own context) only
        return data

    async def read(self, n: int = -1) -> bytes:
        return self._keep(await self._reader.read(n))

    async def readexactly(self, n: int) -> bytes:
        return self._keep(await self._reader.readexactly(n))

    def feed_eof(self) -> None:
        self._reader.feed_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _Quiet(logging.Filter):
    """Drops amqtt's records of what this module reports itself, in one line.

    They are those about a connection refused for its protocol, and the traceback amqtt logs
    when it cannot start (``starting``: :meth:`EmbeddedBroker.start` raises it as one error).
    A flag rather than a context variable: the listener's tasks, created while it starts, would
    inherit the variable and lose every traceback of theirs.
    """

    starting = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_REFUSED.get() or (self.starting and record.exc_info))


Handler = Callable[..., Awaitable[None]]
"""amqtt's ``Broker.stream_connected(reader, writer, listener_name=...)``."""


class _Guard:
    """Runs amqtt's handler of one client connection; nothing escapes it (see the docstring)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.refused = 0
        self.failed = 0

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        sniffer = _SniffingReader(reader)
        peer = _peer(writer)
        try:
            await self._handler(sniffer, writer, listener_name=listener_name)
        except asyncio.CancelledError:
            writer.transport.abort()  # the broker is stopping; asyncio would log a cancelled task
        except Exception as exc:
            writer.transport.abort()
            if not self._refused(sniffer.head, peer):
                self.failed += 1
                if _first_or_power_of_two(self.failed):
                    log.warning(
                        "embedded broker: dropped the connection from %s: %s%s",
                        peer,
                        _describe(exc),
                        _so_far(self.failed, "dropped"),
                    )
                log.debug("embedded broker: the connection from %s failed", peer, exc_info=exc)
        else:
            self._refused(sniffer.head, peer)

    def _refused(self, head: bytes | bytearray, peer: str) -> bool:
        """Report a client of another protocol (rate-limited); whether it was one."""
        protocol = connect_protocol(head)
        if protocol is None or protocol == SUPPORTED:
            return False
        self.refused += 1
        if _first_or_power_of_two(self.refused):
            log.warning(
                "embedded broker: a client at %s spoke %s, but this broker speaks MQTT 3.1.1 "
                "only; it was refused%s",
                peer,
                protocol_name(protocol),
                _so_far(self.refused, "refused"),
            )
        return True


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "an unknown address"


def _describe(exc: BaseException) -> str:
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_or_power_of_two(n: int) -> bool:
    return n & (n - 1) == 0


def _so_far(n: int, what: str) -> str:
    return f" ({n} {what} so far)" if n > 1 else ""


class EmbeddedBroker:
    """An amqtt broker listening on ``host:port`` for the daemon's lifetime."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._broker: Any = None
        self._guard: _Guard | None = None
        self._filter = _Quiet()

    @property
    def refused(self) -> int:
        """Connections refused for their protocol (MQTT 5, say)."""
        return self._guard.refused if self._guard is not None else 0

    async def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from amqtt.broker import Broker
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("amqtt.broker").addFilter(self._filter)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        self._guard = _Guard(self._broker.stream_connected)
        # amqtt binds its listener to this attribute when it starts serving
        self._broker.stream_connected = self._guard.serve
        self._filter.starting = True
        try:
            await self._broker.start()
        except Exception as exc:
            self._broker = None
            logging.getLogger("amqtt.broker").removeFilter(self._filter)
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            hint = (
                ". Is another broker running there? Set broker.port to another port, or use "
                "that broker with broker.mode=external"
                if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE
                else ""
            )
            raise CogOSError(
                f"the embedded broker cannot start on {self.host}:{self.port}: "
                f"{_describe(cause)}{hint}"
            ) from exc
        finally:
            self._filter.starting = False

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
        logging.getLogger("amqtt.broker").removeFilter(self._filter)
