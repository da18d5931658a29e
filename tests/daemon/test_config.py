"""The daemon's configuration: the protocol follows the broker mode, errors name the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from cogos.daemon.config import BrokerSpec
from cogos.daemon.daemon import load_daemon_config
from cogos.errors import ConfigError
from tests.daemon.support import daemon_config, external_agent, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_mqtt5_follows_the_broker_mode() -> None:
    assert BrokerSpec().mqtt5 is True
    assert BrokerSpec(mode="embedded").mqtt5 is False  # amqtt speaks 3.1.1 only
    assert BrokerSpec(mode="external", mqtt5=False).mqtt5 is False
    with pytest.raises(ValidationError, match=r"3\.1\.1 only"):
        BrokerSpec(mode="embedded", mqtt5=True)


def test_the_shipped_config_switches_to_the_embedded_broker_as_its_comment_says() -> None:
    config = load_daemon_config(ROOT / "config/daemon.yaml", ["broker.mode=embedded"])
    assert config.broker.mode == "embedded" and config.broker.mqtt5 is False
    assert [a.name for a in config.agents] == ["explorer", "remote"]
    assert all(Path(a.config).is_absolute() for a in config.agents)


def test_a_bad_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "daemon.yaml"
    path.write_text("version: 1\nbroker:\n  mode: embedded\n  mqtt5: true\n")
    with pytest.raises(ConfigError, match=r"3\.1\.1 only") as caught:
        load_daemon_config(path)
    assert str(path) in str(caught.value) and "broker" in str(caught.value)


def test_a_daemon_that_cannot_connect_as_configured_exits_with_the_reason(tmp_path: Path) -> None:
    """The password variable is checked when the connection is made: the daemon must stop
    with the key named, not stay up without a broker connection."""
    port = free_port()
    config = daemon_config(
        port, [external_agent("ext", None)], broker={"username": "u", "password_env": "NOPE_PW"}
    )
    path = tmp_path / "daemon.yaml"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "NOPE_PW"}
    proc = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "daemon", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "NOPE_PW" in proc.stderr and "broker.password_env" in proc.stderr
