"""Is a plan valid for a problem written in PDDL? unified-planning's validator says.

How a benchmark scores a plan made from a translated problem: against the *ground-truth*
problem, so a plan that only works in a wrong translation counts as a failure. Names are
matched as a PDDL reader makes them (lowercase); an unknown action or object is an invalid
plan with the reason, not an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from modules.planning.problem_parts import parse_problem
from modules.planning.results import GroundAction


def validate_plan(
    domain_text: str, problem_text: str, plan: Sequence[GroundAction], source: str = "<problem>"
) -> tuple[bool, str]:
    """(valid, why not): the plan replayed by unified-planning's sequential validator."""
    from unified_planning.plans import ActionInstance, SequentialPlan
    from unified_planning.shortcuts import PlanValidator, get_environment

    get_environment().credits_stream = None
    problem = parse_problem(domain_text, problem_text, source)
    actions = {a.name.lower(): a for a in problem.actions}
    objects = {o.name.lower(): o for o in problem.all_objects}
    steps = []
    for i, (name, args) in enumerate(plan, 1):
        action = actions.get(name.lower())
        if action is None:
            return False, f"step {i}: unknown action {name!r}"
        if len(args) != len(action.parameters):
            return (
                False,
                f"step {i}: {name} takes {len(action.parameters)} arguments, got {len(args)}",
            )
        unknown = [a for a in args if a.lower() not in objects]
        if unknown:
            return False, f"step {i}: unknown object(s) {', '.join(unknown)}"
        try:
            steps.append(ActionInstance(action, [objects[a.lower()] for a in args]))
        except Exception as exc:  # an object of the wrong type for the parameter
            return False, f"step {i}: ({name} {' '.join(args)}): {exc}"
    with PlanValidator(name="sequential_plan_validator") as validator:
        result = validator.validate(problem, SequentialPlan(steps))
    if result.status.name == "VALID":
        return True, "valid"
    reason = result.reason.name.lower() if result.reason is not None else "invalid"
    return False, f"{reason}: {result.inapplicable_action or ''}".rstrip(": ")
