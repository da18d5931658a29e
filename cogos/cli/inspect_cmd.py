"""``cogos inspect PATH...``: a local web app over runs, experiments and memories."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from cogos.cli.errors import EXIT_RUNTIME, EXIT_USAGE, CLIError
from cogos.errors import CogOSError


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. The inspector has no login: keep it on this machine unless the "
    "network is yours.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0: a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser too.")
def inspect(paths: tuple[Path, ...], host: str, port: int, open_browser: bool) -> None:
    """Look at what agents did: runs, experiments and memories, in the browser.

    \b
    PATH is a run directory (cogos run --out), an experiment directory (cogos experiment
    --out), a memory directory, or a directory holding some of these (runs/). Several may be
    given. Files are only read; a memory is copied and the copy opened, and a memory that a
    running daemon or run holds is refused.
    \b
      cogos run config/maze.yaml --out runs/demo
      cogos inspect runs/demo
    """  # noqa: D301 (click reads \b as a real backspace: the docstring must not be raw)
    from cogos.inspector.server import InspectorServer
    from cogos.inspector.workspace import InspectPathError, open_workspace

    try:
        workspace = open_workspace(paths)
    except InspectPathError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    except CogOSError as exc:
        raise CLIError(str(exc), EXIT_RUNTIME) from None
    try:
        try:
            server = InspectorServer(workspace, host, port)
        except OSError as exc:
            raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        listing = workspace.listing()
        click.echo(
            f"inspecting {len(listing['runs'])} run(s), {len(listing['experiments'])} "
            f"experiment(s), {len(listing['memories'])} memory directory(ies)"
        )
        click.echo(f"CogOS inspector at {server.url}  (Ctrl-C stops it)")
        if open_browser:
            webbrowser.open(server.url)
        server.serve_forever()
    finally:
        workspace.close()
