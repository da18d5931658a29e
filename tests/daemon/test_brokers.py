"""Other brokers: mosquitto with passwords and an ACL, the embedded broker, and the bus bridge."""

from __future__ import annotations

import asyncio
import contextlib
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
    Mosquitto,
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

        # authenticated, but the ACL lets it read only: its commands are dropped, never answered
        async with Client(
            port,
            username="intruder",
            password=PASSWORDS["intruder"],
            reply_base="replies/intruder",
        ) as intruder:
            with pytest.raises(TimeoutError):
                await intruder.command("cogosd", "health", timeout=1.5)
            with pytest.raises(TimeoutError):
                await intruder.command("ext", "episode/start", timeout=0.5)
        health = await operator.ok("cogosd", "health")
        assert health["messages"] == 3, "the daemon saw the operator's commands only"
        status = await operator.ok("ext", "status")
        assert status["episode"] == -1, "the intruder's episode/start never arrived"
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
        await client.subscribe("replies/me", qos=1)
        replies = client.messages.__aiter__()

        async def ask(topic: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
            await client.publish(topic, json.dumps({**body, "reply_to": "replies/me"}), qos=1)
            async with asyncio.timeout(timeout):
                return dict(json.loads((await replies.__anext__()).payload))  # type: ignore[arg-type]

        # the daemon subscribes a moment after its broker listens: ask until it answers
        for _ in range(100):
            with contextlib.suppress(TimeoutError):
                reply = await ask("t/cogosd/cmd/health", {}, 0.3)
                break
        else:
            raise AssertionError(f"no health reply over MQTT 3.1.1:\n{daemon.stderr()}")
        assert reply["ok"] is True and reply["result"]["daemon"] == "cogosd"
        assert reply["result"]["connected"] is True
        await asyncio.sleep(0.5)  # any extra answers to the retries above
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):
                while True:
                    await replies.__anext__()
        agent = await ask("t/ext/cmd/health", {"id": "h-1"}, 5)
        assert agent == {"ok": True, "result": {"alive": True, "state": "external"}}
        invalid = await ask("t/ext/cmd/status", {"oops": 1}, 5)
        assert invalid["error"]["type"] == "invalid"

        # a wildcard reply_to once killed the daemon (paho refused the reply's topic): now
        # dropped and counted, and the daemon answers what follows
        await client.publish("t/ext/cmd/status", json.dumps({"reply_to": "replies/#"}), qos=1)
        await client.publish("t/ext/cmd/observe", b"[" * 100_000 + b"]" * 100_000, qos=1)
        after = await ask("t/cogosd/cmd/health", {}, 5)
        assert after["result"]["unanswerable"] == 1, after
        assert daemon.running()


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
                envelope = json.loads(message.payload)  # type: ignore[arg-type]
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
    await asyncio.sleep(0.3)  # QoS 0 cycle events may trail the replies
    seen = drain(cycles)
    assert [c["action"] for c in seen] == chosen
    assert {c["source"] for c in seen} == {"helper"}
    status = await client.ok("bridged", "status")
    assert status["cycles"] == 3

    # a bus topic that is not open to MQTT is refused (and counted), not delivered
    refused = await client.request("t/bridged/bus/in/remote/helper/propose", {"payload": 1})
    assert refused["error"]["type"] == "not_bridged"
    stray = await client.request("t/explorer/bus/in/anything", {"payload": 1})
    assert stray["error"]["type"] == "unknown_agent"
    assert not tracebacks(daemon.stderr())
