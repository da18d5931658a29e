"""The command-line inputs that ``cogos run``, ``cogos experiment`` and ``cogos daemon`` share.

Each takes a CONFIG file and ``key=value`` OVERRIDES on top of it, and the first two an ``--out``
directory and a progress bar; declared here once, so the commands cannot come to spell or check
them differently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

F = TypeVar("F", bound=Callable[..., Any])


def config_and_overrides(command: F) -> F:
    """Add the CONFIG argument and the OVERRIDES after it (``config``, ``overrides``)."""
    command = click.argument("overrides", nargs=-1)(command)
    return click.argument("config", type=click.Path(dir_okay=False, path_type=Path))(command)


def config_overrides_and_out(out_help: str) -> Callable[[F], F]:
    """:func:`config_and_overrides` and ``--out`` (``out_dir``), whose help is ``out_help``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help=out_help,
        )(command)
        return config_and_overrides(command)

    return decorate


def progress_bar(console: Console, *, disable: bool = False) -> Progress:
    """The bar a long command shows: name, bar, done/total, a status field, time left.

    Add its task with a ``status`` field (``progress.add_task(name, total=n, status="")``); it
    disappears when done, leaving the command's own summary.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )
