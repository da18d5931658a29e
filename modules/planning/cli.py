"""``cogos plan DOMAIN.pddl PROBLEM.pddl``: solve a PDDL problem with a real planner.

With ``--task TASK.nl --llm CONFIG`` instead of PROBLEM, a model translates a task written in
English first (:mod:`modules.llm.plan_cli`).

Registered through the ``cogos.cli`` entry-point group. The files are parsed here first, with
unified-planning's reader, so that malformed PDDL is reported as ``file:line, column: what was
expected`` with exit code 2, before any planner runs. The solve then goes through the same warm
worker and wall-clock timeout as the planner module.

Exit codes: 0 a plan was found (and validated), 1 no plan (unsolvable, timeout, engine error),
2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from modules.planning.domain import DomainError, pddl_error
from modules.planning.engine import ENGINES, PlannerWorker, PlanRequest
from modules.planning.pddl_errors import check_domain_name, check_requirements
from modules.planning.pddl_reader import parse


class PlanCLIError(click.ClickException):
    """One line on stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: object = None) -> None:
        click.secho(f"error: {self.message}", err=True, fg="red")


def read_input(path: Path, what: str = "") -> str:
    """A file the command was given; one that cannot be read is bad input (exit 2)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        named = f" the {what}" if what else ""
        raise PlanCLIError(f"{path}: cannot read{named} ({exc})", 2) from None


def check_pddl(domain_path: Path, problem_path: Path) -> tuple[str, str]:
    """Parse both files; a syntax or semantic error names the file and line."""
    domain, problem = read_input(domain_path), read_input(problem_path)
    try:
        check_requirements(domain)
        parse(domain)
    except Exception as exc:
        raise PlanCLIError(f"{domain_path}: {pddl_error(exc, domain)}", 2) from None
    try:
        check_requirements(problem)
        check_domain_name(domain, problem)
        parse(domain, problem)
    except Exception as exc:
        raise PlanCLIError(f"{problem_path}: {pddl_error(exc, problem)}", 2) from None
    return domain, problem


@click.command("plan")
@click.argument("domain", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--task",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A task in English instead of PROBLEM: a model translates it (needs --llm).",
)
@click.option(
    "--llm",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file with an llm: section (default: $COGOS_LLM_CONFIG); with --task.",
)
@click.option(
    "--example",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Worked example: TASK.nl with its TASK.pddl beside it (default: p_example.nl beside "
    "the task, if there).",
)
@click.option(
    "--domain-text",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The domain described in English (default: DOMAIN with .nl, if there).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --task: write the translated problem's PDDL here.",
)
@click.option(
    "--rounds",
    type=click.IntRange(1, 10),
    default=3,
    show_default=True,
    help="With --task: translations tried, each told why the last failed.",
)
@click.option(
    "--subgoals",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="With --task: plan by subgoals after a timeout (auto), beside the whole (always), never.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="fast-downward",
    show_default=True,
    help="fast-downward (lama-first), fast-downward-opt (optimal), pyperplan(-opt) (pure Python).",
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Wall-clock seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def plan(
    domain: Path,
    problem: Path | None,
    task: Path | None,
    llm: Path | None,
    example: Path | None,
    domain_text: Path | None,
    out: Path | None,
    rounds: int,
    subgoals: str,
    engine: str,
    timeout: float,
    as_json: bool,
) -> None:
    """Solve PROBLEM in DOMAIN, or a --task in English, and print the plan."""
    if timeout <= 0:
        raise PlanCLIError("--timeout must be > 0", 2)
    if (problem is None) == (task is None):
        raise PlanCLIError("give either PROBLEM (a PDDL file) or --task TASK.nl, not both", 2)
    if task is not None:
        # the model plumbing (LangChain, the llm extra) is imported only for a task in English
        from modules.llm.plan_cli import plan_task

        plan_task(
            domain,
            task,
            llm=llm,
            example=example,
            domain_text=domain_text,
            out=out,
            engine=engine,
            timeout=timeout,
            rounds=rounds,
            subgoals=subgoals,  # type: ignore[arg-type]  # click.Choice checked it
            as_json=as_json,
        )
        return
    assert problem is not None
    _solve_pddl(domain, problem, engine, timeout, as_json)


def _solve_pddl(domain: Path, problem: Path, engine: str, timeout: float, as_json: bool) -> None:
    worker = PlannerWorker()
    worker.warm()  # its imports (the engines: ~1 s) overlap with parsing here
    try:
        try:
            domain_text, problem_text = check_pddl(domain, problem)
        except DomainError as exc:
            raise PlanCLIError(str(exc), 2) from None
        result = worker.solve(PlanRequest(domain_text, problem_text), engine, timeout)
    finally:
        worker.close()
    if as_json:
        click.echo(json.dumps(result.to_json()))
    elif result.plan is not None:
        for i, (name, args) in enumerate(result.plan, 1):
            click.echo(f"{i:4d}  ({name} {' '.join(args)})")
        click.echo(
            f"cost {result.cost}  ({result.status.value} by {engine} in {result.seconds:.2f} s"
            f"{', validated' if result.validated else ''})"
        )
    if not result.status.solved:
        raise PlanCLIError(f"no plan: {result.status.value}: {result.message}", 1)


def register(cli: click.Group) -> None:
    """The ``cogos.cli`` entry point: add ``cogos plan``."""
    cli.add_command(plan)
