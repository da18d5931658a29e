"""``cogos replay TRACE``: print the decisions of a recorded run (and optionally verify them)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cogos.cli.errors import EXIT_RUNTIME, CLIError, to_cli_error
from cogos.errors import CogOSError
from cogos.replay import DecisionLine, decisions, verify
from cogos.trace import read_trace


def _row(d: DecisionLine) -> list[str]:
    cands = "  ".join(
        f"[bold]{n}={v:g}[/]" if n == d.choice else f"{n}={v:g}" for n, v in d.candidates
    )
    note = "forced; " if d.forced else ""
    note += "; ".join(f"rejected: {r}" for r in d.rejections)
    result = "goal" if d.success else ("end" if d.done else "")
    return [
        str(d.episode),
        str(d.cycle),
        str(d.step),
        d.position or "-",
        cands,
        d.choice,
        f"{d.reward:g}",
        result,
        note,
    ]


@click.command()
@click.argument("trace", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--episode", type=int, help="Only this episode.")
@click.option("--limit", type=int, help="At most this many cycles.")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per decision instead of a table."
)
@click.option(
    "--verify",
    "do_verify",
    is_flag=True,
    help="Re-run config.yaml beside the trace and check every decision is the same.",
)
def replay(
    trace: Path, episode: int | None, limit: int | None, as_json: bool, do_verify: bool
) -> None:
    """Print the decisions recorded in TRACE (a run's trace.jsonl).

    Each line shows the candidates with their values (the chosen one in bold), the choice, the
    reward, and any rejections of the reject-and-loop.
    """
    console = Console()
    if do_verify:
        try:
            result = verify(trace)
        except CogOSError as exc:
            raise to_cli_error(exc) from None
        if not result.ok:
            if result.mismatch is not None:
                a, b = result.mismatch
                raise CLIError(
                    f"diverged at episode {a.episode} cycle {a.cycle}: recorded {a.choice!r}, "
                    f"re-run chose {b.choice!r}",
                    EXIT_RUNTIME,
                )
            raise CLIError(
                f"re-run made {result.length_replayed} decisions, "
                f"trace has {result.length_recorded}",
                EXIT_RUNTIME,
            )
        console.print(f"[green]verified[/]: {result.compared} decisions identical on re-run")
        return
    try:
        lines = [d for d in decisions(read_trace(trace)) if episode is None or d.episode == episode]
    except (ValueError, KeyError) as exc:
        raise CLIError(f"{trace}: not a CogOS trace ({exc})") from None
    if limit is not None:
        lines = lines[:limit]
    if as_json:
        for d in lines:
            click.echo(json.dumps(d.__dict__))
        return
    table = Table(title=str(trace), title_justify="left")
    for col in ("ep", "cycle", "step", "at", "candidates (value)", "choice", "reward", "", "notes"):
        table.add_column(col)
    for d in lines:
        table.add_row(*_row(d))
    console.print(table)
