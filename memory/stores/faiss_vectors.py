"""FAISS vector store: ``IndexIDMap2`` over a flat or HNSW index, or IVF, on the CPU or a GPU.

Ids are the WAL sequence numbers, so a search hit names the log record directly. Notes on each
index kind, as FAISS behaves:

* ``flat``: exact; removal is supported. The default.
* ``hnsw``: approximate and fast; FAISS cannot remove from HNSW, so removed ids become tombstones
  excluded at search time and dropped for good when the index is rebuilt at compaction.
* ``ivf``: approximate; needs training, so vectors are held (and searched exactly) until
  ``train_size`` of them have arrived, then the index is trained on them. IVF stores the ids
  itself (with a hashtable direct map), so it is not wrapped in ``IndexIDMap2``.

Filtered searches over few ids (``exact_filter_below``) are done exactly on the reconstructed
vectors, because HNSW's filtered graph search can miss allowed ids when they are rare.
The GPU is used when ``device`` is ``gpu``, or ``auto`` with a GPU and a faiss GPU build present
(``index_cpu_to_gpu``); HNSW has no GPU version and stays on the CPU.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
import numpy.typing as npt

from memory.errors import CheckpointError
from memory.stores.vectors import FloatArray, IdArray, Metric, VectorStore, exact_top_k

log = logging.getLogger("cogos.memory.faiss")

IndexKind = Literal["flat", "hnsw", "ivf"]
SNAPSHOT_MAGIC = b"CGOSVIX1"
_faiss_any: Any = faiss  # SWIG classes its type stubs do not list
Device = Literal["auto", "cpu", "gpu"]


def gpu_available() -> bool:
    """True when faiss was built with GPU support and sees a GPU."""
    return hasattr(faiss, "index_cpu_to_gpu") and getattr(faiss, "get_num_gpus", lambda: 0)() > 0


class FaissVectorStore(VectorStore):
    """See the module docstring."""

    def __init__(
        self,
        dim: int,
        metric: Metric = "cosine",
        kind: IndexKind = "flat",
        *,
        hnsw_m: int = 32,
        ef_construction: int = 40,
        ef_search: int = 64,
        ivf_nlist: int = 256,
        ivf_nprobe: int = 16,
        train_size: int | None = None,
        device: Device = "auto",
        threads: int = 1,
        exact_filter_below: int = 4096,
    ) -> None:
        if kind not in ("flat", "hnsw", "ivf"):
            raise ValueError(f"index kind must be flat, hnsw or ivf; got {kind!r}")
        self.dim = dim
        self.metric = metric
        self.kind = kind
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.ivf_nlist = ivf_nlist
        self.ivf_nprobe = ivf_nprobe
        self.train_size = train_size or 39 * ivf_nlist
        self.exact_filter_below = exact_filter_below
        self.device = device
        faiss.omp_set_num_threads(threads)
        self._faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
        self._tombstones: set[int] = set()
        self._pending_ids = np.zeros(0, dtype=np.int64)
        self._pending = np.zeros((0, dim), dtype=np.float32)
        self.on_gpu = False
        self._gpu_resources: Any = None
        self._index = self._place(self._empty_index())

    # -- construction ---------------------------------------------------------------------

    def _empty_index(self) -> Any:
        base: Any
        if self.kind == "flat":
            base = faiss.IndexFlat(self.dim, self._faiss_metric)
        elif self.kind == "hnsw":
            base = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, self._faiss_metric)
            base.hnsw.efConstruction = self.ef_construction
        else:
            quantizer = faiss.IndexFlat(self.dim, self._faiss_metric)
            base = faiss.IndexIVFFlat(quantizer, self.dim, self.ivf_nlist, self._faiss_metric)
            base.nprobe = self.ivf_nprobe
            # IVF keeps external ids itself; a hashtable direct map gives reconstruct-by-id
            # (filtered exact search) and remove_ids without an IndexIDMap2 around it
            base.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
            self._quantizer = quantizer  # keep it alive: the IVF index does not own it
            return base
        return faiss.IndexIDMap2(base)

    def _place(self, index: Any) -> Any:
        want_gpu = self.device == "gpu" or (self.device == "auto" and gpu_available())
        if not want_gpu:
            return index
        if self.kind == "hnsw":
            log.info("HNSW has no GPU implementation in faiss; the index stays on the CPU")
            return index
        if not gpu_available():
            raise RuntimeError(
                "device 'gpu' was asked for, but faiss has no GPU build or sees no GPU"
            )
        if self._gpu_resources is None:
            self._gpu_resources = faiss.StandardGpuResources()
        self.on_gpu = True
        return faiss.index_cpu_to_gpu(self._gpu_resources, 0, index)

    def _cpu_index(self) -> Any:
        return faiss.index_gpu_to_cpu(self._index) if self.on_gpu else self._index

    @property
    def trained(self) -> bool:
        return bool(self._index.is_trained)

    # -- contract -------------------------------------------------------------------------

    def add(self, ids: Sequence[int] | IdArray, vectors: npt.ArrayLike) -> None:
        matrix = self.prepare(vectors)
        id_arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        if len(id_arr) != len(matrix):
            raise ValueError(f"{len(id_arr)} ids for {len(matrix)} vectors")
        if len(id_arr) == 0:
            return
        if not self.trained:
            self._pending_ids = np.concatenate([self._pending_ids, id_arr])
            self._pending = np.concatenate([self._pending, matrix])
            if len(self._pending_ids) >= self.train_size:
                self._train()
            return
        self._index.add_with_ids(matrix, id_arr)

    def _train(self) -> None:
        log.info("training %s index on %d vectors", self.kind, len(self._pending))
        self._index.train(self._pending)
        self._index.add_with_ids(self._pending, self._pending_ids)
        self._pending_ids = np.zeros(0, dtype=np.int64)
        self._pending = np.zeros((0, self.dim), dtype=np.float32)

    def remove(self, ids: Sequence[int] | IdArray) -> int:
        wanted = {int(i) for i in ids}
        removed = 0
        if len(self._pending_ids):
            keep = np.array([i not in wanted for i in self._pending_ids.tolist()], dtype=bool)
            removed += int((~keep).sum())
            self._pending_ids = self._pending_ids[keep]
            self._pending = self._pending[keep]
        present = [i for i in wanted if self._in_index(i)]
        if not present:
            return removed
        if self.kind == "hnsw":
            self._tombstones.update(present)
        else:
            self._index.remove_ids(np.array(present, dtype=np.int64))
        return removed + len(present)

    def compact(self) -> None:
        """HNSW cannot remove: rebuild it from its live vectors to drop the tombstones."""
        if self.kind != "hnsw" or not self._tombstones:
            return
        ids = self.ids()
        vectors = self.reconstruct(ids.tolist())
        self._index = self._place(self._empty_index())
        self._tombstones.clear()
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def _in_index(self, item_id: int) -> bool:
        if item_id in self._tombstones:
            return False
        try:
            self._index.reconstruct(item_id)
        except RuntimeError:
            return False
        return True

    def contains(self, item_id: int) -> bool:
        return item_id in set(self._pending_ids.tolist()) or self._in_index(item_id)

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._tombstones) + len(self._pending_ids)

    def ids(self) -> IdArray:
        index = self._cpu_index()
        if self.kind == "ivf":
            invlists: Any = faiss.extract_index_ivf(index).invlists
            parts = [
                faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                for i in range(invlists.nlist)
            ]
            indexed = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        else:
            indexed = faiss.vector_to_array(index.id_map).astype(np.int64)
        if self._tombstones:
            indexed = indexed[~np.isin(indexed, np.fromiter(self._tombstones, dtype=np.int64))]
        return np.concatenate([indexed, self._pending_ids])

    def search(
        self, queries: npt.ArrayLike, k: int, allow: Sequence[int] | None = None
    ) -> tuple[IdArray, FloatArray]:
        q = self.prepare(queries)
        if allow is not None:
            allowed = np.array(
                [i for i in dict.fromkeys(int(a) for a in allow) if i not in self._tombstones],
                dtype=np.int64,
            )
            if len(allowed) <= self.exact_filter_below or not self.trained:
                return self._exact(q, k, allowed)
        else:
            allowed = None
        if not self.trained:
            return self._exact(q, k, None)
        params = self._params(allowed)
        scores, ids = self._index.search(q, k, params=params)
        scores = -scores if self.metric == "l2" else scores
        scores[ids < 0] = -np.inf
        return ids.astype(np.int64), scores.astype(np.float32)

    def _params(self, allowed: IdArray | None) -> Any:
        selector: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
        elif self._tombstones:
            dead = np.fromiter(self._tombstones, dtype=np.int64)
            self._dead_batch = faiss.IDSelectorBatch(dead)  # kept alive during the search
            selector = faiss.IDSelectorNot(self._dead_batch)
        lib = _faiss_any  # these SWIG classes take keyword arguments its stubs do not list
        if self.kind == "hnsw":
            return lib.SearchParametersHNSW(sel=selector, efSearch=self.ef_search)
        if self.kind == "ivf":
            return lib.SearchParametersIVF(sel=selector, nprobe=self.ivf_nprobe)
        return lib.SearchParameters(sel=selector) if selector is not None else None

    def _exact(self, q: FloatArray, k: int, allowed: IdArray | None) -> tuple[IdArray, FloatArray]:
        """Exact search over the allowed ids (or everything held, when untrained)."""
        ids = self.ids() if allowed is None else allowed
        try:
            vectors = self._vectors_of(ids)
        except RuntimeError:  # some allowed ids hold no vector: keep those that do
            pending = set(self._pending_ids.tolist())
            ids = np.array(
                [i for i in ids.tolist() if i in pending or self._in_index(i)], dtype=np.int64
            )
            vectors = self._vectors_of(ids)
        return exact_top_k(ids, vectors, q, k, self.metric)

    def _vectors_of(self, ids: IdArray) -> FloatArray:
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        pending = {i: j for j, i in enumerate(self._pending_ids.tolist())}
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        indexed = [j for j, i in enumerate(ids.tolist()) if i not in pending]
        if indexed:
            out[indexed] = self._index.reconstruct_batch(ids[indexed])
        for j, i in enumerate(ids.tolist()):
            if i in pending:
                out[j] = self._pending[pending[i]]
        return out

    def reconstruct(self, ids: Sequence[int]) -> FloatArray:
        """The stored (normalised, for cosine) vectors of ``ids``."""
        return self._vectors_of(np.asarray(ids, dtype=np.int64))

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the snapshot: header, tombstones, untrained vectors, then the FAISS index.

        Layout: ``b"CGOSVIX1" | u32 header length | header JSON (kind, dim, metric, counts) |
        int64 tombstones | int64 pending ids | float32 pending vectors | faiss index``. The index
        is streamed with ``faiss.write_index`` (no in-memory copy of a large index).
        """
        header = json.dumps(
            {
                "kind": self.kind,
                "dim": self.dim,
                "metric": self.metric,
                "tombstones": len(self._tombstones),
                "pending": len(self._pending_ids),
            }
        ).encode()
        with path.open("wb") as f:
            f.write(SNAPSHOT_MAGIC + struct.pack("<I", len(header)) + header)
            f.write(np.fromiter(sorted(self._tombstones), dtype="<i8").tobytes())
            f.write(self._pending_ids.astype("<i8").tobytes())
            f.write(self._pending.astype("<f4").tobytes())
            writer = _faiss_any.PyCallbackIOWriter(f.write)
            faiss.write_index(self._cpu_index(), writer)
            del writer

    def load(self, path: Path) -> None:
        try:
            with path.open("rb") as f:
                if f.read(len(SNAPSHOT_MAGIC)) != SNAPSHOT_MAGIC:
                    raise ValueError("not a CogOS vector index snapshot")
                (size,) = struct.unpack("<I", f.read(4))
                meta = json.loads(f.read(size))
                if (meta["dim"], meta["metric"], meta["kind"]) != (
                    self.dim,
                    self.metric,
                    self.kind,
                ):
                    raise CheckpointError(
                        f"{path}: index is {meta['kind']}/{meta['metric']}/{meta['dim']}-d, "
                        f"but this store is {self.kind}/{self.metric}/{self.dim}-d"
                    )
                tombstones = np.frombuffer(f.read(8 * meta["tombstones"]), dtype="<i8")
                pending_ids = np.frombuffer(f.read(8 * meta["pending"]), dtype="<i8")
                pending = np.frombuffer(f.read(4 * self.dim * meta["pending"]), dtype="<f4")
                reader = _faiss_any.PyCallbackIOReader(f.read)
                index = faiss.read_index(reader)
                del reader
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, struct.error) as exc:
            raise CheckpointError(f"{path}: cannot read vector index ({exc})") from exc
        self._tombstones = {int(i) for i in tombstones}
        self._pending_ids = pending_ids.astype(np.int64)
        self._pending = pending.astype(np.float32).reshape(-1, self.dim)
        self._index = self._place(index)

    def close(self) -> None:
        self._index = None
        self._gpu_resources = None
