"""Planner overhead: CogOS's planner worker against the raw unified-planning engines.

    python bench/planner.py [--quick] [--timeout S] [--reps N]

On the generated IPC-style suite (``modules.planning.ipc_problems``: blocksworld, gripper,
logistics),
for each problem and each engine (Fast Downward, pyperplan), measured in this one run:

* ``module``: ``PlannerWorker.solve`` with validation on the PDDL texts, timed around the
  call: pickling the request to the warm worker process, parsing the PDDL there, solving,
  validating the plan, sending it back;
* ``module (data)``: the same request as plain data (objects, init and goal atoms; the domain
  parsed once per worker), which is how the ``planner.pddl`` module sends its problems: what
  CogOS pays per solve in an agent;
* ``raw solve``: ``OneshotPlanner(name=engine).solve(problem)`` in this process on a problem
  parsed once with ``PDDLReader``, timed around ``solve`` only (the library's floor);
* ``raw parse+solve``: parsing the two PDDL texts and solving, in this process;
* ``raw parse+solve+validate``: the same plus unified-planning's plan validator, i.e. the
  module's work without the worker process: module minus this is the price of the process
  boundary (IPC, and the wall-clock timeout it buys).

Times are medians over ``--reps`` repeats (one when the first took over 2 s), the module and
raw runs interleaved so machine noise hits both alike. Each solve has a wall-clock limit
(``--timeout``): the module path enforces it by killing the worker, so pyperplan on a hard
problem counts as not covered instead of hanging; the raw runs are only attempted where the
module path solved the problem (pyperplan ignores unified-planning's timeout, so here an alarm
signal interrupts it). The worker is warmed up first (engines imported, domains cached) and
again after each timeout (which restarts it), so figures are steady-state.

pyperplan's search order (so its time, and the plan it finds) depends on Python's string hash
seed, which differs between processes; the bench therefore re-runs itself with
``PYTHONHASHSEED=0`` (unless the variable is set already), and the worker processes inherit it,
so the module and raw runs search the same way.

Also: the plan cache's hit latency (``modules.planning.cache.PlanCache.get`` keyed by a hash of
the domain and problem texts; p50/p99, with and without computing the key).

Goals (reported, never asserted): module <= 1.1 x raw solve + 20 ms (reported for both module
paths); cache hit <= 1 ms.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modules.planning.cache import PlanCache
from modules.planning.engine import PlannerWorker, PlanRequest
from modules.planning.ipc_problems import (
    GeneratedProblem,
    blocksworld_instance,
    domain_text,
    generated_instances,
    gripper_instance,
    logistics_instance,
)
from modules.planning.results import GroundAction, PlanStatus

ENGINES = ("fast-downward", "pyperplan")
GOAL_RATIO = 1.1
GOAL_SLACK_MS = 20.0
GOAL_CACHE_HIT_MS = 1.0


class _Alarm(Exception):
    pass


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Interrupt a pure-Python solve (pyperplan) running past ``seconds`` in this process."""

    def fire(signum: int, frame: Any) -> None:
        raise _Alarm

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Row:
    problem: str
    engine: str
    status: str = ""
    length: int | None = None
    module_ms: list[float] = field(default_factory=list)
    module_data_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)  # worker-side build + solve
    raw_solve_ms: list[float] = field(default_factory=list)
    raw_parse_solve_ms: list[float] = field(default_factory=list)
    raw_full_ms: list[float] = field(default_factory=list)
    raw_validate_ms: list[float] = field(default_factory=list)
    raw_status: str = ""
    plan: tuple[GroundAction, ...] | None = None

    @property
    def solved(self) -> bool:
        return self.status in (PlanStatus.SOLVED.value, PlanStatus.SOLVED_OPTIMALLY.value)

    def med(self, name: str) -> float | None:
        values: list[float] = getattr(self, name)
        return statistics.median(values) if values else None


class Raw:
    """The raw library in this process: parse, solve, validate."""

    def __init__(self) -> None:
        from unified_planning.io import PDDLReader
        from unified_planning.shortcuts import OneshotPlanner, PlanValidator, get_environment

        get_environment().credits_stream = None
        self.reader = PDDLReader
        self.planner = OneshotPlanner
        self.validator = PlanValidator

    def parse(self, domain: str, problem: str) -> Any:
        return self.reader().parse_problem_string(domain, problem)

    def solve(self, engine: str, problem: Any, timeout: float) -> tuple[Any, float]:
        """Solve ``problem``; returns the result and the seconds spent in ``solve`` alone."""
        with self.planner(name=engine) as planner, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "fast-downward" in engine:  # honours the timeout itself (its own subprocess)
                started = time.perf_counter()
                result = planner.solve(problem, timeout=timeout)
                return result, time.perf_counter() - started
            with alarm(timeout):
                started = time.perf_counter()
                result = planner.solve(problem)
                return result, time.perf_counter() - started

    def validate(self, problem: Any, plan: Any) -> bool:
        with self.validator(name="sequential_plan_validator") as validator:
            return bool(validator.validate(problem, plan).status.name == "VALID")


def ms(seconds: float) -> float:
    return seconds * 1000.0


def measure(
    worker: PlannerWorker,
    raw: Raw,
    problem: GeneratedProblem,
    engine: str,
    timeout: float,
    reps: int,
    warm_up: Callable[[], None],
) -> Row:
    row = Row(problem.name, engine)
    domain, problem_text = domain_text(problem.domain), problem.to_pddl()
    request = PlanRequest(domain, problem_pddl=problem_text, name=problem.name)
    as_data = PlanRequest(
        domain,
        objects=problem.objects,
        init=tuple(sorted(problem.init)),
        goal=tuple(sorted(problem.goal)),
        name=problem.name,
    )
    parsed = raw.parse(domain, problem_text)  # parsed once for the raw-solve figure
    for rep in range(reps):
        # module path, PDDL texts
        started = time.perf_counter()
        result = worker.solve(request, engine, timeout, validate=True)
        elapsed = time.perf_counter() - started
        row.status = result.status.value
        if not result.status.solved:
            if result.status is PlanStatus.TIMEOUT:
                warm_up()  # the worker was killed: start and warm a fresh one off the clock
            break
        if not result.validated:
            row.status = "not validated"
            break
        row.length = result.cost
        row.plan = result.plan
        row.module_ms.append(ms(elapsed))
        engine_seconds = result.extra.get("engine_seconds")
        if engine_seconds is not None:
            row.engine_ms.append(ms(engine_seconds))
        # module path, plain data (what the planner module sends)
        started = time.perf_counter()
        result = worker.solve(as_data, engine, timeout, validate=True)
        if result.status.solved and result.validated:
            row.module_data_ms.append(ms(time.perf_counter() - started))
        elif result.status is PlanStatus.TIMEOUT:
            warm_up()
        # raw, parsed once: solve only
        try:
            raw_result, solve_s = raw.solve(engine, parsed, timeout)
        except _Alarm:
            row.raw_status = "timeout"
            break
        row.raw_status = raw_result.status.name.lower()
        if raw_result.plan is None:
            break
        row.raw_solve_ms.append(ms(solve_s))
        # raw: parse + solve (+ validate)
        try:
            started = time.perf_counter()
            fresh = raw.parse(domain, problem_text)
            raw_result, _ = raw.solve(engine, fresh, timeout)
            parse_solve = time.perf_counter() - started
            valid = raw_result.plan is not None and raw.validate(fresh, raw_result.plan)
            full = time.perf_counter() - started
        except _Alarm:
            break
        if valid:
            row.raw_parse_solve_ms.append(ms(parse_solve))
            row.raw_full_ms.append(ms(full))
            row.raw_validate_ms.append(ms(full - parse_solve))
        if rep == 0 and elapsed > 2.0:
            break  # slow problem: one repeat is enough (and keeps the run short)
    return row


def cache_latency(
    suite: list[GeneratedProblem], plans: dict[str, tuple[GroundAction, ...]], n: int
) -> dict[str, Any]:
    """PlanCache.get on hits, keyed by a hash of the domain and problem texts."""

    def key(domain: str, problem: str) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(domain.encode())
        h.update(b"\x00")
        h.update(problem.encode())
        return h.hexdigest()

    cache = PlanCache(1024)
    solved = [p for p in suite if p.name in plans]
    texts = [(domain_text(p.domain), p.to_pddl()) for p in solved]
    keys = []
    for p, (domain, problem) in zip(solved, texts, strict=True):
        k = key(domain, problem)
        cache.put(k, plans[p.name], domain=p.domain, goal=sorted(p.goal))
        keys.append(k)
    if not keys:
        return {}
    get_ns = np.empty(n)
    key_get_ns = np.empty(n)
    clock = time.perf_counter_ns
    for i in range(n):
        k = keys[i % len(keys)]
        t0 = clock()
        plan = cache.get(k)
        get_ns[i] = clock() - t0
        assert plan is not None
    for i in range(n):
        domain, problem = texts[i % len(texts)]
        t0 = clock()
        plan = cache.get(key(domain, problem))
        key_get_ns[i] = clock() - t0
        assert plan is not None
    clock_ns = np.empty(n)
    for i in range(n):
        t0 = clock()
        clock_ns[i] = clock() - t0
    floor = float(np.median(clock_ns))  # the clock's own cost, reported, not subtracted

    def us(a: Any, q: float) -> float:
        return round(float(np.percentile(a, q)) / 1000.0, 2)

    return {
        "lookups": n,
        "entries": len(keys),
        "get_hit_us_p50": us(get_ns, 50),
        "get_hit_us_p99": us(get_ns, 99),
        "key_and_get_hit_us_p50": us(key_get_ns, 50),
        "key_and_get_hit_us_p99": us(key_get_ns, 99),
        "timer_floor_us": round(floor / 1000.0, 3),
        "problem_chars_mean": round(statistics.mean(len(p) for _, p in texts)),
        "within_goal": bool(np.percentile(key_get_ns, 99) / 1e6 <= GOAL_CACHE_HIT_MS),
    }


def geomean(values: list[float]) -> float | None:
    return math.exp(statistics.mean(math.log(v) for v in values)) if values else None


def rnd(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def compare(module: list[float], base: list[float]) -> dict[str, Any]:
    """Module times against baseline times (same problems): ratio, overhead, goal."""
    if not module:
        return {}
    over = [m - b for m, b in zip(module, base, strict=True)]
    ok = sum(m <= GOAL_RATIO * b + GOAL_SLACK_MS for m, b in zip(module, base, strict=True))
    return {
        "ratio_geomean": rnd(geomean([m / b for m, b in zip(module, base, strict=True)]), 2),
        "overhead_ms_median": rnd(statistics.median(over)),
        "overhead_ms_max": rnd(max(over)),
        "within_goal": f"{ok}/{len(module)}",
    }


def summarize(rows: list[Row], engine: str) -> dict[str, Any]:
    mine = [r for r in rows if r.engine == engine]
    # problems where every path solved: the ratios compare like with like
    both = [
        r
        for r in mine
        if r.module_ms
        and r.module_data_ms
        and r.raw_solve_ms
        and r.raw_parse_solve_ms
        and r.raw_full_ms
    ]

    def med(name: str) -> list[float]:
        return [r.med(name) or 0.0 for r in both]

    module, data = med("module_ms"), med("module_data_ms")
    solve, parse_solve, full = med("raw_solve_ms"), med("raw_parse_solve_ms"), med("raw_full_ms")
    solve_validate = [s + v for s, v in zip(solve, med("raw_validate_ms"), strict=True)]
    return {
        "coverage": f"{sum(r.solved for r in mine)}/{len(mine)}",
        "solved": sum(r.solved for r in mine),
        "timeouts": sum(r.status == PlanStatus.TIMEOUT.value for r in mine),
        "compared": len(both),
        "raw_solve_ms_median": rnd(statistics.median(solve)) if both else None,
        "raw_validate_ms_median": rnd(statistics.median(med("raw_validate_ms"))) if both else None,
        "module_pddl": {
            "ms_median": rnd(statistics.median(module)) if both else None,
            "vs_raw_solve": compare(module, solve),
            "vs_raw_parse_solve": compare(module, parse_solve),
            "vs_raw_parse_solve_validate": compare(module, full),
        },
        "module_data": {
            "ms_median": rnd(statistics.median(data)) if both else None,
            "vs_raw_solve": compare(data, solve),
            "vs_raw_parse_solve": compare(data, parse_solve),
            "vs_raw_solve_validate": compare(data, solve_validate),
        },
    }


def cell(value: float | None, width: int) -> str:
    return f"{value:{width}.1f}" if value is not None else f"{'-':>{width}}"


def same_hash_seed_everywhere() -> None:
    """Re-exec with a fixed hash seed (inherited by the worker processes), unless one is set."""
    if "PYTHONHASHSEED" not in os.environ:
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small suite, fewer repeats (CI smoke)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="wall-clock seconds per solve")
    parser.add_argument("--reps", type=int, default=None, help="repeats per measurement")
    args = parser.parse_args()
    same_hash_seed_everywhere()
    reps = args.reps or 3
    suite = generated_instances(args.quick)

    raw = Raw()
    worker = PlannerWorker()
    tiny = [blocksworld_instance(3, 0), gripper_instance(2), logistics_instance(1, 1, 0)]
    tiny_requests = [
        PlanRequest(
            domain_text(p.domain),
            objects=p.objects,
            init=tuple(sorted(p.init)),
            goal=tuple(sorted(p.goal)),
            name=p.name,
        )
        for p in tiny
    ]
    tiny_parsed = raw.parse(domain_text(tiny[1].domain), tiny[1].to_pddl())

    def warm_up() -> None:
        """Start the worker, import the engines there and cache the domains (data path)."""
        for request in tiny_requests:
            for engine in ENGINES:
                worker.solve(request, engine, 60.0, validate=True)

    started = time.perf_counter()
    warm_up()  # worker started, engines imported there
    for engine in ENGINES:  # and here
        warm, _ = raw.solve(engine, tiny_parsed, 60.0)
        raw.validate(tiny_parsed, warm.plan)

    print(
        f"planner bench: {len(suite)} problems x {len(ENGINES)} engines, "
        f"timeout {args.timeout:g} s, {reps} repeats (medians, ms)"
    )
    print(
        "module = PlannerWorker.solve on PDDL texts, data = the same as plain data (what the "
        "planner module sends),\nworker = build+solve inside the worker, raw = unified-planning "
        "in this process (p = parse, s = solve, v = validate)"
    )
    print(
        f"{'problem':24} {'engine':14} {'status':8} {'len':>4} {'module':>8} {'data':>8} "
        f"{'worker':>8} {'raw s':>8} {'raw p+s':>8} {'raw psv':>8} {'mod/s':>6} {'data/s':>6}"
    )
    rows: list[Row] = []
    plans: dict[str, tuple[GroundAction, ...]] = {}
    try:
        for problem in suite:
            for engine in ENGINES:
                row = measure(worker, raw, problem, engine, args.timeout, reps, warm_up)
                rows.append(row)
                if row.plan is not None:
                    plans.setdefault(problem.name, row.plan)
                m, d, s = row.med("module_ms"), row.med("module_data_ms"), row.med("raw_solve_ms")
                print(
                    f"{problem.name:24} {engine:14} {row.status:8} {row.length or '-':>4} "
                    f"{cell(m, 8)} {cell(d, 8)} {cell(row.med('engine_ms'), 8)} {cell(s, 8)} "
                    f"{cell(row.med('raw_parse_solve_ms'), 8)} {cell(row.med('raw_full_ms'), 8)} "
                    f"{cell(m / s if m and s else None, 6)} {cell(d / s if d and s else None, 6)}",
                    flush=True,
                )
    finally:
        worker.close()

    summary = {engine: summarize(rows, engine) for engine in ENGINES}
    goal = f"<= {GOAL_RATIO}x raw solve + {GOAL_SLACK_MS:g} ms"
    for engine, e in summary.items():
        pddl, data = e["module_pddl"], e["module_data"]
        print(f"{engine}: coverage {e['coverage']} within {args.timeout:g} s")
        for label, part in (("module (PDDL)", pddl), ("module (data)", data)):
            vs = part["vs_raw_solve"]
            if vs:
                print(
                    f"  {label}: x{vs['ratio_geomean']} raw solve "
                    f"(+{vs['overhead_ms_median']} ms median, +{vs['overhead_ms_max']} max), "
                    f"x{part['vs_raw_parse_solve']['ratio_geomean']} raw parse+solve; "
                    f"within goal ({goal}): {vs['within_goal']}"
                )
        full, sv = pddl["vs_raw_parse_solve_validate"], data["vs_raw_solve_validate"]
        if full and sv:
            print(
                f"  same work without the worker process (raw validate "
                f"{e['raw_validate_ms_median']} ms median): module (PDDL) vs raw "
                f"parse+solve+validate x{full['ratio_geomean']} "
                f"(+{full['overhead_ms_median']} ms median); module (data) vs raw "
                f"solve+validate x{sv['ratio_geomean']} (+{sv['overhead_ms_median']} ms median)"
            )
    cache = cache_latency(suite, plans, 20_000 if args.quick else 200_000)
    if cache:
        print(
            f"plan cache hit: get p50 {cache['get_hit_us_p50']} us, "
            f"p99 {cache['get_hit_us_p99']} us; key+get p50 {cache['key_and_get_hit_us_p50']} us, "
            f"p99 {cache['key_and_get_hit_us_p99']} us (goal <= {GOAL_CACHE_HIT_MS:g} ms)"
        )
    result = {
        "bench": "planner",
        "quick": args.quick,
        "problems": len(suite),
        "timeout_s": args.timeout,
        "reps": reps,
        "engines": summary,
        "goal_module_vs_raw": goal,
        "plan_cache": cache,
        "goal_cache_hit_ms": GOAL_CACHE_HIT_MS,
        "wall_s": round(time.perf_counter() - started, 1),
        "python": sys.version.split()[0],
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
