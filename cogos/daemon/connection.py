"""One MQTT 5 connection that survives its broker going away.

``run()`` connects (aiomqtt, MQTT 5, a persistent session so the broker keeps our QoS 1 commands
while we are away), subscribes, hands every incoming message to ``on_message``, and when the
connection drops, waits with exponential backoff and does it all again. Outgoing messages go
through a bounded queue with an explicit overflow policy: while disconnected they wait there,
and a publish that fails mid-flight is put back at the front, so nothing queued is lost to a
reconnect. The last will publishes ``offline`` (retained) on the status topic if the process
dies without saying goodbye.

Incoming QoS 1 messages are acknowledged by hand, once ``on_message`` has taken them: paho would
otherwise PUBACK a message on receipt, and one still waiting in aiomqtt's queue when the
connection drops would be gone from the broker and from us. Unacknowledged, the broker delivers
it again on the next session (the daemon answers a repeated command id from its cache).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cogos.bus import OverflowPolicy
from cogos.daemon.config import BrokerSpec, OutgoingSpec
from cogos.errors import BusOverflowError, ConfigError

log = logging.getLogger("cogos.daemon.mqtt")

MessageHandler = Callable[[aiomqtt.Message], Awaitable[None]]

IN_FLIGHT = 64
"""Messages sent and not yet acknowledged, at most. One at a time, every QoS 1 message would wait
a broker round trip before the next could leave (a reply behind each cycle event's PUBACK)."""


def _delivered(task: asyncio.Task[None]) -> bool:
    """Whether a publish finished with the broker's acknowledgement (its error retrieved)."""
    return task.done() and not task.cancelled() and task.exception() is None


REPORT_EVERY = 64
"""After attempt 64, an unreachable broker is reported on every 64th attempt."""


def _reported(failures: int) -> bool:
    """Whether failed attempt ``failures`` (from 1) is a warning: 1, 2, 4, ..., 64, every 64th."""
    if failures <= REPORT_EVERY:
        return failures & (failures - 1) == 0
    return failures % REPORT_EVERY == 0


def _reason(error: BaseException) -> str:
    """An aiomqtt error's text without its errno: ``Connection refused``."""
    return re.sub(r"^\[Errno -?\d+\] ", "", str(error)) or type(error).__name__


@dataclass(frozen=True)
class Outgoing:
    """A message waiting to be published (``correlation``: MQTT 5 correlation data of a reply)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    correlation: bytes | None = None


def publish_properties(correlation: bytes | None) -> Properties | None:
    """MQTT 5 correlation data for a reply (None for plain messages)."""
    if correlation is None:
        return None
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.CorrelationData = correlation
    return props


class MqttConnection:
    """See the module docstring. ``connected`` is set while a session is up."""

    def __init__(
        self,
        broker: BrokerSpec,
        outgoing: OutgoingSpec,
        *,
        client_id: str,
        subscriptions: list[str],
        will_topic: str,
        on_message: MessageHandler,
        on_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscriptions = subscriptions
        self.will_topic = will_topic
        self.on_message = on_message
        self.on_connect = on_connect
        self.outgoing_size = outgoing.size
        self.overflow = outgoing.overflow
        self._queue: deque[Outgoing] = deque()
        self._in_flight: deque[tuple[Outgoing, asyncio.Task[None]]] = deque()
        self._queued = asyncio.Event()
        self._room = asyncio.Event()
        self.connected = asyncio.Event()
        self.connections = 0
        self.outage: float | None = None
        """Seconds without a session before the current one (None: the first connection)."""
        self.dropped = 0
        self._client: aiomqtt.Client | None = None
        self._closing = False

    # -- outgoing -----------------------------------------------------------------------------

    async def publish(self, message: Outgoing) -> None:
        """Queue a message; applies the overflow policy when the queue is full."""
        while len(self._queue) >= self.outgoing_size:
            if self.overflow is OverflowPolicy.DROP_OLDEST:
                self._queue.popleft()
                self.dropped += 1
                if self.dropped & (self.dropped - 1) == 0:
                    log.warning("outgoing MQTT queue full: dropped %d message(s)", self.dropped)
                break
            if self.overflow is OverflowPolicy.ERROR:
                raise BusOverflowError("mqtt-outgoing", message.topic, self.outgoing_size)
            self._room.clear()
            await self._room.wait()
        self._queue.append(message)
        self._queued.set()

    def pending(self) -> int:
        """Messages not yet acknowledged by the broker: queued, or sent and awaiting it."""
        return len(self._queue) + len(self._in_flight)

    def _send(self, client: aiomqtt.Client, message: Outgoing) -> asyncio.Task[None]:
        # paho writes the packet in the task's first step, so tasks started in queue order put
        # their packets on the wire in queue order
        return asyncio.get_running_loop().create_task(
            client.publish(
                message.topic,
                message.payload,
                qos=message.qos,
                retain=message.retain,
                properties=publish_properties(message.correlation) if self.broker.mqtt5 else None,
            )
        )

    async def _publisher(self, client: aiomqtt.Client) -> None:
        """Keep up to ``IN_FLIGHT`` messages on the wire, in queue order.

        When the session ends, those not acknowledged go back to the front of the queue, in
        order.
        """
        in_flight = self._in_flight
        try:
            while True:
                while self._queue and len(in_flight) < IN_FLIGHT:
                    message = self._queue.popleft()
                    in_flight.append((message, self._send(client, message)))
                self._room.set()
                waits: set[asyncio.Future[Any]] = set()
                queued: asyncio.Task[bool] | None = None
                if in_flight:
                    waits.add(in_flight[0][1])
                if len(in_flight) < IN_FLIGHT:  # room for more: wake up when some are queued
                    self._queued.clear()
                    queued = asyncio.get_running_loop().create_task(self._queued.wait())
                    waits.add(queued)
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if queued is not None:
                        queued.cancel()
                while in_flight and in_flight[0][1].done():
                    in_flight[0][1].result()  # an MqttError: the session is gone (see finally)
                    in_flight.popleft()
        finally:
            unsent = [m for m, task in in_flight if not _delivered(task)]
            for _, task in in_flight:
                task.cancel()
            in_flight.clear()
            self._queue.extendleft(reversed(unsent))

    # -- connection ---------------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        b = self.broker
        kwargs: dict[str, Any] = {
            "hostname": b.host,
            "port": b.port,
            "identifier": self.client_id,
            "keepalive": b.keepalive,
            "will": aiomqtt.Will(self.will_topic, b'{"state": "offline"}', qos=1, retain=True),
            "max_concurrent_outgoing_calls": 256,
            "max_inflight_messages": IN_FLIGHT,
            "timeout": 10,
            # small messages one at a time: without this, Nagle holds each ~40 ms for an ACK
            "socket_options": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        }
        if b.mqtt5:
            connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            connect.SessionExpiryInterval = b.session_expiry
            kwargs.update(
                protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=connect
            )
        else:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=False)
        if b.username is not None:
            kwargs["username"] = b.username
            if b.password_env is not None:
                password = os.environ.get(b.password_env)
                if password is None:
                    raise ConfigError(
                        f"environment variable {b.password_env} (broker.password_env) is not set",
                        key="broker.password_env",
                    )
                kwargs["password"] = password
        if b.tls is not None:
            context = ssl.create_default_context(cafile=b.tls.ca_certs)
            if b.tls.certfile:
                context.load_cert_chain(b.tls.certfile, b.tls.keyfile)
            if b.tls.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            kwargs["tls_context"] = context
        return kwargs

    async def run(self) -> None:
        """Stay connected until cancelled; reconnect with exponential backoff.

        A broker that cannot be reached is reported on the first failed attempt, and then on
        attempts 2, 4, 8, ... 64 and every 64th after that (each attempt is logged at debug
        level): a service retries for as long as it runs, without filling its log.
        """
        delay = self.broker.reconnect_initial
        kwargs = self._client_kwargs()
        loop = asyncio.get_running_loop()
        failures = 0  # connection attempts that failed since the last session
        down_since: float | None = loop.time()  # when the last session ended (or we began)
        while True:
            session = False
            try:
                async with aiomqtt.Client(**kwargs) as client:
                    session = True
                    client._client.manual_ack_set(True)  # see the module docstring
                    client.pending_calls_threshold = IN_FLIGHT + 16  # (else aiomqtt warns)
                    self._client = client
                    self.connections += 1
                    if self.connections > 1 and down_since is not None:
                        self.outage = loop.time() - down_since
                    failures, down_since = 0, None
                    delay = self.broker.reconnect_initial
                    for topic in self.subscriptions:
                        await client.subscribe(topic, qos=1)
                    self.connected.set()
                    log.info(
                        "connected to %s:%d as %s",
                        self.broker.host,
                        self.broker.port,
                        self.client_id,
                    )
                    if self.on_connect is not None:
                        await self.on_connect()
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._publisher(client), name="mqtt-publisher")
                        async for message in client.messages:
                            await self.on_message(message)
                            if message.qos > 0:
                                client._client.ack(message.mid, message.qos)
            except* aiomqtt.MqttError as group_error:  # a TaskGroup wraps it in an exception group
                error = group_error.exceptions[0]
                if down_since is None:
                    down_since = loop.time()
                if session:
                    log.warning(
                        "MQTT connection to %s lost (%s); reconnecting", self.address, error
                    )
                else:
                    failures += 1
                    self._unreachable(error, failures, loop.time() - down_since, delay)
            finally:
                self._client = None
                self.connected.clear()
            if self.closing:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.broker.reconnect_max)

    @property
    def address(self) -> str:
        return f"{self.broker.host}:{self.broker.port}"

    def _unreachable(self, error: BaseException, failures: int, down: float, delay: float) -> None:
        """Log a failed connection attempt: a warning on a backed-off schedule, else debug."""
        reason = _reason(error)
        if not _reported(failures):
            log.debug("MQTT connection attempt %d failed (%s)", failures, reason)
            return
        if isinstance(error, aiomqtt.MqttCodeError):
            what = f"the MQTT broker at {self.address} refused the connection ({reason})"
        else:
            what = f"cannot reach the MQTT broker at {self.address} ({reason})"
        if failures > 1:
            what += f", {failures} attempts over {down:.0f} s"
        hint = ""
        if self.connections == 0 and self.broker.mode == "external":
            hint = (
                ". No broker installed? Run with broker.mode=embedded, or install mosquitto"
                if not isinstance(error, aiomqtt.MqttCodeError)
                else ". Check broker.username, broker.password_env and the broker's ACL"
            )
        log.warning("%s; retrying with backoff (next in %.1f s)%s", what, delay, hint)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the outgoing queue is empty (while connected); False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.pending() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return not self.pending()

    def shed_best_effort(self) -> int:
        """Drop the queued QoS 0 messages (cycle events, metrics), counted in ``dropped``.

        Then what must arrive (replies, statuses, ``offline``) goes out before a deadline.
        """
        kept = deque(m for m in self._queue if m.qos > 0)
        shed = len(self._queue) - len(kept)
        if shed:
            self._queue = kept
            self.dropped += shed
            self._room.set()
            log.warning("stopping: dropped %d queued QoS 0 message(s) to flush the rest", shed)
        return shed

    @property
    def closing(self) -> bool:
        return self._closing

    async def disconnect(self) -> None:
        """Stop reconnecting; the caller cancels the ``run`` task afterwards."""
        self._closing = True
