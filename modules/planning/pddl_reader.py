"""unified-planning's PDDL reader, as every part of the planner uses it.

Two things the reader refuses that published domains do:

* a name used for two things (floortile's predicate and action ``up``, tyreworld's ``open``):
  PDDL keeps predicates and actions apart, so the reader's ``error_used_name`` check is off;
* ``either`` types (storage's ``?x - (either storearea crate)``): the reader cannot parse them,
  so such a parameter is read as ``object``. The preconditions still say which objects fit;
  a plan is checked against the domain as read this way.

A domain that names objects only its problems declare (tyreworld's ``wrench``) cannot be read
alone; :meth:`modules.planning.domain.Domain.from_text` takes a problem to read it with.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

_EITHER = re.compile(r"\(\s*either\s+[^()]*\)", re.I)


def readable(text: str) -> str:
    """``text`` with every ``(either t1 t2 ...)`` type written as ``object``."""
    return _EITHER.sub("object", text)


def parse(domain: str, problem: str | None = None) -> Any:
    """The unified-planning ``Problem`` of ``domain`` (and ``problem``), errors as raised."""
    from unified_planning.environment import get_environment
    from unified_planning.io import PDDLReader

    environment = get_environment()
    environment.credits_stream = None
    environment.error_used_name = False
    reader = PDDLReader(environment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Name up already defined!": see above
        if problem is None:
            return reader.parse_problem_string(readable(domain))
        return reader.parse_problem_string(readable(domain), readable(problem))
