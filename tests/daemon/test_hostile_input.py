"""Payloads and topics that once killed the daemon or got a wrong answer (issue 14).

Each was found by a client written from docs/mqtt.md alone. The daemon must stay up, answer
every request that names a usable reply topic with a documented error type (never
``internal``), and drop with a log line and a counter what it cannot answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    Client,
    DaemonProcess,
    drive_external_episode,
    maze_observation,
    request_properties,
    requires_mosquitto,
    tracebacks,
)

pytestmark = [pytest.mark.broker, requires_mosquitto]


async def health(client: Client, daemon: DaemonProcess) -> dict[str, Any]:
    return dict(await client.ok(daemon.name, "health"))


async def send_raw(
    client: Client, topic: str, payload: bytes, *, response_topic: str | None = None
) -> None:
    props = None if response_topic is None else request_properties(response_topic, b"raw")
    await client.mqtt.publish(topic, payload, qos=1, properties=props)


async def dropped_after(client: Client, daemon: DaemonProcess, before: int) -> int:
    """``unanswerable`` once the daemon has taken what was sent before (commands are in order)."""
    return int((await health(client, daemon))["unanswerable"]) - before


async def test_a_wildcard_response_topic_is_dropped_counted_and_logged(
    daemon: DaemonProcess, client: Client
) -> None:
    before = (await health(client, daemon))["unanswerable"]
    # what mosquitto passes on (it drops a client that sends a NUL in a response topic)
    response_topics = ("replies/#", "replies/+/x", "", "$SYS/x", "t/explorer/cmd/episode/stop")
    for topic in response_topics:
        await send_raw(client, "t/explorer/cmd/health", b"{}", response_topic=topic)
    # the same through the payload's reply_to (how MQTT 3.1.1 clients ask for a reply)
    for reply_to in ("replies/#", "+", 5, ["x"], "x" * 70_000, "a\x00b"):
        await send_raw(client, "t/explorer/cmd/status", json.dumps({"reply_to": reply_to}).encode())
    assert await dropped_after(client, daemon, before) == 11
    assert daemon.running()
    status = await client.ok("explorer", "status")
    assert status["state"] == "idle", "a reply topic under the daemon's commands ran a command"
    assert "cannot be answered" in daemon.stderr()
    assert not tracebacks(daemon.stderr())


async def test_deep_nesting_and_huge_numbers_are_bad_json(
    daemon: DaemonProcess, client: Client
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    reply = await client.command("ext", "observe", deep)
    assert reply["error"]["type"] == "bad_json", reply
    assert "deep" in reply["error"]["message"]
    nested = b'{"info": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    reply = await client.command("ext", "observe", nested)
    assert reply["error"]["type"] == "bad_json", reply
    for number in (b"1" * 5000, b"-" + b"9" * 5000, b"1" + b"0" * 400 + b".5", b"1e999999"):
        reply = await client.command("explorer", "episode/start", b'{"seed": ' + number + b"}")
        assert reply["error"]["type"] in {"bad_json", "invalid"}, (number[:20], reply)
        assert "digits" in reply["error"]["message"] or "finite" in reply["error"]["message"]
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        reply = await client.command("ext", "observe", b'{"reward": ' + constant + b"}")
        assert reply["error"]["type"] == "bad_json", (constant, reply)
    assert daemon.running()
    assert not tracebacks(daemon.stderr())


async def test_commands_queued_with_bad_reply_topics_do_not_stop_the_next_start(
    daemons: MakeDaemon, standard_config: dict[str, Any], client: Client
) -> None:
    process = daemons(standard_config)
    await process.wait_ready(client)
    code, _ = process.terminate()
    assert code == 0
    # queued in the daemon's persistent session while it is away
    for _ in range(3):
        await send_raw(client, "t/explorer/cmd/status", b"{}", response_topic="replies/#")
    await send_raw(client, "t/explorer/cmd/status", b"[" * 50_000, response_topic="replies/+")
    process.start()
    await process.wait_ready(client)
    assert (await health(client, process))["unanswerable"] == 4
    assert process.running()


async def test_empty_names_payloads_and_the_daemons_own_topic(
    daemon: DaemonProcess, client: Client
) -> None:
    for topic in ("t/ext/cmd/", "t/ext/cmd"):
        reply = await client.request(topic, b"{}")
        assert reply["error"]["type"] == "unknown_command", (topic, reply)
    reply = await client.command("ext", "status", b"")
    assert reply["error"]["type"] == "bad_json", reply
    reply = await client.command("ext", "status", b"   ")
    assert reply["error"]["type"] == "bad_json", reply
    for name in ("status", "observe", "episode/start"):
        reply = await client.command(daemon.name, name, {})
        assert reply["error"]["type"] == "unknown_command", (name, reply)
        assert "health" in reply["error"]["message"]
    assert (await client.ok(daemon.name, "health"))["daemon"] == daemon.name


async def test_a_reused_id_is_refused_and_a_repeated_one_answered_the_same(
    daemon: DaemonProcess, client: Client
) -> None:
    first = await client.ok("ext", "goal", {"id": "g-1", "text": "reach the exit"})
    again = await client.ok("ext", "goal", {"id": "g-1", "text": "reach the exit"})
    assert again == first
    reply = await client.command("ext", "goal", {"id": "g-1", "text": "something else"})
    assert reply["error"]["type"] == "id_reused", reply
    reply = await client.command("ext", "status", {"id": "g-1"})
    assert reply["error"]["type"] == "id_reused", reply
    assert (await client.ok("ext", "status", {}))["agent"] == "ext"


async def test_facts_of_the_wrong_shape_are_invalid_before_any_cycle(
    daemon: DaemonProcess, client: Client
) -> None:
    await client.ok("ext", "episode/start", {"seed": 1})
    bad_facts: list[Any] = [
        [["at"]],  # 'at' takes a cell
        [["at", "c0_0", "c0_1"]],
        [["open", "c0_0"]],
        [["at", "kitchen"]],  # not a cell of the grid
        [[]],
        [["", "c0_0"]],
        [["at", ""]],
    ]
    for facts in bad_facts:
        reply = await client.command("ext", "observe", {"facts": facts})
        assert reply["ok"] is False, (facts, reply)
        assert reply["error"]["type"] == "invalid", (facts, reply)
        assert "facts[0]" in reply["error"]["message"], reply
    status = await client.ok("ext", "status")
    assert status["cycles"] == 0, "a malformed observation ran a cycle"
    assert not tracebacks(daemon.stderr())


async def test_an_observation_with_nothing_to_do_is_invalid_and_keeps_the_reward(
    daemon: DaemonProcess, client: Client
) -> None:
    await client.ok("ext", "episode/start", {"seed": 2})
    walled = {"facts": [["at", "c0_0"], ["cell", "c0_0"]], "text": "Walls all round."}
    reply = await client.command("ext", "observe", walled)
    assert reply["error"]["type"] == "invalid", reply
    assert "no action" in reply["error"]["message"]
    ended = await client.ok(
        "ext", "observe", {**walled, "reward": 1.0, "terminated": True, "success": True}
    )
    assert ended["summary"]["return"] == 1.0, ended
    assert ended["summary"]["success"] is True
    assert not tracebacks(daemon.stderr())


async def test_observe_after_the_episode_ended_is_no_episode(
    daemon: DaemonProcess, client: Client
) -> None:
    run = await drive_external_episode(client, "ext", seed=3)
    assert run["summary"]["steps"] >= 1
    info = {"facts": [("at", "c0_0"), ("cell", "c0_0"), ("open", "c0_0", "c0_1")], "text": ""}
    reply = await client.command("ext", "observe", maze_observation(info))
    assert reply["error"]["type"] == "no_episode", reply
    assert "episode/start" in reply["error"]["message"]
    await client.ok("ext", "episode/start", {"seed": 4})
    assert "action" in await client.ok("ext", "observe", maze_observation(info))


async def test_every_answer_is_one_reply(daemon: DaemonProcess, client: Client) -> None:
    """Requests in flight together each get exactly one reply, whatever they hold."""
    payloads: list[tuple[str, bytes]] = [
        ("status", b"{}"),
        ("observe", b"[" * 3000),
        ("episode/start", b'{"seed": ' + b"7" * 4400 + b"}"),
        ("goal", b'{"facts": [["at"]]}'),
        ("memory/query", b'{"op": "stats"}'),
        ("", b"{}"),
    ]
    replies = await asyncio.gather(
        *(client.command("ext", name, body) for name, body in payloads * 5)
    )
    assert len(replies) == len(payloads) * 5
    assert not client.stray_replies
    assert all(r["ok"] or r["error"]["type"] != "internal" for r in replies), replies
