"""Real processes for the daemon's integration tests: mosquitto, ``cogos daemon``, MQTT clients.

* :class:`Mosquitto`: a mosquitto on a free port, from a generated config (persistence on, so
  QoS 1 messages survive a SIGKILL), that can be killed and restarted on the same port and file;
* :class:`DaemonProcess`: ``python -m cogos.cli.main -v daemon <yaml>`` as a subprocess, with its
  stderr kept in a file, ready once its retained status says ``online`` (to debug, set
  ``COGOS_TEST_DAEMON_CMD`` to another command, e.g. a script that wraps the daemon);
* :class:`Client`: an aiomqtt (MQTT 5) client that sends commands with a response topic and
  correlation data and awaits their replies, and collects events by topic filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, Self

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[2]
DAEMON_COMMAND = os.environ.get("COGOS_TEST_DAEMON_CMD", "-m cogos.cli.main -v daemon").split()
MOSQUITTO = shutil.which("mosquitto")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")

requires_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None,
    reason="mosquitto is not on PATH (apt-get install mosquitto mosquitto-clients; "
    "Debian puts it in /usr/sbin, which .ci/run adds to PATH)",
)


NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""Socket options of test clients: no Nagle delay on small QoS 1 messages."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, alive: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the process meant to listen on {port} exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Mosquitto:
    """A mosquitto listening on 127.0.0.1:``port``, configured by a file in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        persistence: bool = True,
        extra: Iterable[str] = (),
        anonymous: bool = True,
    ) -> None:
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not on PATH")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        lines = [
            # as root, mosquitto would switch to the user 'mosquitto', who cannot write here
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if persistence:
            lines += [
                "persistence true",
                f"persistence_location {workdir}/",
                "persistence_file mosquitto.db",
                "autosave_interval 1",
                "autosave_on_changes true",
            ]
        lines += list(extra)
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 10.0) -> None:
        assert MOSQUITTO is not None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        proc = self.proc
        try:
            wait_for_port(self.port, timeout, alive=lambda: proc.poll() is None)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"mosquitto did not start: {exc}\n{self.log.read_text()}") from None

    def freeze(self) -> None:
        """SIGSTOP: what clients send now is neither acknowledged nor forwarded."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no final save of the persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self, timeout: float = 10.0) -> None:
        self.kill()
        self.start(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class TcpProxy:
    """127.0.0.1:``port`` forwarded to a local ``upstream`` port, in the test's event loop;
    :meth:`cut` resets every connection through it, as a network failure would, while the
    broker behind it lives on (and keeps the sessions)."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        """Each live connection: its client's side and the upstream side."""
        self._handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        if self._handlers:  # each ends once its sockets are reset
            await asyncio.wait(self._handlers, timeout=5)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        handler.add_done_callback(self._handlers.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:  # nothing listens upstream: refuse this one too
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._pairs.discard(pair)

    def cut(self) -> None:
        for client, upstream in self._pairs:
            client.transport.abort()  # a reset, no goodbye
            upstream.transport.abort()
        self._pairs.clear()


# -- the daemon ---------------------------------------------------------------------------------


def maze_agent(name: str, memory: Path | None, *, size: int = 5, **extra: Any) -> dict[str, Any]:
    """An agent on ``config/maze.yaml`` with small mazes (and memory in ``memory``)."""
    overrides = [
        "trace.enabled=false",
        f"env.options.width={size}",
        f"env.options.height={size}",
    ]
    if memory is not None:
        overrides.append(f"memory.path={memory}")
    return {"name": name, "config": str(ROOT / "config/maze.yaml"), "overrides": overrides, **extra}


def external_agent(name: str, memory: Path | None, **extra: Any) -> dict[str, Any]:
    """An agent on ``config/external_maze.yaml``: its maze is stepped by the test."""
    overrides = [f"memory.path={memory}"] if memory is not None else []
    return {
        "name": name,
        "config": str(ROOT / "config/external_maze.yaml"),
        "overrides": overrides,
        **extra,
    }


def daemon_config(
    port: int,
    agents: list[dict[str, Any]],
    *,
    name: str = "cogosd",
    prefix: str = "t",
    **extra: Any,
) -> dict[str, Any]:
    broker = {
        "host": "127.0.0.1",
        "port": port,
        "reconnect_initial": 0.1,
        "reconnect_max": 0.5,
        "keepalive": 5,
        **extra.pop("broker", {}),
    }
    return {
        "version": 1,
        "name": name,
        "prefix": prefix,
        "broker": broker,
        "agents": agents,
        **extra,
    }


class DaemonProcess:
    """``python -m cogos.cli.main -v daemon <workdir>/daemon.yaml`` in a subprocess.

    ``command`` replaces the arguments before the config path (``-m cogos.cli.main -v daemon``).
    """

    def __init__(
        self,
        config: dict[str, Any],
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.config = config
        self.command = command or DAEMON_COMMAND
        self.name: str = config["name"]
        self.prefix: str = config["prefix"]
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / "daemon.yaml"
        # JSON is YAML: no quoting questions
        self.path.write_text(json.dumps(config, indent=1))
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.started_at = 0.0

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"daemon-{self.runs}.err"

    def start(self) -> None:
        self.runs += 1
        self.started_at = time.time()
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, *self.command, str(self.path)],
                cwd=self.workdir,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def stderr(self, run: int | None = None) -> str:
        path = self.workdir / f"daemon-{run or self.runs}.err"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_stderr(self) -> str:
        return "".join(self.stderr(r) for r in range(1, self.runs + 1))

    async def wait_ready(self, client: Client, timeout: float = 30.0) -> dict[str, Any]:
        """Until the daemon's retained status is ``online`` since this start; then one health."""
        status = await client.watch(f"{self.prefix}/{self.name}/status")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"the daemon exited with {self.proc.returncode}:\n{self.stderr()[-4000:]}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the daemon is not online after {timeout} s:\n{self.stderr()}")
            with contextlib.suppress(TimeoutError):
                msg = await asyncio.wait_for(status.get(), min(left, 0.25))
                body = json.loads(msg.payload)
                if body.get("state") == "online" and body.get("since", 0) >= self.started_at:
                    break
        reply = await client.command(self.name, "health", timeout=10)
        assert reply["ok"], reply
        return dict(reply["result"])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the exit took."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(
                f"the daemon did not exit {timeout} s after SIGTERM:\n{self.stderr()[-4000:]}"
            ) from None
        return code, time.monotonic() - t0

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# -- clients ------------------------------------------------------------------------------------


def connect_properties(session_expiry: int | None) -> Properties | None:
    if session_expiry is None:
        return None
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry
    return props


def request_properties(response_topic: str, correlation: bytes) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = response_topic
    props.CorrelationData = correlation
    return props


class Client:
    """An MQTT 5 client for tests: ``command()`` sends a command and awaits its reply.

    Replies come back on ``<reply_base>/<client id>`` and are matched by correlation data; other
    subscriptions (``watch``) get their messages in an asyncio queue.
    """

    def __init__(
        self,
        port: int,
        *,
        prefix: str = "t",
        identifier: str | None = None,
        username: str | None = None,
        password: str | None = None,
        reply_base: str = "replies",
    ) -> None:
        self.port = port
        self.prefix = prefix
        self.identifier = identifier or f"test-{uuid.uuid4().hex[:10]}"
        self.username = username
        self.password = password
        self.reply_topic = f"{reply_base}/{self.identifier}"
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._futures: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self._watches: list[tuple[str, asyncio.Queue[aiomqtt.Message]]] = []
        self._ids = itertools.count(1)
        self.stray_replies: list[bytes] = []

    async def __aenter__(self) -> Client:
        self._client = aiomqtt.Client(
            "127.0.0.1",
            self.port,
            identifier=self.identifier,
            username=self.username,
            password=self.password,
            protocol=aiomqtt.ProtocolVersion.V5,
            timeout=10,
            max_concurrent_outgoing_calls=64,
            socket_options=NODELAY,
        )
        await self._client.__aenter__()
        await self._client.subscribe(self.reply_topic, qos=1)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # disconnecting ends the reader's message iteration; cancel it only if it lingers
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)
        if self._reader is not None:
            await stop_task(self._reader)

    @property
    def mqtt(self) -> aiomqtt.Client:
        assert self._client is not None
        return self._client

    async def _read(self) -> None:
        async for message in self.mqtt.messages:
            if str(message.topic) == self.reply_topic:
                props = message.properties
                correlation = getattr(props, "CorrelationData", None)
                future = self._futures.pop(correlation, None) if correlation else None
                if future is not None and not future.done():
                    future.set_result(json.loads(message.payload))
                else:
                    self.stray_replies.append(message.payload)
                continue
            for pattern, queue in self._watches:
                if message.topic.matches(pattern):
                    queue.put_nowait(message)

    async def watch(self, pattern: str) -> asyncio.Queue[aiomqtt.Message]:
        """Subscribe to ``pattern``; its messages (retained ones first) arrive in the queue."""
        for known, queue in self._watches:
            if known == pattern:
                return queue
        queue = asyncio.Queue()
        self._watches.append((pattern, queue))
        await self.mqtt.subscribe(pattern, qos=1)
        return queue

    async def send(
        self, topic: str, payload: bytes | dict[str, Any] | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        """Publish at QoS 1 with a response topic and correlation data; the reply, to come.

        Returns once the broker has acknowledged the message (so a message published after it
        reaches the broker after it), with the future of its reply, not awaited.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload or {}).encode()
        correlation = f"{self.identifier}:{next(self._ids)}".encode()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[correlation] = future
        future.add_done_callback(lambda _: self._futures.pop(correlation, None))
        try:
            await self.mqtt.publish(
                topic, body, qos=1, properties=request_properties(self.reply_topic, correlation)
            )
        except BaseException:
            future.cancel()
            raise
        return future

    async def request(
        self, topic: str, payload: bytes | dict[str, Any] | None = None, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Publish at QoS 1 with a response topic and correlation data; the reply's JSON."""
        future = await self.send(topic, payload)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            future.cancel()  # (done already, unless it timed out)

    async def command(
        self,
        agent: str,
        name: str,
        payload: bytes | dict[str, Any] | None = None,
        *,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        return await self.request(f"{self.prefix}/{agent}/cmd/{name}", payload, timeout=timeout)

    async def ok(
        self, agent: str, name: str, payload: dict[str, Any] | None = None, *, timeout: float = 10.0
    ) -> Any:
        """A command that must succeed: its ``result``."""
        reply = await self.command(agent, name, payload, timeout=timeout)
        assert reply.get("ok") is True, f"{agent} {name} {payload}: {reply}"
        return reply["result"]


class BlockingClient:
    """A :class:`Client` on an event loop in a thread, for hypothesis's synchronous tests."""

    def __init__(self, port: int, *, prefix: str = "t") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = Client(port, prefix=prefix)
        self.run(self.client.__aenter__())
        self.sent = 0

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def command(self, agent: str, name: str, payload: bytes | dict[str, Any]) -> dict[str, Any]:
        self.sent += 1
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        reply: dict[str, Any] = self.run(self.client.command(agent, name, body, timeout=10))
        return reply

    def close(self) -> None:
        self.run(self.client.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class _Limit(ValueError):
    pass


def _number(text: str) -> float:
    # docs/mqtt.md: number literals of up to 64 characters, finite
    if len(text) > 64 or not math.isfinite(float(text)):
        raise _Limit(text)
    return float(text)


def _constant(name: str) -> None:
    raise _Limit(name)  # NaN and Infinity are not JSON


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def documented_decode_error(payload: bytes, max_bytes: int) -> str | None:
    """The error type docs/mqtt.md gives for ``payload``, or None if it is a JSON object.

    Written from the documented limits, not from the daemon's decoder.
    """
    if len(payload) > max_bytes:
        return "too_large"
    if not payload.strip():
        return "bad_json"  # a command is a JSON object, {} at the least
    try:
        value = json.loads(
            payload.decode("utf-8"),
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "bad_json"
    if _depth(value) > 32:
        return "bad_json"
    return None if isinstance(value, dict) else "bad_payload"


async def stop_task(task: asyncio.Task[Any], grace: float = 5.0) -> None:
    """Give ``task`` ``grace`` seconds to end, then cancel it (waiting 5 s more); never raise."""
    done, _ = await asyncio.wait({task}, timeout=grace) if grace > 0 else (set(), set())
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=5.0)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: an MqttError from the closed connection is expected


async def retained(port: int, topics: list[str], *, timeout: float = 3.0) -> dict[str, Any]:
    """The retained JSON message of each topic (a fresh subscriber's view)."""
    out: dict[str, Any] = {}
    async with aiomqtt.Client(
        "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, timeout=10
    ) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    out[str(message.topic)] = json.loads(message.payload)
                    if len(out) == len(topics):
                        break
    return out


def drain(queue: asyncio.Queue[aiomqtt.Message]) -> list[dict[str, Any]]:
    """Every message waiting in ``queue``, decoded."""
    out = []
    while not queue.empty():
        out.append(json.loads(queue.get_nowait().payload))
    return out


async def next_matching(
    queue: asyncio.Queue[aiomqtt.Message], predicate: Callable[[Any], bool], timeout: float
) -> dict[str, Any]:
    """The first message in ``queue`` whose JSON satisfies ``predicate``."""
    async with asyncio.timeout(timeout):
        while True:
            body = json.loads((await queue.get()).payload)
            if predicate(body):
                return dict(body)


async def settled(
    client: Client, topic: str, queue: asyncio.Queue[aiomqtt.Message], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Every message of ``queue`` that the broker took before this call, decoded.

    ``client`` publishes a marker on ``topic`` (one that ``queue`` watches): the broker routes
    it after everything it had taken before, and delivers it to the client behind them. What
    comes before the marker is all there was, with no wait for stragglers on the clock.
    """
    marker = {"marker": uuid.uuid4().hex}
    await client.mqtt.publish(topic, json.dumps(marker).encode(), qos=1)
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while (body := json.loads((await queue.get()).payload)) != marker:
            out.append(body)
    return out


async def collect(
    queue: asyncio.Queue[aiomqtt.Message], n: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The next ``n`` messages of ``queue``, decoded, as they arrive.

    For events that may trail what the test waited for (QoS 0 cycle events behind a QoS 1
    reply): their number is known, so the test waits for them rather than for the clock.
    ``timeout`` only bounds a wait for messages that never come.
    """
    out: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < n:
                out.append(json.loads((await queue.get()).payload))
    except TimeoutError:
        raise AssertionError(f"{len(out)} of {n} messages after {timeout} s: {out}") from None
    return out


LEVELS = ("DEBUG ", "INFO ", "WARNING ", "ERROR ", "CRITICAL ")
AIOMQTT_WRITER_RACE = "Exception in callback BaseSelectorEventLoop.add_writer("
"""aiomqtt 2.5 schedules ``add_writer(fd)`` with ``call_soon_threadsafe``; when the broker dies
the socket can be closed before it runs, and asyncio logs EBADF. Harmless: the connection is
gone either way and the daemon reconnects."""


def tracebacks(stderr: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Log records (or bare output) of a stderr text that carry a Python traceback.

    A record whose first line contains one of ``allowed`` is a known, harmless log.
    """
    records: list[list[str]] = [[]]
    for line in stderr.splitlines():
        if line.startswith(LEVELS):
            records.append([])
        records[-1].append(line)
    return [
        "\n".join(r[:40])
        for r in records
        if any("Traceback" in line for line in r) and not (r and any(a in r[0] for a in allowed))
    ]


# -- an external maze, stepped by the test ------------------------------------------------------


def maze_observation(
    info: dict[str, Any], reward: float = 0.0, terminated: bool = False, truncated: bool = False
) -> dict[str, Any]:
    """The ``observe`` payload for what a :class:`envs.maze.MazeEnv` step returned."""
    body: dict[str, Any] = {
        "facts": [list(f) for f in info["facts"]],
        "text": info["text"],
        "reward": reward,
        "terminated": terminated,
        "truncated": truncated,
    }
    if terminated or truncated:
        body["success"] = terminated
    return body


async def drive_external_episode(
    client: Client, agent: str, *, seed: int, size: int = 5
) -> dict[str, Any]:
    """One whole episode of a test-side maze driven through ``agent``'s observe command."""
    from envs.maze import MazeEnv

    env = MazeEnv(width=size, height=size, radius=2)
    _, info = env.reset(seed=seed)
    started = await client.ok(agent, "episode/start", {"seed": seed})
    assert started["awaiting"] == "observe", started
    body = maze_observation(info)
    actions: list[str] = []
    terminated = False
    while True:
        result = await client.ok(agent, "observe", body)
        if result.get("done"):
            return {
                "episode": started["episode"],
                "summary": result["summary"],
                "steps": env.steps,
                "actions": actions,
                "reached_goal": terminated,
                "optimal": info["optimal_steps"],
            }
        actions.append(result["action"])
        assert result["native"] == MazeEnv.action_names.index(result["action"]), result
        _, reward, terminated, truncated, info = env.step(result["native"])
        body = maze_observation(info, reward, terminated, truncated)
