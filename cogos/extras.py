"""Which optional extra of the ``cogos`` distribution brings a missing import.

Components that need an optional package (LangChain, MiniGrid, sentence-transformers...) fail
with ``No module named 'x'`` when their extra is not installed; the user needs to hear which
extra to install, not which module of which dependency was missing. The answer is read from
the installed distribution's own metadata (``Requires-Dist: ... ; extra == "llm"``), so it
cannot drift from ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.metadata
import re
from functools import cache

_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "", name).lower()


@cache
def extras_by_requirement() -> dict[str, str]:
    """Normalised distribution name -> the first extra that requires it."""
    try:
        requirements = importlib.metadata.requires("cogos") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    found: dict[str, str] = {}
    for req in requirements:
        extra, name = _EXTRA.search(req), _NAME.match(req)
        if extra and name:
            found.setdefault(_norm(name.group(1)), extra.group(1))
    return found


def extra_for(module: str | None) -> str | None:
    """The extra whose requirements provide top-level ``module``.

    A distribution named like the module, or starting with its name, counts: ``llama_cpp`` is
    in the ``llama-cpp-python`` distribution.
    """
    if not module:
        return None
    top = _norm(module.split(".")[0])
    extras = extras_by_requirement()
    if top in extras:
        return extras[top]
    return next((extra for dist, extra in extras.items() if dist.startswith(top)), None)


def install_hint(exc: ImportError) -> str:
    """`` (pip install -e '.[llm]')``-style advice for a failed import, or an empty string."""
    extra = extra_for(getattr(exc, "name", None))
    return f"; it comes with the {extra!r} extra: pip install -e '.[{extra}]'" if extra else ""
