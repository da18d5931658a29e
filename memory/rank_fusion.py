"""Hybrid retrieval: dense (FAISS) and lexical (SQLite FTS5 bm25) rankings, fused, then expanded.

Why both: on real conversation memory neither wins everywhere. Dense vectors match paraphrases
and miss rare names and numbers; bm25 matches exact words and misses paraphrases. Reciprocal
rank fusion (Cormack et al., 2009) combines the two by rank, which needs no score calibration
between a cosine and a bm25 value. Expansion then adds the graph neighbours of the best hits
(the turns before and after an event in its episode, items sharing an entity), because the
answer to a question is often next to what matched it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

Ranking = Sequence[tuple[int, float]]


def reciprocal_rank_fusion(
    rankings: Iterable[tuple[Ranking, float]], k: float = 60.0
) -> list[tuple[int, float]]:
    """Fuse ``(ranking, weight)`` pairs: score(id) = sum of weight / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))


def expand(
    ranked: Sequence[tuple[int, float]],
    neighbours: Callable[[int], Iterable[int]],
    top: int,
    weight: float,
    lifted: dict[int, int] | None = None,
) -> list[tuple[int, float]]:
    """Give the neighbours of the ``top`` best items ``weight`` x their parent's score.

    An item already ranked keeps the higher of its own score and the propagated one, so
    expansion can lift a neighbour but never demote anything. ``lifted``, when given, receives
    each lifted item's parent (to show why it ranks where it does).
    """
    if top <= 0 or weight <= 0:
        return list(ranked)
    scores = dict(ranked)
    for item, score in ranked[:top]:
        for other in neighbours(item):
            propagated = score * weight
            if propagated > scores.get(other, float("-inf")):
                scores[other] = propagated
                if lifted is not None:
                    lifted[other] = item
    return sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))
