"""The planner module in the agent: real Fast Downward and pyperplan on the real maze."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogos import Agent, load_config, load_config_text
from cogos.runner import run
from memory.records import Percept
from memory.working import WorkingMemory
from modules.planning.adapters.gridnav import GridNavAdapter
from modules.planning.cache import PlanCache
from modules.planning.domain import load_domain


def test_maze_config_with_planner_first_solves_every_maze(repo_root: Path, tmp_path: Path) -> None:
    loaded = load_config(
        repo_root / "config" / "maze_planner.yaml",
        ["episodes=4", "env.options.width=9", "env.options.height=9"],
    )
    result = run(loaded, tmp_path)
    assert result.metrics["success_rate"] == 1.0
    planner = [s.extra["planner"] for s in result.summaries]
    assert all(p["solves"] + p["cache_hits"] >= 1 for p in planner), "the planner did the driving"
    trace = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    cycles = [t for t in trace if t["type"] == "cycle"]
    by_planner = [c for c in cycles if c["decision"]["choice"]["source"] == "planner"]
    fallbacks = [c for c in cycles if c["decision"]["choice"]["source"] != "planner"]
    assert by_planner and fallbacks
    assert all(c["decision"]["choice"]["rationale"].startswith("fallback: ") for c in fallbacks)
    assert any("not been seen" in c["decision"]["choice"]["rationale"] for c in fallbacks)


@pytest.mark.parametrize("engine", ["fast-downward", "pyperplan"])
async def test_replanning_when_walls_appear(engine: str) -> None:
    config = f"""
episodes: 1
env: {{name: maze, options: {{width: 7, height: 7, radius: 7, goal_known: true}}}}
agent:
  policy: {{name: planner_first}}
  modules: [{{name: perception.facts}}, {{name: planner.pddl, options: {{engine: {engine}, cache: false}}}}]
"""
    # radius 7 shows the whole maze: the first plan is exact, so no replanning is needed ...
    agent = Agent(load_config_text(config))
    async with agent:
        summary = await agent.run_episode(0, 5)
    assert summary.success and summary.steps == summary.optimal_steps
    assert summary.extra["planner"]["replans"] == 0
    # ... while with radius 1 the optimistic plan runs into walls and must be replanned
    agent = Agent(load_config_text(config.replace("radius: 7", "radius: 1")))
    async with agent:
        summary = await agent.run_episode(0, 5)
    assert summary.success
    assert summary.extra["planner"]["replans"] >= 1


def test_monitoring_detects_a_failed_step() -> None:
    domain = load_domain("gridnav")
    adapter = GridNavAdapter()
    wm = WorkingMemory(
        task_facts=frozenset({("grid", "2", "2")}), action_names=("north", "east", "south", "west")
    )
    wm.percept = Percept(frozenset({("at", "c0_0"), ("goal", "c1_1")}))
    adapter.observe(wm)
    state = adapter.planning_state(wm)
    assert not isinstance(state, str)
    plan = (("move", ("c0_0", "c0_1")), ("move", ("c0_1", "c1_1")))
    end, failed = domain.replay(state.state, plan)
    assert failed is None and ("at", "c1_1") in end
    wm.percept = Percept(
        frozenset({("at", "c0_0"), ("blocked", "c0_1", "c1_1"), ("blocked", "c1_1", "c0_1")})
    )
    adapter.observe(wm)
    state = adapter.planning_state(wm)
    assert not isinstance(state, str)
    _, failed = domain.replay(state.state, plan)
    assert failed == 1, "the wall makes the second step inapplicable"
    assert adapter.candidate(plan[0], wm).name == "east"


async def test_cache_hits_skip_the_planner(tmp_path: Path) -> None:
    config = """
episodes: 2
env: {name: maze, options: {width: 6, height: 6, radius: 6, maze_seed: 3}}
agent:
  policy: {name: planner_first}
  modules: [{name: perception.facts}, {name: planner.pddl}]
"""
    agent = Agent(load_config_text(config))
    async with agent:
        first = await agent.run_episode(0, 1)
        second = await agent.run_episode(1, 1)  # the same maze, the same start: the same problem
    assert first.extra["planner"]["solves"] == 1 and first.extra["planner"]["cache_hits"] == 0
    assert second.extra["planner"]["solves"] == 0 and second.extra["planner"]["cache_hits"] == 1
    assert second.steps == first.steps == first.optimal_steps


def test_plan_cache_persists_in_procedural_memory(tmp_path: Path) -> None:
    from memory.memory_os import MemoryOS

    plan = (("move", ("c0_0", "c0_1")),)
    with MemoryOS.open(tmp_path / "m", dim=8) as memory:
        cache = PlanCache(4, memory)
        cache.put("k1", plan, domain="grid-nav", goal=[("at", "c0_1")])
    with MemoryOS.open(tmp_path / "m") as memory:
        cache = PlanCache(4, memory)
        assert cache.get("k1") == plan and cache.hits == 1
        assert cache.get("nope") is None and cache.misses == 1
        (skill,) = memory.recent(5, {"kind": "skill"})
        assert skill.metadata["domain"] == "grid-nav"


def test_plan_cli(repo_root: Path, tmp_path: Path) -> None:
    domain = repo_root / "modules" / "planning" / "domains" / "gridnav.pddl"
    good = tmp_path / "p.pddl"
    good.write_text(
        "(define (problem p) (:domain grid-nav) (:objects a b c - cell)\n"
        "(:init (at a) (open a b) (open b c)) (:goal (at c)))"
    )
    out = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "plan", str(domain), str(good)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "(move a b)" in out.stdout and "cost 2" in out.stdout
    unsolvable = tmp_path / "u.pddl"
    unsolvable.write_text(
        "(define (problem p) (:domain grid-nav) (:objects a b - cell) (:init (at a)) (:goal (at b)))"
    )
    out = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "plan", str(domain), str(unsolvable)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1 and "unsolvable" in out.stderr
    bad = tmp_path / "bad.pddl"
    bad.write_text(
        "(define (problem p) (:domain grid-nav)\n(:objects a b - cell)\n(:init (at a) (open a b)\n(:goal (at b)))"
    )
    out = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "plan", str(domain), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2
    assert (
        f"{bad}: line 4" in out.stderr
        and "Expected" in out.stderr
        and "Traceback" not in out.stderr
    )
    badd = tmp_path / "bad_domain.pddl"
    badd.write_text(
        "(define (domain d) (:predicates (p ?x)) (:action a :parameters (?x) :precondition (q ?x) :effect (p ?x)))"
    )
    out = subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "plan", str(badd), str(good)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2 and str(badd) in out.stderr


@pytest.mark.parametrize(
    ("broken", "edit", "expected"),
    [
        (
            "problem",
            ("(:domain delivery)", "(:domain other)"),
            "line 2, column 12: the problem is for domain 'other', but the domain is 'delivery'",
        ),
        ("problem", ("d1 - package", "d1 - spaceship"), "undeclared type 'spaceship'"),
        (
            "problem",
            ("(package-at d1 k1)", "(package-at d9 k1)"),
            "line 4, column 56: undeclared name 'd9'",
        ),
        (
            "domain",
            (":strips :typing", ":strips :teleportation"),
            "line 2, column 26: unknown requirement :teleportation",
        ),
        (
            "domain",
            ("(robot-at ?r - robot ?x - room)", "(robot-at ?r - robot ?x - place)"),
            "undeclared type 'place'",
        ),
    ],
)
def test_every_malformed_or_mismatched_input_exits_2_with_its_place(
    tmp_path: Path, broken: str, edit: tuple[str, str], expected: str
) -> None:
    """Names the reader does not know, requirements PDDL does not define and a problem for
    another domain are bad input like a syntax error: file, line and column, exit 2."""
    folder = Path(__file__).resolve().parent.parent / "fixtures" / "nl_planning" / "delivery"
    files = {
        "domain": (folder / "domain.pddl").read_text(),
        "problem": (folder / "p01.pddl").read_text(),
    }
    assert edit[0] in files[broken]
    files[broken] = files[broken].replace(edit[0], edit[1])
    for name, text in files.items():
        (tmp_path / f"{name}.pddl").write_text(text)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cogos.cli.main",
            "plan",
            str(tmp_path / "domain.pddl"),
            str(tmp_path / "problem.pddl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert f"{tmp_path / broken}.pddl: " in out.stderr and expected in out.stderr, out.stderr
    assert "line " in out.stderr and "Traceback" not in out.stderr
