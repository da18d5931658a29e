"""``cogos plan DOMAIN.pddl --task TASK.nl --llm CONFIG``: a task in English to a verified plan.

The body of ``cogos plan``'s ``--task`` mode (the command itself is in
:mod:`modules.planning.cli`, which imports this only then: the model plumbing needs the ``llm``
extra). Prints the translated problem, how each sentence was read, the plan and its validation.
Exit codes as ``cogos plan``'s: 0 a validated plan, 1 none (the model never gave a usable
problem, or the planner found no plan), 2 bad input (no model configured, unreadable file).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from cogos.config import LLMSpec
from cogos.errors import ConfigError
from modules.llm.chat import build_chat_model
from modules.llm.client import LLMClient
from modules.llm.nl_planning import NLPlan, SubgoalMode, plan_from_text
from modules.llm.problem_translation import WorkedExample
from modules.planning.cli import PlanCLIError, read_input
from modules.planning.domain import Domain, DomainError
from modules.planning.engine import PlannerWorker


def load_llm_spec(path: Path | None) -> LLMSpec:
    """The ``llm:`` section of ``path`` (or of ``COGOS_LLM_CONFIG``); exit 2 when there is none."""
    if path is None:
        named = os.environ.get("COGOS_LLM_CONFIG")
        if not named:
            raise PlanCLIError(
                "no model configured: give --llm CONFIG.yaml (a YAML file with an 'llm:' section, "
                "such as config/llm/llama_server.yaml) or set COGOS_LLM_CONFIG",
                2,
            )
        path = Path(named)
    try:
        data = yaml.safe_load(read_input(path, "model config"))
    except yaml.YAMLError as exc:
        raise PlanCLIError(f"{path}: not YAML ({exc})", 2) from None
    if not isinstance(data, dict) or not isinstance(data.get("llm"), dict):
        raise PlanCLIError(f"{path}: expected a mapping with an 'llm:' section", 2)
    try:
        return LLMSpec.model_validate(data["llm"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanCLIError(f"{path}: llm.{where}: {first['msg']}", 2) from None


def _example(task: Path, given: Path | None, domain: Domain) -> WorkedExample | None:
    """``given``, else ``p_example.nl`` beside the task (the data set's layout), if any."""
    path = given if given is not None else task.with_name("p_example.nl")
    if given is None and (not path.exists() or path.resolve() == task.resolve()):
        return None
    try:
        return WorkedExample.load(path, domain)
    except OSError as exc:
        raise PlanCLIError(f"{path}: cannot read the worked example ({exc})", 2) from None
    except DomainError as exc:
        raise PlanCLIError(f"worked example: {exc}", 2) from None


def plan_task(
    domain_path: Path,
    task_path: Path,
    *,
    llm: Path | None,
    example: Path | None,
    domain_text: Path | None,
    out: Path | None,
    engine: str,
    timeout: float,
    rounds: int,
    subgoals: SubgoalMode,
    as_json: bool,
) -> None:
    spec = load_llm_spec(llm)
    try:
        domain = Domain.from_text(read_input(domain_path, "domain"), str(domain_path))
    except DomainError as exc:
        raise PlanCLIError(str(exc), 2) from None
    task = read_input(task_path, "task")
    if not task.strip():
        raise PlanCLIError(f"{task_path}: the task is empty", 2)
    described_path = domain_text if domain_text is not None else domain_path.with_suffix(".nl")
    described = (
        read_input(described_path, "domain's description") if described_path.exists() else None
    )
    if domain_text is not None and described is None:
        raise PlanCLIError(f"{domain_text}: no such file", 2)
    worked = _example(task_path, example, domain)
    try:
        client = LLMClient(spec, build_chat_model(spec))
    except ConfigError as exc:
        raise PlanCLIError(str(exc), 2) from None
    worker = PlannerWorker()
    worker.warm()
    try:
        result = asyncio.run(
            plan_from_text(
                client,
                domain,
                task,
                worker,
                example=worked,
                domain_text=described,
                engine=engine,
                timeout=timeout,
                rounds=rounds,
                subgoals=subgoals,
            )
        )
    finally:
        worker.close()
    if out is not None and result.translation is not None:
        out.write_text(
            result.translation.problem(domain, task_path.stem).to_pddl(), encoding="utf-8"
        )
    _show(result, domain, task_path.stem, as_json)
    if result.plan is None:
        why = result.feedback[-1] if result.feedback else result.status
        raise PlanCLIError(f"no plan after {result.rounds} round(s): {why}", 1)


def _show(result: NLPlan, domain: Domain, name: str, as_json: bool) -> None:
    translation = result.translation
    if as_json:
        payload: dict[str, Any] = result.to_json()
        if translation is not None:
            payload["problem"] = translation.problem(domain, name).to_pddl()
            payload["readings"] = translation.readings()
        click.echo(json.dumps(payload))
        return
    if translation is not None:
        click.echo("; how the task was read")
        for r in translation.readings():
            facts = " ".join(f"({' '.join(a)})" for a in r["facts"]) or "-"
            click.echo(
                f";   [{r['read_by']}] {r['pattern']} x{r['sentences']} -> {r['part']}: {facts}"
            )
        click.echo(translation.problem(domain, name).to_pddl())
    for reason in result.feedback:
        click.echo(f"; repaired: {reason}")
    if result.plan is not None:
        for i, (step, args) in enumerate(result.plan, 1):
            click.echo(f"{i:4d}  ({step} {' '.join(args)})")
        how = "by subgoals" if result.status == "solved_by_subgoals" else "whole"
        valid = "validated" if result.validated else "not validated"
        click.echo(
            f"plan of {len(result.plan)} steps ({how}, {valid}); {result.rounds} round(s), "
            f"{result.llm_calls} model call(s), {result.input_tokens}+{result.output_tokens} "
            f"tokens, {result.seconds:.1f} s"
        )
