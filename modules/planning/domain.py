"""A PDDL domain parsed once, with its actions as ground-able STRIPS schemas.

unified-planning parses the domain (so malformed PDDL is reported by the same reader the engines
use); the schemas kept here let the planner module check plans and monitor their execution with
plain set operations on ground atoms, far faster than building a unified-planning problem for
every step:

* validate a plan by replaying it from the initial state and checking the goal;
* before each step, check that the step's preconditions hold in the current state;
* after it, check that its add effects show up in the next percept.

Supported: typed STRIPS with negative preconditions (conjunctions of literals, add and delete
effects). Anything else is rejected with a clear message when the domain is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cogos.errors import CogOSError
from memory.cycle_records import Atom
from modules.planning.pddl_errors import check_requirements, explain
from modules.planning.pddl_reader import parse
from modules.planning.results import GroundAction

Literal_ = tuple[str, tuple[str, ...]]
"""A lifted atom: predicate and argument names (parameters are ``?x``, constants are names)."""


_GROUND_CACHE = 1 << 16
"""Ground steps a domain remembers (a 31x31 grid has 3,600 moves)."""


class DomainError(CogOSError, ValueError):
    """A domain that cannot be used: says which file and what is unsupported or malformed."""


@dataclass(frozen=True)
class ActionSchema:
    """A lifted action: parameters, precondition literals, add and delete effects."""

    name: str
    params: tuple[str, ...]
    pre_pos: tuple[Literal_, ...]
    pre_neg: tuple[Literal_, ...]
    add: tuple[Literal_, ...]
    delete: tuple[Literal_, ...]
    param_types: tuple[str, ...] = ()
    """Each parameter's type (``object`` where untyped)."""


@dataclass(frozen=True)
class GroundStep:
    """One plan step with its parameters substituted."""

    name: str
    args: tuple[str, ...]
    pre_pos: frozenset[Atom]
    pre_neg: frozenset[Atom]
    add: frozenset[Atom]
    delete: frozenset[Atom]

    def applicable(self, state: frozenset[Atom] | set[Atom]) -> bool:
        return self.pre_pos <= state and not (self.pre_neg & state)

    def apply(self, state: frozenset[Atom]) -> frozenset[Atom]:
        return (state - self.delete) | self.add


def _literal(node: Any, params: dict[str, str]) -> Literal_:
    if not node.is_fluent_exp():
        raise DomainError(f"unsupported expression {node} (only atoms of predicates)")
    args = []
    for arg in node.args:
        if arg.is_parameter_exp():
            args.append(params[arg.parameter().name])
        elif arg.is_object_exp():
            args.append(arg.object().name)
        else:
            raise DomainError(f"unsupported argument {arg} in {node}")
    return node.fluent().name, tuple(args)


def _conjuncts(node: Any) -> list[Any]:
    return [c for a in node.args for c in _conjuncts(a)] if node.is_and() else [node]


@dataclass(frozen=True)
class Domain:
    """A parsed domain: its text (sent to the planner) and its action schemas."""

    name: str
    text: str
    schemas: dict[str, ActionSchema]
    types: dict[str, str | None]
    predicates: dict[str, int]
    """Predicate name -> arity (what an LLM may use when it writes a goal)."""
    signatures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Predicate name -> the type of each argument (``object`` where untyped)."""

    def goal_signatures(self) -> dict[str, tuple[str, ...]]:
        """The predicates some action can make true: the only ones worth a goal."""
        made = {name for schema in self.schemas.values() for name, _ in schema.add}
        return {p: sig for p, sig in self.signatures.items() if p in made}

    def subtypes(self, name: str) -> set[str]:
        """``name`` and every type below it (``object`` is above everything)."""
        if name == "object":
            return {"object", *self.types}
        below = {name}
        grew = True
        while grew:
            more = {t for t, parent in self.types.items() if parent in below} - below
            below |= more
            grew = bool(more)
        return below

    @classmethod
    def from_text(cls, text: str, source: str = "<domain>", problem: str | None = None) -> Domain:
        """Parse ``text`` (with ``problem`` when the domain names objects only problems declare)."""
        try:
            check_requirements(text)
            parsed = parse(text, problem)
        except Exception as exc:
            raise DomainError(f"{source}: {pddl_error(exc, text)}") from None
        schemas: dict[str, ActionSchema] = {}
        for action in parsed.actions:
            params = {p.name: f"?{p.name}" for p in action.parameters}
            pos: list[Literal_] = []
            neg: list[Literal_] = []
            for pre in action.preconditions:
                for c in _conjuncts(pre):
                    if c.is_not():
                        neg.append(_literal(c.arg(0), params))
                    else:
                        pos.append(_literal(c, params))
            add: list[Literal_] = []
            delete: list[Literal_] = []
            for eff in action.effects:
                if not eff.condition.is_true():
                    raise DomainError(
                        f"{source}: action {action.name}: conditional effects are not supported"
                    )
                lit = _literal(eff.fluent, params)
                (add if eff.value.is_true() else delete).append(lit)
            schemas[action.name] = ActionSchema(
                action.name,
                tuple(params.values()),
                tuple(pos),
                tuple(neg),
                tuple(add),
                tuple(delete),
                tuple(
                    p.type.name if p.type.is_user_type() else "object" for p in action.parameters
                ),
            )
        types = {
            t.name: (t.father.name if t.father is not None else None) for t in parsed.user_types
        }
        predicates = {f.name: f.arity for f in parsed.fluents}
        signatures = {
            f.name: tuple(p.type.name if p.type.is_user_type() else "object" for p in f.signature)
            for f in parsed.fluents
        }
        declared = re.search(r"\(\s*domain\s+([^\s()]+)", text, re.I)
        name = declared.group(1).lower() if declared and problem is not None else parsed.name
        return cls(name, text, schemas, types, predicates, signatures)

    def ground(self, step: GroundAction) -> GroundStep:
        """``step`` with its parameters substituted.

        Remembered: execution monitoring grounds the same steps every cycle.
        """
        cache: dict[GroundAction, GroundStep] = self.__dict__.setdefault("_grounded", {})
        found = cache.get(step)
        if found is None:
            if len(cache) >= _GROUND_CACHE:
                cache.clear()
            found = cache[step] = self._ground(step)
        return found

    def _ground(self, step: GroundAction) -> GroundStep:
        name, args = step
        schema = self.schemas.get(name)
        if schema is None:
            raise DomainError(f"domain {self.name!r} has no action {name!r}")
        if len(args) != len(schema.params):
            raise DomainError(f"{name} takes {len(schema.params)} arguments, got {len(args)}")
        binding = dict(zip(schema.params, args, strict=True))

        def sub(lits: tuple[Literal_, ...]) -> frozenset[Atom]:
            return frozenset((p, *(binding.get(a, a) for a in xs)) for p, xs in lits)

        return GroundStep(
            name,
            tuple(args),
            sub(schema.pre_pos),
            sub(schema.pre_neg),
            sub(schema.add),
            sub(schema.delete),
        )

    def first_inapplicable(
        self, state: frozenset[Atom], plan: tuple[GroundAction, ...]
    ) -> int | None:
        """The first step of ``plan`` that cannot run from ``state`` (None: all can)."""
        return self._effects(state, plan)[2]

    def replay(
        self, state: frozenset[Atom], plan: tuple[GroundAction, ...]
    ) -> tuple[frozenset[Atom], int | None]:
        """Apply ``plan`` from ``state``; returns the end state and the first inapplicable step.

        The steps' effects are kept apart from ``state`` and merged into it once at the end: a
        grid's state holds thousands of ``open`` facts, and copying it at every step of a long
        plan cost more than planning (execution monitoring replays the rest of the plan every
        cycle).
        """
        added, deleted, failed = self._effects(state, plan)
        if added or deleted:
            state = (state - deleted) | added
        return state, failed

    def _effects(
        self, state: frozenset[Atom], plan: tuple[GroundAction, ...]
    ) -> tuple[set[Atom], set[Atom], int | None]:
        """What ``plan`` adds to and deletes from ``state`` up to its first inapplicable step."""
        added: set[Atom] = set()
        deleted: set[Atom] = set()

        def holds(atom: Atom) -> bool:
            return atom in added or (atom in state and atom not in deleted)

        for i, step in enumerate(plan):
            ground = self.ground(step)
            if not all(map(holds, ground.pre_pos)) or any(map(holds, ground.pre_neg)):
                return added, deleted, i
            added -= ground.delete
            deleted |= ground.delete
            deleted -= ground.add
            added |= ground.add
        return added, deleted, None


def pddl_error(exc: BaseException, text: str = "") -> str:
    """A reader's error as ``line L, column C: what`` (located in ``text`` where it can be)."""
    return str(explain(exc, text))


@lru_cache(maxsize=32)
def load_domain(name_or_path: str) -> Domain:
    """A shipped domain by name (``gridnav``, ``household``) or a PDDL file by path."""
    path = Path(name_or_path)
    if path.suffix == ".pddl" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DomainError(f"{path}: cannot read domain ({exc})") from None
        return Domain.from_text(text, str(path))
    resource = resources.files("modules.planning.domains") / f"{name_or_path}.pddl"
    if not resource.is_file():
        shipped = sorted(
            p.name[:-5]
            for p in resources.files("modules.planning.domains").iterdir()
            if p.name.endswith(".pddl")
        )
        raise DomainError(f"no shipped domain {name_or_path!r} (shipped: {', '.join(shipped)})")
    return Domain.from_text(resource.read_text(encoding="utf-8"), f"domains/{name_or_path}.pddl")
