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
import contextlib
import logging
import os
import re
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers
from paho.mqtt.reasoncodes import ReasonCode

from cogos.bus import OverflowPolicy
from cogos.daemon.config import BrokerSpec, OutgoingSpec
from cogos.errors import BusOverflowError, ConfigError, DaemonRefused

log = logging.getLogger("cogos.daemon.mqtt")

MessageHandler = Callable[[aiomqtt.Message], Awaitable[None]]

IN_FLIGHT = 64
"""Messages sent and not yet acknowledged, at most. One at a time, every QoS 1 message would wait
a broker round trip before the next could leave (a reply behind each cycle event's PUBACK)."""
TIMEOUT = 10.0
"""Seconds to connect or subscribe, and for the broker to acknowledge the oldest message in
flight: a broker that froze ends the session (and the daemon reconnects)."""
WATCHDOG_TICK = 1.0
"""Seconds between the publisher's looks at the oldest message in flight, when none was."""


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


SESSION_TAKEN_OVER = 0x8E
"""MQTT 5 DISCONNECT reason code: another connection with our client id took the session."""
DISCONNECT_WITH_WILL = 0x04
"""MQTT 5 DISCONNECT reason code: close, and have the broker publish the last will anyway."""
STABLE_SESSION = 10.0
"""Seconds a session must last to reset the reconnect backoff; shorter ones, several in a row
while every reconnection succeeds, are reported as a likely client id clash."""
FLAPPING = 3
"""Short sessions in a row (see ``STABLE_SESSION``) that make a client id clash likely."""

_REFUSED_CREDENTIALS = {0x85, 0x86, 0x87, 0x8C}
"""CONNACK reason codes (paho gives MQTT 3.1.1's return codes 2, 4 and 5 as 0x85, 0x86, 0x87):
client id not valid, bad user name or password, not authorized, bad authentication method."""
_V311_CONNACK = {2: 0x85, 4: 0x86, 5: 0x87}
_NOT_TLS_REFUSALS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
"""SSL errors of a connection cut mid-handshake: network trouble, retried like it."""


def _chain(error: BaseException) -> list[BaseException]:
    """An error, the exceptions of a group, and their causes.

    aiomqtt chains the error that says why: ``Disconnected during message iteration`` comes
    from ``MqttCodeError(rc)``.
    """
    out: list[BaseException] = []
    todo = [error]
    while todo and len(out) < 32:
        e = todo.pop()
        if e in out:
            continue
        out.append(e)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(c for c in (e.__cause__, e.__context__) if c is not None)
    return out


def disconnect_reason(error: BaseException) -> int | None:
    """The MQTT 5 reason code of the broker's DISCONNECT behind a lost session, if it sent one."""
    codes = [
        int(e.rc.value)
        for e in _chain(error)
        if isinstance(e, aiomqtt.MqttCodeError) and isinstance(e.rc, ReasonCode)
    ]
    if SESSION_TAKEN_OVER in codes:
        return SESSION_TAKEN_OVER
    return codes[0] if codes else None


def refusal(error: BaseException) -> str | None:
    """``auth`` or ``tls`` when a failed connection attempt would fail the same way again.

    ``auth``: the broker refused the credentials or the client id (CONNACK). ``tls``: the TLS
    handshake failed (an unknown CA, a host name the certificate lacks, a refused client
    certificate, TLS spoken to a plain port). None: a network failure, to be retried.
    """
    if isinstance(error, MqttConnectError):
        rc = error.rc
        code = rc.value if isinstance(rc, ReasonCode) else _V311_CONNACK.get(rc or 0)
        return "auth" if code in _REFUSED_CREDENTIALS else None
    for e in _chain(error):
        if isinstance(e, ssl.SSLError) and not isinstance(e, _NOT_TLS_REFUSALS):
            return "tls"
    return None


def refused_error(broker: BrokerSpec, error: BaseException, attempts: int) -> DaemonRefused:
    """The one line a daemon exits 2 with when the broker keeps refusing it."""
    address = f"{broker.host}:{broker.port}"
    reason = _reason(error)
    if refusal(error) == "tls":
        ca = broker.tls.ca_certs if broker.tls is not None else None
        return DaemonRefused(
            f"the TLS handshake with the MQTT broker at {address} failed {attempts} time(s) in a "
            f"row ({reason}); check broker.tls.ca_certs (the CA that signed the broker's "
            f"certificate; now {ca or 'the system CAs'}), broker.tls.certfile and keyfile, and "
            f"that broker.host ({broker.host}) is a name in the broker's certificate",
            reason="tls",
            key="broker.tls.ca_certs",
        )
    rc = error.rc if isinstance(error, aiomqtt.MqttCodeError) else None
    if (rc.value if isinstance(rc, ReasonCode) else _V311_CONNACK.get(rc or 0)) == 0x85:
        check, key = "broker.client_id (the broker refuses this client id)", "broker.client_id"
    else:
        password = f" in ${broker.password_env}" if broker.password_env else ""
        check = (
            f"broker.username ({broker.username or 'none set'}) and broker.password_env (the "
            f"password{password}), and that the broker's password file and ACL let this user in"
        )
        key = "broker.username"
    return DaemonRefused(
        f"the MQTT broker at {address} refused the daemon's connection {attempts} time(s) in a "
        f"row ({reason}); check {check}",
        reason="auth",
        key=key,
    )


def count_refusal(broker: BrokerSpec, error: BaseException, in_row: int) -> int:
    """Refusals in a row after the failed attempt ``error`` (0 if it was a network failure).

    Raises :class:`DaemonRefused` once there are ``broker.auth_attempts`` of them.
    """
    if refusal(error) is None:
        return 0
    in_row += 1
    if in_row >= broker.auth_attempts:
        raise refused_error(broker, error, in_row)
    return in_row


def client_credentials(broker: BrokerSpec) -> dict[str, Any]:
    """The ``username``, ``password`` and ``tls_context`` arguments of aiomqtt's client."""
    b = broker
    kwargs: dict[str, Any] = {}
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
        try:
            context = ssl.create_default_context(cafile=b.tls.ca_certs)
            if b.tls.certfile:
                context.load_cert_chain(b.tls.certfile, b.tls.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the TLS files (ca_certs, certfile, keyfile): {exc}", key="broker.tls"
            ) from None
        if b.tls.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        kwargs["tls_context"] = context
    return kwargs


@dataclass(frozen=True)
class Outgoing:
    """A message waiting to be published (``correlation``: MQTT 5 correlation data of a reply)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    correlation: bytes | None = None


class CorrelationProperties(Properties):
    """The PUBLISH properties of a reply: its correlation data, and nothing else.

    paho's :class:`Properties` rebuilds its tables of property names for every object and packs
    by looking each name up in them; for the one property a reply carries, that costs more
    than the rest of the publish. This is the same object (its tables shared with a template),
    packed directly: property 9 (correlation data), binary data, a two-byte length first.
    """

    _template = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]

    def __init__(self, correlation: bytes) -> None:  # (paho's __init__ is what is avoided)
        vars(self).update(vars(self._template))
        vars(self)["CorrelationData"] = correlation  # (its __setattr__ checks the name)

    def pack(self) -> bytes:
        data = bytes(vars(self)["CorrelationData"])
        body = b"\x09" + len(data).to_bytes(2, "big") + data
        length: bytes = VariableByteIntegers.encode(len(body))  # type: ignore[no-untyped-call]
        return length + body


def publish_properties(correlation: bytes | None) -> Properties | None:
    """MQTT 5 correlation data for a reply (None for plain messages)."""
    if correlation is None:
        return None
    return CorrelationProperties(correlation)


def _write_now(paho: mqtt.Client, wants_write: Any, sock: Any) -> None:
    """Write paho's queued packets now; what the socket does not take goes to the event loop.

    paho has marked the socket as watched for writing (its register-write callback was asked
    for): the loop is asked only if packets remain. If the write fails, paho closes the socket
    and reports the lost connection as it always does; a loop that was never asked to watch the
    socket then has no closed one to poll.
    """
    try:
        paho.loop_write()
    except Exception:  # the loop's own write meets it again, and ends the session
        pass
    else:
        if not paho.want_write() or paho.socket() is None:
            return
    if wants_write is not None and paho.socket() is not None:
        wants_write(paho, paho.user_data_get(), sock)


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
        self._in_flight: deque[tuple[Outgoing, int, float]] = deque()
        """Messages handed to paho and not yet done: each with its mid and when it was sent."""
        self._done: set[int] = set()
        """Mids done while one before them in ``_in_flight`` was not (QoS 0 behind QoS 1)."""
        self._paho: mqtt.Client | None = None
        """The session's paho client while its publisher runs (None: messages wait)."""
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self.connected = asyncio.Event()
        self.connections = 0
        self.outage: float | None = None
        """Seconds without a session before the current one (None: the first connection)."""
        self.dropped = 0
        self.undeliverable = 0
        """Messages the client library refused to publish (also counted in ``dropped``)."""
        self._client: aiomqtt.Client | None = None
        self._closing = False
        self._leave_with_will = False
        self.takeovers = 0
        """Sessions the broker handed to another connection with our client id (reason 0x8E)."""

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
        if self._paho is not None and len(self._in_flight) < IN_FLIGHT:
            try:
                self._pump()  # on the wire at the loop's next turn, without waking the publisher
            except aiomqtt.MqttError:
                self._wake.set()  # the session is gone: the publisher meets the error and ends it

    def _undeliverable(self, message: Outgoing, failure: BaseException) -> None:
        """A message the client library refused: dropped and counted, never retried."""
        self.dropped += 1
        self.undeliverable += 1
        if self.undeliverable & (self.undeliverable - 1) == 0:
            log.warning(
                "could not publish to %r (%s: %s): dropped (%d so far)",
                message.topic[:100],
                type(failure).__name__,
                failure,
                self.undeliverable,
            )

    def pending(self) -> int:
        """Messages not yet acknowledged by the broker: queued, or sent and awaiting it."""
        return len(self._queue) + len(self._in_flight)

    def _pump(self) -> None:
        """Hand queued messages to paho, in queue order, until ``IN_FLIGHT`` are unacknowledged.

        Synchronous: paho queues each packet and they are written at once, with no task and no
        timer of their own (what the socket does not take, the event loop writes later). A message
        paho refuses for a reason of its own (a topic it rejects, say) is dropped and counted;
        one it cannot send because the session is gone stays first in the queue, and the
        :class:`aiomqtt.MqttError` raised ends the session.
        """
        paho = self._paho
        if paho is None:
            return
        if self._queue and len(self._in_flight) < IN_FLIGHT:
            self._send_queued(paho)
        if len(self._queue) < self.outgoing_size:
            self._room.set()

    def _send_queued(self, paho: mqtt.Client) -> None:
        """Hand paho what the window has room for, and have it written at once.

        paho asks the event loop to watch the socket for room before it writes (aiomqtt's
        callback, through call_soon_threadsafe): two turns of the loop and a self-pipe write per
        message. Here the messages are written at once instead; the loop is asked only for what
        the socket did not take (see :func:`_write_now`).
        """
        queue, in_flight = self._queue, self._in_flight
        mqtt5 = self.broker.mqtt5
        now = asyncio.get_running_loop().time()
        wants_write = paho.on_socket_register_write
        asked: list[Any] = []
        paho.on_socket_register_write = lambda client, userdata, sock: asked.append(sock)
        try:
            while queue and len(in_flight) < IN_FLIGHT:
                message = queue[0]
                try:
                    info = paho.publish(
                        message.topic,
                        message.payload,
                        message.qos,
                        message.retain,
                        publish_properties(message.correlation) if mqtt5 else None,
                    )
                except Exception as exc:  # paho refuses the message itself (a bad topic, say)
                    queue.popleft()
                    self._undeliverable(message, exc)
                    continue
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
                queue.popleft()
                in_flight.append((message, info.mid, now))
        finally:
            paho.on_socket_register_write = wants_write
            if asked:
                _write_now(paho, wants_write, asked[-1])

    def _on_publish(self, client: Any, userdata: Any, mid: int, *_: Any) -> None:
        """paho: message ``mid`` is done (a QoS 0 one written, a QoS 1 one acknowledged)."""
        if client is not self._paho:
            return  # a session that ended: what it had in flight is queued again
        in_flight = self._in_flight
        if not in_flight or in_flight[0][1] != mid:
            self._done.add(mid)  # acknowledged out of order (a QoS 0 behind a QoS 1, say)
            return
        in_flight.popleft()
        done = self._done
        while in_flight and in_flight[0][1] in done:
            done.discard(in_flight.popleft()[1])
        if self._queue:
            self._wake.set()  # room on the wire for what waits

    async def _publisher(self, client: aiomqtt.Client) -> None:
        """Keep up to ``IN_FLIGHT`` messages on the wire, in queue order.

        ``publish`` hands a message to paho at once when there is room; this task sends what
        had to wait, and is the watchdog of the oldest message in flight: one the broker has
        not acknowledged within ``TIMEOUT`` seconds (a broker that froze) ends the session, as a
        lost connection does. When the session ends, those not acknowledged go back to the
        front of the queue, in order.
        """
        in_flight = self._in_flight
        loop = asyncio.get_running_loop()
        paho = client._client
        paho.on_publish = self._on_publish  # instead of aiomqtt's (its publish is not used)
        self._paho = paho
        try:
            while True:
                self._wake.clear()
                self._pump()
                left = WATCHDOG_TICK  # (a message sent meanwhile is watched from the next tick)
                if in_flight:
                    left = in_flight[0][2] + TIMEOUT - loop.time()
                    if left <= 0:
                        raise aiomqtt.MqttError(
                            f"Operation timed out: no acknowledgment in {TIMEOUT:g} s"
                        )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._wake.wait()
        finally:
            self._paho = None
            done = self._done
            unsent = [m for m, mid, _ in in_flight if mid not in done]
            in_flight.clear()
            done.clear()
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
            "timeout": TIMEOUT,
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
        kwargs.update(client_credentials(b))
        return kwargs

    async def run(self) -> None:
        """Stay connected until cancelled; reconnect with exponential backoff.

        A broker that cannot be reached is reported on the first failed attempt, and then on
        attempts 2, 4, 8, ... 64 and every 64th after that (each attempt is logged at debug
        level): a service retries for as long as it runs, without filling its log. A broker
        that refuses the credentials, or a TLS handshake that fails, ``broker.auth_attempts``
        times in a row ends it with :class:`DaemonRefused` instead: retrying cannot help.

        A session the broker hands to another connection with our client id (MQTT 5 reason code
        0x8E) is counted in ``takeovers`` and reported; so are sessions that keep ending soon
        after they begin (brokers such as mosquitto 2.0 close the old connection without a
        reason). A session shorter than ``STABLE_SESSION`` does not reset the backoff, so two
        clients with one id do not push each other off in a tight loop.
        """
        delay = self.broker.reconnect_initial
        kwargs = self._client_kwargs()
        loop = asyncio.get_running_loop()
        failures = 0  # connection attempts that failed since the last session
        refused = 0  # of them, in a row, refused for the credentials or TLS
        short = 0  # sessions in a row shorter than STABLE_SESSION, each reconnection at once
        down_since: float | None = loop.time()  # when the last session ended (or we began)
        while True:
            began: float | None = None  # when the session began (None: no session)
            try:
                async with self._session(aiomqtt.Client(**kwargs)) as client:
                    began = loop.time()
                    client._client.manual_ack_set(True)  # see the module docstring
                    client.pending_calls_threshold = IN_FLIGHT + 16  # (else aiomqtt warns)
                    self._client = client
                    self.connections += 1
                    if self.connections > 1 and down_since is not None:
                        self.outage = loop.time() - down_since
                    failures, refused, down_since = 0, 0, None
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
                        await self._receive(client)
            except* aiomqtt.MqttError as group_error:  # a TaskGroup wraps it in an exception group
                error = group_error.exceptions[0]
                if down_since is None:
                    down_since = loop.time()
                if began is not None:
                    delay, short = self._lost(group_error, loop.time() - began, delay, short)
                else:
                    failures += 1
                    short = 0
                    refused = count_refusal(self.broker, error, refused)  # raises at the limit
                    self._unreachable(error, failures, loop.time() - down_since, delay)
            finally:
                self._client = None
                self.connected.clear()
            if self.closing:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.broker.reconnect_max)

    async def _receive(self, client: aiomqtt.Client) -> None:
        """Hand every incoming message to ``on_message``, then acknowledge it (QoS 1).

        Until the connection drops: then :class:`aiomqtt.MqttError`, chained to the reason,
        as ``client.messages`` raises it. Read from aiomqtt's queue directly: its iterator
        starts a task and an ``asyncio.wait`` for every message.
        """
        queue: asyncio.Queue[aiomqtt.Message | None] = client._queue  # type: ignore[assignment]
        disconnected = client._disconnected
        disconnected.add_done_callback(lambda _: queue.put_nowait(None))  # after what came
        paho = client._client
        call_soon = asyncio.get_running_loop().call_soon
        while True:
            message = await queue.get()
            if message is None:
                cause = None if disconnected.cancelled() else disconnected.exception()
                raise aiomqtt.MqttError("Disconnected during message iteration") from cause
            await self.on_message(message)
            if message.qos > 0:
                # once the agent's turn is over: a reply it queues meanwhile goes out first
                call_soon(paho.ack, message.mid, message.qos)

    @property
    def address(self) -> str:
        return f"{self.broker.host}:{self.broker.port}"

    @contextlib.asynccontextmanager
    async def _session(self, client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
        """``async with client``, except that a crash leaves without a clean DISCONNECT.

        aiomqtt's exit sends a DISCONNECT whatever the reason, and the broker then discards the
        last will: a daemon that crashed would stay ``online`` in its retained status.
        """
        async with client:
            try:
                yield client
            except BaseException as exc:
                if self._crashing(exc):
                    await self._abandon(client)
                raise

    def _crashing(self, exc: BaseException) -> bool:
        """Whether a session ends for another reason than the connection or a clean stop."""
        if isinstance(exc, asyncio.CancelledError):
            return self._leave_with_will  # the daemon stops: cleanly, unless it asked for the will
        if isinstance(exc, BaseExceptionGroup):
            _, rest = exc.split(aiomqtt.MqttError)
            return rest is not None
        return not isinstance(exc, aiomqtt.MqttError)

    async def _abandon(self, client: aiomqtt.Client) -> None:
        """End the session so that the broker publishes the last will.

        MQTT 5: a DISCONNECT with reason code 0x04 (disconnect with will message). MQTT 3.1.1
        has no such thing: the socket is closed without a DISCONNECT, as a crash would.
        """
        paho = client._client
        with contextlib.suppress(Exception):
            if self.broker.mqtt5:
                paho.disconnect(
                    reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=DISCONNECT_WITH_WILL)
                )
            else:
                sock = paho.socket()
                if isinstance(sock, socket.socket):  # an ssl.SSLSocket is one too
                    sock.shutdown(socket.SHUT_RDWR)
            await asyncio.wait_for(asyncio.shield(client._disconnected), 2.0)
        if not client._disconnected.done():
            client._disconnected.set_result(None)  # aiomqtt's exit then sends no DISCONNECT
        log.warning(
            "left the MQTT session without a clean disconnect, so that the broker publishes "
            "the last will (%s offline)",
            self.will_topic,
        )

    def _lost(
        self, error: BaseExceptionGroup[Any], lasted: float, delay: float, short: int
    ) -> tuple[float, int]:
        """Log a lost session; the next backoff delay and the short sessions in a row."""
        log.warning(
            "MQTT connection to %s lost (%s); reconnecting", self.address, error.exceptions[0]
        )
        if lasted >= STABLE_SESSION:
            delay, short = self.broker.reconnect_initial, 0
        else:
            short += 1
        self._clash(error, short, delay)
        return delay, short

    def _clash(self, error: BaseException, short: int, delay: float) -> None:
        """Report a session lost to another connection with our client id, or likely so."""
        if disconnect_reason(error) == SESSION_TAKEN_OVER:
            self.takeovers += 1
            if _reported(self.takeovers):
                what = (
                    f"the MQTT broker at {self.address} handed this daemon's session to another "
                    f"connection (reason code 0x8E, session taken over; {self.takeovers} so far)"
                )
                log.warning("%s", self._clash_text(what, delay))
        elif short >= FLAPPING and _reported(short - FLAPPING + 1):
            what = (
                f"MQTT sessions with the broker at {self.address} keep ending soon after they "
                f"begin ({short} in a row, each under {STABLE_SESSION:g} s) although it accepts "
                "every reconnection"
            )
            log.warning("%s", self._clash_text(what, delay))

    def _clash_text(self, what: str, delay: float) -> str:
        user = self.broker.username
        under = (
            f", or, where mosquitto has use_username_as_clientid, another client logged in as "
            f"broker user {user!r}"
            if user
            else ""
        )
        return (
            f"{what}: most likely another client connects with this daemon's client id "
            f"{self.client_id!r} (a second daemon of the same name, or a client given that id"
            f"{under}). Reconnecting in {delay:.1f} s, with backoff; see 'Names and client ids' "
            "in docs/mqtt.md"
        )

    def _unreachable(self, error: BaseException, failures: int, down: float, delay: float) -> None:
        """Log a failed connection attempt: a warning on a backed-off schedule, else debug."""
        reason = _reason(error)
        if not _reported(failures):
            log.debug("MQTT connection attempt %d failed (%s)", failures, reason)
            return
        tls = refusal(error) == "tls"
        if isinstance(error, aiomqtt.MqttCodeError):
            what = f"the MQTT broker at {self.address} refused the connection ({reason})"
        elif tls:
            what = f"the TLS handshake with the MQTT broker at {self.address} failed ({reason})"
        else:
            what = f"cannot reach the MQTT broker at {self.address} ({reason})"
        if failures > 1:
            what += f", {failures} attempts over {down:.0f} s"
        hint = ""
        if tls:
            hint = ". Check broker.tls.ca_certs, certfile and keyfile, and broker.host"
        elif self.connections == 0 and self.broker.mode == "external":
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

    async def disconnect(self, *, will: bool = False) -> None:
        """Stop reconnecting; the caller cancels the ``run`` task afterwards.

        ``will``: end the session so that the broker publishes the last will (``offline``),
        for a daemon that is crashing or could not send its own ``offline``; otherwise the
        session ends with a clean DISCONNECT, and the broker discards the will.
        """
        self._closing = True
        self._leave_with_will = will
