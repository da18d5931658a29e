"""``cogos components``: what can be named in a config, and each component's options."""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from cogos.errors import CogOSError
from cogos.extras import install_hint
from cogos.registry import ENTRY_POINT_GROUPS, registry

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

TITLES = {"module": "modules", "policy": "policies", "env": "environments"}
EMBEDDER_GROUP = "cogos.embedders"  # memory.embedding's group; memory is not imported for this


def describe_default(field: FieldInfo) -> str:
    """An option's default as a user would write it (``<required>`` when there is none)."""
    if field.is_required():
        return "<required>"
    if field.default_factory is not None:
        return repr(field.default_factory())  # type: ignore[call-arg]
    return repr(field.default)


def _options_text(model: Any) -> str:
    return ", ".join(f"{k}={describe_default(f)}" for k, f in model.model_fields.items()) or "-"


def _embedder_rows(show_options: bool) -> list[list[str]]:
    rows = []
    for ep in sorted(importlib.metadata.entry_points(group=EMBEDDER_GROUP), key=lambda e: e.name):
        try:
            cls = ep.load()
        except ImportError as exc:
            rows.append([ep.name, f"[red]cannot import {ep.value}: {exc}{install_hint(exc)}[/]"])
            continue
        row = [ep.name, f"{cls.__module__}.{cls.__qualname__}"]
        if show_options:
            params = list(inspect.signature(cls).parameters.values())
            row.append(
                ", ".join(
                    f"{p.name}={'<required>' if p.default is p.empty else repr(p.default)}"
                    for p in params
                    if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                )
                or "-"
            )
        rows.append(row)
    return rows


@click.command()
@click.option("--options", "show_options", is_flag=True, help="Also list each component's options.")
def components(show_options: bool) -> None:
    """List the registered modules, policies, environments and embedders."""
    from cogos.config.components import options_model  # pydantic and gymnasium: only here

    console = Console()
    sections: list[tuple[str, list[list[str]]]] = []
    for kind, group in ENTRY_POINT_GROUPS.items():
        rows = []
        reg = registry(kind)
        for name in reg.names():
            try:
                cls = reg.get(name)
            except CogOSError as exc:
                rows.append([name, f"[red]{exc}[/]"])
                continue
            row = [name, f"{cls.__module__}.{cls.__qualname__}"]
            if show_options:
                row.append(_options_text(options_model(kind, cls)))
            rows.append(row)
        sections.append((f"{TITLES[kind]} (entry points: {group})", rows))
    sections.append((f"embedders (entry points: {EMBEDDER_GROUP})", _embedder_rows(show_options)))
    for title, rows in sections:
        table = Table(title=title, title_justify="left")
        for column in ("name", "class", *(["options"] if show_options else [])):
            table.add_column(column)
        for row in rows:
            table.add_row(*row, *([""] * (len(table.columns) - len(row))))
        console.print(table)
