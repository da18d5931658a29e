"""``cogos memory ...``: inspect and maintain a memory directory from the shell.

Added to the ``cogos`` command through the ``cogos.cli`` entry-point group (the same hook a
third-party package uses), so the memory package stays importable without the kernel.

Exit codes: 0 success; 1 the memory is damaged, locked by another process, or has no such item,
episode or entity (the message says which file, or what exists); 2 bad usage: an option's value
(a malformed ``--where`` filter, ``-k 0``), or a DIR that is not a memory directory this CogOS can
open (no FORMAT file, a malformed, foreign or newer one). Every error is one line on stderr.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from memory.errors import FormatVersionError, MemoryOSError, UnknownItemError
from memory.suggestions import close_matches, did_you_mean

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


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (pydantic's multi-line report condensed)."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in errors())
    return " ".join(str(exc).split()) or type(exc).__name__


def _usage_error(exc: click.UsageError) -> MemoryCLIError:
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return MemoryCLIError(exc.format_message() + hint, 2)


class MemoryCommand(click.Command):
    """A ``cogos memory`` command: bad usage is one line on stderr too (exit 2)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _usage_error(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _usage_error(exc) from None


class MemoryGroup(MemoryCommand, click.Group):
    """``cogos memory``: its commands are :class:`MemoryCommand` s; an unknown one is one line."""

    command_class = MemoryCommand


MEMORY_DIR = click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR"
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
INT64_MAX = 2**63 - 1  # SQLite's integers
ITEM_ID = click.IntRange(min=1, max=INT64_MAX)
MAX_K = 1000  # search results; ``export`` gives everything


@contextmanager
def opened(directory: Path, rebuild: tuple[str, ...] = ()) -> Iterator[MemoryOS]:
    """The memory at ``directory``, opened as it was made; every failure is one line.

    ``rebuild``: views to rebuild rather than trust (see ``cogos memory rebuild``).
    """
    if not directory.exists():
        raise MemoryCLIError(f"{directory} is not a memory directory: it does not exist", 2)
    try:
        from memory.layout import Layout, read_format

        if read_format(Layout(directory)) is None:
            raise MemoryCLIError(f"{directory} is not a memory directory (no FORMAT file)", 2)
        from memory.memory_os import MemoryOS

        memory = MemoryOS.open(directory, rebuild=rebuild)
    except FormatVersionError as exc:  # not a directory this CogOS can open as it is
        raise MemoryCLIError(_one_line(exc), 2) from None
    except (MemoryOSError, ValueError, ImportError, OSError) as exc:
        raise MemoryCLIError(_one_line(exc), 1) from None
    try:
        yield memory
    finally:
        memory.close()


# -- --where ------------------------------------------------------------------------------

TIME_KEYS = ("time_from", "time_to", "as_of")
TEXT_COLUMNS = ("episode", "agent")
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(key: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise ValueError(f"{key}: {value} is out of range (64-bit integers)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: expected a finite number, got {value}")
        return value
    what = "a JSON object" if isinstance(value, dict) else "a nested list"
    raise ValueError(f"{key}: expected a value or a JSON list of values, got {what}")


def _where_value(key: str, raw: str) -> Any:
    """One ``--where`` value, parsed and checked for its key (see docs/retrieval.md, Filters)."""
    if key in TIME_KEYS:
        value = _json(raw)
        try:
            seconds = float(value) if _is_number(value) else math.nan
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise ValueError(f"{key}: expected a time in unix seconds (a number), got {raw!r}")
        return seconds
    if key == "include_expired":
        flag = _BOOLEANS.get(raw.strip().lower())
        if flag is None:
            raise ValueError(f"include_expired: expected true or false, got {raw!r}")
        return flag
    if key == "kind":
        from memory.entries import ENTRY_KINDS

        value = _json(raw) if raw.startswith("[") else raw
        kinds = value if isinstance(value, list) else [value]
        if not kinds or any(k not in ENTRY_KINDS for k in kinds):
            raise ValueError(
                f"kind: expected one of {', '.join(ENTRY_KINDS)} (or a JSON list of them), "
                f"got {raw!r}"
            )
        return value
    if key in TEXT_COLUMNS:
        if not raw.startswith("["):
            return raw
        value = _json(raw)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key}: expected a name or a JSON list of names, got {raw!r}")
        return value
    if key == "id":
        value = _json(raw)
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= INT64_MAX for i in ids
        ):
            raise ValueError(
                f"id: expected an item id (a positive integer) or a JSON list of them, got {raw!r}"
            )
        return value
    value = _json(raw)  # a metadata key: a JSON value, or else the text as it is
    if isinstance(value, list):
        return [_scalar(key, v) for v in value]
    return _scalar(key, value)


def parse_where(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--where key=value`` filters as ``MemoryOS.search`` takes them.

    Raises ValueError, naming the key and what it takes, for anything the memory would reject,
    misread or silently ignore.
    """
    from memory.stores.record_store import check_where

    where: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r} is not of the form key=value")
        if key in where:
            raise ValueError(
                f'{key} is given twice (a JSON list, such as {key}=\'["a", "b"]\', '
                "matches any of several values)"
            )
        check_where({key: None})  # a plain name: letters, digits, _ . -
        where[key] = _where_value(key, raw)
    if "as_of" in where and "include_expired" in where:
        raise ValueError(
            "as_of and include_expired cannot be combined (as_of sees what was valid then, "
            "expired or not now)"
        )
    return where


_F = TypeVar("_F", bound=Callable[..., Any])


def _where_option(help_text: str) -> Callable[[_F], _F]:
    def parse(ctx: click.Context, param: click.Parameter, pairs: tuple[str, ...]) -> Any:
        try:
            return parse_where(pairs)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return click.option("--where", "where", multiple=True, callback=parse, help=help_text)


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
    close = close or close_matches(episode, names, n=3, cutoff=0.5)
    hint = did_you_mean(close)
    return (
        f"no episode {episode!r} in this memory ({len(names)} episodes){hint} "
        "(--episodes lists them)"
    )


@click.group("memory", cls=MemoryGroup)
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


def _query_vector(query: str) -> list[float]:
    """``--vector``'s QUERY: a flat JSON list of finite numbers (its length is checked later)."""
    try:
        value = json.loads(query)
    except ValueError as exc:
        raise MemoryCLIError(f"--vector: QUERY is not JSON ({exc})", 2) from None
    if (
        not isinstance(value, list)
        or not value
        or not all(_is_number(v) and math.isfinite(v) for v in value)
    ):
        raise MemoryCLIError(
            "--vector: QUERY must be a JSON list of finite numbers, such as [0.1, 0.2]", 2
        )
    return [float(v) for v in value]


@memory_group.command()
@MEMORY_DIR
@click.argument("query")
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, MAX_K),
    default=10,
    show_default=True,
    help=f"How many results (1 to {MAX_K}).",
)
@_where_option(
    "Filter key=value (repeatable): kind, episode, agent, id, time_from, time_to, as_of (unix "
    "seconds), include_expired (true/false), or a metadata key such as speaker; a JSON list "
    "matches any of its values."
)
@click.option("--vector", is_flag=True, help="QUERY is a JSON list of floats, not a text.")
@AS_JSON
def search(
    directory: Path, query: str, k: int, where: dict[str, Any], vector: bool, as_json: bool
) -> None:
    """Nearest items to QUERY (embedded with the directory's embedder)."""
    if not query.strip():
        raise MemoryCLIError("QUERY is empty: give a text (or, with --vector, a vector)", 2)
    q: Any = _query_vector(query) if vector else query
    with opened(directory) as memory:
        if vector and len(q) != memory.config.dim:
            raise MemoryCLIError(
                f"--vector: QUERY has {len(q)} numbers; this memory's vectors have "
                f"{memory.config.dim}",
                2,
            )
        try:
            hits = memory.search(q, k=k, where=where or None)
        except ValueError as exc:
            raise MemoryCLIError(_one_line(exc), 2) from None
    print_items([h.item for h in hits], [h.score for h in hits], as_json)


@memory_group.command()
@MEMORY_DIR
@click.option("--recent", type=ITEM_ID, metavar="N", help="The N newest items.")
@click.option("--about", "entity", help="Items linked to this entity.")
@click.option("--episode", help="An episode's events, in order (--episodes lists the ids).")
@click.option(
    "--episodes", "list_episodes", is_flag=True, help="Every episode id, with its events."
)
@click.option("--decision", type=ITEM_ID, metavar="ID", help="The decision record of event ID.")
@click.option(
    "--why", type=ITEM_ID, metavar="ID", help="Event ID with its decision and the events before it."
)
@_where_option("Filter for --recent, key=value (repeatable).")
@AS_JSON
def recall(
    directory: Path,
    recent: int | None,
    entity: str | None,
    episode: str | None,
    list_episodes: bool,
    decision: int | None,
    why: int | None,
    where: dict[str, Any],
    as_json: bool,
) -> None:
    """Graph and record queries: recent events, events about an entity, decision records."""
    chosen = [x for x in (recent, entity, episode, decision, why) if x is not None]
    if len(chosen) + list_episodes != 1:
        raise MemoryCLIError(
            "give exactly one of --recent, --about, --episode, --episodes, --decision, --why", 2
        )
    if where and recent is None:
        raise MemoryCLIError("--where filters --recent only", 2)
    if entity is not None and not entity.strip():
        raise MemoryCLIError("--about: give an entity's name", 2)
    with opened(directory) as memory:
        known = memory.episodes()
        if list_episodes:
            print_episodes(known, as_json)
            return
        if episode is not None and episode not in known:
            raise MemoryCLIError(unknown_episode(episode, known), 1)
        try:
            if decision is not None:
                item = memory.get(decision)
                record = memory.decision(decision)
                if record is None:
                    raise MemoryCLIError(
                        f"no decision record for item {decision}: this {item.kind} was stored "
                        "without one",
                        1,
                    )
                click.echo(json.dumps(record, indent=None if as_json else 2))
                return
            if why is not None:
                click.echo(json.dumps(memory.why(why), indent=None if as_json else 2))
                return
            if recent is not None:
                items = memory.recent(recent, where or None)
            elif entity is not None:
                items = memory.about(entity, n=50)
                if not items and not memory.graph.about(entity):
                    raise MemoryCLIError(
                        f"no entity {entity!r} in this memory (entities are the arguments of "
                        "facts, and the entities an entry names)",
                        1,
                    )
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
    "--view",
    "views",
    type=click.Choice(["records", "index", "graph"]),
    multiple=True,
    help="The view to rebuild (repeatable; default: all three).",
)
def rebuild(directory: Path, views: tuple[str, ...]) -> None:
    """Rebuild views from the log and the last checkpoint, then checkpoint.

    records: from the last checkpoint's copy of the record store (the damaged file is set aside
    in damaged-<time>/) and the log after it. index: from the vectors the record store keeps.
    graph: from the record store (as every open does).
    """
    chosen = views or ("records", "index", "graph")
    with opened(directory, rebuild=chosen) as memory:
        report = memory.recovery.to_json()
        checkpointed = memory.checkpoint()
        problems = memory.verify()
    click.echo(
        json.dumps(
            {"rebuilt": list(chosen), "recovery": report, "checkpoint": checkpointed}, indent=2
        )
    )
    if problems:
        raise MemoryCLIError("views disagree after the rebuild: " + "; ".join(problems), 1)
    click.echo(f"ok: rebuilt {', '.join(chosen)}; log, record store, vector index and graph agree")


def _writable_file(ctx: click.Context, param: click.Parameter, out: Path | None) -> Path | None:
    if out is None:
        return None
    parent = out.parent
    if not parent.is_dir():
        raise click.BadParameter(f"directory {parent} does not exist", ctx=ctx, param=param)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"directory {parent} is not writable", ctx=ctx, param=param)
    return out


@memory_group.command()
@MEMORY_DIR
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_writable_file,
    help="File (default stdout).",
)
@click.option("--include-deleted", is_flag=True, help="Also items deleted but not compacted.")
def export(directory: Path, out: Path | None, include_deleted: bool) -> None:
    """Every item as JSON lines, oldest first, with decision records."""
    with opened(directory) as memory:
        rows = list(memory.export(include_deleted=include_deleted))
    if out is None:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    try:
        stream = out.open("w", encoding="utf-8")
    except OSError as exc:
        raise MemoryCLIError(f"--out: cannot write {out} ({exc.strerror or exc})", 2) from None
    try:
        with stream:
            for row in rows:
                stream.write(json.dumps(row) + "\n")
    except OSError as exc:
        raise MemoryCLIError(f"writing {out} failed ({exc.strerror or exc})", 1) from None
    click.echo(f"{len(rows)} items written to {out}", err=True)


def register(cli: click.Group) -> None:
    """The ``cogos.cli`` entry point: add ``cogos memory``."""
    cli.add_command(memory_group)
