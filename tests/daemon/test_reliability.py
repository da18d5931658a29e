"""Crashes and restarts: the broker killed mid-episode, the daemon killed, the daemon stopped.

* mosquitto SIGKILLed and restarted while an external episode runs: every command the client got
  a PUBACK for is answered, repeated ids are answered from the daemon's cache (nothing runs
  twice), the daemon reconnects by itself and the episode completes;
* the daemon SIGKILLed and started again on the same config: every episode whose end was
  announced (its cycles were made durable first) is in memory, and the agents keep working;
* SIGTERM: the daemon exits 0 promptly, its retained statuses say offline, and each memory
  directory reopens without a torn log tail and with every cycle of every episode.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from envs.maze import MazeEnv
from memory.memory_os import MemoryOS
from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    AIOMQTT_WRITER_RACE,
    NODELAY,
    Client,
    DaemonProcess,
    Mosquitto,
    connect_properties,
    daemon_config,
    drain,
    drive_external_episode,
    external_agent,
    maze_agent,
    maze_observation,
    next_matching,
    request_properties,
    requires_mosquitto,
    retained,
    settled,
    stop_task,
    tracebacks,
)
from tests.daemon.test_console import wait_for_line

pytestmark = [pytest.mark.broker, requires_mosquitto]


class ResilientClient:
    """A client that outlives its broker: a persistent session, reconnects, and resends.

    Every command carries an ``id``, also used as its correlation data. A command whose publish
    was not acknowledged (no PUBACK: the broker died first) is published again, with the same id,
    once the broker is back. A command that was acknowledged is never sent again unless the test
    publishes it again itself: the broker and the daemon must answer it on their own.
    """

    def __init__(self, port: int, prefix: str, identifier: str) -> None:
        self.port = port
        self.prefix = prefix
        self.identifier = identifier
        self.reply_topic = f"replies/{identifier}"
        self.connected = asyncio.Event()
        self.client: aiomqtt.Client | None = None
        self.acked: set[str] = set()
        self.unacked_sends = 0  # publishes that failed and were made again
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.news = asyncio.Event()
        self.sending: set[str] = set()
        """Ids of commands handed to the client library and not yet acknowledged by the broker
        (on the wire, if the broker is alive): they fail with the connection if it dies."""
        self.sent_news = asyncio.Event()
        self.connections = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ResilientClient:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await stop_task(self._task, grace=0)

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=self.identifier,
                    protocol=aiomqtt.ProtocolVersion.V5,
                    clean_start=False,
                    properties=connect_properties(3600),
                    timeout=3,
                    keepalive=5,
                    socket_options=NODELAY,
                ) as client:
                    await client.subscribe(self.reply_topic, qos=1)
                    self.client = client
                    self.connections += 1
                    self.connected.set()
                    async for message in client.messages:
                        correlation = getattr(message.properties, "CorrelationData", b"")
                        key = bytes(correlation).decode()
                        self.replies.setdefault(key, []).append(json.loads(message.payload))
                        self.news.set()
            except aiomqtt.MqttError:
                pass
            finally:
                self.client = None
                self.connected.clear()
            await asyncio.sleep(0.05)

    async def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Publish until the broker acknowledges it (through any number of broker deaths)."""
        key = body["id"]
        payload = json.dumps(body).encode()
        while True:
            await self.connected.wait()
            client = self.client
            if client is None:
                continue
            self.sending.add(key)
            self.sent_news.set()
            try:
                await client.publish(
                    topic,
                    payload,
                    qos=1,
                    properties=request_properties(self.reply_topic, key.encode()),
                    timeout=2,
                )
            except aiomqtt.MqttError:
                self.unacked_sends += 1
                await asyncio.sleep(0.05)  # (a pause before trying again, not a wait)
                continue
            finally:
                self.sending.discard(key)
            self.acked.add(key)
            return

    async def handed_over(self, keys: list[str], timeout: float = 20.0) -> None:
        """Until the commands ``keys`` are all being published (awaiting their PUBACK)."""
        async with asyncio.timeout(timeout):
            while not set(keys) <= self.sending:
                self.sent_news.clear()
                await self.sent_news.wait()

    async def command(
        self, agent: str, name: str, body: dict[str, Any], *, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Publish (resending until acknowledged), then wait for the first reply."""
        await self.publish(f"{self.prefix}/{agent}/cmd/{name}", body)
        return (await self.answers(body["id"], 1, timeout))[0]

    async def answers(self, key: str, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The replies to ``key``, once there are at least ``n`` of them."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.replies.get(key, ())) < n:
                    self.news.clear()
                    await self.news.wait()
        except TimeoutError:
            raise AssertionError(
                f"command {key} was acknowledged by the broker but got "
                f"{len(self.replies.get(key, ()))} of {n} replies in {timeout} s"
            ) from None
        return self.replies[key]


async def test_broker_killed_mid_episode_loses_no_acknowledged_command(
    broker: Mosquitto, daemon: DaemonProcess, client: Client
) -> None:
    size, seed = 9, 5
    env = MazeEnv(width=size, height=size, radius=2)
    _, info = env.reset(seed=seed)
    kill_at = 6
    killed = asyncio.Event()
    step_reached = asyncio.Event()
    frozen = asyncio.Event()
    since = (await retained(broker.port, ["t/cogosd/status"]))["t/cogosd/status"]["since"]

    async with ResilientClient(broker.port, "t", "resilient-1") as rc:
        in_flight = [f"goal-{i}" for i in range(5)]
        streamed: list[str] = []
        stop_stream = asyncio.Event()

        async def killer() -> None:
            await step_reached.wait()  # the episode waits at step kill_at until frozen is set
            # an internal run, started with an id before the broker dies
            await rc.command("explorer", "episode/start", {"id": "start-1", "episodes": 3})
            # frozen, then killed: what is on the wire meanwhile (these commands, and the
            # episode's next observation) is never acknowledged, so the client sends it again
            # once the broker is back. (Freezing first keeps a command from being acknowledged
            # to the client and then lost with the broker before mosquitto saved it: that is
            # mosquitto's durability, not ours; test_connection covers the daemon's side.)
            broker.freeze()
            for key in in_flight:
                tasks.append(
                    loop.create_task(rc.publish("t/ext/cmd/goal", {"id": key, "text": key}))
                )
            frozen.set()
            # killed once all of them are on the wire, the observation included: each then
            # fails with the connection and is sent again (counted in unacked_sends)
            await rc.handed_over([*in_flight, f"obs-{kill_at}"])
            broker.kill()
            killed.set()
            await asyncio.sleep(1.0)  # the outage (its length is not what is tested)
            broker.start()

        async def stream() -> None:
            """Commands at a steady pace through the outage: they wait for the broker."""
            await killed.wait()
            while not stop_stream.is_set():
                key = f"status-{len(streamed)}"
                streamed.append(key)
                await rc.publish("t/explorer/cmd/status", {"id": key})
                await asyncio.sleep(0.1)

        tasks: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()
        tasks += [loop.create_task(killer()), loop.create_task(stream())]
        start = await rc.command("ext", "episode/start", {"id": "ep-start", "seed": seed})
        assert start["result"] == {"episode": 0, "awaiting": "observe"}
        body = maze_observation(info)
        actions: list[str] = []
        sent: list[str] = []
        bodies: dict[str, dict[str, Any]] = {}
        steps_after_kill = 0
        terminated = False
        while True:
            key = f"obs-{len(sent)}"
            sent.append(key)
            bodies[key] = {"id": key, **body}
            reply = await rc.command("ext", "observe", bodies[key])
            assert reply["ok"], reply
            if reply["result"].get("done"):
                summary = reply["result"]["summary"]
                break
            action = reply["result"]["action"]
            actions.append(action)
            _, reward, terminated, truncated, info = env.step(MazeEnv.action_names.index(action))
            body = maze_observation(info, reward, terminated, truncated)
            if len(actions) == kill_at:
                step_reached.set()
                await frozen.wait()  # the next observation goes out to a frozen broker
            if killed.is_set():
                steps_after_kill += 1
        stop_stream.set()
        await asyncio.gather(*tasks)

        assert broker.starts == 2
        assert rc.connections >= 2, "the test client must have lived through the broker's death"
        assert steps_after_kill > 0, "the broker died before the episode ended"
        assert terminated and summary["success"] is True, summary
        assert summary["steps"] == env.steps == len(actions)

        # every acknowledged command is answered, before any deliberate repeat
        assert rc.unacked_sends >= len(in_flight) + 1, "unacknowledged commands were sent again"
        assert sent[kill_at] == f"obs-{kill_at}"
        for key in ["ep-start", "start-1", *in_flight, *sent, *streamed]:
            assert key in rc.acked
            await rc.answers(key, 1)

        # repeat two commands the daemon already ran, byte for byte as a redelivery would:
        # answered from the cache, with the same reply, and nothing runs again
        before = len(rc.replies["start-1"])
        await rc.publish("t/explorer/cmd/episode/start", {"id": "start-1", "episodes": 3})
        await rc.answers("start-1", before + 1)
        before = len(rc.replies[sent[3]])
        await rc.publish("t/ext/cmd/observe", bodies[sent[3]])
        await rc.answers(sent[3], before + 1)

        # every answer to an id is the same answer
        for key, answers in rc.replies.items():
            assert all(a == answers[0] for a in answers), (key, answers)
        assert rc.replies["start-1"][0]["ok"] is True
        assert rc.replies["start-1"][0]["result"]["started"] == 3
        assert all(rc.replies[key][0]["ok"] for key in streamed)

    # the daemon reconnected by itself: the same process, online again
    assert daemon.running()
    statuses = await retained(broker.port, ["t/cogosd/status", "t/ext/status"])
    assert statuses["t/cogosd/status"]["state"] == "online"
    assert statuses["t/cogosd/status"]["since"] == since
    async with Client(broker.port) as fresh:  # the first client died with the broker
        health = await fresh.ok("cogosd", "health")
        assert health["connected"] is True

        # nothing ran twice: one cycle per step, one episode, three internal episodes (not six)
        status = await fresh.ok("ext", "status")
        assert status["cycles"] == env.steps
        assert status["episodes_done"] == 1
        stats = await fresh.ok("ext", "memory/query", {"op": "stats"})
        assert stats["items"]["event"] == env.steps
        # the explorer's run is over once its retained status says idle after three episodes
        explorer_status = await fresh.watch("t/explorer/status")
        await next_matching(
            explorer_status, lambda s: s["state"] == "idle" and s["episodes_done"] >= 3, 60
        )
        explorer = await fresh.ok("explorer", "status")
        assert explorer["state"] == "idle" and explorer["episodes_done"] == 3, explorer
    assert not tracebacks(daemon.stderr(), allowed=(AIOMQTT_WRITER_RACE,))


async def test_daemon_killed_and_restarted_keeps_acknowledged_memory(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    """Killed while an internal run writes to memory, and an external episode is open.

    The explorer publishes its episode events only: a run at full speed with cycle events too
    fills the outgoing queue faster than a persisting broker takes it, and its default overflow
    policy (``drop_oldest``) may then drop a reply (how this test once failed). Nothing this
    test waits for is sent while the run is going, other than those episode events.
    """
    config = daemon_config(
        broker.port,
        [
            maze_agent("explorer", tmp_path / "memory" / "explorer", events=["episode"]),
            external_agent("ext", tmp_path / "memory" / "ext"),
        ],
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)
    episodes = await client.watch("t/explorer/episode")

    async def ended(n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The next ``n`` episodes: (start event, end event)."""
        pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        starts: dict[int, dict[str, Any]] = {}
        while len(pairs) < n:
            event = await next_matching(episodes, lambda e: True, timeout=30)
            if event["event"] == "start":
                starts[event["episode"]] = event
            elif event["episode"] in starts:  # (not the end of one started before)
                pairs.append((starts.pop(event["episode"]), event))
        return pairs

    await client.ok("explorer", "episode/start", {"episodes": 4, "seed": 0})
    acked = await ended(4)
    external = await drive_external_episode(client, "ext", seed=1)
    assert external["summary"]["success"]

    # an external episode cut short
    await client.ok("ext", "episode/start", {"seed": 2})
    env = MazeEnv(width=5, height=5, radius=2)
    _, info = env.reset(seed=2)
    reply = await client.ok("ext", "observe", maze_observation(info))
    env.step(reply["native"])
    # and a long run, killed after two more episodes have been announced
    await client.ok("explorer", "episode/start", {"episodes": 100_000, "seed": 100})
    acked += await ended(2)
    status = await client.watch("t/cogosd/status")
    daemon.kill()
    assert daemon.proc is not None and daemon.proc.returncode == -9

    # the last will says offline: waited for (the broker sends it once it sees the socket close),
    # then it is what stays retained
    await next_matching(status, lambda s: s["state"] == "offline", 30)
    statuses = await retained(client.port, ["t/cogosd/status"])
    assert statuses["t/cogosd/status"] == {"state": "offline"}

    daemon.start()
    await daemon.wait_ready(client)
    stats = await client.ok("explorer", "memory/query", {"op": "stats"})
    assert stats["recovery"]["problems"] == []
    for start, end in acked:
        events = await client.ok(
            "explorer", "memory/query", {"op": "episode", "episode": start["id"], "k": 1000}
        )
        assert len(events) == end["cycles"], f"episode {start['id']}: cycles lost"
    assert stats["items"]["event"] >= sum(end["cycles"] for _, end in acked)
    ext_stats = await client.ok("ext", "memory/query", {"op": "stats"})
    assert ext_stats["items"]["event"] >= external["steps"]

    # it keeps working, with the same memory
    before = stats["items"]["event"]
    drain(episodes)  # what the killed run announced last
    await client.ok("explorer", "episode/start", {"episodes": 1, "seed": 7})
    ((_, end),) = await ended(1)
    assert end["success"] is True
    after = await client.ok("explorer", "memory/query", {"op": "stats"})
    assert after["items"]["event"] == before + end["cycles"]
    again = await drive_external_episode(client, "ext", seed=3)
    assert again["summary"]["success"] is True
    ext_after = await client.ok("ext", "memory/query", {"op": "stats"})
    assert ext_after["items"]["event"] == ext_stats["items"]["event"] + again["steps"]
    assert not tracebacks(daemon.stderr())


@pytest.mark.parametrize("window_ms", [None, 60_000], ids=["default", "lingering-group"])
async def test_answered_observations_are_durable_when_the_daemon_is_killed(
    broker: Mosquitto,
    daemons: MakeDaemon,
    client: Client,
    tmp_path: Path,
    window_ms: int | None,
) -> None:
    """An ``observe`` reply goes out only once the cycle it concluded is durable.

    A client drives an external episode one observation at a time, as an environment does, and
    the daemon is SIGKILLed as soon as the last reply is in: the memory holds exactly the cycles
    the answered observations concluded (each concludes the previous decision; the first
    concludes none). Durability ``group`` throughout; ``lingering-group`` adds a group-commit
    window longer than the test, so that a reply sent before its cycle was written is certain to
    be caught (by default the race is lost only now and then).
    """
    n = 60
    memory = tmp_path / "memory" / "ext"
    agent = external_agent("ext", memory)
    if window_ms is not None:
        agent["overrides"].append(f"memory.group_window_ms={window_ms}")
    daemon = daemons(daemon_config(broker.port, [agent]))
    await daemon.wait_ready(client)
    env = MazeEnv(width=15, height=15, radius=2, max_steps=10**6)
    _, info = env.reset(seed=0)
    started = await client.ok("ext", "episode/start", {"seed": 0})
    assert started == {"episode": 0, "awaiting": "observe"}
    body = maze_observation(info)
    for _ in range(n):
        result = await client.ok("ext", "observe", body)
        assert "action" in result, result
        _, reward, terminated, truncated, info = env.step(result["native"])
        if terminated or truncated:  # the agent's episode goes on: no observation ends it
            _, info = env.reset(seed=1)
        body = maze_observation(info, reward)
    daemon.kill()  # right after the last reply: nothing else was sent or awaited
    assert daemon.proc is not None and daemon.proc.returncode == -signal.SIGKILL

    with MemoryOS.open(memory) as m:
        assert m.recovery.problems == []
        assert m.stats()["items"]["event"] == n - 1, "answered observations lost their cycles"
        (episode,) = m.episodes()
        assert len(m.episode(episode)) == n - 1
    assert not tracebacks(daemon.stderr())


async def test_sigterm_flushes_memory_and_says_offline(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    # episode events only: the daemon's outgoing queue keeps up with them, however busy the
    # machine (see test_sigterm_with_an_outgoing_backlog_still_says_offline for when it does not)
    config = daemon_config(
        broker.port,
        [
            maze_agent("explorer", tmp_path / "memory" / "explorer", size=15, events=["episode"]),
            external_agent("ext", tmp_path / "memory" / "ext"),
        ],
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)
    episodes = await client.watch("t/explorer/episode")
    # an external episode in progress: three observations, so two concluded cycles
    await client.ok("ext", "episode/start", {"seed": 0})
    env = MazeEnv(width=5, height=5, radius=2)
    _, info = env.reset(seed=0)
    body = maze_observation(info)
    for _ in range(3):
        reply = await client.ok("ext", "observe", body)
        _, reward, term, trunc, info = env.step(reply["native"])
        assert not (term or trunc)
        body = maze_observation(info, reward, term, trunc)
    await client.ok("explorer", "episode/start", {"episodes": 100_000, "seed": 0})
    starts: dict[int, dict[str, Any]] = {}
    ends: list[dict[str, Any]] = []
    while not ends:
        event = await next_matching(episodes, lambda e: True, timeout=30)
        if event["event"] == "start":
            starts[event["episode"]] = event
        else:
            ends.append(event)

    code, seconds = daemon.terminate(timeout=20)
    assert code == 0, daemon.stderr()
    assert seconds < 10, f"SIGTERM took {seconds:.1f} s"
    # every episode that started was ended (the running one cut short) and announced: the
    # daemon exited once the broker had them all, so they are all before the test's marker
    for event in await settled(client, "t/explorer/episode", episodes):
        if event["event"] == "start":
            starts[event["episode"]] = event
        else:
            ends.append(event)
    assert sorted(e["episode"] for e in ends) == sorted(starts)
    assert ends[-1]["truncated"] or ends[-1]["success"], ends[-1]

    statuses = await retained(broker.port, ["t/cogosd/status", "t/explorer/status", "t/ext/status"])
    assert statuses["t/cogosd/status"] == {"state": "offline"}
    assert statuses["t/explorer/status"]["state"] == "offline"
    assert statuses["t/ext/status"]["state"] == "offline"

    with MemoryOS.open(tmp_path / "memory" / "explorer") as m:
        assert m.recovery.truncated_bytes == 0
        assert m.recovery.torn_reason is None
        assert m.recovery.problems == []
        for end in ends:
            assert len(m.episode(starts[end["episode"]]["id"])) == end["cycles"]
        assert m.stats()["items"]["event"] == sum(e["cycles"] for e in ends)
    with MemoryOS.open(tmp_path / "memory" / "ext") as m:
        assert m.recovery.truncated_bytes == 0
        assert m.stats()["items"]["event"] == 2, "each observation concludes the previous cycle"
    stderr = daemon.stderr()
    assert not tracebacks(stderr), stderr
    assert "stopped" in stderr


async def test_sigterm_with_an_outgoing_backlog_still_says_offline(
    broker: Mosquitto, daemons: MakeDaemon, client: Client, tmp_path: Path
) -> None:
    """A busy agent and a broker that stalled: thousands of events wait to go out when SIGTERM
    comes. After ``flush_timeout`` the daemon sheds the QoS 0 ones; once the broker is back, the
    replies and statuses go out, the retained statuses say offline, and it exits 0.

    Each step waits on what the daemon says, not on the clock: SIGTERM once the outgoing queue
    is full (its first "queue full" warning), the broker thawed once the daemon has shed. The
    flush timeout is long enough for the thaw to come within the second one on a busy machine.
    """
    flush_timeout = 4.0
    config = daemon_config(
        broker.port,
        [maze_agent("explorer", tmp_path / "memory" / "explorer")],
        outgoing={"size": 2_000, "flush_timeout": flush_timeout},
        broker={"keepalive": 60},  # the stall must not end the connection
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)
    await client.ok("explorer", "episode/start", {"episodes": 100_000})
    broker.freeze()
    await wait_for_line(daemon, "outgoing MQTT queue full", 60)  # 2,000 messages wait
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    await wait_for_line(daemon, "queued QoS 0 message[(]s[)] to flush the rest", 60)
    broker.thaw()  # within the second flush_timeout
    code = await asyncio.to_thread(daemon.proc.wait, 60)
    assert code == 0, daemon.stderr()
    # at most a flush timeout, the shedding, at most another one (and the agents' last cycles)
    assert time.monotonic() - t0 < 2 * flush_timeout + 5, "the exit took too long"
    statuses = await retained(broker.port, ["t/cogosd/status", "t/explorer/status"])
    assert statuses["t/cogosd/status"] == {"state": "offline"}
    assert statuses["t/explorer/status"]["state"] == "offline"
    stderr = daemon.stderr()
    assert "unsent" not in stderr, stderr[-3000:]
    assert not tracebacks(stderr), stderr
