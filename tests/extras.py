"""Skipping tests whose optional extra is not installed, with the extra named in the reason.

README's test command installs only the ``dev`` extra; a new user's run then skips the tests of
the other extras, and each skip says which extra enables it (``pytest -rs`` lists them).
"""

from __future__ import annotations

import importlib.util

import pytest


def missing(*modules: str) -> list[str]:
    return [m for m in modules if _absent(m)]


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # a dotted name whose parent package is not installed
        return True


def reason(extra: str, modules: list[str]) -> str:
    return f"needs the {extra!r} extra (pip install -e '.[{extra}]'): no {', '.join(modules)}"


def needs_extra(extra: str, *modules: str) -> None:
    """At module level: skip the whole file unless ``modules`` import."""
    absent = missing(*modules)
    if absent:
        pytest.skip(reason(extra, absent), allow_module_level=True)


def requires_extra(extra: str, *modules: str) -> pytest.MarkDecorator:
    """A mark for one test: skip it unless ``modules`` import."""
    absent = missing(*modules)
    return pytest.mark.skipif(bool(absent), reason=reason(extra, absent))
