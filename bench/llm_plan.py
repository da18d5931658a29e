"""Natural language to verified plans, on LLM+P's problem set: LLM alone, LLM+P, and CogOS.

    python bench/llm_plan.py --data DIR --llm MODEL.yaml [--domains a,b] [--tasks N] [--quick]
                             [--resume FILE] [--timeout S] [--subgoals always]
                             [--household EPISODES]
    python bench/llm_plan.py --data DIR --oracle --quick    # harness check: NOT a model

``DIR`` holds domain folders laid out as LLM+P's ``domains/`` (Liu et al. 2023, repository
``Cranial-XIX/llm-pddl``): ``domain.pddl``, ``domain.nl``, ``p_example.nl`` / ``.pddl`` (/ ``.sol``)
and ``pNN.nl`` with its ground truth ``pNN.pddl``; or ``DIR`` is one such folder. The data set is
read where it lies, never copied. For each task, three methods:

* ``llm``: the model writes the plan itself (the example's plan in the prompt when there is one);
* ``llm_p``: LLM+P, one shot: the model writes the problem's PDDL (the worked example in the
  prompt), Fast Downward solves it; no constraint, no feedback;
* ``cogos``: :func:`modules.llm.nl_planning.plan_from_text`: constrained translation sentence by
  sentence, checked, solved, the planner's verdict fed back (3 rounds), subgoals after a timeout.

Success: the plan is valid for the **ground-truth** problem (unified-planning's validator). Also
per task: plan length against Fast Downward's on the ground truth, tokens, seconds, repairs. One
JSON line per task as it finishes (also appended to ``--resume FILE``, whose tasks a later run
skips), a progress bar, a table per domain, and the usual last JSON line. Published anchors
(GPT-4): LLM+P blocksworld 90 %, grippers 95 %, storage 85 %, barman 20 %; GPT-4 alone ~12 %.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from tqdm import tqdm

from cogos.config import LLMSpec
from modules.llm.chat import build_chat_model
from modules.llm.client import LLMClient, LLMError
from modules.llm.example_alignment import align
from modules.llm.nl_planning import SubgoalMode, plan_from_text
from modules.llm.problem_translation import WorkedExample, object_types, objects_answer_for
from modules.llm.task_text import lift
from modules.planning.domain import Domain, DomainError
from modules.planning.engine import PlannerWorker, PlanRequest
from modules.planning.problem_parts import ProblemParts, read_problem
from modules.planning.results import GroundAction
from modules.planning.validation import validate_plan

ANCHORS = {
    "llm_plus_p_gpt4": {"blocksworld": 0.90, "grippers": 0.95, "storage": 0.85, "barman": 0.20},
    "gpt4_alone_mean": 0.12,
    "source": "Liu et al., LLM+P (2023), arXiv 2304.11477",
}
METHODS = ("llm", "llm_p", "cogos")
SKIPPED: dict[str, str] = {}
"""Domain folders that could not be read, and why (in the last JSON line)."""
_PDDL_PROBLEM = re.compile(r"\(\s*define\s*\(\s*problem\b", re.I)


class PlanAnswer(BaseModel):
    plan: list[list[str]]


# --- the data set ---------------------------------------------------------------------------


class DomainFolder:
    """One domain folder of the data set, read in place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.notes: list[str] = []
        """What could not be used as given (shown in the output)."""
        self.domain_text = (path / "domain.pddl").read_text(encoding="utf-8")
        self.domain = self._domain()
        described = path / "domain.nl"
        self.described = described.read_text(encoding="utf-8") if described.exists() else None
        self.example: WorkedExample | None = None
        example = path / "p_example.nl"
        if example.exists():
            try:
                self.example = WorkedExample.load(example, self.domain)
            except (DomainError, OSError) as exc:  # a broken example: the tasks run without one
                self.notes.append(f"worked example not used: {exc}")

    def _domain(self) -> Domain:
        source = str(self.path / "domain.pddl")
        try:
            return Domain.from_text(self.domain_text, source)
        except DomainError:
            # a domain naming objects that only its problems declare: read it with one
            first = next(iter(sorted(self.path.glob("p*.pddl"))), None)
            if first is None:
                raise
            self.notes.append(f"domain read together with {first.name}")
            return Domain.from_text(self.domain_text, source, first.read_text(encoding="utf-8"))

    def tasks(self) -> list[str]:
        return sorted(
            p.stem
            for p in self.path.glob("p*.nl")
            if p.stem != "p_example" and p.with_suffix(".pddl").exists()
        )

    def text(self, task: str) -> str:
        return (self.path / f"{task}.nl").read_text(encoding="utf-8")

    def truth_text(self, task: str) -> str:
        return (self.path / f"{task}.pddl").read_text(encoding="utf-8")

    def truth(self, task: str) -> ProblemParts:
        return read_problem(
            self.domain_text, self.truth_text(task), str(self.path / f"{task}.pddl")
        )


def domain_folders(data: Path, names: list[str] | None) -> list[DomainFolder]:
    if (data / "domain.pddl").exists():
        return [DomainFolder(data)]
    found = sorted(p for p in data.iterdir() if (p / "domain.pddl").exists())
    if names:
        known = {p.name: p for p in found}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(
                f"{data}: no domain folder {', '.join(missing)} "
                f"(found: {', '.join(known) or 'none'})"
            )
        found = [known[n] for n in names]
    if not found:
        raise ValueError(f"{data}: no domain folders (each holds a domain.pddl)")
    folders = []
    for path in found:
        try:
            folders.append(DomainFolder(path))
        except DomainError as exc:  # one domain the reader cannot take does not stop the rest
            print(f"skipped {path.name}: {exc}", file=sys.stderr)
            SKIPPED[path.name] = str(exc)
    if not folders:
        raise ValueError(f"{data}: no domain could be read ({'; '.join(SKIPPED.values())})")
    return folders


# --- the three methods ------------------------------------------------------------------------


def _score(folder: DomainFolder, task: str, plan: list[GroundAction] | None) -> dict[str, Any]:
    if plan is None:
        return {"ok": False, "plan_length": None, "why": "no plan"}
    valid, why = validate_plan(folder.domain_text, folder.truth_text(task), plan)
    return {"ok": valid, "plan_length": len(plan), "why": why}


def _spent(client: LLMClient, before: tuple[int, int, int], started: float) -> dict[str, Any]:
    u = client.usage
    return {
        "input_tokens": u.input_tokens - before[0],
        "output_tokens": u.output_tokens - before[1],
        "llm_calls": u.calls - before[2],
        "seconds": round(time.perf_counter() - started, 2),
    }


def _mark(client: LLMClient) -> tuple[int, int, int]:
    return client.usage.input_tokens, client.usage.output_tokens, client.usage.calls


async def llm_alone(client: LLMClient, folder: DomainFolder, task: str) -> dict[str, Any]:
    started, before = time.perf_counter(), _mark(client)
    example = ""
    if folder.example is not None:
        example = f"\nAn example task:\n{folder.example.text.strip()}\n"
        if folder.example.plan:
            example += f"Its plan:\n{folder.example.plan.strip()}\n"
    user = (
        f"The domain:\n{folder.domain_text.strip()}\n\n{(folder.described or '').strip()}\n"
        f"{example}\nThe task:\n{folder.text(task).strip()}\n\n"
        'Reply with the plan as JSON: {"plan": [["action", "arg1", ...], ...]}'
    )
    system = "You are a planner. Answer with one JSON object and nothing else."
    plan = None
    why = ""
    try:
        answer = await client.ask(system, user, PlanAnswer, what="plan")
        plan = [
            (step[0].lower(), tuple(a.lower() for a in step[1:]))
            for step in answer.value.plan
            if step
        ]
    except LLMError as exc:
        why = str(exc)[:300]
    scored = _score(folder, task, plan)
    if plan is None:
        scored["why"] = why or scored["why"]
    return {**scored, **_spent(client, before, started)}


def problem_text(answer: str) -> str | None:
    """The PDDL problem in a model's answer: from ``(define (problem`` to its closing paren.

    Generous to the baseline: whatever follows (a closing code fence, an explanation) is cut
    off, and parentheses the answer leaves open at its end are closed (a small model copying
    the example's layout often drops the last one).
    """
    start = _PDDL_PROBLEM.search(answer)
    if start is None:
        return None
    depth = 0
    for i, char in enumerate(answer[start.start() :], start.start()):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return answer[start.start() : i + 1]
    return answer[start.start() :].rstrip().removesuffix("```").rstrip() + ")" * depth


async def llm_plus_p(
    client: LLMClient, folder: DomainFolder, task: str, worker: PlannerWorker, timeout: float
) -> dict[str, Any]:
    """LLM+P as published: the model writes the problem's PDDL in one shot; the planner solves."""
    started, before = time.perf_counter(), _mark(client)
    example = ""
    if folder.example is not None:
        example = (
            f"\nAn example task:\n{folder.example.text.strip()}\n"
            f"Its PDDL problem:\n{folder.example.problem_pddl.strip()}\n"
        )
    user = (
        f"The domain:\n{folder.domain_text.strip()}\n{example}\n"
        f"Now write the PDDL problem of this task:\n{folder.text(task).strip()}\n"
    )
    system = "You write PDDL problem files. Answer with the PDDL problem only."
    plan = None
    why = ""
    scored_text: str | None = None
    try:
        answer = await client.ask_text(system, user, what="problem pddl")
        text = problem_text(answer.value)
        if text is None:
            why = f"no (define (problem ...)) in the answer: {answer.value[:200]!r}"
        else:
            result = await worker.asolve(
                PlanRequest(folder.domain_text, problem_pddl=text), "fast-downward", timeout
            )
            plan = list(result.plan) if result.plan is not None else None
            why = result.message
        scored_text = text
    except LLMError as exc:
        why = str(exc)
    scored = _score(folder, task, plan)
    if plan is None:
        scored["why"] = why or scored["why"]
    scored["problem"] = scored_text  # what the model wrote, as the planner got it
    return {**scored, **_spent(client, before, started)}


async def cogos(
    client: LLMClient,
    folder: DomainFolder,
    task: str,
    worker: PlannerWorker,
    timeout: float,
    subgoals: SubgoalMode = "auto",
) -> dict[str, Any]:
    started, before = time.perf_counter(), _mark(client)
    result = await plan_from_text(
        client,
        folder.domain,
        folder.text(task),
        worker,
        example=folder.example,
        domain_text=folder.described,
        timeout=timeout,
        subgoals=subgoals,
    )
    scored = _score(folder, task, list(result.plan) if result.plan is not None else None)
    if subgoals == "always":  # the subgoal plan, measured beside the whole problem's
        by_parts = result.subgoal_plan
        scored["subgoals"] = result.subgoals
        scored["subgoal_ok"] = _score(folder, task, list(by_parts) if by_parts else None)["ok"]
        scored["subgoal_plan_length"] = None if by_parts is None else len(by_parts)
    read_by = [r["read_by"] for r in result.translation.readings()] if result.translation else []
    return {
        **scored,
        **_spent(client, before, started),
        "status": result.status,
        "rounds": result.rounds,
        "repairs": result.repairs,
        "feedback": result.feedback,
        "by_subgoals": result.status == "solved_by_subgoals",
        "patterns_read_by_model": read_by.count("model"),
        "patterns_read_from_example": read_by.count("example"),
    }


# --- the oracle: scripted answers from the ground truth (checks the harness, measures no model)


def oracle_replies(
    folder: DomainFolder, task: str, worker: PlannerWorker, subgoals: bool = False
) -> list[str]:
    """What a perfect model would answer, in the order the three methods ask."""
    truth = folder.truth(task)
    reference = worker.solve(
        PlanRequest(folder.domain_text, problem_pddl=folder.truth_text(task)), "fast-downward", 60
    )
    replies = [json.dumps({"plan": [[n, *a] for n, a in reference.plan or ()]})]
    replies.append(folder.truth_text(task))
    objects = dict(truth.objects)
    text = folder.text(task)
    replies.append(objects_answer_for(text, truth, object_types(folder.domain)).model_dump_json())
    readings = align(text, truth) or []
    known = folder.example.known() if folder.example is not None else {}
    asked = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for reading in readings:
        pattern = lift([reading.sentence], objects)[0]
        key = (pattern.text, pattern.slot_types)
        if (pattern.shape, pattern.slot_types) in known or key in seen:
            continue
        seen.add(key)
        asked.append(reading.to_json())
    if asked:
        replies.append(json.dumps({"sentences": asked}))
    if subgoals:  # one goal fact at a time, in the problem's order
        replies.append(json.dumps({"subgoals": [[list(a)] for a in sorted(truth.goal)]}))
    return replies


# --- the run ------------------------------------------------------------------------------------


def _done(resume: Path | None, model: str) -> dict[tuple[str, str], dict[str, Any]]:
    if resume is None or not resume.exists():
        return {}
    out = {}
    for line in resume.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill: that task runs again
        if isinstance(row, dict) and row.get("model") == model and "task" in row:
            out[(row["domain"], row["task"])] = row
    return out


async def run_task(
    spec: LLMSpec,
    folder: DomainFolder,
    task: str,
    worker: PlannerWorker,
    timeout: float,
    subgoals: SubgoalMode = "auto",
) -> dict[str, Any]:
    client = LLMClient(spec, build_chat_model(spec))
    reference = await worker.asolve(
        PlanRequest(folder.domain_text, problem_pddl=folder.truth_text(task)),
        "fast-downward",
        timeout,
    )
    methods = {
        "llm": await llm_alone(client, folder, task),
        "llm_p": await llm_plus_p(client, folder, task, worker, timeout),
        "cogos": await cogos(client, folder, task, worker, timeout, subgoals),
    }
    ref_len = len(reference.plan) if reference.plan is not None else None
    for result in methods.values():
        if result["ok"] and ref_len:
            result["length_ratio"] = round(result["plan_length"] / ref_len, 3)
    return {"domain": folder.name, "task": task, "reference_length": ref_len, "methods": methods}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for domain in sorted({r["domain"] for r in rows}):
        mine = [r for r in rows if r["domain"] == domain]
        out[domain] = {}
        for method in METHODS:
            rs = [r["methods"][method] for r in mine if method in r["methods"]]
            ok = [r for r in rs if r["ok"]]
            ratios = [r["length_ratio"] for r in ok if "length_ratio" in r]
            out[domain][method] = {
                "tasks": len(rs),
                "success_rate": round(len(ok) / len(rs), 3) if rs else None,
                "mean_length_ratio": round(sum(ratios) / len(ratios), 3) if ratios else None,
                "mean_tokens": round(
                    sum(r["input_tokens"] + r["output_tokens"] for r in rs) / len(rs), 1
                )
                if rs
                else None,
                "mean_seconds": round(sum(r["seconds"] for r in rs) / len(rs), 2) if rs else None,
                "repairs": sum(r.get("repairs", 0) for r in rs),
                "by_subgoals": sum(bool(r.get("by_subgoals")) for r in rs),
                "subgoal_success_rate": _rate([r["subgoal_ok"] for r in rs if "subgoal_ok" in r]),
            }
    return out


def _rate(oks: list[bool]) -> float | None:
    return round(sum(oks) / len(oks), 3) if oks else None


def table(summary: dict[str, Any]) -> str:
    lines = ["domain        method  success  length/FD  tokens  seconds  repairs"]
    for domain, methods in summary.items():
        for method, s in methods.items():
            ratio = "-" if s["mean_length_ratio"] is None else f"{s['mean_length_ratio']:.2f}"
            lines.append(
                f"{domain:13s} {method:6s} {s['success_rate']:7.0%} of {s['tasks']:<3d}"
                f" {ratio:>6s} {s['mean_tokens']:8.0f} {s['mean_seconds']:8.1f} {s['repairs']:8d}"
            )
    return "\n".join(lines)


def household(spec_path: Path, episodes: int) -> dict[str, Any] | None:
    """Both LLM policies on household tasks through the runner (bounded: ``episodes``)."""
    root = Path(__file__).resolve().parent.parent
    config = root / "config" / "household.yaml"
    if not config.exists():
        return None
    from cogos.config import load_config
    from cogos.runner import run

    flow = json.dumps(yaml.safe_load(spec_path.read_text())["llm"])
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
        "--data", type=Path, required=True, help="domain folders (LLM+P's domains/), or one"
    )
    parser.add_argument("--domains", help="comma-separated folder names (default: all)")
    parser.add_argument("--tasks", type=int, help="the first N tasks of each domain")
    parser.add_argument("--quick", action="store_true", help="3 tasks per domain")
    parser.add_argument(
        "--llm",
        type=Path,
        default=os.environ.get("COGOS_LLM_CONFIG"),
        help="YAML with an llm: section",
    )
    parser.add_argument(
        "--oracle", action="store_true", help="scripted ground-truth answers (harness check)"
    )
    parser.add_argument(
        "--resume", type=Path, help="JSONL of finished tasks: appended to, and skipped"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="planner seconds per solve")
    parser.add_argument(
        "--household", type=int, metavar="EPISODES", help="also run household tasks"
    )
    parser.add_argument(
        "--subgoals",
        choices=["auto", "always"],
        default="auto",
        help="cogos plans by subgoals after a timeout (auto), or always too, measured beside",
    )
    args = parser.parse_args()
    if args.llm is None and not args.oracle:
        print(
            "error: bench/llm_plan.py needs a model: --llm MODEL.yaml (a YAML file with an 'llm:' "
            "section, e.g. config/llm/llama_server.yaml) or COGOS_LLM_CONFIG; --oracle checks "
            "the harness without one",
            file=sys.stderr,
        )
        return 2
    if not args.data.is_dir():
        print(f"error: --data {args.data}: not a directory", file=sys.stderr)
        return 2
    try:
        folders = domain_folders(args.data, args.domains.split(",") if args.domains else None)
    except (DomainError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    limit = 3 if args.quick else args.tasks
    # domains taken in turn (p01 of each, then p02...): a run cut short covers them alike
    per_domain = [[(f, t) for t in f.tasks()[:limit]] for f in folders]
    todo = [x for round_ in itertools.zip_longest(*per_domain) for x in round_ if x is not None]
    model = "oracle" if args.oracle else "?"
    base_spec = None
    if not args.oracle:
        base_spec = LLMSpec.model_validate(yaml.safe_load(Path(args.llm).read_text())["llm"])
        model = f"{base_spec.provider}/{base_spec.model}"
    done = _done(args.resume, model)
    rows = [done[(f.name, t)] for f, t in todo if (f.name, t) in done]
    started = time.perf_counter()
    worker = PlannerWorker()
    try:
        for folder, task in tqdm(
            [x for x in todo if (x[0].name, x[1]) not in done], desc="tasks", file=sys.stderr
        ):
            spec = base_spec
            if spec is None:
                spec = LLMSpec(
                    provider="scripted",
                    model="oracle",
                    responses=oracle_replies(folder, task, worker, args.subgoals == "always"),
                )
            row = {
                "model": model,
                **asyncio.run(run_task(spec, folder, task, worker, args.timeout, args.subgoals)),
            }
            rows.append(row)
            line = json.dumps(row)
            print(line, flush=True)
            if args.resume is not None:
                with args.resume.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
        house = household(Path(args.llm), args.household) if args.household and args.llm else None
    finally:
        worker.close()
    summary = summarize(rows)
    print(table(summary))
    print(
        json.dumps(
            {
                "bench": "llm_plan",
                "model": model
                if not args.oracle
                else "oracle (scripted ground truth, not a model)",
                "data": str(args.data),
                "tasks": len(rows),
                "domains": summary,
                "skipped_domains": SKIPPED,
                "notes": {f.name: f.notes for f in folders if f.notes},
                "household": house,
                "anchors": ANCHORS,
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
