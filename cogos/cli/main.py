"""Entry point of the ``cogos`` command.

Subcommands are small files in this package. Installed packages may add their own through the
entry-point group ``cogos.cli``: each entry point names a function that receives the click group
and adds commands to it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys

import click

from cogos._version import __version__
from cogos.cli.components_cmd import components
from cogos.cli.daemon_cmd import daemon
from cogos.cli.experiment_cmd import experiment
from cogos.cli.replay_cmd import replay
from cogos.cli.run_cmd import run


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cogos")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    r"""CogOS: run cognitive-architecture agents (a CoALA decision cycle over pluggable modules).

    \b
    Start with the maze demo:
      cogos run config/maze.yaml --out runs/demo
      cogos replay runs/demo/trace.jsonl --limit 20
    Configs are YAML (see config/); any key can be overridden: episodes=5 env.options.width=21
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


cli.add_command(run)
cli.add_command(replay)
cli.add_command(components)
cli.add_command(daemon)
cli.add_command(experiment)


def _load_plugins() -> None:
    for ep in importlib.metadata.entry_points(group="cogos.cli"):
        try:
            ep.load()(cli)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            click.echo(f"warning: CLI plugin {ep.name!r} failed to load: {exc}", err=True)


def main() -> None:
    _load_plugins()
    cli()


if __name__ == "__main__":
    main()
