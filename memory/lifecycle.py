"""Forgetting: which items to evict when memory is over capacity.

Heat is recency x frequency: ``(1 + hits) * 0.5 ** (age / half_life)``, where ``hits`` counts
retrievals and ``age`` is the time since the last retrieval (or since the item was stored). A
memory used often and lately stays; one never recalled since long ago goes first. The choice is
made here; the eviction itself is written through the log as deletes, so it survives a crash
like any other write.
"""

from __future__ import annotations

from collections.abc import Sequence


def heat(hits: int, last_access: float, now: float, half_life: float) -> float:
    return float((1 + hits) * 0.5 ** (max(0.0, now - last_access) / half_life))


def choose_evictions(
    stats: Sequence[tuple[int, int, float]], capacity: int, now: float, half_life: float
) -> list[int]:
    """Ids to evict so that ``capacity`` items remain, coldest first.

    A little more than the excess is evicted (5% of capacity) so that a large memory at its limit
    does not run an eviction pass on every single write.
    """
    excess = len(stats) - capacity
    if excess <= 0:
        return []
    count = min(len(stats), excess + capacity // 20)
    ranked = sorted(stats, key=lambda s: (heat(s[1], s[2], now, half_life), s[0]))
    return [item for item, _, _ in ranked[:count]]
