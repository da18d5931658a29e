"""Entry point of the ``cogos`` command.

Subcommands are small files in this package, imported only when they run or when ``--help``
lists them: ``cogos --help`` must not pay for FAISS, SQLite and the planner. Installed packages
may add their own commands through the entry-point group ``cogos.cli``: each entry point names a
function that receives the click group and adds commands to it; the entry point's name is the
command's name, so a plugin is imported only when its command is used or listed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys

import click

from cogos._version import __version__

BUILTIN_COMMANDS = {
    "run": "cogos.cli.run_cmd:run",
    "replay": "cogos.cli.replay_cmd:replay",
    "components": "cogos.cli.components_cmd:components",
    "daemon": "cogos.cli.daemon_cmd:daemon",
    "experiment": "cogos.cli.experiment_cmd:experiment",
    "inspect": "cogos.cli.inspect_cmd:inspect",
}
PLUGIN_GROUP = "cogos.cli"


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def _plugins(self) -> dict[str, importlib.metadata.EntryPoint]:
        return {ep.name: ep for ep in importlib.metadata.entry_points(group=PLUGIN_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *self._plugins(), *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = BUILTIN_COMMANDS.get(cmd_name)
        if target is not None:
            module, _, attr = target.partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
            return command
        plugin = self._plugins().get(cmd_name)
        if plugin is None:
            return None
        try:
            plugin.load()(self)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            click.echo(f"warning: CLI plugin {plugin.name!r} failed to load: {exc}", err=True)
            return None
        return self.commands.get(cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="cogos")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """CogOS: run cognitive-architecture agents (a CoALA decision cycle over pluggable modules).

    \b
    Start with the maze demo:
      cogos run config/maze.yaml --out runs/demo
      cogos replay runs/demo/trace.jsonl --limit 20
      cogos inspect runs/demo

    Configs are YAML (see config/); any key can be overridden: episodes=5 env.options.width=21
    """  # noqa: D301 (click reads \b as a real backspace: the docstring must not be raw)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
