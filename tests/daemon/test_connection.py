"""The daemon's MQTT connection on its own, in-process, against a real mosquitto.

A message the connection has taken from the broker but not yet handed to the daemon must not be
lost when the broker goes away: it is acknowledged only once handled, so the broker delivers it
again. And a stopping daemon can shed its best-effort events to get the rest out in time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest

from cogos.daemon.config import BrokerSpec, OutgoingSpec
from cogos.daemon.connection import MqttConnection, Outgoing
from tests.daemon.support import Client, Mosquitto, TcpProxy, requires_mosquitto, stop_task

pytestmark = [pytest.mark.broker, requires_mosquitto]


def conn_lost(conn: MqttConnection) -> bool:
    """Whether the live client has seen its connection drop (the iteration ends next)."""
    client = conn._client
    return client is None or client._disconnected.done()


async def until(condition: Any, timeout: float) -> None:
    """Poll ``condition`` (the state lives in another library's objects: no event to await)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def connection(port: int, on_message: Any, **outgoing: Any) -> MqttConnection:
    spec = BrokerSpec(
        host="127.0.0.1", port=port, keepalive=5, reconnect_initial=0.1, reconnect_max=0.3
    )
    return MqttConnection(
        spec,
        OutgoingSpec(**outgoing),
        client_id="connection-under-test",
        subscriptions=["in/#"],
        will_topic="t/status",
        on_message=on_message,
    )


@pytest.mark.parametrize("failure", ["network", "broker restart"])
async def test_messages_taken_but_not_handled_come_again(broker: Mosquitto, failure: str) -> None:
    """Five commands reach the connection while the daemon is busy with the first; then the
    connection breaks. The broker, which saw none of them acknowledged, delivers them again."""
    handled: list[bytes] = []
    first_arrived = asyncio.Event()
    release = asyncio.Event()

    async def on_message(message: aiomqtt.Message) -> None:
        handled.append(bytes(message.payload))
        first_arrived.set()
        await release.wait()  # the daemon is busy with the first while the rest arrive

    async with TcpProxy(broker.port) as proxy:
        # through the proxy to cut the network; straight to a broker that restarts (aiomqtt
        # would wait out its connect timeout on a proxy that accepts while the broker is down)
        conn = connection(proxy.port if failure == "network" else broker.port, on_message)
        task = asyncio.get_running_loop().create_task(conn.run())
        try:
            await asyncio.wait_for(conn.connected.wait(), 10)
            async with Client(broker.port) as sender:
                for i in range(5):
                    await sender.mqtt.publish("in/cmd", str(i).encode(), qos=1)  # PUBACKed
            await asyncio.wait_for(first_arrived.wait(), 10)
            session = conn._client
            assert session is not None
            await until(lambda: len(session.messages) == 4, 10)  # 1..4 wait behind 0
            if failure == "network":
                proxy.cut()
            else:
                broker.stop()  # mosquitto saves its sessions on SIGTERM (not on SIGKILL)
            await until(lambda: conn_lost(conn), 10)  # the loop sees the connection drop
            # the daemon has something to say: the publisher finds the connection gone and
            # the session ends, with 1..4 still in the client's queue
            await conn.publish(Outgoing("out/event", b"{}", qos=1))
            await until(lambda: conn._client is not session, 10)  # that session has ended
            if failure != "network":
                broker.start()
            release.set()
            await until(lambda: {b"0", b"1", b"2", b"3", b"4"} <= set(handled), 20)
            assert conn.connections >= 2
            # 0 was handled before the break but acknowledged too late, so it may come twice
            # (the daemon answers a repeated command id from its cache)
            assert sorted(set(handled)) == [b"0", b"1", b"2", b"3", b"4"]
        finally:
            await conn.disconnect()
            await stop_task(task, grace=0)


async def test_shedding_keeps_what_must_arrive() -> None:
    async def ignore(message: aiomqtt.Message) -> None:
        raise AssertionError("never connected")

    conn = connection(1, ignore, size=100)
    for i in range(30):
        await conn.publish(Outgoing(f"t/a/cycle/{i}", b"{}", qos=0))
        if i % 10 == 0:
            await conn.publish(Outgoing(f"t/reply/{i}", b"{}", qos=1))
    await conn.publish(Outgoing("t/status", b'{"state": "offline"}', qos=1, retain=True))
    assert conn.pending() == 34
    assert conn.shed_best_effort() == 30
    assert conn.dropped == 30
    assert [m.topic for m in conn._queue] == ["t/reply/0", "t/reply/10", "t/reply/20", "t/status"]
    assert conn.shed_best_effort() == 0
    assert not await conn.flush(timeout=0.05), "nothing is connected to send them"
