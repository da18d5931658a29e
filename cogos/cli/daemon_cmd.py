"""``cogos daemon CONFIG [key=value ...]``: run agents as a long-lived MQTT service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from cogos.cli.config_args import config_and_overrides
from cogos.cli.errors import to_cli_error
from cogos.errors import CogOSError


@click.command()
@config_and_overrides
def daemon(config: Path, overrides: tuple[str, ...]) -> None:
    """Run the agents in CONFIG (see config/daemon.yaml) until SIGTERM or Ctrl-C.

    Commands, events and payloads are described in docs/mqtt.md. On SIGTERM the daemon finishes
    each agent's current cycle, flushes memory, publishes 'offline' and exits 0.
    """
    from cogos.daemon.daemon import Daemon, load_daemon_config

    try:
        loaded = load_daemon_config(config, list(overrides))
        service = Daemon(loaded, console=lambda line: click.echo(line, err=True))
        asyncio.run(service.run())
    except CogOSError as exc:
        raise to_cli_error(exc) from None
    except ValueError as exc:
        raise to_cli_error(CogOSError(str(exc))) from None
