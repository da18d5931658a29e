"""IPC-style problems (blocksworld, gripper, logistics) through the real planner worker.

Real engines throughout (Fast Downward and pyperplan through unified-planning, in the worker
process), no mocks. Every plan is checked twice: by the worker's validator (``validated``) and
here, by replaying it with the domain's own schemas from the generator's initial state (the
generator's data, not anything the engine parsed) to a state that satisfies the goal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from modules.planning.domain import load_domain
from modules.planning.engine import PlannerWorker, PlanRequest
from modules.planning.ipc_problems import (
    DOMAINS,
    GeneratedProblem,
    blocksworld_instance,
    blocksworld_problem,
    domain_text,
    generated_instances,
    generated_suite,
    gripper_instance,
    gripper_problem,
    logistics_instance,
    logistics_problem,
)
from modules.planning.results import GroundAction, PlanStatus

ENGINES = ("fast-downward", "pyperplan")
TIMEOUT = 30.0  # generous: these problems take well under a second; this only bounds a hang


@pytest.fixture(scope="module")
def worker() -> Iterator[PlannerWorker]:
    w = PlannerWorker()
    yield w
    w.close()


def request(problem: GeneratedProblem) -> PlanRequest:
    return PlanRequest(
        domain_text(problem.domain), problem_pddl=problem.to_pddl(), name=problem.name
    )


def assert_reaches_goal(problem: GeneratedProblem, plan: tuple[GroundAction, ...]) -> None:
    """Replay with the domain's schemas from the generator's own initial state."""
    domain = load_domain(problem.domain)
    end, failed = domain.replay(problem.init, plan)
    assert failed is None, f"step {failed} {plan[failed]} is not applicable"
    missing = problem.goal - end
    assert not missing, f"goal atoms not reached: {sorted(missing)}"


SMALL = [
    blocksworld_instance(8, 11),
    gripper_instance(6),
    logistics_instance(2, 4, 7),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("problem", SMALL, ids=lambda p: p.name)
def test_engines_solve_generated_problems(
    worker: PlannerWorker, engine: str, problem: GeneratedProblem
) -> None:
    result = worker.solve(request(problem), engine, TIMEOUT, validate=True)
    assert result.status.solved, (result.status, result.message)
    assert result.plan
    assert result.validated
    assert result.engine == engine
    assert_reaches_goal(problem, result.plan)


def test_replay_check_is_not_vacuous(worker: PlannerWorker) -> None:
    problem = SMALL[0]
    result = worker.solve(request(problem), "fast-downward", TIMEOUT)
    assert result.plan
    with pytest.raises(AssertionError, match=r"not applicable|not reached"):
        assert_reaches_goal(problem, result.plan[1:])
    with pytest.raises(AssertionError, match="goal atoms not reached"):
        assert_reaches_goal(problem, result.plan[:-1])


@pytest.mark.parametrize("name", DOMAINS)
def test_shipped_ipc_domains(name: str) -> None:
    text = domain_text(name)
    assert text.startswith(";") and "IPC" in text.splitlines()[0]
    domain = load_domain(name)
    assert domain.name == name  # the generators write (:domain <file name>)
    expected = {
        "blocksworld": {"pick-up", "put-down", "stack", "unstack"},
        "gripper": {"move", "pick", "drop"},
        "logistics": {
            "load-truck",
            "unload-truck",
            "load-airplane",
            "unload-airplane",
            "drive-truck",
            "fly-airplane",
        },
    }[name]
    assert set(domain.schemas) == expected


def test_generators_are_deterministic_per_seed() -> None:
    assert blocksworld_problem(12, 3) == blocksworld_problem(12, 3)
    assert logistics_problem(3, 5, 3) == logistics_problem(3, 5, 3)
    assert gripper_problem(7) == gripper_problem(7)
    assert generated_suite(quick=False) == generated_suite(quick=False)


def test_different_seeds_give_different_problems() -> None:
    blocks = {blocksworld_problem(12, seed) for seed in range(8)}
    assert len(blocks) == 8
    logistics = {logistics_problem(3, 5, seed) for seed in range(8)}
    assert len(logistics) == 8
    # the name carries the seed, so compare the facts too
    facts = {(p.init, p.goal) for p in (blocksworld_instance(12, s) for s in range(8))}
    assert len(facts) == 8
    assert gripper_problem(7) != gripper_problem(8)


@pytest.mark.parametrize("seed", range(20))
def test_blocksworld_states_are_well_formed(seed: int) -> None:
    p = blocksworld_instance(9, seed)
    blocks = {name for name, _ in p.objects}
    below = {a[1]: a[2] for a in p.init if a[0] == "on"}
    on_table = {a[1] for a in p.init if a[0] == "ontable"}
    clear = {a[1] for a in p.init if a[0] == "clear"}
    assert set(below) | on_table == blocks and not set(below) & on_table
    assert clear == blocks - set(below.values())
    assert ("handempty",) in p.init
    assert p.goal and not p.goal <= p.init
    assert {a[0] for a in p.goal} == {"on"}
    goal_below = {a[1]: a[2] for a in p.goal}
    assert len(set(goal_below.values())) == len(goal_below)  # at most one block on each block


def test_logistics_packages_must_move() -> None:
    p = logistics_instance(3, 6, 1, locations_per_city=3, n_airplanes=2)
    start = {a[1]: a[2] for a in p.init if a[0] == "at" and a[1].startswith("obj")}
    for _, pkg, place in p.goal:
        assert start[pkg] != place
    assert sum(1 for _, t in p.objects if t == "airplane") == 2
    assert sum(1 for _, t in p.objects if t == "airport") == 3


def test_suites() -> None:
    quick = generated_suite(quick=True)
    full = generated_suite(quick=False)
    assert {d for _, d, _ in quick} == {"blocksworld", "gripper", "logistics"}
    assert len({n for n, _, _ in full}) == len(full)
    assert set(quick) < set(full)
    blocks = [len(p.objects) for p in generated_instances(quick=False) if p.domain == "blocksworld"]
    assert max(blocks) >= 20
    for name, domain, text in full:
        assert f"(define (problem {name})" in text
        assert f"(:domain {domain})" in text


def test_timeout_kills_the_solve_and_the_worker_recovers(worker: PlannerWorker) -> None:
    # pyperplan ignores unified-planning's timeout and cannot finish this within seconds
    hard = blocksworld_instance(25, 5)
    restarts = worker.restarts
    started = time.monotonic()
    result = worker.solve(request(hard), "pyperplan", 2, validate=True)
    elapsed = time.monotonic() - started
    assert result.status is PlanStatus.TIMEOUT, (result.status, result.message)
    assert result.plan is None
    assert elapsed < 15, f"a 2 s timeout took {elapsed:.1f} s of wall clock"
    assert worker.restarts == restarts + 1
    # the next request runs in a fresh worker and is solved normally
    easy = gripper_instance(4)
    after = worker.solve(request(easy), "pyperplan", TIMEOUT, validate=True)
    assert after.status.solved and after.validated and after.plan
    assert_reaches_goal(easy, after.plan)


BW = blocksworld_problem(4, 0)

MALFORMED = [
    pytest.param(BW.rstrip()[:-1], r"Expected '\)'", id="unbalanced-paren"),
    pytest.param(BW.replace("(handempty)", "(handfull)"), "handfull", id="unknown-predicate-init"),
    pytest.param(
        BW.replace("(:goal (and", "(:goal (and (frobbed b1)"),
        "frobbed",
        id="unknown-predicate-goal",
    ),
    pytest.param(BW.replace("(handempty)", "(handempty b1)"), "arity", id="wrong-arity"),
    pytest.param(BW.replace("(handempty)", "(clear b99)"), "b99", id="unknown-object"),
    # a gripper problem sent with the blocksworld domain: its types do not exist there
    pytest.param(gripper_problem(2), "for domain .gripper.", id="problem-for-another-domain"),
]


@pytest.mark.parametrize(("problem_pddl", "says"), MALFORMED)
def test_malformed_pddl_is_an_error_result(
    worker: PlannerWorker, problem_pddl: str, says: str
) -> None:
    restarts = worker.restarts
    result = worker.solve(
        PlanRequest(domain_text("blocksworld"), problem_pddl=problem_pddl), "fast-downward", TIMEOUT
    )
    assert result.status is PlanStatus.ERROR
    assert result.plan is None
    assert not result.validated
    assert result.message
    assert re.search(says, result.message), result.message
    assert worker.restarts == restarts  # an error result, not a dead worker


def test_malformed_domain_is_an_error_result(worker: PlannerWorker) -> None:
    result = worker.solve(
        PlanRequest(domain_text("blocksworld")[:-3], problem_pddl=BW), "pyperplan", TIMEOUT
    )
    assert result.status is PlanStatus.ERROR
    assert "Expected ')'" in result.message


def test_domain_name_mismatch_is_an_error_result(worker: PlannerWorker) -> None:
    mismatched = BW.replace("(:domain blocksworld)", "(:domain gripper)")
    result = worker.solve(
        PlanRequest(domain_text("blocksworld"), problem_pddl=mismatched), "pyperplan", TIMEOUT
    )
    assert result.status is PlanStatus.ERROR
    assert "gripper" in result.message
