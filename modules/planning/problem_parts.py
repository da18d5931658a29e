"""A PDDL problem read into plain data: typed objects, initial atoms, goal atoms.

What a worked example shows a model, and what a translated problem is checked against, as the
same tuples the rest of the planner uses (names lowercase, as unified-planning's reader makes
them). Only conjunctive goals of atoms and negated atoms: anything else is refused with the
reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memory.cycle_records import Atom
from modules.planning.domain import DomainError, pddl_error
from modules.planning.pddl_errors import check_domain_name, check_requirements
from modules.planning.pddl_reader import parse


@dataclass(frozen=True)
class ProblemParts:
    """A problem as data; ``objects`` keeps the file's order."""

    name: str
    objects: tuple[tuple[str, str], ...]
    init: frozenset[Atom]
    goal: frozenset[Atom]
    goal_not: frozenset[Atom] = frozenset()
    """Atoms the goal wants false (termes: ``(not (has-block))``)."""

    def objects_by_type(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, kind in self.objects:
            out.setdefault(kind, []).append(name)
        return out


def _atom(expr: Any, source: str) -> Atom:
    if not expr.is_fluent_exp():
        raise DomainError(f"{source}: only atoms are supported here, not {expr}")
    return (expr.fluent().name, *(str(a) for a in expr.args))


def _conjuncts(expr: Any) -> list[Any]:
    return [c for a in expr.args for c in _conjuncts(a)] if expr.is_and() else [expr]


def parse_problem(domain_text: str, problem_text: str, source: str = "<problem>") -> Any:
    """unified-planning's ``Problem`` for the two texts, checked (a DomainError names the line)."""
    try:
        check_requirements(problem_text)
        check_domain_name(domain_text, problem_text)
        return parse(domain_text, problem_text)
    except Exception as exc:
        raise DomainError(f"{source}: {pddl_error(exc, problem_text)}") from None


def read_problem(domain_text: str, problem_text: str, source: str = "<problem>") -> ProblemParts:
    """Parse ``problem_text`` against ``domain_text`` (errors name ``source`` and the line)."""
    problem = parse_problem(domain_text, problem_text, source)
    init = frozenset(
        _atom(fluent, source) for fluent, value in problem.initial_values.items() if value.is_true()
    )
    literals = [c for g in problem.goals for c in _conjuncts(g)]
    goal = frozenset(_atom(c, source) for c in literals if not c.is_not())
    goal_not = frozenset(_atom(c.arg(0), source) for c in literals if c.is_not())
    objects = tuple((o.name, o.type.name) for o in problem.all_objects)
    return ProblemParts(problem.name, objects, init, goal, goal_not)
