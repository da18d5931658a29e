"""The connection's outgoing window and incoming loop, against fake clients (no broker).

Messages are handed to paho in queue order, at most ``IN_FLIGHT`` unacknowledged; what the
broker acknowledges (or, at QoS 0, what is written) leaves the window, in any order; when the
session ends, what was not acknowledged goes back to the front of the queue, in order; a message
paho refuses is dropped and counted; a session paho cannot send on, or a broker that
acknowledges nothing for ``TIMEOUT`` seconds, ends the session. Incoming messages are handed to
``on_message`` in order and acknowledged after it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cogos.daemon import connection as conn_module
from cogos.daemon.config import BrokerSpec, OutgoingSpec
from cogos.daemon.connection import IN_FLIGHT, MqttConnection, Outgoing, publish_properties


@dataclass
class Info:
    mid: int
    rc: int = mqtt.MQTT_ERR_SUCCESS


@dataclass
class FakePaho:
    """paho's side of publishing: ``publish`` records, the test plays the broker's acks."""

    rc: int = mqtt.MQTT_ERR_SUCCESS
    refuse: set[str] = field(default_factory=set)
    sent: list[tuple[str, int, int]] = field(default_factory=list)  # topic, qos, mid
    acked: list[tuple[int, int]] = field(default_factory=list)  # incoming mid, qos
    on_publish: Any = None
    next_mid: int = 0
    on_socket_register_write: Any = None
    """What paho calls when it has packets to write (aiomqtt: watch the socket in the loop)."""
    unwritten: int = 0  # packets queued and not written to the socket
    room: int = 1 << 30  # packets the socket takes per write
    writes: int = 0
    watched: list[str] = field(default_factory=list)  # the sockets the event loop was asked for

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, props: Any) -> Info:
        if topic in self.refuse:
            raise ValueError("Invalid topic.")
        self.next_mid += 1
        if self.rc == mqtt.MQTT_ERR_SUCCESS:
            self.sent.append((topic, qos, self.next_mid))
            self.unwritten += 1
            if self.on_socket_register_write is not None:  # as paho does, once per packet here
                self.on_socket_register_write(self, None, "sock")
        return Info(self.next_mid, self.rc)

    def loop_write(self) -> int:
        self.writes += 1
        self.unwritten -= min(self.unwritten, self.room)
        return mqtt.MQTT_ERR_SUCCESS

    def want_write(self) -> bool:
        return self.unwritten > 0

    def socket(self) -> str:
        return "sock"

    def user_data_get(self) -> None:
        return None

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append((mid, qos))

    def done(self, mid: int) -> None:
        """The broker acknowledged ``mid`` (or, at QoS 0, paho wrote it)."""
        self.on_publish(self, None, mid, None, None)


class FakeClient:
    """The parts of an ``aiomqtt.Client`` the connection uses."""

    def __init__(self) -> None:
        self._client = FakePaho()
        self._client.on_socket_register_write = lambda paho, _, sock: paho.watched.append(sock)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._disconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()


def make_connection(**outgoing: Any) -> MqttConnection:
    async def ignore(message: aiomqtt.Message) -> None:
        return None

    return MqttConnection(
        BrokerSpec(host="127.0.0.1", port=1),
        OutgoingSpec(**outgoing),
        client_id="fake",
        subscriptions=[],
        will_topic="t/status",
        on_message=ignore,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def start_publisher(conn: MqttConnection) -> tuple[FakeClient, asyncio.Task[None]]:
    client = FakeClient()
    task = asyncio.get_running_loop().create_task(conn._publisher(client))  # type: ignore[arg-type]
    await settle()
    return client, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_window_keeps_queue_order_and_refills_as_acks_come() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    paho = client._client
    try:
        for i in range(IN_FLIGHT + 10):
            await conn.publish(Outgoing(f"t/{i}", b"{}", qos=1))
        assert [t for t, _, _ in paho.sent] == [f"t/{i}" for i in range(IN_FLIGHT)]
        assert conn.pending() == IN_FLIGHT + 10
        for _, _, mid in list(paho.sent[:10]):
            paho.done(mid)
        await settle()
        assert [t for t, _, _ in paho.sent] == [f"t/{i}" for i in range(IN_FLIGHT + 10)]
        assert conn.pending() == IN_FLIGHT
        for _, _, mid in list(paho.sent[10:]):
            paho.done(mid)
        assert conn.pending() == 0
    finally:
        await stop(task)


async def test_messages_are_written_at_once_and_the_loop_watches_only_what_is_left() -> None:
    """A reply goes on the wire inside ``publish``: the event loop is not asked to watch the
    socket for it (two turns of the loop later); only what the socket did not take is left to
    the loop."""
    conn = make_connection()
    client, task = await start_publisher(conn)
    paho = client._client
    try:
        await conn.publish(Outgoing("t/reply", b"{}", qos=1))
        await conn.publish(Outgoing("t/cycle", b"{}", qos=0))
        assert paho.writes == 2 and paho.unwritten == 0
        assert paho.watched == []
        paho.room = 0  # a full socket buffer
        await conn.publish(Outgoing("t/reply2", b"{}", qos=1))
        assert paho.unwritten == 1
        assert paho.watched == ["sock"]  # the loop writes it when the socket has room
        assert paho.on_socket_register_write is not None  # paho's callback is back in place
    finally:
        await stop(task)


async def test_a_message_done_before_one_ahead_of_it_leaves_with_it() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    paho = client._client
    try:
        await conn.publish(Outgoing("t/reply", b"{}", qos=1))
        await conn.publish(Outgoing("t/cycle", b"{}", qos=0))
        (_, _, first), (_, _, second) = paho.sent
        paho.done(second)  # the QoS 0 event is written; the reply awaits its PUBACK
        assert conn.pending() == 2
        paho.done(first)
        assert conn.pending() == 0
    finally:
        await stop(task)


async def test_what_was_not_acknowledged_goes_back_first_in_order() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    paho = client._client
    for i in range(IN_FLIGHT + 2):
        await conn.publish(Outgoing(f"t/{i}", b"{}", qos=1))
    paho.done(paho.sent[1][2])  # acknowledged out of order: not sent again
    await stop(task)  # the session ends
    assert conn.pending() == IN_FLIGHT + 1
    assert [m.topic for m in conn._queue] == ["t/0"] + [f"t/{i}" for i in range(2, IN_FLIGHT + 2)]
    # the next session sends them, in that order
    expected = [m.topic for m in conn._queue][:IN_FLIGHT]
    client, task = await start_publisher(conn)
    try:
        assert [t for t, _, _ in client._client.sent] == expected
    finally:
        await stop(task)


async def test_a_message_paho_refuses_is_dropped_and_counted() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    client._client.refuse.add("t/bad")
    try:
        await conn.publish(Outgoing("t/bad", b"{}", qos=1))
        await conn.publish(Outgoing("t/good", b"{}", qos=1))
        assert [t for t, _, _ in client._client.sent] == ["t/good"]
        assert conn.undeliverable == 1 and conn.dropped == 1
        assert conn.pending() == 1
    finally:
        await stop(task)


async def test_a_session_paho_cannot_send_on_ends_and_keeps_the_message() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    client._client.rc = mqtt.MQTT_ERR_NO_CONN
    await conn.publish(Outgoing("t/reply", b"{}", qos=1))  # the caller is not the one to fail
    with pytest.raises(aiomqtt.MqttCodeError):
        await asyncio.wait_for(task, 10)
    assert [m.topic for m in conn._queue] == ["t/reply"]
    assert conn.dropped == 0


async def test_a_broker_that_acknowledges_nothing_ends_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conn_module, "TIMEOUT", 0.05)
    monkeypatch.setattr(conn_module, "WATCHDOG_TICK", 0.01)
    conn = make_connection()
    _, task = await start_publisher(conn)
    await conn.publish(Outgoing("t/reply", b"{}", qos=1))
    with pytest.raises(aiomqtt.MqttError, match="timed out"):
        await asyncio.wait_for(task, 10)
    assert [m.topic for m in conn._queue] == ["t/reply"], "sent again on the next session"


async def test_messages_are_handed_over_in_order_then_acknowledged() -> None:
    handled: list[int] = []
    client = FakeClient()
    paho = client._client

    async def on_message(message: Any) -> None:
        handled.append(message.mid)
        assert (message.mid, 1) not in paho.acked, "acknowledged only once handled"

    conn = make_connection()
    conn.on_message = on_message
    for mid in (1, 2, 3):
        client._queue.put_nowait(aiomqtt.Message("in/cmd", b"{}", 1, False, mid, None))
    client._disconnected.set_exception(aiomqtt.MqttCodeError(7, "Unexpected disconnection"))
    with pytest.raises(aiomqtt.MqttError, match="Disconnected") as caught:
        await conn._receive(client)  # type: ignore[arg-type]
    assert isinstance(caught.value.__cause__, aiomqtt.MqttCodeError)
    assert handled == [1, 2, 3], "what came before the connection dropped is handled first"
    await settle()
    assert paho.acked == [(1, 1), (2, 1), (3, 1)]


@pytest.mark.parametrize("correlation", [b"", b"7", bytes(range(256)) * 4, b"x" * 65_535])
def test_reply_properties_pack_as_paho_packs_them(correlation: bytes) -> None:
    reference = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    reference.CorrelationData = correlation
    mine = publish_properties(correlation)
    assert mine is not None
    assert mine.pack() == reference.pack()  # type: ignore[no-untyped-call]
    assert str(mine) == str(reference)
    unpacked = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    unpacked.unpack(mine.pack())  # type: ignore[no-untyped-call]
    assert unpacked.CorrelationData == correlation  # type: ignore[attr-defined]


async def test_a_late_acknowledgment_from_an_ended_session_counts_for_nothing() -> None:
    conn = make_connection()
    client, task = await start_publisher(conn)
    await conn.publish(Outgoing("t/a", b"{}", qos=1))
    old = client._client
    await stop(task)
    old.done(old.sent[0][2])  # read from the old socket after the session ended
    client, task = await start_publisher(conn)
    try:
        assert [t for t, _, _ in client._client.sent] == ["t/a"]
        assert conn.pending() == 1 and not conn._done
    finally:
        await stop(task)
