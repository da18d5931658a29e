"""Commands and their replies through a real mosquitto and a real daemon process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    Client,
    DaemonProcess,
    Mosquitto,
    collect,
    daemon_config,
    drain,
    drive_external_episode,
    external_agent,
    maze_agent,
    next_matching,
    requires_mosquitto,
    retained,
    tracebacks,
)

pytestmark = [pytest.mark.broker, requires_mosquitto]


async def test_command_round_trip_and_internal_episodes(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    config = daemon_config(
        broker.port,
        [
            maze_agent("explorer", tmp_path / "memory" / "explorer"),
            external_agent("nomem", None),
        ],
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)

    # health of the daemon, and of an agent
    health = await client.ok("cogosd", "health")
    assert health["daemon"] == "cogosd"
    assert set(health["agents"]) == {"explorer", "nomem"}
    assert health["connected"] is True
    assert health["agents"]["nomem"]["state"] == "external"
    assert await client.ok("explorer", "health") == {"alive": True, "state": "idle"}

    status = await client.ok("explorer", "status")
    assert status["state"] == "idle"
    assert status["episodes_done"] == 0
    assert status["metrics"]["episodes"] == 0

    # episodes of the internal maze: cycle and episode events follow the reply
    cycles = await client.watch("t/explorer/cycle")
    episodes = await client.watch("t/explorer/episode")
    statuses = await client.watch("t/explorer/status")  # the retained one first: idle
    started = await client.ok("explorer", "episode/start", {"episodes": 3, "seed": 10})
    assert started == {"started": 3, "first_seed": 10}
    ends: list[dict[str, Any]] = []
    starts: list[dict[str, Any]] = []
    while len(ends) < 3:
        event = await next_matching(episodes, lambda e: True, timeout=30)
        (ends if event["event"] == "end" else starts).append(event)
    assert [e["seed"] for e in starts] == [10, 11, 12]
    assert all(e["success"] and not e["truncated"] for e in ends), ends
    total = sum(e["cycles"] for e in ends)
    seen = await collect(cycles, total)  # QoS 0 cycle events may trail the QoS 1 episode end
    for end in ends:
        mine = [c for c in seen if c["episode"] == end["episode"]]
        assert len(mine) == end["cycles"]
        assert mine[-1]["done"] is True and mine[-1]["reward"] == 1.0
        assert [c["step"] for c in mine] == sorted(c["step"] for c in mine)
        assert {c["action"] for c in mine} <= {"north", "east", "south", "west"}

    # the run is over once the agent's retained status says idle again
    await next_matching(statuses, lambda s: s["state"] == "idle" and s["episodes_done"] == 3, 30)
    status = await client.ok("explorer", "status")
    assert status["state"] == "idle"
    assert status["episodes_done"] == 3
    assert status["cycles"] == total
    assert status["metrics"]["success_rate"] == 1.0

    # memory: one event per cycle, queryable by episode
    stats = await client.ok("explorer", "memory/query", {"op": "stats"})
    assert stats["items"]["event"] == total
    for start, end in zip(starts, ends, strict=True):
        events = await client.ok(
            "explorer", "memory/query", {"op": "episode", "episode": start["id"]}
        )
        assert len(events) == end["cycles"]
        assert all(e["kind"] == "event" for e in events)
    recent = await client.ok("explorer", "memory/query", {"op": "recent", "k": 2})
    assert len(recent) == 2 and recent[0]["id"] > recent[1]["id"]
    decision = await client.ok(
        "explorer", "memory/query", {"op": "decision", "item": recent[0]["id"]}
    )
    assert decision is not None
    hits = await client.ok("explorer", "memory/query", {"op": "search", "query": "goal", "k": 3})
    assert 1 <= len(hits) <= 3
    about = await client.ok("explorer", "memory/query", {"op": "about", "entity": "c0_0", "k": 5})
    assert about, "the start cell is in the episodic graph"
    needs = await client.command("explorer", "memory/query", {"op": "search"})
    assert needs["error"]["type"] == "invalid" and "query" in needs["error"]["message"]
    assert drain(cycles) == [], "one cycle event per cycle, no more"

    # long episodes: a second start is refused, episode/stop ends the running one
    await client.ok("explorer", "episode/start", {"episodes": 1000})
    busy = await client.command("explorer", "episode/start", {"episodes": 1})
    assert busy["error"]["type"] == "busy"
    assert (await client.ok("explorer", "episode/stop"))["stopping"] is True
    stopped = await next_matching(
        statuses, lambda s: s["state"] == "idle" and s["episodes_done"] > 3, 60
    )
    assert stopped["episodes_done"] < 3 + 1000

    goal = await client.ok("explorer", "goal", {"text": "Go home.", "facts": [["at", "c0_0"]]})
    assert goal == {"goal_text": "Go home.", "goal_facts": [["at", "c0_0"]]}

    # errors that are not payload errors
    assert (await client.command("explorer", "dance"))["error"]["type"] == "unknown_command"
    assert (await client.command("explorer", "observe"))["error"]["type"] == "not_external"
    assert (await client.command("nomem", "observe"))["error"]["type"] == "no_episode"
    nomem = await client.command("nomem", "memory/query", {"op": "stats"})
    assert nomem["error"]["type"] == "no_memory"

    # the same command again under its id (a redelivery): answered from the cache, not run
    # again; the id on another command is refused rather than answered with the old reply
    first = await client.ok("explorer", "goal", {"id": "g-1", "text": "first"})
    await client.ok("explorer", "goal", {"text": "changed"})
    again = await client.ok("explorer", "goal", {"id": "g-1", "text": "first"})
    assert first == again == {"goal_text": "first", "goal_facts": [["at", "c0_0"]]}
    reused = await client.command("explorer", "goal", {"id": "g-1", "text": "second"})
    assert reused["error"]["type"] == "id_reused", reused

    assert client.stray_replies == []
    assert not tracebacks(daemon.stderr())


async def test_external_environment_drives_a_whole_maze(
    daemon: DaemonProcess, client: Client
) -> None:
    actions = await client.watch("t/ext/action")
    cycles = await client.watch("t/ext/cycle")
    episodes = await client.watch("t/ext/episode")
    run = await drive_external_episode(client, "ext", seed=3)
    assert run["reached_goal"], run
    summary = run["summary"]
    assert summary["success"] is True and summary["truncated"] is False
    assert summary["steps"] == run["steps"] == len(run["actions"])
    assert summary["cycles"] == run["steps"]
    assert run["steps"] <= 4 * run["optimal"] + 8, "the explore policy wanders, but not that much"

    # events: one action per step, one cycle per step, start and end of the episode (the QoS 0
    # ones may trail the replies: waited for, by their number)
    end = await next_matching(episodes, lambda e: e["event"] == "end", timeout=30)
    assert end["success"] is True and end["cycles"] == run["steps"]
    sent = await collect(actions, len(run["actions"]))
    assert [a["action"] for a in sent] == run["actions"]
    assert [a["step"] for a in sent] == list(range(len(sent)))
    seen = await collect(cycles, run["steps"])
    assert seen[-1]["done"] is True

    # memory: one event per cycle
    stats = await client.ok("ext", "memory/query", {"op": "stats"})
    assert stats["items"]["event"] == run["steps"]
    status = await client.ok("ext", "status")
    assert status["cycles"] == run["steps"] and status["episodes_done"] == 1
    assert status["state"] == "external"
    assert drain(actions) == drain(cycles) == [], "one event per step, no more"

    # a second episode (truncated by the environment) continues the same memory
    second = await client.ok("ext", "episode/start", {"seed": 4})
    assert second == {"episode": 1, "awaiting": "observe"}
    done = await client.ok("ext", "observe", {"facts": [["at", "c0_0"]], "truncated": True})
    assert done["done"] is True and done["summary"]["truncated"] is True
    assert not tracebacks(daemon.stderr())


async def test_daemons_share_a_prefix_and_answer_only_their_agents(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    """Scale-out as docs/mqtt.md describes it: two daemons on one broker and prefix, each with
    its own agents. A command is answered once, by the daemon hosting the agent; a command to
    an agent nobody hosts gets no answer (a daemon hearing it could not know that no other
    daemon hosts it), and the retained statuses say who serves what.

    "No answer" is shown without waiting on the clock: each daemon handles what it hears in
    order, so once both have answered a command sent after it, an answer to it would be in.
    """
    first = daemons(daemon_config(broker.port, [external_agent("a", None)], name="d1"), "d1")
    second = daemons(daemon_config(broker.port, [external_agent("b", None)], name="d2"), "d2")
    await first.wait_ready(client)
    await second.wait_ready(client)

    for agent in ("a", "b"):
        reply = await client.command(agent, "health", {"id": f"h-{agent}"})
        assert reply == {"ok": True, "result": {"alive": True, "state": "external"}}
    unanswered = await client.send("t/nobody/cmd/health", {"id": "h-nobody"})
    for name in ("d1", "d2"):  # sent after it, answered after it would have been
        assert (await client.ok(name, "health"))["daemon"] == name
    assert not unanswered.done(), unanswered.result()
    unanswered.cancel()
    assert client.stray_replies == [], "a command was answered twice, or by the wrong daemon"

    statuses = await retained(broker.port, ["t/d1/status", "t/d2/status"])
    assert statuses["t/d1/status"]["agents"] == ["a"]
    assert statuses["t/d2/status"]["agents"] == ["b"]
    health = await client.ok("d2", "health")
    assert list(health["agents"]) == ["b"]
    # what d2 heard: its wait_ready health, b's health, the health after nobody's and this
    # one; never a's or nobody's
    assert health["messages"] == 4, health
