"""LLM+P-style evaluation: the LLM alone (`llm`) against LLM goal + planner (`neuro_symbolic`).

    python bench/llm_plan.py --llm MODEL.yaml [--quick]      # MODEL.yaml has an `llm:` section
    python bench/llm_plan.py --oracle [--quick]   # harness check: scripted oracle, NOT a model

Needs a configured chat model (or COGOS_LLM_CONFIG naming the YAML). Two task sets:

* **IPC problems with natural-language descriptions** (blocksworld and gripper from
  ``modules/planning/ipc.py``): the problem's objects, initial state and goal are described in
  English. ``llm``: the model writes the whole plan as a list of actions, checked by replaying it
  against the domain from the true initial state to the true goal. ``neuro_symbolic``: the model
  translates the goal into PDDL atoms (``modules.llm.reasoning.translate_goal``, with repair), Fast
  Downward plans from the known initial state, and the plan is checked the same way (LLM+P,
  Liu et al. 2023).
* **Household tasks** (``config/household.yaml``) when the household environment is present:
  ``cogos.runner`` runs the ``llm`` policy and ``neuro_symbolic`` (``llm.goal`` + planner) with
  the model, success per task family.

Figures (last line: one JSON object): success rate per task set and method, tokens and seconds per
task, beside published anchors: LLM+P solves blocksworld 90%, grippers 95%, storage 85%, barman
20%, while GPT-4 planning alone averages about 12% (Liu et al., 2023).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import _no_shadow  # noqa: F401  (before any project import: see the file)
import yaml
from pydantic import BaseModel

from cogos.config import LLMSpec
from modules.llm.chat import build_chat_model
from modules.llm.client import LLMCallError, LLMClient, LLMOutputError
from modules.llm.reasoning import translate_goal
from modules.planning.domain import Domain, load_domain
from modules.planning.engine import PlannerWorker, PlanRequest
from modules.planning.ipc import GeneratedProblem, blocksworld_instance, gripper_instance

ANCHORS = {
    "llm_plus_p": {"blocksworld": 0.90, "grippers": 0.95, "storage": 0.85, "barman": 0.20},
    "gpt4_alone_mean": 0.12,
    "source": "Liu et al., LLM+P (2023)",
}


class PlanAnswer(BaseModel):
    plan: list[list[str]]


def describe(problem: GeneratedProblem) -> str:
    """The problem in plain English (what an LLM+P user would type)."""
    objects = ", ".join(f"{n} ({t})" for n, t in problem.objects)
    init = "; ".join(" ".join(a) for a in sorted(problem.init))
    goal = "; ".join(" ".join(a) for a in sorted(problem.goal))
    return (
        f"Domain: {problem.domain}. Objects: {objects}. Initially the following hold: {init}. "
        f"The goal is that the following hold: {goal}."
    )


def check_plan(
    domain: Domain, problem: GeneratedProblem, plan: list[tuple[str, tuple[str, ...]]]
) -> bool:
    try:
        end, failed = domain.replay(problem.init, tuple(plan))
    except Exception:
        return False
    return failed is None and problem.goal <= end


async def llm_alone(client: LLMClient, domain: Domain, problem: GeneratedProblem) -> dict[str, Any]:
    actions = "\n".join(
        f"- {s.name} with parameters {', '.join(s.params)}" for s in domain.schemas.values()
    )
    system = "You are a planner. Answer with one JSON object and nothing else."
    user = (
        f"{describe(problem)}\nActions:\n{actions}\n"
        'Reply with the plan: {"plan": [["action", "arg1", ...], ...]}'
    )
    started = time.perf_counter()
    before = client.usage.input_tokens + client.usage.output_tokens
    try:
        answer = await client.ask(system, user, PlanAnswer, what="plan")
        plan = [(step[0], tuple(step[1:])) for step in answer.value.plan if step]
        ok = check_plan(domain, problem, plan)
    except (LLMOutputError, LLMCallError):
        ok = False
    return {
        "ok": ok,
        "seconds": time.perf_counter() - started,
        "tokens": client.usage.input_tokens + client.usage.output_tokens - before,
    }


async def llm_plus_planner(
    client: LLMClient, domain: Domain, problem: GeneratedProblem, worker: PlannerWorker
) -> dict[str, Any]:
    started = time.perf_counter()
    before = client.usage.input_tokens + client.usage.output_tokens
    objects = dict(problem.objects)
    try:
        goal, _ = await translate_goal(client, describe(problem), domain.predicates, objects)
    except (LLMOutputError, LLMCallError):
        goal = frozenset()
    ok = False
    if goal:
        request = PlanRequest(
            domain.text,
            objects=problem.objects,
            init=tuple(sorted(problem.init)),
            goal=tuple(sorted(goal)),
        )
        result = await worker.asolve(request, "fast-downward", 60)
        if result.plan is not None:
            ok = check_plan(domain, problem, list(result.plan))
    return {
        "ok": ok,
        "seconds": time.perf_counter() - started,
        "tokens": client.usage.input_tokens + client.usage.output_tokens - before,
    }


def oracle_spec(problems: list[GeneratedProblem], worker: PlannerWorker) -> LLMSpec:
    """Scripted answers from the ground truth: exercises the harness, measures no model."""
    replies: list[str] = []
    for problem in problems:
        domain = load_domain(problem.domain)
        result = worker.solve(
            PlanRequest(domain.text, problem_pddl=problem.to_pddl()), "fast-downward", 60
        )
        plan = [[name, *args] for name, args in (result.plan or ())]
        replies.append(json.dumps({"plan": plan}))
        replies.append(json.dumps({"goal": [list(a) for a in sorted(problem.goal)]}))
    return LLMSpec(provider="scripted", model="oracle", responses=replies)


def problems(quick: bool) -> list[GeneratedProblem]:
    sizes = (3, 4) if quick else (3, 4, 5, 6, 8)
    out = [blocksworld_instance(n, seed) for n in sizes for seed in range(2 if quick else 5)]
    out += [gripper_instance(n) for n in ((2, 4) if quick else (2, 4, 6, 8, 10))]
    return out


async def evaluate(
    spec: LLMSpec, suite: list[GeneratedProblem], worker: PlannerWorker
) -> dict[str, Any]:
    client = LLMClient(spec, build_chat_model(spec))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for problem in suite:
        domain = load_domain(problem.domain)
        alone = await llm_alone(client, domain, problem)
        both = await llm_plus_planner(client, domain, problem, worker)
        results.setdefault(problem.domain, {"llm": [], "neuro_symbolic": []})
        results[problem.domain]["llm"].append(alone)
        results[problem.domain]["neuro_symbolic"].append(both)
    out: dict[str, Any] = {}
    for name, methods in results.items():
        out[name] = {
            method: {
                "tasks": len(rs),
                "success_rate": round(sum(r["ok"] for r in rs) / len(rs), 3),
                "mean_tokens": round(sum(r["tokens"] for r in rs) / len(rs), 1),
                "mean_seconds": round(sum(r["seconds"] for r in rs) / len(rs), 3),
            }
            for method, rs in methods.items()
        }
    return out


def household(spec_path: Path | None, quick: bool) -> dict[str, Any] | None:
    """Both policies on household tasks through the runner (needs the household env and a model)."""
    root = Path(__file__).resolve().parent.parent
    config = root / "config" / "household.yaml"
    if spec_path is None or not config.exists():
        return None
    from cogos.config import load_config
    from cogos.runner import run

    llm = yaml.safe_load(spec_path.read_text())["llm"]
    flow = json.dumps(llm)
    episodes = 6 if quick else 30
    out = {}
    for policy, modules in (
        ("llm", "[{name: perception.facts}]"),
        (
            "neuro_symbolic",
            "[{name: perception.facts}, {name: llm.goal, options: {domain: household}}, "
            "{name: planner.pddl, options: {domain: household}}]",
        ),
    ):
        loaded = load_config(
            config,
            [
                f"episodes={episodes}",
                f"agent.policy.name={policy}",
                f"agent.modules={modules}",
                f"llm={flow}",
                "trace.enabled=false",
            ],
        )
        metrics = run(loaded).metrics
        out[policy] = {
            k: metrics.get(k)
            for k in ("success_rate", "by_task_family", "mean_llm_tokens", "llm_seconds")
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--llm",
        type=Path,
        default=os.environ.get("COGOS_LLM_CONFIG"),
        help="YAML file with an llm: section (or COGOS_LLM_CONFIG)",
    )
    parser.add_argument(
        "--oracle", action="store_true", help="scripted ground-truth answers (harness check)"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.llm is None and not args.oracle:
        print(
            "bench/llm_plan.py needs a configured model: --llm MODEL.yaml (a YAML file with an "
            "'llm:' section, e.g. provider: ollama, model: llama3.1) or COGOS_LLM_CONFIG; "
            "--oracle checks the harness without a model",
            file=sys.stderr,
        )
        return 2
    suite = problems(args.quick)
    worker = PlannerWorker()
    try:
        if args.oracle:
            spec = oracle_spec(suite, worker)
            label = "oracle (scripted ground truth, not a model)"
        else:
            spec = LLMSpec.model_validate(yaml.safe_load(Path(args.llm).read_text())["llm"])
            label = f"{spec.provider}/{spec.model}"
        started = time.perf_counter()
        ipc = asyncio.run(evaluate(spec, suite, worker))
        house = None if args.oracle else household(Path(args.llm), args.quick)
    finally:
        worker.close()
    for name, methods in ipc.items():
        for method, stats in methods.items():
            print(
                f"{name:12s} {method:15s} success {stats['success_rate']:.0%} of {stats['tasks']}, "
                f"{stats['mean_tokens']:.0f} tokens, {stats['mean_seconds']:.2f} s per task"
            )
    print(
        json.dumps(
            {
                "bench": "llm_plan",
                "quick": args.quick,
                "model": label,
                "ipc": ipc,
                "household": house,
                "anchors": ANCHORS,
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
