"""``cogos daemon CONFIG``: agents that keep running, with their memory, driven over MQTT.

The daemon connects to the broker (or starts an embedded one), starts every configured agent
with its persistent memory OS, and then serves: commands arrive per agent and are answered on
the request's MQTT 5 response topic; cycle, episode and metrics events go out; each agent's
retained ``status`` says what it is doing, and the daemon's last will marks it ``offline``.
On SIGTERM or SIGINT it stops taking commands, lets every agent finish its current cycle,
flushes and closes each memory (so nothing acknowledged is lost), publishes ``offline`` and
disconnects. Started again on the same config, every agent's memory is recovered from its WAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

from cogos.daemon.agent_service import AgentService, encode
from cogos.daemon.bridge import BusBridge
from cogos.daemon.broker import EmbeddedBroker
from cogos.daemon.config import DaemonConfig
from cogos.daemon.connection import MqttConnection, Outgoing
from cogos.daemon.protocol import (
    CommandError,
    Topics,
    command_schema,
    decode_payload,
    error,
    ok,
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
        self.services = {
            spec.name: AgentService(spec, self._agent_publisher(spec.name))
            for spec in config.agents
        }
        self.bridges: dict[str, BusBridge] = {}
        self.stats = {"messages": 0, "bad_payloads": 0, "replies": 0}
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
        await self.connection.publish(
            Outgoing(
                self.topics.status(self.config.name),
                encode({"state": "online", "agents": list(self.services), "since": self.started}),
                1,
                True,
            )
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

    async def reply(
        self, message: aiomqtt.Message, body: bytes, request: dict[str, Any] | None
    ) -> None:
        """Answer on the MQTT 5 response topic (or, for 3.1.1, the payload's ``reply_to``)."""
        props = message.properties
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        if topic is None and request is not None:
            topic = request.get("reply_to") if isinstance(request.get("reply_to"), str) else None
        if topic is None:
            return  # a fire-and-forget command
        self.stats["replies"] += 1
        await self.connection.publish(Outgoing(topic, body, 1, False, correlation))

    # -- incoming -------------------------------------------------------------------------------

    async def on_message(self, message: aiomqtt.Message) -> None:
        self.stats["messages"] += 1
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
        bus_prefix = f"{self.topics.prefix}/"
        if "/bus/in/" in topic and topic.startswith(bus_prefix):
            agent, _, bus_topic = topic[len(bus_prefix) :].partition("/bus/in/")
            await self._bridge_in(agent, bus_topic, payload, message, raw)
            return
        target = self.topics.split_command(topic)
        if target is None:
            return
        agent, name = target
        if self.stopping.is_set():
            await self.reply(message, error("shutting_down", "the daemon is stopping"), raw)
            return
        try:
            schema = command_schema(name)
            if undecodable is not None:
                raise undecodable
            assert raw is not None
            # MQTT 3.1.1 reply routing is not a field of the command
            command = validate_command(schema, {k: v for k, v in raw.items() if k != "reply_to"})
        except CommandError as exc:
            self.stats["bad_payloads"] += 1
            await self.reply(message, error(exc.kind, str(exc)), raw)
            return
        if agent == self.config.name:
            await self.reply(message, ok(self.health()), raw)
            return
        service = self.services.get(agent)
        if service is None:
            await self.reply(message, error("unknown_agent", f"no agent {agent!r}"), raw)
            return

        async def answer(result: Any) -> None:
            await self.reply(message, encode(result), raw)

        service.queue.put_nowait((command, answer))

    async def _bridge_in(
        self,
        agent: str,
        topic: str,
        payload: bytes,
        message: aiomqtt.Message,
        raw: dict[str, Any] | None,
    ) -> None:
        bridge = self.bridges.get(agent)
        try:
            if bridge is None:
                raise CommandError("unknown_agent", f"no bridged agent {agent!r}")
            await bridge.inject(topic, payload)
        except CommandError as exc:
            self.stats["bad_payloads"] += 1
            await self.reply(message, error(exc.kind, str(exc)), raw)
        except Exception as exc:
            log.warning("bridge into %s failed: %s", agent, exc)

    def health(self) -> dict[str, Any]:
        return {
            "daemon": self.config.name,
            "uptime": time.time() - self.started,
            "agents": {name: s.status() for name, s in self.services.items()},
            "connected": self.connection.connected.is_set(),
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
        try:
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
        finally:
            await self._shutdown(tasks)
        if failed is not None:
            raise _task_failure(failed)

    def _bridge_publisher(self, agent: str) -> Any:
        async def publish(topic: str, payload: bytes) -> None:
            await self.connection.publish(
                Outgoing(self.topics.bus_out(agent, topic), payload, 1, False)
            )

        return publish

    async def _shutdown(self, tasks: list[asyncio.Task[Any]]) -> None:
        log.info("daemon %s stopping: finishing cycles, flushing memory", self.config.name)
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
        await self.connection.disconnect()
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
