"""The shape of the facts a component reads: each predicate's arity and argument kinds.

Facts from outside the process (the daemon's ``observe`` and ``goal`` commands) are checked
against the schemas of the agent's policy and modules before any cycle runs, so a malformed
atom is refused with the reason (``facts[0]: 'at' takes 1 argument (at CELL), got 0``) instead
of failing deep inside a policy. A predicate no component declares passes: percepts may carry
facts of vocabularies the agent ignores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cogos.errors import CogOSError

FIT_CACHE = 65_536
"""Atoms remembered as fitting, per schema (then the memory starts over)."""

ArgumentCheck = Callable[[str], object]
"""Raises ``ValueError`` for a string that is no argument of its kind (e.g. ``parse_cell``)."""


class FactError(CogOSError, ValueError):
    """An atom that does not fit the schema of the facts the agent reads."""


class FactSchema:
    """Predicates with the kinds of their arguments (``{"open": ("cell", "cell")}``).

    ``kinds`` checks the arguments of a kind; a kind without a check accepts any non-empty
    string.
    """

    def __init__(
        self,
        predicates: Mapping[str, Sequence[str]] | None = None,
        kinds: Mapping[str, ArgumentCheck] | None = None,
    ) -> None:
        self.predicates = {name: tuple(args) for name, args in (predicates or {}).items()}
        self.kinds = dict(kinds or {})
        self._fit: set[tuple[Any, ...]] = set()
        """Atoms seen to fit: an environment repeats most of its facts from one step to the
        next, and the argument checks (a regex each) are the cost of a check."""

    def __bool__(self) -> bool:
        return bool(self.predicates)

    def __repr__(self) -> str:
        return f"FactSchema({self.predicates!r})"

    def merged(self, other: FactSchema) -> FactSchema:
        """Both schemas; a predicate both declare must have the same arity in each."""
        for name, args in other.predicates.items():
            mine = self.predicates.get(name)
            if mine is not None and len(mine) != len(args):
                raise ValueError(
                    f"predicate {name!r} has {len(mine)} argument(s) in one component and "
                    f"{len(args)} in another"
                )
        return FactSchema({**other.predicates, **self.predicates}, {**other.kinds, **self.kinds})

    def problem(self, atom: Sequence[Any]) -> str | None:
        """Why ``atom`` does not fit (None if it does)."""
        if not atom:
            return "an atom needs a predicate"
        if not all(isinstance(part, str) and part for part in atom):
            return f"predicate and arguments must be non-empty strings, got {list(atom)!r}"
        name, args = atom[0], atom[1:]
        kinds = self.predicates.get(name)
        if kinds is None:
            return None
        if len(args) != len(kinds):
            usage = " ".join([name, *(k.upper() for k in kinds)])
            noun = "argument" if len(kinds) == 1 else "arguments"
            return f"{name!r} takes {len(kinds)} {noun} ({usage}), got {len(args)}"
        for position, (arg, kind) in enumerate(zip(args, kinds, strict=True), start=1):
            check = self.kinds.get(kind)
            if check is None:
                continue
            try:
                check(arg)
            except ValueError as exc:
                return f"argument {position} of {name!r} must be a {kind}: {exc}"
        return None

    def check(self, atoms: Iterable[Sequence[Any]], field: str = "facts") -> None:
        """Raise :class:`FactError` naming the first atom that does not fit."""
        fit = self._fit
        if isinstance(atoms, list | tuple | set | frozenset):
            try:
                if fit.issuperset(atoms):  # all seen before (the common case), in one C loop
                    return
            except TypeError:
                pass  # lists among them (unhashable): one at a time
        for index, given in enumerate(atoms):
            atom = given if type(given) is tuple else tuple(given)
            if atom in fit:
                continue
            problem = self.problem(atom)
            if problem is not None:
                raise FactError(f"{field}[{index}]: {problem}")
            if len(fit) >= FIT_CACHE:
                fit.clear()
            fit.add(atom)


ANY_FACTS = FactSchema()
"""The schema of a component that reads no particular predicate."""
