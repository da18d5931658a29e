"""What the daemon says, and what it survives, when its broker is not what it expects.

* Connected, it prints one line: where, which protocol, the prefix and its agents; and another
  when it reconnects after a loss.
* With no broker to reach, the first failed attempt says so with a hint, and the warnings then
  back off (attempts 1, 2, 4, ..., 64, then every 64th) while the retries go on.
* The embedded broker (MQTT 3.1.1) refuses MQTT 5 clients in a one-line, rate-limited warning,
  with no traceback, whatever the client does after the refusal, and keeps serving 3.1.1 clients.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import struct
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from cogos.daemon.broker import EmbeddedBroker, connect_protocol
from cogos.daemon.connection import _reported
from cogos.errors import CogOSError
from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    Client,
    DaemonProcess,
    Mosquitto,
    daemon_config,
    external_agent,
    free_port,
    maze_agent,
    requires_mosquitto,
    tracebacks,
)

QUIET = ["-m", "cogos.cli.main", "daemon"]
"""``cogos daemon`` without ``-v``: warnings, and the console lines."""


def connect_packet(level: int, client_id: bytes = b"mqtt5-client") -> bytes:
    """A CONNECT packet of protocol ``level`` (5: MQTT 5, with an empty property list)."""
    variable = b"\x00\x04MQTT" + bytes([level, 0x02]) + struct.pack(">H", 30)
    if level == 5:
        variable += b"\x00"
    body = variable + struct.pack(">H", len(client_id)) + client_id
    size, length = len(body), bytearray()  # the remaining length: 7 bits a byte
    while True:
        size, digit = size >> 7, size & 0x7F
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([0x10, *length]) + body


def refused_then_reset(port: int) -> bytes:
    """An MQTT 5 client that reads the broker's refusal and resets the connection at once.

    This is what made amqtt's handler raise ``OSError: [Errno 107]`` (or ``ConnectionResetError``)
    into asyncio, which logged it with a traceback. Returns the CONNACK.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(connect_packet(5))
        connack = sock.recv(4)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return connack


async def mqtt5_attempts(port: int, n: int) -> list[str]:
    """``n`` aiomqtt MQTT 5 connection attempts; each must be refused."""
    errors = []
    for _ in range(n):
        with pytest.raises(aiomqtt.MqttError) as refused:
            async with aiomqtt.Client(
                "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5
            ):
                pass
        errors.append(str(refused.value))
    return errors


async def wait_for_line(
    daemon: DaemonProcess, pattern: str, timeout: float, count: int = 1
) -> list[str]:
    """The stderr lines matching ``pattern`` once there are ``count`` of them."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in daemon.stderr().splitlines() if regex.search(line)]
        if len(lines) >= count:
            return lines
        if not daemon.running():
            raise AssertionError(f"the daemon exited; no {pattern!r}:\n{daemon.stderr()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {pattern!r} after {timeout} s:\n{daemon.stderr()[-3000:]}")
        await asyncio.sleep(0.05)


# -- unit ---------------------------------------------------------------------------------------


def test_warnings_of_an_unreachable_broker_back_off() -> None:
    reported = [n for n in range(1, 400) if _reported(n)]
    assert reported == [1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 320, 384]


def test_the_protocol_of_a_connect_packet() -> None:
    assert connect_protocol(connect_packet(5)) == (b"MQTT", 5)
    assert connect_protocol(connect_packet(4)) == (b"MQTT", 4)
    assert connect_protocol(connect_packet(5)[:8]) is None  # cut short: not known yet
    assert connect_protocol(b"\x30\x05abcde") is None  # a PUBLISH
    long_client_id = connect_packet(5, b"x" * 200)  # a 2-byte remaining length
    assert long_client_id[1] & 0x80 and connect_protocol(long_client_id) == (b"MQTT", 5)


# -- the embedded broker, in-process ------------------------------------------------------------


async def test_embedded_broker_refuses_mqtt5_in_one_line_and_serves_311(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    escaped: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: escaped.append(context))
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port)
    caplog.set_level(logging.INFO, logger="cogos.daemon.broker")
    await broker.start()
    try:
        connacks = await asyncio.gather(
            *(loop.run_in_executor(None, refused_then_reset, port) for _ in range(40))
        )
        assert set(connacks) == {b"\x20\x02\x00\x01"}, "refused: unacceptable protocol version"
        errors = await mqtt5_attempts(port, 3)
        assert all("132" in e or "nsupported" in e for e in errors), errors
        async with asyncio.timeout(10):  # every refused connection's task has ended
            while broker.refused < 43:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        async with aiomqtt.Client(
            "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311, timeout=10
        ) as client:
            await client.subscribe("echo/#", qos=1)
            await client.publish("echo/1", b"still serving", qos=1)
            async with asyncio.timeout(10):
                message = await anext(aiter(client.messages))
            assert message.payload == b"still serving"
    finally:
        await broker.stop()
        await asyncio.sleep(0)  # the done callbacks of the connections' tasks
        loop.set_exception_handler(previous)

    assert escaped == [], [c.get("message") for c in escaped]
    assert broker.refused == 43
    records = [r for r in caplog.records if r.name.startswith(("amqtt", "cogos.daemon.broker"))]
    assert all(r.name == "cogos.daemon.broker" for r in records), [r.getMessage() for r in records]
    assert all(r.exc_info is None for r in records)
    counts = [re.search(r"\((\d+) refused so far\)", r.getMessage()) for r in records]
    assert [int(m.group(1)) if m else 1 for m in counts] == [1, 2, 4, 8, 16, 32]
    assert "spoke MQTT 5, but this broker speaks MQTT 3.1.1 only" in records[0].getMessage()


async def test_embedded_broker_on_a_busy_port_is_one_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = EmbeddedBroker("127.0.0.1", port)
        with pytest.raises(
            CogOSError, match=rf"cannot start on 127\.0\.0\.1:{port}: .*in use\. Is another broker"
        ):
            await broker.start()
    assert not [r for r in caplog.records if r.exc_info], "amqtt's traceback is not logged"


# -- the daemon, as a process -------------------------------------------------------------------


@pytest.mark.broker
async def test_daemon_on_embedded_broker_survives_mqtt5_clients(
    tmp_path: Path, daemons: MakeDaemon
) -> None:
    port = free_port()
    config = daemon_config(port, [external_agent("ext", None)], broker={"mode": "embedded"})
    daemon = daemons(config, command=QUIET)  # without -v: what a user sees by default
    await wait_for_line(
        daemon,
        rf"^cogos daemon: connected to mqtt://127\.0\.0\.1:{port} \(MQTT 3\.1\.1, embedded "
        r"broker\), prefix t, agents: ext$",
        30,
    )
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(None, refused_then_reset, port) for _ in range(40)))
    await mqtt5_attempts(port, 3)
    refusals = await wait_for_line(daemon, r"\(32 refused so far\)$", 20)
    async with aiomqtt.Client(
        "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311, timeout=10
    ) as client:
        await client.subscribe("replies/me", qos=1)
        await client.publish("t/ext/cmd/health", json.dumps({"reply_to": "replies/me"}), qos=1)
        async with asyncio.timeout(10):
            reply = json.loads((await anext(aiter(client.messages))).payload)
        assert reply == {"ok": True, "result": {"alive": True, "state": "external"}}
        # stopping with a 3.1.1 client still connected is clean too
        code, _ = daemon.terminate()
    stderr = daemon.stderr()
    assert code == 0, stderr[-3000:]
    assert not tracebacks(stderr), stderr[-3000:]
    assert "amqtt" not in stderr, "amqtt's own lines about refused clients are ours, in one line"
    refusals = [line for line in stderr.splitlines() if "spoke MQTT 5" in line]
    assert len(refusals) == 6, refusals  # 43 refused: reported at 1, 2, 4, 8, 16 and 32
    assert refusals[0].startswith("WARNING cogos.daemon.broker: embedded broker: a client at ")


@pytest.mark.broker
@requires_mosquitto
async def test_daemon_says_where_it_connects_and_hints_when_it_cannot(
    tmp_path: Path, daemons: MakeDaemon
) -> None:
    port = free_port()
    config = daemon_config(
        port,
        [maze_agent("explorer", None), external_agent("ext", None)],
        broker={"reconnect_initial": 0.01, "reconnect_max": 0.02},
    )
    daemon = daemons(config)
    unreachable = rf"cannot reach the MQTT broker at 127\.0\.0\.1:{port} \(Connection refused\)"
    first = await wait_for_line(daemon, unreachable, 30)
    assert first[0].endswith(
        "No broker installed? Run with broker.mode=embedded, or install mosquitto"
    ), first
    assert "retrying with backoff" in first[0]
    lines = await wait_for_line(daemon, unreachable, 60, count=7)  # attempt 64
    attempts = [int(m.group(1)) if (m := re.search(r", (\d+) attempts", s)) else 1 for s in lines]
    assert attempts == [1, 2, 4, 8, 16, 32, 64, 128, 192, 256][: len(attempts)], attempts
    assert "connected to" not in daemon.stderr()

    broker = Mosquitto(tmp_path / "late", port=port, persistence=False)
    broker.start()
    try:
        connected = (
            rf"^cogos daemon: connected to mqtt://127\.0\.0\.1:{port} \(MQTT 5\), prefix t, "
            r"agents: explorer, ext$"
        )
        await wait_for_line(daemon, connected, 30)
        async with Client(port) as client:
            assert (await client.ok("ext", "health"))["alive"] is True
        broker.restart()
        await wait_for_line(daemon, rf"MQTT connection to 127\.0\.0\.1:{port} lost", 30)
        reconnected = await wait_for_line(
            daemon,
            rf"^cogos daemon: reconnected to mqtt://127\.0\.0\.1:{port} after [\d.]+ s without a "
            "connection$",
            30,
        )
        assert len(reconnected) == 1
        async with Client(port) as client:
            assert (await client.ok("ext", "health"))["alive"] is True
        code, _ = daemon.terminate()
    finally:
        broker.stop()
    stderr = daemon.stderr()
    assert code == 0, stderr[-3000:]
    assert len(re.findall(r"^cogos daemon: connected to", stderr, re.MULTILINE)) == 1
    hints = [line for line in stderr.splitlines() if "No broker installed?" in line]
    assert len(hints) >= 7 and stderr.index(hints[-1]) < stderr.index("cogos daemon: connected")
    assert not tracebacks(stderr), stderr[-3000:]
