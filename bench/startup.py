"""Start-up: what a user waits for before CogOS does anything.

    python bench/startup.py [--quick]

Each figure is the median wall time of fresh interpreter processes (no warm caches inside the
process; the OS's file cache is warm after the first run, as it is for a user):

* ``python_start_s``: ``python -c pass``, the floor every command pays.
* ``help_s``: ``cogos --help`` (``python -m cogos.cli.main --help``); goal at most 0.3 s.
* ``import_cogos_s``: ``import cogos`` (lazy: nothing heavy is imported).
* ``import_runtime_s``: what a run pays before its first cycle, ``cogos.agent`` (FAISS, SQLite,
  networkx, gymnasium, pydantic), for scale.
* ``plan_s``: ``cogos plan`` on a three-cell grid problem (parse, validate, solve with Fast
  Downward in a warm worker process, validate the plan), beside ``raw_plan_s``: the same solve
  with unified-planning alone in one process (``OneshotPlanner(name="fast-downward")``).
  ``ratio_plan_over_raw`` is how much longer the CLI takes.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "modules" / "planning" / "domains" / "gridnav.pddl"
PROBLEM = (
    "(define (problem p) (:domain grid-nav) (:objects a b c - cell)\n"
    "(:init (at a) (open a b) (open b c)) (:goal (at c)))\n"
)
GOAL_HELP_S = 0.3
RAW_PLAN = f"""
from unified_planning.io import PDDLReader
from unified_planning.shortcuts import OneshotPlanner, get_environment
get_environment().credits_stream = None
problem = PDDLReader().parse_problem({str(DOMAIN)!r}, PROBLEM_PATH)
with OneshotPlanner(name="fast-downward") as planner:
    result = planner.solve(problem)
assert result.plan is not None and len(result.plan.actions) == 2
"""


def timed(args: list[str], runs: int) -> float:
    """Median seconds of ``runs`` fresh processes (one unmeasured warm-up first)."""
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        if i:
            times.append(elapsed)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 10")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="cogos-startup-") as tmp:
        problem = Path(tmp) / "p.pddl"
        problem.write_text(PROBLEM)
        figures = {
            "python_start_s": timed([py, "-c", "pass"], runs),
            "help_s": timed([py, "-m", "cogos.cli.main", "--help"], runs),
            "import_cogos_s": timed([py, "-c", "import cogos"], runs),
            "import_runtime_s": timed([py, "-c", "import cogos.agent"], runs),
            "plan_s": timed([py, "-m", "cogos.cli.main", "plan", str(DOMAIN), str(problem)], runs),
            "raw_plan_s": timed([py, "-c", f"PROBLEM_PATH = {str(problem)!r}\n{RAW_PLAN}"], runs),
        }
    for name, value in figures.items():
        print(f"{name:18s} {value:.3f} s", flush=True)
    result = {
        "bench": "startup",
        "quick": args.quick,
        "runs": runs,
        **figures,
        "help_over_python_start": round(figures["help_s"] / figures["python_start_s"], 2),
        "ratio_plan_over_raw": round(figures["plan_s"] / figures["raw_plan_s"], 2),
        "goal_help_s": GOAL_HELP_S,
        "goal_help_met": figures["help_s"] <= GOAL_HELP_S,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
