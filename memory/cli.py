"""``cogos memory ...``: inspect and maintain a memory directory from the shell.

Added to the ``cogos`` command through the ``cogos.cli`` entry-point group (the same hook a
third-party package uses), so the memory package stays importable without the kernel.

Exit codes: 0 success, 1 the memory could not be opened or is damaged (the message says which
file and what was found), 2 bad usage (a directory that does not exist, a malformed filter).
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from memory.errors import MemoryOSError, UnknownItemError

if TYPE_CHECKING:  # the memory OS pulls in FAISS and SQLite: imported when a command runs
    from memory.entries import MemoryItem
    from memory.memory_os import MemoryOS


class MemoryCLIError(click.ClickException):
    """One line on stderr and an exit code (1 damaged or unopenable, 2 bad usage)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: object = None) -> None:
        click.secho(f"error: {self.message}", err=True, fg="red")


MEMORY_DIR = click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR"
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@contextmanager
def opened(directory: Path) -> Iterator[MemoryOS]:
    if not (directory / "FORMAT").exists():
        raise MemoryCLIError(f"{directory} is not a memory directory (no FORMAT file)", 2)
    try:
        from memory.memory_os import MemoryOS

        memory = MemoryOS.open(directory)
    except (MemoryOSError, ValueError) as exc:
        raise MemoryCLIError(str(exc), 1) from None
    try:
        yield memory
    finally:
        memory.close()


def parse_where(pairs: tuple[str, ...]) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise MemoryCLIError(f"filter {pair!r} is not of the form key=value", 2)
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        where[key] = value
    return where


def print_items(items: list[MemoryItem], scores: list[float] | None, as_json: bool) -> None:
    if as_json:
        for i, item in enumerate(items):
            out = item.to_json()
            if scores is not None:
                out["score"] = scores[i]
            click.echo(json.dumps(out))
        return
    table = Table()
    for col in (
        "id",
        "kind",
        *(("score",) if scores is not None else ()),
        "episode",
        "text",
        "facts",
    ):
        table.add_column(col, overflow="fold")
    for i, item in enumerate(items):
        facts = " ".join("(" + " ".join(a) + ")" for a in item.facts[:4])
        row = [str(item.id), item.kind]
        if scores is not None:
            row.append(f"{scores[i]:.3f}")
        table.add_row(*row, item.episode or "", item.text[:80], facts)
    Console().print(table)


def print_episodes(episodes: dict[str, int], as_json: bool) -> None:
    if as_json:
        for name, events in episodes.items():
            click.echo(json.dumps({"episode": name, "events": events}))
        return
    table = Table()
    table.add_column("episode", overflow="fold")
    table.add_column("events", justify="right")
    for name, events in episodes.items():
        table.add_row(name, str(events))
    Console().print(table)


def unknown_episode(episode: str, known: dict[str, int]) -> str:
    """Say that no such episode exists, with the ids it may have meant.

    Episode ids are ``<run id>/<number>`` (or an agent name and a number), so a bare number
    is matched against their endings too.
    """
    names = list(known)
    close = [n for n in names if n.rsplit("/", 1)[-1].rsplit(":", 1)[-1] == episode][:3]
    close = close or difflib.get_close_matches(episode, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return (
        f"no episode {episode!r} in this memory ({len(names)} episodes){hint} "
        "(--episodes lists them)"
    )


@click.group("memory")
def memory_group() -> None:
    """Inspect and maintain a memory directory (see docs/wal.md)."""


@memory_group.command()
@MEMORY_DIR
@AS_JSON
def stats(directory: Path, as_json: bool) -> None:
    """Counts per view, log size, and what opening the directory had to recover."""
    with opened(directory) as memory:
        data = memory.stats()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console = Console()
    console.print(
        f"[bold]{data['path']}[/]  format v{data['format']['version']}, "
        f"{data['format']['dim']}-d {data['format']['metric']}, index {data['index']}"
    )
    console.print(f"items: {data['items']}  deleted: {data['deleted']}  vectors: {data['vectors']}")
    console.print(f"graph: {data['graph']}")
    console.print(f"wal: {data['wal']}")
    console.print(f"recovery: {data['recovery']}")


@memory_group.command()
@MEMORY_DIR
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="How many results.")
@click.option(
    "--where", "where", multiple=True, help="Filter key=value (repeatable), e.g. kind=event."
)
@click.option("--vector", is_flag=True, help="QUERY is a JSON list of floats, not a text.")
@AS_JSON
def search(
    directory: Path, query: str, k: int, where: tuple[str, ...], vector: bool, as_json: bool
) -> None:
    """Nearest items to QUERY (embedded with the directory's embedder)."""
    filters = parse_where(where)
    with opened(directory) as memory:
        q: Any = query
        if vector:
            try:
                import numpy as np

                q = np.asarray(json.loads(query), dtype=np.float32)
            except ValueError as exc:
                raise MemoryCLIError(
                    f"--vector: QUERY is not a JSON list of numbers ({exc})", 2
                ) from None
        try:
            hits = memory.search(q, k=k, where=filters or None)
        except ValueError as exc:
            raise MemoryCLIError(str(exc), 2) from None
    print_items([h.item for h in hits], [h.score for h in hits], as_json)


@memory_group.command()
@MEMORY_DIR
@click.option("--recent", type=int, help="The N newest items.")
@click.option("--about", "entity", help="Items linked to this entity.")
@click.option("--episode", help="An episode's events, in order (--episodes lists the ids).")
@click.option(
    "--episodes", "list_episodes", is_flag=True, help="Every episode id, with its events."
)
@click.option("--decision", type=int, help="The decision record of event ID.")
@click.option("--why", type=int, help="Event ID with its decision and the events before it.")
@click.option("--where", "where", multiple=True, help="Filter for --recent, key=value.")
@AS_JSON
def recall(
    directory: Path,
    recent: int | None,
    entity: str | None,
    episode: str | None,
    list_episodes: bool,
    decision: int | None,
    why: int | None,
    where: tuple[str, ...],
    as_json: bool,
) -> None:
    """Graph and record queries: recent events, events about an entity, decision records."""
    chosen = [x for x in (recent, entity, episode, decision, why) if x is not None]
    if len(chosen) + list_episodes != 1:
        raise MemoryCLIError(
            "give exactly one of --recent, --about, --episode, --episodes, --decision, --why", 2
        )
    with opened(directory) as memory:
        known = memory.episodes()
        if list_episodes:
            print_episodes(known, as_json)
            return
        if episode is not None and episode not in known:
            raise MemoryCLIError(unknown_episode(episode, known), 1)
        try:
            if decision is not None:
                click.echo(json.dumps(memory.decision(decision), indent=None if as_json else 2))
                return
            if why is not None:
                click.echo(json.dumps(memory.why(why), indent=None if as_json else 2))
                return
            if recent is not None:
                items = memory.recent(recent, parse_where(where) or None)
            elif entity is not None:
                items = memory.about(entity, n=50)
            else:
                assert episode is not None
                items = memory.episode(episode)
        except UnknownItemError as exc:
            raise MemoryCLIError(str(exc), 1) from None
    print_items(items, None, as_json)


@memory_group.command()
@MEMORY_DIR
def recover(directory: Path) -> None:
    """Open the directory, recovering it after a crash, and report what was done."""
    with opened(directory) as memory:
        report = memory.recovery.to_json()
        problems = memory.verify()
    click.echo(json.dumps(report, indent=2))
    if problems:
        raise MemoryCLIError("views disagree: " + "; ".join(problems), 1)
    click.echo("ok: log, record store, vector index and graph agree")


@memory_group.command()
@MEMORY_DIR
def compact(directory: Path) -> None:
    """Hard-delete deleted items, checkpoint the index and drop the old log."""
    with opened(directory) as memory:
        click.echo(json.dumps(memory.compact(), indent=2))


@memory_group.command()
@MEMORY_DIR
def checkpoint(directory: Path) -> None:
    """Snapshot the index and drop the log before it."""
    with opened(directory) as memory:
        click.echo(json.dumps(memory.checkpoint(), indent=2))


@memory_group.command()
@MEMORY_DIR
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.option("--include-deleted", is_flag=True, help="Also items deleted but not compacted.")
def export(directory: Path, out: Path | None, include_deleted: bool) -> None:
    """Every item as JSON lines, oldest first, with decision records."""
    with opened(directory) as memory:
        rows = list(memory.export(include_deleted=include_deleted))
    stream = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    try:
        for row in rows:
            stream.write(json.dumps(row) + "\n")
    finally:
        if out is not None:
            stream.close()
            click.echo(f"{len(rows)} items written to {out}", err=True)


def register(cli: click.Group) -> None:
    """The ``cogos.cli`` entry point: add ``cogos memory``."""
    cli.add_command(memory_group)
