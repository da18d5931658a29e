"""``cogos replay TRACE``: print the decisions of a recorded run (and optionally verify them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from cogos.cli.errors import EXIT_RUNTIME, CLIError, to_cli_error
from cogos.errors import CogOSError

if TYPE_CHECKING:  # the replay pulls in the runner and the memory OS: imported when it runs
    from cogos.replay import DecisionLine


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
    help="Re-run config.yaml beside the trace and check every decision is the same (a memory "
    "run re-runs on a copy of the memory as it was when the run started).",
)
def replay(
    trace: Path, episode: int | None, limit: int | None, as_json: bool, do_verify: bool
) -> None:
    """Print the decisions recorded in TRACE (a run's trace.jsonl).

    Each line shows the candidates with their values (the chosen one in bold), the choice, the
    reward, and any rejections of the reject-and-loop.
    """
    from cogos.replay import decisions, verify
    from cogos.trace import read_trace

    console = Console()
    if do_verify:
        try:
            result = verify(trace)
        except CogOSError as exc:
            raise to_cli_error(exc) from None
        if result.problem is not None:
            raise CLIError(result.problem, EXIT_RUNTIME)
        on = ""
        if result.memory is not None:
            on = f" (on a copy of memory {result.memory.path} as of seq {result.memory.last_seq})"
        console.print(f"[green]verified[/]: {result.compared} decisions identical on re-run{on}")
        return
    try:
        every = list(decisions(read_trace(trace)))
    except (ValueError, KeyError) as exc:
        raise CLIError(f"{trace}: not a CogOS trace ({exc})") from None
    lines = [d for d in every if episode is None or d.episode == episode]
    if episode is not None and not lines:
        recorded = sorted({d.episode for d in every})
        span = f"{recorded[0]}-{recorded[-1]}" if recorded else "none"
        raise CLIError(f"{trace}: no episode {episode} (episodes recorded: {span})", EXIT_RUNTIME)
    if limit is not None:
        lines = lines[:limit]
    if as_json:
        for d in lines:
            click.echo(json.dumps(d.__dict__))
        return
    table = Table(title=str(trace), title_justify="left")
    for col in ("ep", "cycle", "step", "at", "candidates (value)", "choice", "reward", "end"):
        table.add_column(col)
    table.add_column("notes", overflow="fold")
    for d in lines:
        table.add_row(*_row(d))
    console.print(table)
