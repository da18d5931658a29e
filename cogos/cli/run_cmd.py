"""``cogos run CONFIG [key=value ...] [--out DIR]``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from cogos.cli.config_args import config_overrides_and_out, progress_bar
from cogos.cli.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, CLIError, to_cli_error
from cogos.errors import CogOSError, ConfigError

if TYPE_CHECKING:  # the config and the runner pull in the memory OS: imported when a run starts
    from cogos.config import LoadedConfig
    from cogos.episode import EpisodeSummary


def default_out_dir(loaded: LoadedConfig) -> Path:
    return Path("runs") / f"{loaded.config.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def episode_table(summaries: list[EpisodeSummary]) -> Table:
    table = Table(title="Episodes", title_justify="left")
    for col in ("episode", "seed", "result", "steps", "optimal", "ratio", "return", "cycles/s"):
        table.add_column(col, justify="left" if col == "result" else "right")
    for s in summaries:
        table.add_row(
            str(s.episode),
            str(s.seed),
            "[green]success[/]" if s.success else "[red]failed[/]",
            str(s.steps),
            _fmt(s.optimal_steps, "d"),
            _fmt(s.optimal_ratio, ".2f"),
            f"{s.episode_return:.2f}",
            _fmt(s.cycles / s.seconds if s.seconds > 0 else None, ",.0f"),
        )
    return table


def llm_line(m: dict[str, Any]) -> str:
    """The model's share of a run: what it was asked, what came back, what it cost."""
    causes = m.get("llm_failures_by_cause") or {}
    why = ", ".join(f"{cause} {n}" for cause, n in sorted(causes.items()))
    return (
        f"LLM: {m.get('llm_calls', 0)} calls, {m.get('llm_answers', 0)} answers, "
        f"{m.get('llm_failures', 0)} failed{f' ({why})' if why else ''}, "
        f"{m.get('llm_repairs', 0)} repairs, {m.get('llm_retries', 0)} retries, "
        f"{m.get('llm_fallbacks', 0)} fallbacks, "
        f"{m.get('llm_input_tokens', 0) + m.get('llm_output_tokens', 0):,} tokens, "
        f"{m.get('llm_seconds', 0.0):.1f} s"
    )


def print_summary(console: Console, m: dict[str, Any]) -> None:
    console.print(
        f"success rate [bold]{m['success_rate']:.0%}[/] ({m['successes']}/{m['episodes']}), "
        f"mean steps {_fmt(m['mean_steps'], '.1f')}, "
        f"mean optimal {_fmt(m['mean_optimal_steps'], '.1f')}, "
        f"steps/optimal on successes {_fmt(m['mean_optimal_ratio'], '.2f')}, "
        f"{_fmt(m['cycles_per_second'], ',.0f')} cycles/s",
        soft_wrap=True,
    )
    if m.get("llm_calls") or m.get("llm_failures"):
        console.print(llm_line(m), soft_wrap=True)
    families = m.get("by_task_family")
    if families:
        console.print(
            "by task family: "
            + ", ".join(
                f"{name} {f['success_rate']:.0%} ({round(f['success_rate'] * f['episodes'])}"
                f"/{f['episodes']})"
                for name, f in families.items()
            ),
            soft_wrap=True,
        )


@click.command()
@config_overrides_and_out(
    "Run directory for config.yaml, trace.jsonl, metrics.json [default: runs/NAME-TIME]."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-episode table.")
def run(config: Path, overrides: tuple[str, ...], out_dir: Path | None, quiet: bool) -> None:
    """Run the agent described by CONFIG for its episodes.

    OVERRIDES are key=value pairs applied on top of the file, e.g. episodes=5
    env.options.width=21 agent.policy.name=random. The run directory gets the resolved
    config, a trace (one JSON line per decision cycle) and metrics.json.
    """
    from cogos.config import load_config
    from cogos.metrics import summarize
    from cogos.runner import run as run_config

    console = Console()
    try:
        loaded = load_config(config, overrides)
    except CogOSError as exc:
        raise to_cli_error(exc) from None
    out = out_dir or default_out_dir(loaded)
    progress = progress_bar(console, disable=quiet)
    finished: list[EpisodeSummary] = []

    with progress:
        task = progress.add_task(loaded.config.name, total=loaded.config.episodes, status="")

        def on_episode(summary: EpisodeSummary) -> None:
            finished.append(summary)
            wins = sum(s.success for s in finished)
            progress.update(task, advance=1, status=f"{wins} solved")

        try:
            result = run_config(loaded, out, on_episode=on_episode)
        except ConfigError as exc:  # a component rejected its options while being built
            raise to_cli_error(loaded.locate(exc)) from None
        except CogOSError as exc:
            raise to_cli_error(exc) from None
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
    if interrupted:
        if finished:
            if not quiet:
                console.print(episode_table(finished))
            print_summary(console, summarize(finished))
        kept = f"; metrics.json in {out} has them" if finished else ""
        raise CLIError(
            f"interrupted after {len(finished)} of {loaded.config.episodes} episodes{kept}",
            EXIT_INTERRUPTED,
        )
    if not quiet:
        console.print(episode_table(result.summaries))
    print_summary(console, result.metrics)
    console.print(f"run directory: {out}", soft_wrap=True)
    m = result.metrics
    if m.get("llm_failures") and not m.get("llm_answers"):
        raise CLIError(
            f"the model contributed nothing: all {m['llm_failures']} of its calls failed "
            f"({', '.join(f'{c} {n}' for c, n in sorted(m['llm_failures_by_cause'].items()))}); "
            "check the llm: settings and the model's server",
            EXIT_RUNTIME,
        )
