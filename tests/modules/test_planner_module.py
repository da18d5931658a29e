"""The planner module in the agent: real Fast Downward and pyperplan on the real maze."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogos import Agent, load_config, load_config_text
from cogos.runner import run
from memory.cycle_records import Percept
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
    assert all(p["searches"] >= 1 for p in planner), "the planner did the driving"
    assert all(p["solves"] == 0 for p in planner), "a path to a cell needs no PDDL engine"
    trace = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    cycles = [t for t in trace if t["type"] == "cycle"]
    by_planner = [c for c in cycles if c["decision"]["choice"]["source"] == "planner"]
    fallbacks = [c for c in cycles if c["decision"]["choice"]["source"] != "planner"]
    assert by_planner and fallbacks
    assert all(c["decision"]["choice"]["rationale"].startswith("fallback: ") for c in fallbacks)
    assert any("not been seen" in c["decision"]["choice"]["rationale"] for c in fallbacks)
    # metrics.json tells the plan's decisions from the fallback's, as the trace does
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["decisions"] == {"plan": len(by_planner), "fallback": len(fallbacks)}
    assert metrics["planner"]["searches"] == sum(p["searches"] for p in planner)


@pytest.mark.parametrize(
    ("engine", "direct"),
    [("fast-downward", False), ("pyperplan", False), ("fast-downward", True)],
)
async def test_replanning_when_walls_appear(engine: str, direct: bool) -> None:
    """With ``direct_search`` off, the engine plans every path; on, the breadth-first search."""
    options = f"{{engine: {engine}, cache: false, direct_search: {str(direct).lower()}}}"
    config = f"""
episodes: 1
env: {{name: maze, options: {{width: 7, height: 7, radius: 7, goal_known: true}}}}
agent:
  policy: {{name: planner_first}}
  modules: [{{name: perception.facts}}, {{name: planner.pddl, options: {options}}}]
"""
    # radius 7 shows the whole maze: the first plan is exact, so no replanning is needed ...
    agent = Agent(load_config_text(config))
    async with agent:
        summary = await agent.run_episode(0, 5)
    assert summary.success and summary.steps == summary.optimal_steps
    assert summary.extra["planner"]["replans"] == 0
    used = "searches" if direct else "solves"
    assert summary.extra["planner"][used] == 1
    assert summary.extra["planner"]["solves" if direct else "searches"] == 0
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
  modules: [{name: perception.facts}, {name: planner.pddl, options: {direct_search: false}}]
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


def test_the_direct_search_is_as_short_as_an_optimal_engine() -> None:
    """Grid navigation's breadth-first search against Fast Downward's optimal configuration, on
    the same optimistic state (some passages seen blocked, the rest assumed open)."""
    from modules.planning.engine import PlannerWorker, PlanRequest
    from modules.planning.results import PlanStatus

    domain = load_domain("gridnav")
    adapter = GridNavAdapter()
    wm = WorkingMemory(task_facts=frozenset({("grid", "4", "5")}))
    walls = [
        ("c0_1", "c1_1"),
        ("c1_1", "c1_2"),
        ("c1_2", "c2_2"),
        ("c2_3", "c3_3"),
        ("c1_3", "c1_4"),
    ]
    blocked = {("blocked", a, b) for a, b in walls} | {("blocked", b, a) for a, b in walls}
    wm.percept = Percept(frozenset({("at", "c0_0"), ("goal", "c3_4"), *blocked}))
    adapter.observe(wm)
    planning = adapter.planning_state(wm)
    assert not isinstance(planning, str)
    direct = adapter.search(planning)
    assert direct is not None and direct.plan is not None
    end, failed = domain.replay(planning.state, direct.plan)
    assert failed is None and planning.goal <= end
    worker = PlannerWorker()
    try:
        request = PlanRequest(
            domain.text,
            objects=planning.objects,
            init=tuple(sorted(planning.state)),
            goal=tuple(sorted(planning.goal)),
        )
        engine = worker.solve(request, "fast-downward-opt", 60)
    finally:
        worker.close()
    assert engine.plan is not None and len(direct.plan) == len(engine.plan) == 7
    # walled in: no believed path, and no engine is asked
    around = [("c0_0", "c0_1"), ("c0_0", "c1_0")]
    wm.percept = Percept(frozenset({("at", "c0_0"), *(("blocked", a, b) for a, b in around)}))
    adapter.observe(wm)
    walled = adapter.planning_state(wm)
    assert not isinstance(walled, str)
    result = adapter.search(walled)
    assert result is not None and result.status is PlanStatus.UNSOLVABLE
    # a goal other than one cell is the engine's
    other = type(walled)(walled.objects, walled.state, frozenset({("open", "c0_0", "c0_1")}))
    assert adapter.search(other) is None


def test_replay_matches_applying_each_step_to_the_whole_state() -> None:
    """Replay keeps the steps' effects apart from the state; the result must be the same as
    copying the state at every step, failures included (moves back and forth, into walls)."""
    import random

    domain = load_domain("gridnav")
    cells = [f"c{r}_{c}" for r in range(3) for c in range(3)]
    rng = random.Random(11)
    for _ in range(200):
        state: frozenset[tuple[str, ...]] = frozenset(
            {("at", "c0_0")}
            | {("open", a, b) for a in cells for b in cells if a != b and rng.random() < 0.5}
        )
        plan = tuple(("move", (rng.choice(cells), rng.choice(cells))) for _ in range(6))
        expected, failed_at = state, None
        for i, step in enumerate(plan):
            ground = domain.ground(step)
            if not ground.applicable(expected):
                failed_at = i
                break
            expected = ground.apply(expected)
        assert domain.replay(state, plan) == (expected, failed_at)
        assert domain.first_inapplicable(state, plan) == failed_at
