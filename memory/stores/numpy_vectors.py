"""An exact, brute-force vector store in NumPy: the reference implementation of the contract.

Slow at scale (every query touches every vector) but always right, so the conformance suite and
the benchmarks use it as ground truth for FAISS's approximate indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memory.stores.vectors import FloatArray, IdArray, Metric, VectorStore, exact_top_k


class NumpyVectorStore(VectorStore):
    """Exact search over a growing matrix."""

    def __init__(self, dim: int, metric: Metric = "cosine") -> None:
        self.dim = dim
        self.metric = metric
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._pos: dict[int, int] = {}

    def add(self, ids: Sequence[int] | IdArray, vectors: npt.ArrayLike) -> None:
        matrix = self.prepare(vectors)
        id_arr = np.asarray(ids, dtype=np.int64)
        if len(id_arr) != len(matrix):
            raise ValueError(f"{len(id_arr)} ids for {len(matrix)} vectors")
        dupes = [int(i) for i in id_arr if int(i) in self._pos]
        if dupes or len(set(id_arr.tolist())) != len(id_arr):
            raise ValueError(f"ids already present: {dupes[:5] or 'repeated in the batch'}")
        base = len(self._ids)
        self._ids = np.concatenate([self._ids, id_arr])
        self._matrix = np.concatenate([self._matrix, matrix])
        for j, i in enumerate(id_arr.tolist()):
            self._pos[i] = base + j

    def remove(self, ids: Sequence[int] | IdArray) -> int:
        drop = {int(i) for i in ids} & self._pos.keys()
        if not drop:
            return 0
        keep = np.array([int(i) not in drop for i in self._ids], dtype=bool)
        self._ids = self._ids[keep]
        self._matrix = self._matrix[keep]
        self._pos = {int(i): j for j, i in enumerate(self._ids.tolist())}
        return len(drop)

    def contains(self, item_id: int) -> bool:
        return item_id in self._pos

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> IdArray:
        return self._ids.copy()

    def search(
        self, queries: npt.ArrayLike, k: int, allow: Sequence[int] | None = None
    ) -> tuple[IdArray, FloatArray]:
        q = self.prepare(queries)
        if allow is None:
            return exact_top_k(self._ids, self._matrix, q, k, self.metric)
        rows = [self._pos[int(i)] for i in allow if int(i) in self._pos]
        return exact_top_k(self._ids[rows], self._matrix[rows], q, k, self.metric)

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, ids=self._ids, matrix=self._matrix)

    def load(self, path: Path) -> None:
        with np.load(path) as data:
            self._ids = data["ids"].astype(np.int64)
            self._matrix = data["matrix"].astype(np.float32)
        self._pos = {int(i): j for j, i in enumerate(self._ids.tolist())}
