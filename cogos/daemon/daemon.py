"""``cogos daemon CONFIG``: agents that keep running, with their memory, driven over MQTT.

The daemon connects to the broker (or starts an embedded one), checks that no live daemon
already holds its name or its agents' names (``probe.py``; exit 2 if one does), starts every
configured agent with its persistent memory OS, and then serves: commands arrive per agent and
are answered on the request's MQTT 5 response topic; cycle, episode and metrics events go out;
each agent's retained ``status`` says what it is doing, and the daemon's last will marks it
``offline``.
On SIGTERM or SIGINT it stops taking commands, lets every agent finish its current cycle,
flushes and closes each memory (so nothing acknowledged is lost), publishes ``offline`` and
disconnects. Started again on the same config, every agent's memory is recovered from its WAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

from cogos.daemon.agent_service import AgentService, encode
from cogos.daemon.bridge import BusBridge
from cogos.daemon.broker import EmbeddedBroker
from cogos.daemon.collector import settle_collector
from cogos.daemon.config import DaemonConfig
from cogos.daemon.connection import MqttConnection, Outgoing
from cogos.daemon.probe import NameProbe
from cogos.daemon.protocol import (
    CommandError,
    Topics,
    Unanswerable,
    command_schema,
    decode_payload,
    error,
    ok,
    reply_topic_problem,
    validate_command,
)
from cogos.errors import CogOSError

log = logging.getLogger("cogos.daemon")


class Daemon:
    """See the module docstring."""

    def __init__(self, config: DaemonConfig, console: Callable[[str], None] | None = None) -> None:
        """``console`` receives a line on each (re)connection (default: the info log)."""
        names = [a.name for a in config.agents]
        if len(set(names)) != len(names) or config.name in names:
            raise ValueError(
                f"agent names must be unique and differ from the daemon's name ({config.name!r})"
            )
        self.config = config
        self.topics = Topics(config.prefix)
        self.stopping = asyncio.Event()
        self.started = time.time()
        self.instance = secrets.token_hex(6)
        """This run of the daemon, in its statuses and health: who holds a name (probe.py)."""
        self.services = {
            spec.name: AgentService(
                spec,
                self._agent_publisher(spec.name),
                daemon=config.name,
                instance=self.instance,
            )
            for spec in config.agents
        }
        self.bridges: dict[str, BusBridge] = {}
        self.stats = {
            "messages": 0,
            "bad_payloads": 0,
            "replies": 0,
            "unanswerable": 0,
            "internal_errors": 0,
        }
        self.connection = MqttConnection(
            config.broker,
            config.outgoing,
            client_id=config.broker.client_id or f"cogos-{config.name}",
            subscriptions=[self.topics.commands(config.name)]
            + [self.topics.commands(n) for n in names]
            + [self.topics.bus_in(n) for n in names],
            will_topic=self.topics.status(config.name),
            on_message=self.on_message,
            on_connect=self._announce,
        )
        self._broker: EmbeddedBroker | None = None
        self._console = console or (lambda line: log.info("%s", line))

    # -- publishing -----------------------------------------------------------------------------

    def _agent_publisher(self, agent: str) -> Any:
        async def publish(kind: str, payload: Any, qos: int, retain: bool) -> None:
            await self.connection.publish(
                Outgoing(self.topics.event(agent, kind), encode(payload), qos, retain)
            )

        return publish

    async def _announce(self) -> None:
        """(Re)connected: say so on the console; the retained statuses say who is here."""
        self._console(self.connected_line())
        online = {"state": "online", "agents": list(self.services), **self._identity()}
        await self.connection.publish(
            Outgoing(self.topics.status(self.config.name), encode(online), 1, True)
        )
        for service in self.services.values():
            await self.connection.publish(
                Outgoing(self.topics.status(service.name), encode(service.status()), 1, True)
            )

    def connected_line(self) -> str:
        """``cogos daemon: connected to mqtt://localhost:1883 (MQTT 5), prefix cogos, ...``."""
        b = self.config.broker
        url = f"{'mqtts' if b.tls is not None else 'mqtt'}://{b.host}:{b.port}"
        outage = self.connection.outage
        if self.connection.connections > 1 and outage is not None:
            return f"cogos daemon: reconnected to {url} after {outage:.1f} s without a connection"
        protocol = "MQTT 5" if b.mqtt5 else "MQTT 3.1.1"
        if b.mode == "embedded":
            protocol += ", embedded broker"
        agents = ", ".join(self.services) or "none"
        return (
            f"cogos daemon: connected to {url} ({protocol}), "
            f"prefix {self.config.prefix}, agents: {agents}"
        )

    def reply_route(
        self, message: aiomqtt.Message, request: dict[str, Any] | None
    ) -> tuple[str, bytes | None] | None:
        """Where a request's reply goes, with its correlation data (None: fire and forget).

        That is the MQTT 5 response topic, or else the payload's ``reply_to`` (MQTT 3.1.1).

        Raises :class:`Unanswerable` for a reply topic the daemon must not publish to (a
        wildcard, not UTF-8, too long, reserved, or one of the daemon's own topics).
        """
        props = message.properties
        topic: Any = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        if topic is None and request is not None and "reply_to" in request:
            topic = request["reply_to"]
        if topic is None:
            return None
        problem = reply_topic_problem(topic, self.topics)
        if problem is not None:
            raise Unanswerable(problem)
        return topic, correlation

    async def send_reply(self, route: tuple[str, bytes | None] | None, body: bytes) -> None:
        if route is None:
            return  # a fire-and-forget command
        self.stats["replies"] += 1
        await self.connection.publish(Outgoing(route[0], body, 1, False, route[1]))

    def _unanswerable(self, topic: str, problem: str) -> None:
        """Drop a request whose reply cannot be sent: counted, and logged (rate-limited)."""
        self.stats["unanswerable"] += 1
        count = self.stats["unanswerable"]
        if count & (count - 1) == 0:
            log.warning(
                "a request on %s cannot be answered (%s): dropped%s",
                topic,
                problem,
                f" ({count} so far)" if count > 1 else "",
            )

    # -- incoming -------------------------------------------------------------------------------

    async def on_message(self, message: aiomqtt.Message) -> None:
        """Handle one incoming message; nothing it holds can raise out of the MQTT task."""
        self.stats["messages"] += 1
        try:
            await self._handle_message(message)
        except Exception:  # a bug: logged and counted, and the daemon goes on
            self.stats["internal_errors"] += 1
            log.exception("handling a message on %s failed", message.topic)

    async def _handle_message(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        payload = (
            message.payload
            if isinstance(message.payload, bytes)
            else str(message.payload or "").encode()
        )
        raw: dict[str, Any] | None = None  # decoded once, here
        undecodable: CommandError | None = None
        try:
            raw = decode_payload(payload, self.config.max_payload_bytes)
        except CommandError as exc:
            undecodable = exc
        try:
            route = self.reply_route(message, raw)
        except Unanswerable as exc:
            self._unanswerable(topic, str(exc))
            return
        bus_prefix = f"{self.topics.prefix}/"
        if "/bus/in/" in topic and topic.startswith(bus_prefix):
            agent, _, bus_topic = topic[len(bus_prefix) :].partition("/bus/in/")
            await self._bridge_in(agent, bus_topic, payload, route)
            return
        target = self.topics.split_command(topic)
        if target is None:
            return
        agent, name = target
        if self.stopping.is_set():
            await self.send_reply(route, error("shutting_down", "the daemon is stopping"))
            return
        try:
            if agent == self.config.name and name != "health":
                raise CommandError(
                    "unknown_command",
                    f"daemon {agent!r} answers health only; send {name!r} to one of its "
                    f"agents ({self.topics.command('<agent>', name or '<command>')})",
                )
            schema = command_schema(name)
            if undecodable is not None:
                raise undecodable
            assert raw is not None
            # MQTT 3.1.1 reply routing is not a field of the command
            command = validate_command(schema, {k: v for k, v in raw.items() if k != "reply_to"})
        except CommandError as exc:
            self.stats["bad_payloads"] += 1
            await self.send_reply(route, error(exc.kind, str(exc)))
            return
        if agent == self.config.name:
            await self.send_reply(route, ok(self.health()))
            return
        service = self.services.get(agent)
        if service is None:
            await self.send_reply(route, error("unknown_agent", f"no agent {agent!r}"))
            return

        async def answer(result: Any) -> None:
            await self.send_reply(route, encode(result))

        service.queue.put_nowait((command, answer, (name, hash(payload))))

    async def _bridge_in(
        self, agent: str, topic: str, payload: bytes, route: tuple[str, bytes | None] | None
    ) -> None:
        bridge = self.bridges.get(agent)
        try:
            if bridge is None:
                raise CommandError("unknown_agent", f"no bridged agent {agent!r}")
            await bridge.inject(topic, payload)
        except CommandError as exc:
            self.stats["bad_payloads"] += 1
            await self.send_reply(route, error(exc.kind, str(exc)))
        except Exception as exc:
            log.warning("bridge into %s failed: %s", agent, exc)

    def _identity(self) -> dict[str, Any]:
        """Who this daemon is, in its status and health: what a refused namesake reports."""
        return {
            "since": self.started,
            "daemon": self.config.name,
            "instance": self.instance,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    def health(self) -> dict[str, Any]:
        return {
            **self._identity(),
            "uptime": time.time() - self.started,
            "agents": {name: s.status() for name, s in self.services.items()},
            "connected": self.connection.connected.is_set(),
            "connections": self.connection.connections,
            "takeovers": self.connection.takeovers,
            "outgoing_pending": self.connection.pending(),
            "outgoing_dropped": self.connection.dropped,
            **self.stats,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    async def _metrics(self) -> None:
        while True:
            await asyncio.sleep(
                min(s.spec.metrics_every for s in self.services.values()) if self.services else 5.0
            )
            for service in self.services.values():
                if "metrics" in service.spec.events and service.agent is not None:
                    await service.publish("metrics", service.metrics(), 0, False)

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stopping.set)

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT (or ``stopping`` is set), then shut down gracefully."""
        self._install_signals()
        if self.config.broker.mode == "embedded":
            self._broker = EmbeddedBroker(self.config.broker.host, self.config.broker.port)
            await self._broker.start()
        tasks: list[asyncio.Task[Any]] = []
        failed: asyncio.Task[Any] | None = None
        crashed = True  # until it stops as it should: a crash leaves the broker its last will
        try:
            if not await self._check_names():  # before any memory opens, and before connecting
                crashed = False
                return
            for service in self.services.values():
                await service.start()
                spec = service.spec
                if service.agent is not None and (spec.bridge.out or spec.bridge.into):
                    self.bridges[service.name] = BusBridge(
                        service.agent.bus,
                        out=spec.bridge.out,
                        into=spec.bridge.into,
                        publish=self._bridge_publisher(service.name),
                    )
            settle_collector()  # the agents are built: what they hold lives as long as we do
            loop = asyncio.get_running_loop()
            tasks.append(loop.create_task(self.connection.run(), name="mqtt"))
            tasks.append(loop.create_task(self._metrics(), name="metrics"))
            for service in self.services.values():
                tasks.append(loop.create_task(service.serve(), name=f"commands:{service.name}"))
                if service.spec.autostart and not service.external:
                    await service.handle(_autostart(service.spec.autostart))
            log.info("daemon %s serving %d agent(s)", self.config.name, len(self.services))
            stop = loop.create_task(self.stopping.wait(), name="stopping")
            done, _ = await asyncio.wait({stop, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            failed = next((t for t in tasks if t in done), None)
            crashed = failed is not None
        finally:
            await self._shutdown(tasks, crashed=crashed)
        if failed is not None:
            raise _task_failure(failed)

    async def _check_names(self) -> bool:
        """Refuse to start if a live daemon holds one of our names (see daemon/probe.py).

        False if the daemon was told to stop first (the broker may be unreachable for long).
        An embedded broker has just started in this process, empty: nobody else holds a name
        there (and amqtt, once a client has subscribed to a ``+`` filter, sends retained
        messages to later subscribers of other topics).
        """
        if self.config.broker.mode == "embedded":
            return True
        probe = NameProbe(
            self.config.broker,
            client_id=self.connection.client_id,
            prefix=self.config.prefix,
            daemon=self.config.name,
            agents=list(self.services),
            report=self.connection._unreachable,
        )
        loop = asyncio.get_running_loop()
        check = loop.create_task(probe.run(), name="name check")
        stop = loop.create_task(self.stopping.wait(), name="stopping")
        try:
            await asyncio.wait({check, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not check.done():
                check.cancel()
                await asyncio.gather(check, return_exceptions=True)
        if check.cancelled():
            return False
        check.result()  # DaemonRefused: the name is taken, or the broker refuses us
        return True

    def _bridge_publisher(self, agent: str) -> Any:
        async def publish(topic: str, payload: bytes) -> None:
            await self.connection.publish(
                Outgoing(self.topics.bus_out(agent, topic), payload, 1, False)
            )

        return publish

    async def _shutdown(self, tasks: list[asyncio.Task[Any]], *, crashed: bool = False) -> None:
        """Stop the agents, say ``offline``, and leave the broker.

        ``crashed`` (a task failed, or an error is on its way out), or an ``offline`` that did
        not go out in time: the session ends so that the broker publishes the last will, not
        with a clean DISCONNECT, which would make it discard the will and leave the retained
        status ``online``.
        """
        log.info("daemon %s stopping: finishing cycles, flushing memory", self.config.name)
        will = crashed
        for bridge in self.bridges.values():
            bridge.close()
        for service in self.services.values():
            with contextlib.suppress(Exception):
                await service.stop()
        await self.connection.publish(
            Outgoing(self.topics.status(self.config.name), encode({"state": "offline"}), 1, True)
        )
        if self.connection.connected.is_set():
            wait = self.config.outgoing.flush_timeout
            flushed = await self.connection.flush(timeout=wait)
            if not flushed and self.connection.shed_best_effort():
                flushed = await self.connection.flush(timeout=wait)
            if not flushed:
                log.warning("stopping with %d message(s) unsent", self.connection.pending())
                will = True
        await self.connection.disconnect(will=will)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._broker is not None:
            await self._broker.stop()
        log.info("daemon %s stopped", self.config.name)


def _task_failure(task: asyncio.Task[Any]) -> CogOSError:
    """The error for a task that ended before shutdown.

    The daemon must not go on half-alive (serving without a broker connection, say), so it
    stops and exits non-zero.
    """
    exc = None if task.cancelled() else task.exception()
    if isinstance(exc, CogOSError):
        return exc
    log.error("the daemon's %s task ended", task.get_name(), exc_info=exc)
    return CogOSError(f"the daemon's {task.get_name()} task ended: {exc!r}")


def _autostart(episodes: int) -> Any:
    from cogos.daemon.protocol import StartEpisodes

    return StartEpisodes(episodes=episodes)


def load_daemon_config(path: str | Path, overrides: list[str] | None = None) -> DaemonConfig:
    """Read, override and validate a daemon config (errors name the file, line and key)."""
    from cogos.config.loader import load_model

    config, _ = load_model(path, DaemonConfig, overrides or [])
    return config.resolve(Path(os.path.dirname(os.path.abspath(path))))
