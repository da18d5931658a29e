"""Did-you-mean: the known names close to a misspelt one, and the hint that offers them.

Every place that refuses a name (a component, an embedder, a config key or option, an
episode id) offers what the user may have meant in the same words and with the same
threshold; one helper keeps it so. It lives in the lowest layer so that the memory OS (its
embedders, its CLI) uses it as well as the kernel, which cannot be imported from here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = ["close_matches", "did_you_mean"]

CUTOFF = 0.6
"""How alike (difflib's ratio) a known name must be to be offered: 0.6 catches a dropped,
doubled or swapped letter without offering unrelated names."""


def close_matches(
    name: str, known: Iterable[str], *, n: int = 2, cutoff: float = CUTOFF
) -> list[str]:
    """Up to ``n`` names of ``known`` close to ``name``, the closest first."""
    return difflib.get_close_matches(name, list(known), n=n, cutoff=cutoff)


def did_you_mean(suggestions: Sequence[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` to append to an error message; ``""`` for none."""
    if not suggestions:
        return ""
    quoted = [repr(s) for s in suggestions]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {listed}?"
