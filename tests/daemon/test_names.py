"""Names and client ids: one live daemon per name, and what one client can do to a daemon.

* At start, a probe connection asks whoever the retained statuses say holds the daemon's name
  or an agent's name; an answer refuses the start (exit 2, one line naming the holder), stale
  statuses do not, and a fresh broker is not waited on.
* A session lost to another connection with the daemon's client id is reported: by reason code
  0x8E where the broker sends it, and as sessions that keep ending where it does not (mosquitto
  2.0.11); the daemon reconnects with backoff.
* The broker refusing the credentials, or a failing TLS handshake, ends the daemon with exit 2
  after ``broker.auth_attempts`` tries.
* A crashing daemon leaves its status ``offline``: the broker publishes its last will.
* Under mosquitto's ``use_username_as_clientid``, a client cannot take the daemon's client id;
  a second daemon of the same name is refused, whether it logs in as the same broker user or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from cogos.daemon.config import BrokerSpec, OutgoingSpec
from cogos.daemon.connection import MqttConnection
from cogos.errors import DaemonRefused
from tests.daemon.conftest import MakeDaemon
from tests.daemon.support import (
    MOSQUITTO_PASSWD,
    Client,
    DaemonProcess,
    Mosquitto,
    TcpProxy,
    daemon_config,
    drain,
    external_agent,
    maze_agent,
    next_matching,
    requires_mosquitto,
    retained,
    tracebacks,
)
from tests.daemon.test_console import wait_for_line

pytestmark = [pytest.mark.broker, requires_mosquitto]

OPENSSL = shutil.which("openssl")
PASSWORDS = {"cogos": "daemon-secret", "cogos2": "other-secret", "operator": "operator-secret"}
ACL = """\
user cogos
topic readwrite t/#
topic write replies/#

user cogos2
topic readwrite t/#
topic write replies/#

user operator
topic write t/+/cmd/#
topic read t/#
topic read replies/operator/#
"""
PASSWORD_ENV = "COGOS_TEST_MQTT_PASSWORD"


async def exit_code(process: DaemonProcess, timeout: float = 30.0) -> int:
    """The daemon's exit code, once it has exited on its own."""
    assert process.proc is not None
    try:
        return await asyncio.to_thread(process.proc.wait, timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the daemon is still running:\n{process.stderr()[-3000:]}") from None


def error_line(process: DaemonProcess) -> str:
    """The CLI's one ``error: ...`` line."""
    lines = [line for line in process.stderr().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, process.stderr()[-3000:]
    return lines[0]


async def wait_online(client: Client, process: DaemonProcess, timeout: float = 30.0) -> None:
    """Until the daemon's retained status says ``online`` since this start (any protocol)."""
    status = await client.watch(f"{process.prefix}/{process.name}/status")
    async with asyncio.timeout(timeout):
        while True:
            if not process.running():
                raise AssertionError(f"the daemon exited:\n{process.stderr()[-3000:]}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):
                    body = json.loads((await status.get()).payload)
                    if body.get("state") == "online" and body["since"] >= process.started_at:
                        return


async def publish_retained(port: int, messages: dict[str, dict[str, Any]]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as mqtt:
        for topic, body in messages.items():
            await mqtt.publish(topic, json.dumps(body).encode(), qos=1, retain=True)


# -- the name check at start --------------------------------------------------------------------


async def test_a_fresh_broker_is_not_waited_on(
    standard_config: dict[str, Any], daemons: MakeDaemon, client: Client
) -> None:
    daemon = daemons(standard_config)
    health = await daemon.wait_ready(client)
    assert "name check: 0 retained status(es) under t/; no name of ours is live" in daemon.stderr()
    assert "nothing answered" not in daemon.stderr()
    # who the daemon is, in its health and in every retained status
    assert health["instance"] and health["pid"] == daemon.proc.pid  # type: ignore[union-attr]
    assert health["connections"] == 1 and health["takeovers"] == 0
    statuses = await retained(client.port, ["t/cogosd/status", "t/ext/status"])
    assert statuses["t/cogosd/status"]["instance"] == health["instance"]
    assert statuses["t/ext/status"]["daemon"] == "cogosd"
    assert statuses["t/ext/status"]["instance"] == health["instance"]

    # stopped cleanly, every status says offline: the next start does not wait either
    code, _ = daemon.terminate()
    assert code == 0
    daemon.start()
    await daemon.wait_ready(client)
    assert "no name of ours is live" in daemon.stderr()


async def test_a_second_daemon_of_the_same_name_is_refused(
    daemon: DaemonProcess, daemons: MakeDaemon, client: Client, broker: Mosquitto
) -> None:
    first = await client.ok("cogosd", "health")
    second = daemons(daemon_config(broker.port, []), name="second")
    assert await exit_code(second) == 2
    line = error_line(second)
    assert re.fullmatch(
        rf"error: this daemon's name 'cogosd' is taken on 127\.0\.0\.1:{broker.port} under "
        rf"prefix 't': daemon 'cogosd' \(instance {first['instance']}, pid {first['pid']} on "
        r"host \S+\), online since [\d-]+ [\d:]+, serves it and answered a health check on "
        r"t/cogosd/cmd/health\. Stop that daemon first, or give this daemon another name "
        r"\(name: in its config\)",
        line,
    ), line
    assert not tracebacks(second.stderr())
    # the probe had a client id of its own: the first daemon never noticed
    health = await client.ok("cogosd", "health")
    assert health["connections"] == 1 and health["takeovers"] == 0


async def test_an_agent_name_on_two_daemons_is_refused_before_its_memory_opens(
    daemon: DaemonProcess, daemons: MakeDaemon, client: Client, broker: Mosquitto, tmp_path: Path
) -> None:
    first = await client.ok("cogosd", "health")
    memory = tmp_path / "other-memory" / "ext"
    other = daemons(
        daemon_config(broker.port, [external_agent("ext", memory)], name="other"), name="other"
    )
    assert await exit_code(other) == 2
    line = error_line(other)
    assert line.startswith(
        f"error: the agent name 'ext' is taken on 127.0.0.1:{broker.port} under prefix 't': "
        f"daemon 'cogosd' (instance {first['instance']}, "
    ), line
    assert line.endswith(
        "answered a health check on t/cogosd/cmd/health. Stop that daemon first, or give this "
        "agent another name (agents[].name: 'ext' in the config)"
    ), line
    assert not memory.exists(), "the refused daemon never opened the agent's memory"
    assert (await client.ok("cogosd", "health"))["connections"] == 1


async def test_stale_statuses_are_asked_then_passed_over(
    broker: Mosquitto, daemons: MakeDaemon, client: Client
) -> None:
    # a daemon that died where its will could not reach the broker (a host lost, say)
    await publish_retained(
        broker.port,
        {
            "t/cogosd/status": {"state": "online", "agents": ["ext"], "since": 1.0},
            "t/ext/status": {"state": "idle", "daemon": "cogosd", "instance": "gone"},
            # another daemon's agent, stopped: not ours to ask about
            "t/elsewhere/status": {"state": "offline"},
        },
    )
    config = daemon_config(
        broker.port, [external_agent("ext", None)], broker={"probe_timeout": 0.5}
    )
    daemon = daemons(config)
    await daemon.wait_ready(client)
    stderr = daemon.stderr()
    assert "name check: 3 retained status(es) under t/; asking cogosd" in stderr
    stale = [line for line in stderr.splitlines() if "nothing answered" in line]
    assert [re.search(r"say '(\w+)' may be live", s).group(1) for s in stale] == [  # type: ignore[union-attr]
        "cogosd",
        "ext",
    ], stale
    assert "on t/cogosd/cmd/health within 0.5 s" in stale[0]
    assert not tracebacks(stderr)


# -- the last will of a crashing daemon ---------------------------------------------------------

CRASHING = """\
# cogos daemon, with failures injected on command: test_names.py
import asyncio

from cogos.daemon.daemon import Daemon

_init = Daemon.__init__


def __init__(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.crash_metrics = asyncio.Event()


_on_message = Daemon.on_message


async def on_message(self, message):
    topic = str(message.topic)
    if topic.endswith("/cmd/crash"):
        raise RuntimeError("injected: the MQTT task fails")
    if topic.endswith("/cmd/crash-metrics"):
        self.crash_metrics.set()
        return
    await _on_message(self, message)


async def _metrics(self):
    await self.crash_metrics.wait()
    raise RuntimeError("injected: the metrics task fails")


Daemon.__init__ = __init__
Daemon.on_message = on_message
Daemon._metrics = _metrics

from cogos.cli.main import main

main()
"""


@pytest.mark.parametrize(
    ("task", "mqtt5"), [("mqtt", True), ("mqtt", False), ("metrics", True)], ids=str
)
async def test_a_crash_leaves_the_status_offline(
    broker: Mosquitto,
    daemons: MakeDaemon,
    client: Client,
    tmp_path: Path,
    task: str,
    mqtt5: bool,
) -> None:
    wrapper = tmp_path / "crashing_daemon.py"
    wrapper.write_text(CRASHING)
    config = daemon_config(
        broker.port,
        [external_agent("ext", None)],
        broker={"mqtt5": mqtt5, "probe_timeout": 0.5},
    )
    daemon = daemons(config, command=[str(wrapper), "-v", "daemon"])
    await wait_online(client, daemon)
    status = await client.watch("t/cogosd/status")
    trigger = "crash" if task == "mqtt" else "crash-metrics"
    await client.mqtt.publish(f"t/cogosd/cmd/{trigger}", b"{}", qos=1)
    assert await exit_code(daemon) == 1
    stderr = daemon.stderr()
    assert f"the daemon's {task} task ended" in stderr
    assert "left the MQTT session without a clean disconnect" in stderr
    # the broker sends the will once it sees the socket close: wait for it, not for the clock
    await next_matching(status, lambda s: s["state"] == "offline", 30)
    statuses = await retained(broker.port, ["t/cogosd/status", "t/ext/status"])
    assert statuses["t/cogosd/status"] == {"state": "offline"}
    if task == "metrics":  # the connection was up: the agents said offline too
        assert statuses["t/ext/status"]["state"] == "offline"
    else:  # only the will went out: the agent's status is as it was
        assert statuses["t/ext/status"]["state"] == "external"

        # the next start asks whether the daemon left behind is alive, briefly, and starts
        daemon.command = ["-m", "cogos.cli.main", "-v", "daemon"]
        daemon.start()
        await wait_online(client, daemon)
        assert "nothing answered a health check on t/cogosd/cmd/health" in daemon.stderr()


# -- another connection with the daemon's client id ---------------------------------------------


class TakeoverProxy(TcpProxy):
    """A :class:`TcpProxy` whose :meth:`take_over` does to each connection what a broker that
    says why does to a session another client takes: an MQTT 5 DISCONNECT with reason code 0x8E
    (session taken over), then the connection closes."""

    async def take_over(self) -> int:
        """Take every live connection over; how many there were."""
        pairs = [p for p in self._pairs if not p[0].transport.is_closing()]
        for client, upstream in pairs:
            client.write(b"\xe0\x02\x8e\x00")  # DISCONNECT, reason 0x8E, no properties
            with contextlib.suppress(ConnectionError):
                await client.drain()
            client.close()
            upstream.transport.abort()  # the broker sees the old connection fail: its will
        return len(pairs)


async def test_a_session_taken_over_is_reported_and_counted(
    broker: Mosquitto, daemons: MakeDaemon, client: Client
) -> None:
    async with TakeoverProxy(broker.port) as proxy:
        config = daemon_config(proxy.port, [external_agent("ext", None)])
        daemon = daemons(config)
        await daemon.wait_ready(client)
        status = await client.watch("t/cogosd/status")
        drain(status)
        assert await proxy.take_over() == 1
        await next_matching(status, lambda s: s["state"] == "offline", 10)
        await next_matching(status, lambda s: s["state"] == "online", 10)
        health = await client.ok("cogosd", "health")
        assert health["takeovers"] == 1 and health["connections"] == 2, health
        warning = await wait_for_line(daemon, "session taken over", 10)
        assert (
            "handed this daemon's session to another connection (reason code 0x8E, session taken "
            "over; 1 so far): most likely another client connects with this daemon's client id "
            "'cogos-cogosd'" in warning[0]
        ), warning
        assert "see 'Names and client ids' in docs/mqtt.md" in warning[0]
        code, _ = await asyncio.to_thread(daemon.terminate)  # the proxy runs in this loop
        assert code == 0


async def test_a_client_with_the_daemons_client_id_is_reported(
    daemon: DaemonProcess, client: Client, broker: Mosquitto
) -> None:
    """mosquitto 2.0.11 closes the older connection without a reason code: sessions that keep
    ending right after they begin, while every reconnection succeeds, are reported."""
    status = await client.watch("t/cogosd/status")
    drain(status)
    for _ in range(4):
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, identifier="cogos-cogosd", protocol=aiomqtt.ProtocolVersion.V5
        ):
            pass
        await next_matching(status, lambda s: s["state"] == "offline", 10)  # its last will
        await next_matching(status, lambda s: s["state"] == "online", 10)  # back
    health = await client.ok("cogosd", "health")
    assert health["connections"] == 5, health
    if health["takeovers"]:  # a broker that says why (reason code 0x8E): not mosquitto 2.0.11
        assert health["takeovers"] == 4, health
        warnings = await wait_for_line(daemon, "reason code 0x8E", 10)
    else:
        warnings = await wait_for_line(daemon, "keep ending soon after they begin", 10)
        assert re.search(r"\((3|4) in a row, each under 10 s\) although it accepts", warnings[0])
    assert "another client connects with this daemon's client id 'cogos-cogosd'" in warnings[0]


# -- credentials and TLS ------------------------------------------------------------------------


def write_passwords(path: Path, passwords: dict[str, str]) -> None:
    assert MOSQUITTO_PASSWD is not None
    for i, (user, password) in enumerate(passwords.items()):
        args = ["-c", "-b"] if i == 0 else ["-b"]
        subprocess.run([MOSQUITTO_PASSWD, *args, str(path), user, password], check=True)


@pytest.fixture
def clientid_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto with passwords, an ACL, and each connection's client id set to its user name."""
    if MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto_passwd is not on PATH (apt-get install mosquitto)")
    passwd = tmp_path / "passwd"
    write_passwords(passwd, PASSWORDS)
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    broker = Mosquitto(
        tmp_path / "clientid",
        anonymous=False,
        persistence=False,
        extra=[f"password_file {passwd}", f"acl_file {acl}", "use_username_as_clientid true"],
    )
    broker.start()
    yield broker
    broker.stop()


def secured_config(port: int, user: str = "cogos", **broker: Any) -> dict[str, Any]:
    return daemon_config(
        port,
        [external_agent("ext", None)],
        broker={"username": user, "password_env": PASSWORD_ENV, **broker},
    )


async def test_use_username_as_clientid_keeps_one_daemon_per_name(
    clientid_broker: Mosquitto, daemons: MakeDaemon
) -> None:
    port = clientid_broker.port
    daemon = daemons(secured_config(port), env={PASSWORD_ENV: PASSWORDS["cogos"]})
    # an operator who gives the daemon's client id keeps its own: its user name, operator
    async with Client(
        port,
        identifier="cogos-cogosd",
        username="operator",
        password=PASSWORDS["operator"],
        reply_base="replies/operator",
    ) as operator:
        await daemon.wait_ready(operator)
        status = await operator.watch("t/cogosd/status")
        assert (await operator.ok("ext", "health"))["alive"] is True
        health = await operator.ok("cogosd", "health")
        assert health["connections"] == 1, "no connection took the daemon's session"
        assert [s["state"] for s in drain(status)] == [], "no offline (a last will) since"

        # a second daemon of that name, under a broker user of its own: asked, and refused
        other_user = daemons(
            secured_config(port, "cogos2"), name="other-user", env={PASSWORD_ENV: "other-secret"}
        )
        assert await exit_code(other_user) == 2
        assert "this daemon's name 'cogosd' is taken" in error_line(other_user)
        assert (await operator.ok("cogosd", "health"))["connections"] == 1

        # under the same user, the probe's client id is the daemon's: the two push each other
        # off until the probe gives up, and the daemon is back
        same_user = daemons(
            secured_config(port), name="same-user", env={PASSWORD_ENV: PASSWORDS["cogos"]}
        )
        assert await exit_code(same_user) == 2
        line = error_line(same_user)
        assert line.startswith(
            f"error: the broker at 127.0.0.1:{port} took the name check's connection away "
            "(client id 'cogos-cogosd-probe-"
        ), line
        assert (
            "Under mosquitto's use_username_as_clientid the client id is the user name, so "
            "another client logged in as broker user 'cogos', most likely a daemon already "
            "running with these credentials, holds it: give each daemon a broker user of its own"
        ) in line
        await next_matching(status, lambda s: s["state"] == "online", 10)
        health = await operator.ok("cogosd", "health", timeout=10)
        assert health["connections"] >= 2
    # nor does one that gives the daemon's user name as its client id
    async with Client(
        port,
        identifier="cogos",
        username="operator",
        password=PASSWORDS["operator"],
        reply_base="replies/operator",
    ) as operator:
        before = health["connections"]
        assert (await operator.ok("cogosd", "health"))["connections"] == before
    assert not tracebacks(daemon.stderr())


async def test_a_wrong_password_ends_the_daemon_after_auth_attempts(
    clientid_broker: Mosquitto, daemons: MakeDaemon
) -> None:
    daemon = daemons(
        secured_config(clientid_broker.port, auth_attempts=2), env={PASSWORD_ENV: "wrong"}
    )
    assert await exit_code(daemon) == 2
    line = error_line(daemon)
    assert re.fullmatch(
        rf"error: the MQTT broker at 127\.0\.0\.1:{clientid_broker.port} refused the daemon's "
        r"connection 2 time\(s\) in a row \(\[code:135\] Not authorized\); check broker\.username "
        rf"\(cogos\) and broker\.password_env \(the password in \${PASSWORD_ENV}\), and that the "
        r"broker's password file and ACL let this user in",
        line,
    ), line
    assert not tracebacks(daemon.stderr())


async def test_the_connection_itself_gives_up_on_refused_credentials(
    clientid_broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's own connection (not only the probe before it) counts refusals in a row."""
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    broker = BrokerSpec(
        host="127.0.0.1",
        port=clientid_broker.port,
        username="cogos",
        password_env=PASSWORD_ENV,
        reconnect_initial=0.01,
        auth_attempts=3,
    )

    async def ignore(message: aiomqtt.Message) -> None:
        raise AssertionError("never connected")

    connection = MqttConnection(
        broker,
        OutgoingSpec(),
        client_id="cogos-unit",
        subscriptions=[],
        will_topic="t/unit/status",
        on_message=ignore,
    )
    with pytest.raises(DaemonRefused, match=r"3 time\(s\) in a row") as refused:
        await asyncio.wait_for(connection.run(), 30)
    assert refused.value.reason == "auth" and refused.value.key == "broker.username"


def openssl(command: str) -> None:
    """``openssl`` with ``command``'s words (paths under tmp_path have no spaces)."""
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *command.split()], check=True, capture_output=True)


def make_ca(workdir: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: its certificate and key."""
    cert, key = workdir / f"{name}.crt", workdir / f"{name}.key"
    openssl(f"req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN={name} -keyout {key} -out {cert}")
    return cert, key


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Path, Path]]:
    """mosquitto on a TLS listener; the CA that signed its certificate, and an unrelated CA."""
    if OPENSSL is None:
        pytest.skip("openssl is not on PATH")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, ca_key = make_ca(certs, "cogos-test-ca")
    other_ca, _ = make_ca(certs, "another-ca")
    key, csr, cert, ext = (certs / f"server.{e}" for e in ("key", "csr", "crt", "ext"))
    openssl(f"req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout {key} -out {csr}")
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        f"x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2 -extfile {ext} "
        f"-out {cert}"
    )
    broker = Mosquitto(
        tmp_path / "tls",
        persistence=False,
        extra=[f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"],
    )
    broker.start()
    yield broker, ca, other_ca
    broker.stop()


async def test_tls_with_another_ca_ends_the_daemon_after_auth_attempts(
    tls_broker: tuple[Mosquitto, Path, Path], daemons: MakeDaemon
) -> None:
    broker, ca, other_ca = tls_broker
    wrong = daemons(
        daemon_config(
            broker.port, [], broker={"tls": {"ca_certs": str(other_ca)}, "auth_attempts": 2}
        ),
        name="wrong-ca",
    )
    assert await exit_code(wrong) == 2
    line = error_line(wrong)
    assert line.startswith(
        f"error: the TLS handshake with the MQTT broker at 127.0.0.1:{broker.port} failed 2 "
        "time(s) in a row ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    ), line
    assert (
        f"check broker.tls.ca_certs (the CA that signed the broker's certificate; now {other_ca})"
        in line
    )
    assert not tracebacks(wrong.stderr())

    # the right CA: it connects (and the retained status says so, over TLS)
    right = daemons(
        daemon_config(
            broker.port, [maze_agent("explorer", None)], broker={"tls": {"ca_certs": str(ca)}}
        ),
        name="right-ca",
    )
    context = ssl.create_default_context(cafile=str(ca))
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, protocol=aiomqtt.ProtocolVersion.V5, tls_context=context
    ) as mqtt:
        await mqtt.subscribe("t/cogosd/status", qos=1)
        async with asyncio.timeout(30):
            async for message in mqtt.messages:
                body = json.loads(message.payload)
                if body.get("state") == "online" and body["since"] >= right.started_at:
                    break
    assert f"connected to mqtts://127.0.0.1:{broker.port}" in right.stderr()
