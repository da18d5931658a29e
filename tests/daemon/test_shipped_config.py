"""config/daemon.yaml as shipped, run as the README says: ``cogos daemon config/daemon.yaml
broker.mode=embedded`` (no broker installed). It connects, hosts both agents, answers a
command, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt

from tests.daemon.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_daemon(port: int, cwd: Path, err: Path) -> subprocess.Popen[bytes]:
    """cwd is the temporary directory: the agents' relative memory paths land there."""
    with err.open("wb") as stderr:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cogos.cli.main",
                "daemon",
                str(ROOT / "config" / "daemon.yaml"),
                "broker.mode=embedded",
                f"broker.port={port}",
            ],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


async def test_the_shipped_daemon_config_runs_on_the_embedded_broker(tmp_path: Path) -> None:
    port = free_port()
    err = tmp_path / "daemon.err"
    proc = start_daemon(port, tmp_path, err)
    try:
        deadline = time.monotonic() + 60
        connected = None
        while connected is None:
            assert proc.poll() is None, err.read_text()[-3000:]
            assert time.monotonic() < deadline, err.read_text()[-3000:]
            connected = re.search(
                r"^cogos daemon: connected to .*agents: explorer, remote$", err.read_text(), re.M
            )
            await asyncio.sleep(0.1)  # waiting on a line the daemon writes, not on the clock
        async with aiomqtt.Client(
            "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311, timeout=10
        ) as client:
            await client.subscribe("replies/me", qos=1)
            await client.publish(
                "cogos/explorer/cmd/health", json.dumps({"reply_to": "replies/me"}), qos=1
            )
            async with asyncio.timeout(20):
                reply = json.loads((await anext(aiter(client.messages))).payload)
        assert reply["ok"] is True, reply
        assert reply["result"]["alive"] is True
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    text = err.read_text()
    assert code == 0, text[-3000:]
    assert "Traceback" not in text
    assert (tmp_path / "runs" / "daemon" / "explorer" / "memory").is_dir()
