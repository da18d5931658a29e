"""``cogos components``: what can be named in a config, and each component's options."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from cogos.config.components import options_model
from cogos.errors import CogOSError
from cogos.registry import ENTRY_POINT_GROUPS, registry


@click.command()
@click.option("--options", "show_options", is_flag=True, help="Also list each component's options.")
def components(show_options: bool) -> None:
    """List the registered modules, policies and environments."""
    console = Console()
    for kind, group in ENTRY_POINT_GROUPS.items():
        table = Table(title=f"{kind}s (entry points: {group})", title_justify="left")
        table.add_column("name")
        table.add_column("class")
        if show_options:
            table.add_column("options")
        reg = registry(kind)
        for name in reg.names():
            try:
                cls = reg.get(name)
            except CogOSError as exc:
                table.add_row(name, f"[red]{exc}[/]", *([""] if show_options else []))
                continue
            row = [name, f"{cls.__module__}.{cls.__qualname__}"]
            if show_options:
                model = options_model(kind, cls)
                row.append(
                    ", ".join(
                        f"{k}={'<required>' if f.is_required() else repr(f.default)}"
                        for k, f in model.model_fields.items()
                    )
                    or "-"
                )
            table.add_row(*row)
        console.print(table)
