"""The vector-store contract: ids are WAL sequence numbers; higher scores are closer.

Why a contract rather than FAISS everywhere: an exact NumPy store is the reference every FAISS
configuration is tested against (recall of HNSW/IVF is measured, not assumed), and a new backend
(another ANN library, a GPU store) plugs in by passing the same conformance suite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from memory.errors import DimensionError

Metric = Literal["cosine", "ip", "l2"]
IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def as_matrix(vectors: npt.ArrayLike, dim: int, what: str = "vector") -> FloatArray:
    """A C-contiguous float32 ``(n, dim)`` matrix, or a DimensionError saying what was wrong."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise DimensionError(f"{what} has shape {tuple(np.shape(vectors))}, expected (n, {dim})")
    if not np.isfinite(arr).all():
        raise DimensionError(f"{what} contains NaN or infinity")
    return np.ascontiguousarray(arr)


def normalize(matrix: FloatArray) -> FloatArray:
    """Unit-length rows (cosine similarity becomes inner product); zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


class VectorStore(ABC):
    """Vectors keyed by int64 id. ``applied_seq`` is the last log record folded in."""

    dim: int
    metric: Metric
    applied_seq: int = 0

    def prepare(self, vectors: npt.ArrayLike) -> FloatArray:
        matrix = as_matrix(vectors, self.dim)
        return normalize(matrix) if self.metric == "cosine" else matrix

    @abstractmethod
    def add(self, ids: Sequence[int] | IdArray, vectors: npt.ArrayLike) -> None:
        """Add vectors (already-present ids are an error: the log never repeats an id)."""

    @abstractmethod
    def remove(self, ids: Sequence[int] | IdArray) -> int:
        """Remove ids that are present; return how many were."""

    @abstractmethod
    def contains(self, item_id: int) -> bool: ...

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def search(
        self, queries: npt.ArrayLike, k: int, allow: Sequence[int] | None = None
    ) -> tuple[IdArray, FloatArray]:
        """Top ``k`` per query as ``(ids, scores)`` of shape ``(n, k)``; missing slots are -1.

        ``allow`` restricts results to those ids (metadata filters resolve to such a list).
        """

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the whole store to ``path`` (the caller makes it durable and atomic)."""

    @abstractmethod
    def load(self, path: Path) -> None:
        """Replace the contents with what ``save`` wrote."""

    def ids(self) -> IdArray:
        """All ids present (for verification and export)."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing to release
        """Release resources (GPU memory); safe to call twice."""

    def compact(self) -> None:  # noqa: B027 - optional hook: most stores remove for good
        """Drop for good what ``remove`` only marked (called by ``MemoryOS.compact``)."""


def exact_top_k(
    ids: IdArray, matrix: FloatArray, queries: FloatArray, k: int, metric: Metric
) -> tuple[IdArray, FloatArray]:
    """Brute-force top k, the reference the ANN indexes are measured against."""
    n = queries.shape[0]
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf, dtype=np.float32)
    if len(ids) == 0 or k == 0:
        return out_ids, out_scores
    if metric == "l2":
        d2 = (
            (queries**2).sum(1, keepdims=True)
            - 2 * queries @ matrix.T
            + (matrix**2).sum(1)[None, :]
        )
        scores = -np.maximum(d2, 0)
    else:
        scores = queries @ matrix.T
    take = min(k, len(ids))
    part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
    for row in range(n):
        cols = part[row][np.argsort(-scores[row, part[row]], kind="stable")]
        out_ids[row, :take] = ids[cols]
        out_scores[row, :take] = scores[row, cols]
    return out_ids, out_scores
