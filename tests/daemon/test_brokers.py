"""Other brokers: mosquitto with passwords and an ACL, the embedded broker, and the bus bridge."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    MOSQUITTO_PASSWD,
    NODELAY,
    Client,
    DaemonProcess,
    Mosquitto,
    collect,
    daemon_config,
    drain,
    external_agent,
    free_port,
    maze_agent,
    requires_mosquitto,
    stop_task,
    tracebacks,
    wait_for_port,
)

PASSWORDS = {"cogos": "daemon-secret", "operator": "operator-secret", "intruder": "intruder-secret"}
ACL = """\
user cogos
topic readwrite t/#
topic write replies/#

user operator
topic write t/+/cmd/#
topic read t/#
topic read replies/operator/#

user intruder
topic read t/#
topic read replies/intruder/#
"""


@pytest.fixture
def secured_broker(tmp_path: Path) -> Any:
    if MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto_passwd is not on PATH (apt-get install mosquitto)")
    passwd = tmp_path / "passwd"
    for i, (user, password) in enumerate(PASSWORDS.items()):
        args = ["-c", "-b"] if i == 0 else ["-b"]
        subprocess.run([MOSQUITTO_PASSWD, *args, str(passwd), user, password], check=True)
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    broker = Mosquitto(
        tmp_path / "secured",
        anonymous=False,
        persistence=False,
        extra=[f"password_file {passwd}", f"acl_file {acl}"],
    )
    broker.start()
    yield broker
    broker.stop()


async def connect_fails(port: int, **credentials: Any) -> str:
    with pytest.raises(aiomqtt.MqttError) as failure:
        async with aiomqtt.Client(
            "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5, **credentials
        ):
            pass
    return str(failure.value)


@pytest.mark.broker
@requires_mosquitto
async def test_authentication_and_acl(secured_broker: Mosquitto, daemons: MakeDaemon) -> None:
    port = secured_broker.port
    config = daemon_config(
        port,
        [external_agent("ext", None)],
        broker={"username": "cogos", "password_env": "COGOS_TEST_MQTT_PASSWORD"},
    )
    daemon = daemons(config, env={"COGOS_TEST_MQTT_PASSWORD": PASSWORDS["cogos"]})
    assert PASSWORDS["cogos"] not in daemon.path.read_text(), "the password is never in the file"

    # refused: no credentials, a wrong password, an unknown user
    assert "authori" in (await connect_fails(port)).lower()
    await connect_fails(port, username="operator", password="wrong")
    await connect_fails(port, username="nobody", password="operator-secret")

    async with Client(
        port,
        username="operator",
        password=PASSWORDS["operator"],
        reply_base="replies/operator",
    ) as operator:
        await daemon.wait_ready(operator)
        assert (await operator.ok("ext", "health")) == {"alive": True, "state": "external"}

        # authenticated, but the ACL lets it read only: its commands are dropped, never answered.
        # Shown without waiting on the clock: the broker has taken them (acknowledged) before
        # the operator's next command, and the daemon handles what it hears in order, so once
        # the operator's is answered the intruder's would have been seen (and counted).
        async with Client(
            port,
            username="intruder",
            password=PASSWORDS["intruder"],
            reply_base="replies/intruder",
        ) as intruder:
            dropped = [
                await intruder.send("t/cogosd/cmd/health"),
                await intruder.send("t/ext/cmd/episode/start"),
            ]
            health = await operator.ok("cogosd", "health")
            assert health["messages"] == 3, "the daemon saw the operator's commands only"
            status = await operator.ok("ext", "status")
            assert status["episode"] == -1, "the intruder's episode/start never arrived"
            assert not any(f.done() for f in dropped) and intruder.stray_replies == []
    assert not tracebacks(daemon.stderr())


@pytest.mark.broker
async def test_embedded_broker_answers_health(tmp_path: Path, daemons: MakeDaemon) -> None:
    port = free_port()
    # as config/daemon.yaml documents it: mode alone (the protocol follows, MQTT 3.1.1)
    config = daemon_config(port, [external_agent("ext", None)], broker={"mode": "embedded"})
    daemon = daemons(config)
    wait_for_port(port, 30, alive=daemon.running)
    async with aiomqtt.Client(
        "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311, timeout=10
    ) as client:
        inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}

        def box(topic: str) -> asyncio.Queue[dict[str, Any]]:
            return inbox.setdefault(topic, asyncio.Queue())

        async def read() -> None:
            async for message in client.messages:
                box(str(message.topic)).put_nowait(json.loads(message.payload))

        asked = itertools.count(1)

        async def ask(topic: str, body: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
            """MQTT 3.1.1 has no correlation data: each ask has a reply topic of its own."""
            reply_to = f"replies/me/{next(asked)}"
            await client.publish(topic, json.dumps({**body, "reply_to": reply_to}), qos=1)
            async with asyncio.timeout(timeout):
                return await box(reply_to).get()

        await client.subscribe("replies/me/#", qos=1)
        await client.subscribe("t/cogosd/status", qos=1)
        reader = asyncio.get_running_loop().create_task(read())
        try:
            # the daemon subscribes a moment after its broker listens, and says online (a
            # retained status) only once it has: waited for, rather than asked until it answers
            await next_online(box("t/cogosd/status"), daemon)
            reply = await ask("t/cogosd/cmd/health", {})
            assert reply["ok"] is True and reply["result"]["daemon"] == "cogosd"
            assert reply["result"]["connected"] is True
            agent = await ask("t/ext/cmd/health", {"id": "h-1"})
            assert agent == {"ok": True, "result": {"alive": True, "state": "external"}}
            invalid = await ask("t/ext/cmd/status", {"oops": 1})
            assert invalid["error"]["type"] == "invalid"

            # a wildcard reply_to once killed the daemon (paho refused the reply's topic): now
            # dropped and counted, and the daemon answers what follows
            await client.publish("t/ext/cmd/status", json.dumps({"reply_to": "replies/#"}), qos=1)
            await client.publish("t/ext/cmd/observe", b"[" * 100_000 + b"]" * 100_000, qos=1)
            after = await ask("t/cogosd/cmd/health", {})
            assert after["result"]["unanswerable"] == 1, after
            assert daemon.running()
            assert all(q.empty() for t, q in inbox.items() if t.startswith("replies/")), (
                "one reply to each ask"
            )
        finally:
            await stop_task(reader, grace=0)


async def next_online(statuses: asyncio.Queue[dict[str, Any]], daemon: DaemonProcess) -> None:
    """Until the daemon's status says ``online`` (it exits: the test fails at once)."""
    async with asyncio.timeout(60):
        while True:
            try:
                async with asyncio.timeout(0.5):
                    if (await statuses.get())["state"] == "online":
                        return
            except TimeoutError:
                assert daemon.running(), daemon.stderr()[-3000:]


REMOTE_AGENT = """\
version: 1
name: bridged
env:
  name: external
  options: {task: "Say something.", actions: []}
agent:
  name: bridged
  policy: {name: random}
  modules:
    - {name: remote, id: helper, options: {phases: [propose], timeout: 5}}
"""


@pytest.mark.broker
@requires_mosquitto
async def test_bus_bridge_and_remote_module(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    agent_config = tmp_path / "bridged.yaml"
    agent_config.write_text(REMOTE_AGENT)
    config = daemon_config(
        broker.port,
        [
            {"name": "bridged", "config": str(agent_config), "bridge": {"out": ["remote/#"]}},
            maze_agent("explorer", None),
        ],
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)
    requests: list[dict[str, Any]] = []

    async def helper() -> None:
        """The other process's side: answer every propose request that crosses the bridge."""
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, protocol=aiomqtt.ProtocolVersion.V5, socket_options=NODELAY
        ) as mqtt:
            await mqtt.subscribe("t/bridged/bus/out/remote/#", qos=1)
            ready.set()
            async for message in mqtt.messages:
                envelope = json.loads(message.payload)
                requests.append(envelope)
                answer = {
                    "payload": [{"name": f"wave-{len(requests)}", "rationale": "asked over MQTT"}],
                    "correlation_id": envelope["correlation_id"],
                }
                await mqtt.publish(
                    f"t/bridged/bus/in/{envelope['reply_to']}", json.dumps(answer), qos=1
                )

    ready = asyncio.Event()
    task = asyncio.get_running_loop().create_task(helper())
    try:
        await asyncio.wait_for(ready.wait(), 10)
        cycles = await client.watch("t/bridged/cycle")
        await client.ok("bridged", "episode/start", {"seed": 0})
        chosen = []
        for i in range(3):
            result = await client.ok("bridged", "observe", {"text": f"turn {i}"})
            chosen.append(result["action"])
        assert chosen == ["wave-1", "wave-2", "wave-3"]
        done = await client.ok("bridged", "observe", {"text": "bye", "terminated": True})
        assert done["done"] is True and done["summary"]["cycles"] == 3
    finally:
        await stop_task(task, grace=0)

    # the envelope, as docs/mqtt.md describes it
    first = requests[0]
    assert first["topic"] == "remote/helper/propose"
    assert first["reply_to"].startswith("$reply/")
    assert {"payload", "id", "source", "timestamp", "correlation_id"} <= set(first)
    assert isinstance(first["payload"], dict)

    # the helper's proposals are the agent's chosen actions, with the module as their source
    seen = await collect(cycles, len(chosen))  # QoS 0 cycle events may trail the replies
    assert [c["action"] for c in seen] == chosen
    assert {c["source"] for c in seen} == {"helper"}
    status = await client.ok("bridged", "status")
    assert status["cycles"] == 3
    assert drain(cycles) == [], "one cycle event per cycle"

    # a bus topic that is not open to MQTT is refused (and counted), not delivered
    refused = await client.request("t/bridged/bus/in/remote/helper/propose", {"payload": 1})
    assert refused["error"]["type"] == "not_bridged"
    stray = await client.request("t/explorer/bus/in/anything", {"payload": 1})
    assert stray["error"]["type"] == "unknown_agent"
    assert not tracebacks(daemon.stderr())
