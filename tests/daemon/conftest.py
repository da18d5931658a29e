"""Fixtures for the daemon's integration tests: a real mosquitto, real daemon processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.support import (
    Client,
    DaemonProcess,
    Mosquitto,
    daemon_config,
    external_agent,
    maze_agent,
)

MakeDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A mosquitto on a free port with persistence on; ``kill()`` / ``restart()`` it at will."""
    mosquitto = Mosquitto(tmp_path / "broker")
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[MakeDaemon]:
    """Start daemon processes; each one still running at the end gets SIGTERM and must exit 0."""
    started: list[DaemonProcess] = []

    def make(config: dict[str, Any], name: str = "daemon", **kwargs: Any) -> DaemonProcess:
        process = DaemonProcess(config, tmp_path / name, **kwargs)
        process.start()
        started.append(process)
        return process

    yield make
    problems = []
    for process in started:
        if process.running():
            code, _ = process.terminate()
            if code != 0:
                problems.append(f"{process.name} exited {code}:\n{process.stderr()[-3000:]}")
    assert not problems, problems


@pytest.fixture
async def client(broker: Mosquitto) -> AsyncIterator[Client]:
    async with Client(broker.port) as c:
        yield c


@pytest.fixture
def standard_config(broker: Mosquitto, tmp_path: Path) -> dict[str, Any]:
    """An internal maze agent (``explorer``) and an external one (``ext``), both with memory."""
    return daemon_config(
        broker.port,
        [
            maze_agent("explorer", tmp_path / "memory" / "explorer"),
            external_agent("ext", tmp_path / "memory" / "ext"),
        ],
    )


@pytest.fixture
async def daemon(
    standard_config: dict[str, Any], daemons: MakeDaemon, client: Client
) -> DaemonProcess:
    process = daemons(standard_config)
    await process.wait_ready(client)
    return process
