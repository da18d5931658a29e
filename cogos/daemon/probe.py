"""The name check at start: whether another live daemon already serves one of our names.

Topics are per name (``<prefix>/<name>/cmd/...``), so two daemons of one name, or one agent name
on two daemons, would both take each command and both answer it; and two daemons of one name
share a client id, so the broker would keep handing the session from one to the other. Before
the daemon connects for real (which would take a live daemon's session over), a short-lived
probe connection, with a client id of its own and no session to keep, looks:

1. It subscribes to the retained statuses (``<prefix>/+/status``) and to a private topic, and
   publishes a QoS 1 marker there: once the marker comes back, every retained status has been
   delivered before it. No sleeping, and a fresh broker costs one round trip.
2. For the daemon's name and each agent name whose retained status is not ``offline``, it sends
   a ``health`` command to the daemon that the status names (or to the name itself), with a
   reply topic under its private topic, and waits up to ``broker.probe_timeout`` seconds. The
   daemon's own name is asked about too when its status is ``offline`` but its agents'
   statuses are not: only its last will does that (a kill, a crash, or a connection that took
   over its client id). After a clean stop, every status is ``offline``: no wait.
3. An answer means a live daemon holds the name: :class:`DaemonRefused`, which the CLI turns
   into one line and exit code 2. No answer: the status is stale (its daemon died without its
   last will reaching the broker); a warning, and the daemon starts.

If the broker takes the probe's own connection away (reason code 0x8E, or twice without a
reason), another client holds the probe's client id. That happens under mosquitto's
``use_username_as_clientid`` when another client is logged in with the daemon's credentials:
most likely a live daemon of the same broker user, so the start is refused as well.

While the broker cannot be reached, the probe retries with the connection's backoff and
warnings; refused credentials or a failing TLS handshake end it after ``broker.auth_attempts``
tries, as they would end the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cogos.daemon.config import BrokerSpec
from cogos.daemon.connection import (
    SESSION_TAKEN_OVER,
    client_credentials,
    count_refusal,
    disconnect_reason,
)
from cogos.daemon.protocol import Topics
from cogos.errors import DaemonRefused

log = logging.getLogger("cogos.daemon.probe")

ReportFailure = Callable[[BaseException, int, float, float], None]
"""``report(error, failures, seconds_down, next_delay)``: a failed connection attempt."""

LOSSES = 2
"""Probe connections lost while checking (without reason code 0x8E) before the start is refused:
one may be the network; two in a row, another client holding the probe's client id."""


def _json(payload: Any) -> dict[str, Any] | None:
    if not isinstance(payload, bytes | bytearray) or not payload:
        return None
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _when(t: Any) -> str:
    if not isinstance(t, int | float) or isinstance(t, bool):
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


class NameProbe:
    """See the module docstring. ``run()`` returns when the names are free (or stale)."""

    def __init__(
        self,
        broker: BrokerSpec,
        *,
        client_id: str,
        prefix: str,
        daemon: str,
        agents: list[str],
        report: ReportFailure | None = None,
    ) -> None:
        self.broker = broker
        self.topics = Topics(prefix)
        self.daemon = daemon
        self.names = [(daemon, "daemon"), *((a, "agent") for a in agents)]
        token = secrets.token_hex(4)
        self.identifier = f"{client_id}-probe-{token}"
        self.base = f"{self.topics.prefix}/{daemon}/probe/{token}"
        self.report = report or (lambda *_: None)

    @property
    def address(self) -> str:
        return f"{self.broker.host}:{self.broker.port}"

    def _client(self) -> aiomqtt.Client:
        b = self.broker
        kwargs: dict[str, Any] = {}
        if b.mqtt5:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=True)
        else:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=True)
        return aiomqtt.Client(
            b.host,
            b.port,
            identifier=self.identifier,
            keepalive=b.keepalive,
            timeout=10,
            **kwargs,
            **client_credentials(b),
        )

    async def run(self) -> None:
        """Check the names; raises :class:`DaemonRefused` if one is taken."""
        b = self.broker
        if b.probe_timeout <= 0:
            return
        loop = asyncio.get_running_loop()
        delay = b.reconnect_initial
        failures = refused = losses = 0
        began = loop.time()
        while True:
            connected = False
            try:
                async with self._client() as client:
                    connected = True
                    await self._check(client)
                    return
            except aiomqtt.MqttError as error:
                if connected:
                    losses += 1
                    if disconnect_reason(error) == SESSION_TAKEN_OVER or losses >= LOSSES:
                        raise self._kicked(error, losses) from None
                    log.warning(
                        "the connection that checks the daemon's names was lost (%s); "
                        "checking again",
                        error,
                    )
                else:
                    failures += 1
                    refused = count_refusal(b, error, refused)  # raises at broker.auth_attempts
                    self.report(error, failures, loop.time() - began, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, b.reconnect_max)

    # -- one check ----------------------------------------------------------------------------

    async def _check(self, client: aiomqtt.Client) -> None:
        statuses = await self._retained(client)
        asks: dict[str, list[tuple[str, str]]] = {}  # whom to ask -> the names it would hold
        for name, kind in self.names:
            status = statuses.get(self.topics.status(name))
            if status is None:
                continue
            if status.get("state") == "offline":
                if kind == "daemon" and self._left_agents(name, statuses):
                    asks.setdefault(name, []).append((name, kind))
                continue
            holder: str = name
            if not isinstance(status.get("agents"), list) and isinstance(status.get("daemon"), str):
                holder = status["daemon"]
            asks.setdefault(holder, []).append((name, kind))
        log.info(
            "name check: %d retained status(es) under %s/; %s",
            len(statuses),
            self.topics.prefix,
            f"asking {', '.join(asks)}" if asks else "no name of ours is live",
        )
        if asks:  # else, on a fresh broker say, nothing to wait for
            await self._ask(client, asks, statuses)

    def _left_agents(self, daemon: str, statuses: dict[str, dict[str, Any]]) -> bool:
        """Whether ``daemon`` is ``offline`` while statuses of its agents are not.

        A daemon that stops says ``offline`` for each agent, then for itself. Only its last will
        leaves the agents as they were: it was killed, or crashed, or, if another connection
        took over its client id (under use_username_as_clientid: this probe's, with the same
        broker user), it is reconnecting now. Only an answer tells which.
        """
        return any(
            s.get("daemon") == daemon and s.get("state") != "offline"
            for s in statuses.values()
            if "agents" not in s
        )

    async def _retained(self, client: aiomqtt.Client) -> dict[str, dict[str, Any]]:
        """Every retained status under the prefix, up to the marker's echo."""
        status_filter = self.topics.status("+")
        marker = f"{self.base}/end"
        await client.subscribe(status_filter, qos=1)
        await client.subscribe(f"{self.base}/#", qos=1)
        await client.publish(marker, b"", qos=1)
        statuses: dict[str, dict[str, Any]] = {}
        try:
            async with asyncio.timeout(self.broker.probe_timeout):
                async for message in client.messages:
                    if str(message.topic) == marker:
                        break
                    if message.topic.matches(status_filter):
                        body = _json(message.payload)
                        if body is not None:
                            statuses[str(message.topic)] = body
        except TimeoutError:
            log.warning(
                "name check: the marker published on %s did not come back within %g s, so some "
                "retained statuses may be missing; does the broker's ACL let user %s publish and "
                "subscribe under %s/%s/probe/#?",
                marker,
                self.broker.probe_timeout,
                self.broker.username or "(anonymous)",
                self.topics.prefix,
                self.daemon,
            )
        return statuses

    async def _ask(
        self,
        client: aiomqtt.Client,
        asks: dict[str, list[tuple[str, str]]],
        statuses: dict[str, dict[str, Any]],
    ) -> None:
        """Send ``health`` to each holder; raise on the first that answers for a name of ours."""
        replies = f"{self.base}/reply/"
        for holder in asks:
            reply_to = replies + holder
            payload: dict[str, Any] = {}
            props = None
            if self.broker.mqtt5:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.ResponseTopic = reply_to
                props.CorrelationData = holder.encode()
            else:
                payload["reply_to"] = reply_to
            await client.publish(
                self.topics.command(holder, "health"),
                json.dumps(payload).encode(),
                qos=1,
                properties=props,
            )
        waiting = set(asks)
        try:
            async with asyncio.timeout(self.broker.probe_timeout):
                async for message in client.messages:
                    topic = str(message.topic)
                    holder = topic[len(replies) :] if topic.startswith(replies) else ""
                    if holder not in waiting:
                        continue
                    waiting.discard(holder)
                    self._answered(holder, asks[holder], _json(message.payload) or {}, statuses)
                    if not waiting:
                        break
        except TimeoutError:
            pass
        for holder in waiting:
            for name, _ in asks[holder]:
                state = (statuses.get(self.topics.status(name)) or {}).get("state")
                log.warning(
                    "name check: the retained statuses say %r may be live (state %r%s), but "
                    "nothing answered a health check on %s within %g s: they are stale (left by "
                    "a daemon that was killed or crashed); starting",
                    name,
                    state,
                    ", its agents' left as they were" if state == "offline" else "",
                    self.topics.command(holder, "health"),
                    self.broker.probe_timeout,
                )

    def _answered(
        self,
        holder: str,
        names: list[tuple[str, str]],
        reply: dict[str, Any],
        statuses: dict[str, dict[str, Any]],
    ) -> None:
        result = reply.get("result") if reply.get("ok") is True else None
        error = reply.get("error") if isinstance(reply.get("error"), dict) else None
        served = result.get("agents") if isinstance(result, dict) else None
        for name, kind in names:
            if (
                name != holder
                and isinstance(served, dict | list)
                and name not in served
                and error is None
            ):
                log.warning(
                    "name check: the retained status of %r names daemon %r, which is live but "
                    "does not serve it any more: taken as stale; starting",
                    name,
                    holder,
                )
                continue
            raise self._taken(name, kind, holder, result, error, statuses)

    # -- what the user reads ------------------------------------------------------------------

    def _taken(
        self,
        name: str,
        kind: str,
        holder: str,
        result: Any,
        error: dict[str, Any] | None,
        statuses: dict[str, dict[str, Any]],
    ) -> DaemonRefused:
        info = result if isinstance(result, dict) else {}
        status = statuses.get(self.topics.status(holder)) or {}
        details = [
            f"instance {v}"
            for v in [info.get("instance") or status.get("instance")]
            if isinstance(v, str)
        ]
        pid, host = info.get("pid") or status.get("pid"), info.get("host") or status.get("host")
        if pid is not None:
            details.append(f"pid {pid}" + (f" on host {host}" if host else ""))
        since = info.get("since") or status.get("since")
        who = f"daemon {holder!r}" + (f" ({', '.join(details)})" if details else "")
        if since is not None:
            who += f", online since {_when(since)},"
        what = "this daemon's name" if kind == "daemon" else "the agent name"
        where = f"on {self.address} under prefix {self.topics.prefix!r}"
        fix = (
            "give this daemon another name (name: in its config)"
            if kind == "daemon"
            else f"give this agent another name (agents[].name: {name!r} in the config)"
        )
        if error is not None and error.get("type") == "shutting_down":
            return DaemonRefused(
                f"{what} {name!r} is still held {where}: {who} is stopping. Start this daemon "
                "again once it has exited",
                reason="name_taken",
                key="name" if kind == "daemon" else "agents",
            )
        if holder == name and kind == "agent" and not isinstance(info.get("agents"), dict):
            who = "a live daemon"
        return DaemonRefused(
            f"{what} {name!r} is taken {where}: {who} serves it and answered a health check on "
            f"{self.topics.command(holder, 'health')}. "
            f"Stop that daemon first, or {fix}",
            reason="name_taken",
            key="name" if kind == "daemon" else "agents",
        )

    def _kicked(self, error: BaseException, losses: int) -> DaemonRefused:
        user = self.broker.username
        taken = disconnect_reason(error) == SESSION_TAKEN_OVER
        how = (
            "handed its session to another connection (reason code 0x8E)"
            if taken
            else f"closed it {losses} times while it checked ({error})"
        )
        cause = (
            f"Under mosquitto's use_username_as_clientid the client id is the user name, so "
            f"another client logged in as broker user {user!r}, most likely a daemon already "
            "running with these credentials, holds it: give each daemon a broker user of its own"
            if user
            else "Another client holds that client id"
        )
        return DaemonRefused(
            f"the broker at {self.address} took the name check's connection away (client id "
            f"{self.identifier!r}): it {how}. {cause} (see 'Names and client ids' in "
            "docs/mqtt.md)",
            reason="name_taken",
            key="broker.username",
        )
