"""PDDL input errors in one form: ``FILE: line L, column C: what is wrong``.

unified-planning's reader reports syntax errors with a position (pyparsing's), but a name it
does not know arrives as a bare ``KeyError('spaceship')``, an unknown requirement as
``Expected ')'``, and a problem written for another domain is not noticed at all. The checks
here run before (or explain after) the reader, so every malformed or mismatched input says where
and what, and the command line exits 2 for all of them.
"""

from __future__ import annotations

import re

from cogos.errors import CogOSError

REQUIREMENTS = frozenset(
    {
        ":strips",
        ":typing",
        ":negative-preconditions",
        ":disjunctive-preconditions",
        ":equality",
        ":existential-preconditions",
        ":universal-preconditions",
        ":quantified-preconditions",
        ":conditional-effects",
        ":fluents",
        ":numeric-fluents",
        ":object-fluents",
        ":adl",
        ":durative-actions",
        ":duration-inequalities",
        ":continuous-effects",
        ":derived-predicates",
        ":timed-initial-literals",
        ":preferences",
        ":constraints",
        ":action-costs",
        ":hierarchy",
        ":method-preconditions",
    }
)
"""PDDL 3.1's requirement flags (and HDDL's two): anything else is refused by name."""

_REQUIREMENTS = re.compile(r"\(\s*:requirements\b([^()]*)\)", re.I)
_DOMAIN_NAME = re.compile(r"\(\s*domain\s+([^\s()]+)", re.I)
_PROBLEM_DOMAIN = re.compile(r"\(\s*:domain\s+([^\s()]+)", re.I)
_LOCATED = re.compile(r"\s*(?:Error )?[Ff]rom line: (\d+), col:? (\d+)")
"""Where unified-planning's own checks say they failed ("From line: 4, col 56 to ...")."""
_REWORDED = [
    (
        re.compile(r"Found invalid expression: (\S+?)\.?$"),
        "undeclared name {0!r} (not an object, constant or parameter)",
    ),
    (re.compile(r"Undefined (?:parameter's )?type: (\S+?)\.?$"), "undeclared type {0!r}"),
]


class PDDLInputError(CogOSError, ValueError):
    """A PDDL text that cannot be used, with where (``line``, ``column``: 1-based) and what."""

    def __init__(self, what: str, line: int | None = None, column: int | None = None) -> None:
        self.what, self.line, self.column = what, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return self.what
        return f"line {self.line}, column {self.column}: {self.what}"


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_requirements(text: str) -> None:
    """Refuse a requirement flag PDDL does not define, where it is written."""
    for block in _REQUIREMENTS.finditer(text):
        for flag in re.finditer(r"\S+", block.group(1)):
            if flag.group().lower() not in REQUIREMENTS:
                line, column = position(text, block.start(1) + flag.start())
                raise PDDLInputError(
                    f"unknown requirement {flag.group()} (not one of PDDL 3.1's)", line, column
                )


def check_domain_name(domain: str, problem: str) -> None:
    """Refuse a problem written for another domain (the reader ignores ``(:domain X)``)."""
    declared = _DOMAIN_NAME.search(domain)
    wanted = _PROBLEM_DOMAIN.search(problem)
    if declared and wanted and declared.group(1).lower() != wanted.group(1).lower():
        line, column = position(problem, wanted.start(1))
        raise PDDLInputError(
            f"the problem is for domain {wanted.group(1)!r}, but the domain is "
            f"{declared.group(1)!r}",
            line,
            column,
        )


def explain(exc: BaseException, text: str) -> PDDLInputError:
    """The reader's error as a :class:`PDDLInputError`, located in ``text`` where possible."""
    if isinstance(exc, PDDLInputError):
        return exc
    line = getattr(exc, "lineno", None)
    if line is not None:  # pyparsing's syntax errors know their place
        msg = getattr(exc, "msg", None) or str(exc)
        return PDDLInputError(msg, line, getattr(exc, "col", None))
    if isinstance(exc, KeyError) and exc.args:  # a name the reader does not know
        name = str(exc.args[0])
        found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I)
        where = position(text, found.start()) if found else (None, None)
        typed = found is not None and re.search(r"-\s*$", text[: found.start()]) is not None
        kind = "type" if typed else "name"
        return PDDLInputError(f"undeclared {kind} {name!r}", *where)
    message = str(exc)
    located = _LOCATED.search(message)
    if located is None:
        return PDDLInputError(message)
    what = message[: located.start()].strip()
    for pattern, wording in _REWORDED:
        found = pattern.search(what)
        if found:
            what = wording.format(*found.groups())
            break
    return PDDLInputError(what, int(located.group(1)), int(located.group(2)))
