"""What a problem can reach if actions only added facts: the cheap reason a goal is hopeless.

The relaxed reachability of the planning-graph heuristics (Hoffmann & Nebel's FF ignores delete
lists the same way): ground the actions whose positive preconditions hold among the facts
reached so far, add their effects, repeat until nothing new. A goal fact outside the result can
be reached by no plan at all, and the preconditions that never held say why. This is what a
translated problem's author (a model) is told when the planner finds no plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from memory.cycle_records import Atom
from modules.planning.domain import ActionSchema, Domain, Literal_


@dataclass(frozen=True)
class Reach:
    """The relaxed fixpoint and what it says about a goal."""

    reached: frozenset[Atom]
    unreachable_goal: tuple[Atom, ...]
    never_applicable: tuple[str, ...]
    """Actions no grounding of which ever had its positive preconditions."""
    missing_types: tuple[str, ...]
    """Parameter types of those actions with no object at all."""

    def explain(self) -> str | None:
        """One message for the model (None when every goal fact is reachable)."""
        if not self.unreachable_goal:
            return None
        goal = " ".join(f"({' '.join(a)})" for a in self.unreachable_goal[:6])
        more = (
            f" and {len(self.unreachable_goal) - 6} more" if len(self.unreachable_goal) > 6 else ""
        )
        parts = [f"no plan can make these goal facts true from the initial state: {goal}{more}"]
        if self.missing_types:
            parts.append(f"there are no objects of type {', '.join(self.missing_types)}")
        if self.never_applicable:
            parts.append(
                f"actions {', '.join(self.never_applicable)} can never be taken: the initial "
                "state lacks facts they need"
            )
        return "; ".join(parts)


def _bindings(
    pre: list[Literal_], reached: Mapping[str, set[tuple[str, ...]]], binding: dict[str, str]
) -> Iterator[dict[str, str]]:
    """Every extension of ``binding`` under which all of ``pre`` is among ``reached``."""
    if not pre:
        yield binding
        return
    (name, args), rest = pre[0], pre[1:]
    for fact in reached.get(name, ()):
        new = dict(binding)
        for arg, value in zip(args, fact, strict=True):
            if not arg.startswith("?"):
                if arg != value:
                    break
            elif new.setdefault(arg, value) != value:
                break
        else:
            yield from _bindings(rest, reached, new)


def _groundings(
    schema: ActionSchema,
    reached: Mapping[str, set[tuple[str, ...]]],
    by_type: Mapping[str, list[str]],
) -> Iterator[dict[str, str]]:
    free_params = [
        (p, t)
        for p, t in zip(
            schema.params, schema.param_types or ("object",) * len(schema.params), strict=True
        )
        if not any(p in args for _, args in schema.pre_pos)
    ]
    for binding in _bindings(
        sorted(schema.pre_pos, key=lambda lit: len(reached.get(lit[0], ()))), reached, {}
    ):
        yield from _fill(binding, free_params, by_type)


def _fill(
    binding: dict[str, str], free: list[tuple[str, str]], by_type: Mapping[str, list[str]]
) -> Iterator[dict[str, str]]:
    if not free:
        yield binding
        return
    (param, kind), rest = free[0], free[1:]
    for obj in by_type.get(kind, ()):
        yield from _fill({**binding, param: obj}, rest, by_type)


def relaxed_reach(
    domain: Domain, objects: Mapping[str, str], init: frozenset[Atom], goal: frozenset[Atom]
) -> Reach:
    """The facts reachable from ``init`` ignoring deletes, and the goal facts outside them."""
    kinds = {t for s in domain.schemas.values() for t in s.param_types} | {"object"}
    by_type = {
        kind: [name for name, of in objects.items() if of in domain.subtypes(kind)]
        for kind in kinds
    }
    reached: dict[str, set[tuple[str, ...]]] = {}
    for atom in init:
        reached.setdefault(atom[0], set()).add(tuple(atom[1:]))
    applied: set[str] = set()
    grew = True
    while grew:
        grew = False
        for schema in domain.schemas.values():
            for binding in list(_groundings(schema, reached, by_type)):
                applied.add(schema.name)
                for name, args in schema.add:
                    fact = tuple(binding.get(a, a) for a in args)
                    if fact not in reached.setdefault(name, set()):
                        reached[name].add(fact)
                        grew = True
    facts = frozenset((name, *args) for name, all_args in reached.items() for args in all_args)
    never = tuple(sorted(set(domain.schemas) - applied))
    missing = sorted(
        {t for s in never for t in domain.schemas[s].param_types if not by_type.get(t)}
    )
    return Reach(facts, tuple(sorted(goal - facts)), never, tuple(missing))
