"""Entity names: ``apple_1`` in facts and PDDL, ``apple 1`` in text, as ALFWorld writes them.

A name is a kind (one lower-case word, no digits) and an instance number from 1. Facts and PDDL
need a single token, text reads better with a space; the two forms map one to one.
"""

from __future__ import annotations

import re

_ID = re.compile(r"^([a-z]+)_([1-9][0-9]*)$")
_TEXT = re.compile(r"^([a-z]+) ([1-9][0-9]*)$")


def entity_id(kind: str, number: int) -> str:
    """The fact/PDDL name of instance ``number`` of ``kind``: ``("apple", 1)`` -> ``"apple_1"``."""
    return f"{kind}_{number}"


def text_name(entity: str) -> str:
    """``"apple_1"`` -> ``"apple 1"`` (``ValueError`` for anything that is not an entity id)."""
    match = _ID.match(entity)
    if match is None:
        raise ValueError(f"not an entity id (kind_number): {entity!r}")
    return f"{match.group(1)} {match.group(2)}"


def fact_name(text: str) -> str:
    """``"apple 1"`` -> ``"apple_1"`` (``ValueError`` for anything that is not an entity name)."""
    match = _TEXT.match(text)
    if match is None:
        raise ValueError(f"not an entity name (kind number): {text!r}")
    return f"{match.group(1)}_{match.group(2)}"


def entity_parts(entity: str) -> tuple[str, int] | None:
    """``"cabinet_10"`` -> ``("cabinet", 10)`` (a natural sort key); ``None`` for other names."""
    match = _ID.match(entity)
    return None if match is None else (match.group(1), int(match.group(2)))


def kind_of(entity: str) -> str:
    """The kind of an entity id or text name: ``"apple_1"`` and ``"apple 1"`` -> ``"apple"``."""
    match = _ID.match(entity) or _TEXT.match(entity)
    if match is None:
        raise ValueError(f"not an entity name: {entity!r}")
    return match.group(1)
