"""Memory OS: durable ingest, search latency and recovery, against the raw libraries and LangGraph.

    python bench/memory_os.py [--quick] [--dir DIR]

Everything runs in one process on the same vectors (random unit vectors drawn from a Gaussian
mixture, so that nearest neighbours are clustered and ANN recall means something; queries are
stored points plus a little noise). Figures (last line: one JSON object):

* ``ingest``: durable ingest rate (vectors/s) of ``remember_many`` in batches under the default
  ``group`` durability, beside raw FAISS ``IndexIDMap2(IndexFlatIP).add_with_ids`` and a raw
  ``WriteAheadLog.append`` loop of the same encoded payloads (group policy) on the same batches;
  ``ratio_*_over_cogos`` says how many times faster the raw library is. HNSW ingest likewise.
* ``single_puts``: ``remember()`` one record at a time, under ``always`` and ``group`` (each call
  is one ``fdatasync``), interleaved with raw single-record WAL appends of the same payloads; and
  16 concurrent asyncio writers calling ``aremember()`` (the group committer shares fsyncs).
* ``search``: single-query k=10 latency p50/p99 of CogOS flat and HNSW, each beside raw FAISS
  with the same index and parameters (queries interleaved, so noise hits both alike), recall@10
  against exact flat search, and the goal "p50 <= 1.15x raw faiss + 0.3 ms".
* ``recovery``: reopening after a clean close with no checkpoint (the whole log replayed) and
  after ``checkpoint()`` (index snapshot loaded, short tail replayed), best of 3 opens, and
  seconds per 1M records extrapolated; goal "<= 3 s per 1M flat records".
* ``langgraph``: LangGraph's ``InMemoryStore`` and ``SqliteStore`` (a real SQLite file, default
  pragmas) with a vector index over the same vectors, fed by an embedding function that looks the
  vector up by the item's text (no model runs): batch ingest, search p50/p99, single puts/s.
  ``cogos_vs_langgraph`` holds the speedups (goal: at least 10x on search and durable puts).

LangGraph's SqliteStore searches by brute force in SQL (``vec_distance_cosine`` of sqlite-vec
over every stored row, then ORDER BY ... LIMIT), and loads sqlite-vec with
``Connection.enable_load_extension``. A Python built without loadable-extension support lacks
that method; the benchmark then enables extension loading through the C API of the very
libsqlite3 the ``sqlite3`` module links to (ctypes), and says so in the JSON. If that is not
possible either, the SqliteStore is measured without a vector index (puts only) and the JSON says
why.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from memory.codec import OP_PUT, encode_body, put_body
from memory.config import IndexConfig
from memory.entries import Entry
from memory.memory_os import MemoryOS
from memory.wal.log import WriteAheadLog

Matrix = npt.NDArray[np.float32]
DIM = 384
K = 10
BATCH = 1000
HNSW = {"hnsw_m": 32, "ef_construction": 40, "ef_search": 64}
GOAL_SEARCH = "p50 <= 1.15x raw faiss + 0.3 ms"
GOAL_RECOVERY_S_PER_1M = 3.0
GOAL_VS_LANGGRAPH = 10.0
WRITERS = 16


def say(*parts: Any) -> None:
    print(*parts, flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(latencies)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


# -- data -------------------------------------------------------------------------------------


def unit(matrix: npt.NDArray[Any]) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def make_data(n: int, n_queries: int, n_spare: int, seed: int = 0) -> tuple[Matrix, Matrix, int]:
    """``n + n_spare`` unit vectors from a Gaussian mixture, and queries near stored points."""
    rng = np.random.default_rng(seed)
    clusters = max(10, n // 100)
    centers = unit(rng.standard_normal((clusters, DIM), dtype=np.float32))
    total = n + n_spare
    labels = rng.integers(clusters, size=total)
    noise = rng.standard_normal((total, DIM), dtype=np.float32) * np.float32(2.0 / np.sqrt(DIM))
    vectors = unit(centers[labels] + noise)
    picks = rng.choice(n, size=n_queries, replace=False)
    jitter = rng.standard_normal((n_queries, DIM), dtype=np.float32) * np.float32(
        0.5 / np.sqrt(DIM)
    )
    return vectors, unit(vectors[picks] + jitter), clusters


def entries_for(vectors: Matrix, first_id: int) -> list[Entry]:
    """Entries whose text is their future id (a fresh memory numbers items 1, 2, ...)."""
    return [
        Entry(kind="text", text=str(first_id + i), vector=vectors[i]) for i in range(len(vectors))
    ]


def recall(found: Sequence[Sequence[int]], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


# -- raw baselines ----------------------------------------------------------------------------


def raw_index(kind: str) -> Any:
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    base = faiss.IndexHNSWFlat(DIM, HNSW["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
    base.hnsw.efConstruction = HNSW["ef_construction"]
    base.hnsw.efSearch = HNSW["ef_search"]
    return faiss.IndexIDMap2(base)


def raw_ingest(kind: str, vectors: Matrix, ids: npt.NDArray[np.int64]) -> tuple[Any, float]:
    index = raw_index(kind)
    gc.collect()
    t0 = time.perf_counter()
    for s in range(0, len(vectors), BATCH):
        index.add_with_ids(vectors[s : s + BATCH], ids[s : s + BATCH])
    return index, len(vectors) / (time.perf_counter() - t0)


def raw_wal_ingest(directory: Path, payloads: Sequence[bytes]) -> float:
    wal = WriteAheadLog(directory, durability="group")
    gc.collect()
    t0 = time.perf_counter()
    for s in range(0, len(payloads), BATCH):
        wal.append(payloads[s : s + BATCH])
    rate = len(payloads) / (time.perf_counter() - t0)
    wal.close()
    return rate


# -- CogOS ------------------------------------------------------------------------------------


def open_memory(path: Path, kind: str, durability: str = "group") -> MemoryOS:
    index = IndexConfig(kind="hnsw", **HNSW) if kind == "hnsw" else IndexConfig(kind="flat")
    return MemoryOS.open(
        path, dim=DIM, index=index, durability=durability, checkpoint_every=0, metric="cosine"
    )


def cogos_ingest(memory: MemoryOS, entries: Sequence[Entry]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    for s in range(0, len(entries), BATCH):
        memory.remember_many(entries[s : s + BATCH])
    return len(entries) / (time.perf_counter() - t0)


def single_puts(
    memory: MemoryOS, entries: Sequence[Entry], wal: WriteAheadLog
) -> tuple[float, float]:
    """``remember()`` one entry at a time, interleaved with a raw single-record WAL append of
    the same payload (so the disk's noise hits both alike); returns (CogOS/s, raw WAL/s)."""
    payloads = [encode_body(OP_PUT, put_body(e), e.vector) for e in entries]
    cogos = raw = 0.0
    gc.collect()
    for entry, payload in zip(entries, payloads, strict=True):
        t0 = time.perf_counter()
        wal.append([payload])
        t1 = time.perf_counter()
        memory.remember(entry)
        t2 = time.perf_counter()
        raw += t1 - t0
        cogos += t2 - t1
    return len(entries) / cogos, len(entries) / raw


def concurrent_puts(
    memory: MemoryOS, entries: Sequence[Entry], writers: int
) -> tuple[float, float]:
    """``writers`` asyncio tasks calling ``aremember()`` one entry at a time (the group committer
    gathers them into shared fsyncs); returns (puts/s, records per fsync)."""

    async def go() -> float:
        async def writer(chunk: Sequence[Entry]) -> None:
            for entry in chunk:
                await memory.aremember(entry)

        t0 = time.perf_counter()
        await asyncio.gather(*(writer(entries[w::writers]) for w in range(writers)))
        elapsed = time.perf_counter() - t0
        await memory.flush()
        return elapsed

    syncs = memory.wal.syncs
    gc.collect()
    elapsed = asyncio.run(go())
    return len(entries) / elapsed, len(entries) / max(1, memory.wal.syncs - syncs)


def search_pair(
    raw: Any, memory: MemoryOS, queries: Matrix, warmup: int = 20
) -> tuple[list[float], list[float], list[list[int]], list[list[int]]]:
    """Interleaved single-query searches: raw FAISS, then CogOS, query by query."""
    rows = [np.ascontiguousarray(queries[i : i + 1]) for i in range(len(queries))]
    for row in rows[:warmup]:
        raw.search(row, K)
        memory.search(row[0], K)
    raw_lat: list[float] = []
    cog_lat: list[float] = []
    raw_ids: list[list[int]] = []
    cog_ids: list[list[int]] = []
    gc.collect()
    gc.disable()
    try:
        for row in rows:
            t0 = time.perf_counter()
            _, ids = raw.search(row, K)
            t1 = time.perf_counter()
            hits = memory.search(row[0], K)
            t2 = time.perf_counter()
            raw_lat.append(t1 - t0)
            cog_lat.append(t2 - t1)
            raw_ids.append([int(i) for i in ids[0] if i >= 0])
            cog_ids.append([h.item.id for h in hits])
    finally:
        gc.enable()
    return raw_lat, cog_lat, raw_ids, cog_ids


def search_figures(
    raw_lat: Sequence[float],
    cog_lat: Sequence[float],
    truth: npt.NDArray[np.int64],
    raw_ids: Sequence[Sequence[int]],
    cog_ids: Sequence[Sequence[int]],
) -> dict[str, Any]:
    raw50, raw99 = percentiles(raw_lat)
    cog50, cog99 = percentiles(cog_lat)
    return {
        "cogos_p50_ms": ms(cog50),
        "cogos_p99_ms": ms(cog99),
        "raw_faiss_p50_ms": ms(raw50),
        "raw_faiss_p99_ms": ms(raw99),
        "p50_ratio_vs_raw": round(cog50 / raw50, 3),
        "p50_overhead_ms": ms(cog50 - raw50),
        "goal_met": bool(cog50 <= 1.15 * raw50 + 0.3e-3),
        "cogos_recall_at_10": round(recall(cog_ids, truth), 4),
        "raw_faiss_recall_at_10": round(recall(raw_ids, truth), 4),
        "same_ids_as_raw": round(
            sum(a == b for a, b in zip(cog_ids, raw_ids, strict=True)) / len(raw_ids), 4
        ),
    }


def reopen(path: Path, kind: str, times: int = 3) -> tuple[MemoryOS, list[float]]:
    """Open ``times`` times (each open recovers the same way: nothing it does is persisted);
    return the last memory, left open, and every open's seconds (the minimum is the figure:
    the machine is shared and noisy)."""
    seconds = []
    for i in range(times):
        gc.collect()
        t0 = time.perf_counter()
        memory = open_memory(path, kind)
        seconds.append(time.perf_counter() - t0)
        if i < times - 1:
            memory.close()
    return memory, seconds


# -- LangGraph --------------------------------------------------------------------------------


class VectorTable:
    """LangGraph's embedding function: the vector of item ``"<id>"`` or of query ``"q<j>"``."""

    def __init__(self, vectors: Matrix, queries: Matrix) -> None:
        self.vectors = vectors
        self.queries = queries

    def lookup(self, text: str) -> list[float]:
        if text.startswith("{"):  # a whole value, JSON-encoded (the "$" path)
            text = str(json.loads(text)["text"])
        if text.startswith("q"):
            return self.queries[int(text[1:])].tolist()  # type: ignore[no-any-return]
        return self.vectors[int(text) - 1].tolist()  # type: ignore[no-any-return]

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.lookup(t) for t in texts]


def _libsqlite3() -> Any:
    """The SQLite C API as the sqlite3 module has it (symbols of _sqlite3 and its libraries)."""
    import _sqlite3  # type: ignore[import-not-found]

    return ctypes.CDLL(_sqlite3.__file__)


def _db_handle(conn: sqlite3.Connection, lib: Any) -> int:
    """The ``sqlite3*`` of a connection (CPython: the first field after PyObject_HEAD), checked
    against the file name SQLite reports for it."""
    if sys.implementation.name != "cpython":
        raise RuntimeError("finding the sqlite3* handle needs CPython")
    handle = ctypes.c_void_p.from_address(id(conn) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
    lib.sqlite3_db_filename.restype = ctypes.c_char_p
    lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    main_file = conn.execute("PRAGMA database_list").fetchone()[2]
    if not handle or (lib.sqlite3_db_filename(handle, b"main") or b"").decode() != main_file:
        raise RuntimeError("cannot find the sqlite3* handle of the connection")
    return int(handle)


class CtypesExtConnection(sqlite3.Connection):
    """A connection that loads extensions even where ``sqlite3`` was built without that."""

    def enable_load_extension(self, enabled: bool) -> None:  # type: ignore[override]
        lib = _libsqlite3()
        lib.sqlite3_enable_load_extension.argtypes = [ctypes.c_void_p, ctypes.c_int]
        if lib.sqlite3_enable_load_extension(_db_handle(self, lib), int(enabled)) != 0:
            raise sqlite3.OperationalError("sqlite3_enable_load_extension failed")

    def load_extension(self, path: str, *, entrypoint: str | None = None) -> None:  # type: ignore[override]
        if entrypoint is None:
            self.execute("SELECT load_extension(?)", [path])
        else:
            self.execute("SELECT load_extension(?, ?)", [path, entrypoint])


def connect_sqlite(path: Path) -> tuple[sqlite3.Connection, str]:
    """A connection as ``SqliteStore.from_conn_string`` makes one, able to load sqlite-vec."""
    native = hasattr(sqlite3.Connection, "enable_load_extension")
    factory = sqlite3.Connection if native else CtypesExtConnection
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, factory=factory)
    how = (
        "native enable_load_extension"
        if native
        else "ctypes sqlite3_enable_load_extension (this Python's sqlite3 module was built "
        "without loadable-extension support)"
    )
    return conn, how


def timed_searches(
    search: Callable[[int], list[int]], n_queries: int, warmup: int = 2
) -> tuple[list[float], list[list[int]]]:
    for j in range(min(warmup, n_queries)):
        search(j)
    lat: list[float] = []
    found: list[list[int]] = []
    gc.collect()
    for j in range(n_queries):
        t0 = time.perf_counter()
        ids = search(j)
        lat.append(time.perf_counter() - t0)
        found.append(ids)
    return lat, found


def langgraph_store(
    which: str,
    workdir: Path,
    table: VectorTable,
    n: int,
    n_queries: int,
    puts: Sequence[int],
    concurrent: Sequence[int],
    truth: npt.NDArray[np.int64],
    memory: MemoryOS,
) -> dict[str, Any]:
    """Batch ingest, search and single puts of one LangGraph store over items ``1..n``.

    Durable single puts into the SqliteStore are interleaved with CogOS ``remember()`` calls
    into ``memory`` (so the disk's noise hits both alike).
    """
    from langgraph.store.base import PutOp

    ns = ("bench",)
    out: dict[str, Any] = {"n": n, "queries": n_queries}
    index: dict[str, Any] = {"dims": DIM, "embed": table, "fields": ["text"]}
    conn: sqlite3.Connection | None = None
    if which == "inmemory":
        from langgraph.store.memory import InMemoryStore

        store: Any = InMemoryStore(index=index)  # type: ignore[arg-type]
        out["vector_search"] = "numpy cosine over every stored vector (lists converted per query)"
        out["durable"] = False
    else:
        from langgraph.store.sqlite import SqliteStore

        # SqliteStore reads "text_fields" and ignores "fields" (InMemoryStore's key), embedding
        # the whole value as JSON; give it both so that it embeds the text field as well.
        index["text_fields"] = ["text"]
        conn, how = connect_sqlite(workdir / "langgraph.sqlite")
        store = SqliteStore(conn, index=index)  # type: ignore[arg-type]
        try:
            store.setup()
            out["vector_search"] = "sqlite-vec vec_distance_cosine over every row in SQL"
            out["sqlite_vec_loaded_via"] = how
        except (AttributeError, sqlite3.Error, RuntimeError, OSError) as exc:
            conn.close()
            out["vector_search"] = None
            out["vector_search_error"] = f"{type(exc).__name__}: {exc}"
            conn, _ = connect_sqlite(workdir / "langgraph-noindex.sqlite")
            store = SqliteStore(conn)
            store.setup()
            n = out["n"] = out["queries"] = 0  # nothing to search: durable puts only
        out["journal_mode"] = conn.execute("PRAGMA journal_mode").fetchone()[0]
        out["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
            conn.execute("PRAGMA synchronous").fetchone()[0]
        )
        out["durable"] = True
    try:
        if n:
            ops = [PutOp(ns, str(i), {"text": str(i)}) for i in range(1, n + 1)]
            gc.collect()
            t0 = time.perf_counter()
            for s in range(0, n, BATCH):
                store.batch(ops[s : s + BATCH])
            out["batch_ingest_per_s"] = round(n / (time.perf_counter() - t0))

            def search(j: int) -> list[int]:
                return [int(it.key) for it in store.search(ns, query=f"q{j}", limit=K)]

            lat, found = timed_searches(search, n_queries)
            p50, p99 = percentiles(lat)
            out["search_p50_ms"] = ms(p50)
            out["search_p99_ms"] = ms(p99)
            out["recall_at_10"] = round(recall(found, truth[: len(found)]), 4)
        entries = entries_for(table.vectors[puts[0] - 1 : puts[-1]], puts[0])
        theirs = ours = 0.0
        gc.collect()
        for i, entry in zip(puts, entries, strict=True):
            t0 = time.perf_counter()
            store.put(ns, str(i), {"text": str(i)})
            t1 = time.perf_counter()
            if out["durable"]:
                memory.remember(entry)
            theirs += t1 - t0
            ours += time.perf_counter() - t1
        out["single_puts_per_s"] = round(len(puts) / theirs)
        out["single_puts_n"] = len(puts)
        if out["durable"]:
            more = [str(i) for i in concurrent]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(WRITERS) as pool:
                list(pool.map(lambda key: store.put(ns, key, {"text": key}), more))
            out["concurrent_puts_per_s"] = round(len(more) / (time.perf_counter() - t0))
            out["concurrent_writers"] = WRITERS
        if out["durable"]:
            out["cogos_group_remember_puts_per_s_interleaved"] = round(len(puts) / ours)
    finally:
        if conn is not None:
            conn.close()
    return out


def exact_truth(vectors: Matrix, queries: Matrix) -> npt.NDArray[np.int64]:
    index = raw_index("flat")
    index.add_with_ids(vectors, np.arange(1, len(vectors) + 1, dtype=np.int64))
    _, ids = index.search(queries, K)
    return ids.astype(np.int64)


# -- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    quick = args.quick
    n = args.n or (10_000 if quick else 100_000)
    n_queries = 200 if quick else 500
    n_single = 200 if quick else 500
    n_always = 200
    n_concurrent = 1000 if quick else 2000
    lg_n = min(args.langgraph_n or n, n)
    lg_queries = {"sqlite": 50 if quick else 30, "inmemory": 20 if quick else 10}
    lg_puts = 200
    faiss.omp_set_num_threads(1)

    t0 = time.perf_counter()
    everything, queries, clusters = make_data(
        n, n_queries, n_single + n_always + n_concurrent + 3 * lg_puts
    )
    vectors = everything[:n]
    ids = np.arange(1, n + 1, dtype=np.int64)
    entries = entries_for(vectors, 1)
    payloads = [encode_body(OP_PUT, put_body(e), e.vector) for e in entries]
    say(
        f"data: {n} x {DIM} unit vectors, {clusters} Gaussian clusters, {n_queries} queries "
        f"({time.perf_counter() - t0:.1f} s to make)"
    )
    result: dict[str, Any] = {
        "bench": "memory",
        "quick": quick,
        "n": n,
        "dim": DIM,
        "k": K,
        "queries": n_queries,
        "data": f"unit vectors, a Gaussian mixture of {clusters} clusters; queries near points",
        "faiss_threads": 1,
    }

    # 1. durable ingest, flat ----------------------------------------------------------------
    raw_flat, raw_flat_rate = raw_ingest("flat", vectors, ids)
    raw_wal_rate = raw_wal_ingest(root / "raw-wal", payloads)
    shutil.rmtree(root / "raw-wal")
    flat_dir = root / "cogos-flat"
    mem = open_memory(flat_dir, "flat")
    cogos_rate = cogos_ingest(mem, entries)
    say(
        f"ingest flat (batches of {BATCH}, group durability): CogOS {cogos_rate:,.0f}/s, "
        f"raw faiss {raw_flat_rate:,.0f}/s, raw WAL {raw_wal_rate:,.0f}/s"
    )
    truth = exact_truth(vectors, queries)

    # 2. search, flat ------------------------------------------------------------------------
    raw_lat, cog_lat, raw_ids, cog_ids = search_pair(raw_flat, mem, queries)
    flat = search_figures(raw_lat, cog_lat, truth, raw_ids, cog_ids)
    say(
        f"search flat k={K}: CogOS p50 {flat['cogos_p50_ms']} ms p99 {flat['cogos_p99_ms']} ms; "
        f"raw faiss p50 {flat['raw_faiss_p50_ms']} ms p99 {flat['raw_faiss_p99_ms']} ms; "
        f"ratio {flat['p50_ratio_vs_raw']}; goal ({GOAL_SEARCH}) "
        f"{'met' if flat['goal_met'] else 'NOT met'}"
    )
    del raw_flat

    # 3. recovery: the whole log replayed; then checkpoint, single puts as the tail, reopen ----
    mem.close()
    mem, full_opens = reopen(flat_dir, "flat")
    full_open_s = min(full_opens)
    full = mem.recovery
    intact = len(mem.vectors) == n and mem.search(queries[0], K)[0].item.id == truth[0][0]
    gc.collect()
    t0 = time.perf_counter()
    ck = mem.checkpoint()
    checkpoint_s = time.perf_counter() - t0

    # 1b. single durable puts on the populated memory (group: one fdatasync per remember())
    at = n
    raw_single_wal = WriteAheadLog(root / "raw-wal-single", durability="group")
    group_puts, raw_single = single_puts(
        mem, entries_for(everything[at : at + n_single], at + 1), raw_single_wal
    )
    at += n_single
    conc_puts, per_sync = concurrent_puts(
        mem, entries_for(everything[at : at + n_concurrent], at + 1), WRITERS
    )
    at += n_concurrent
    mem.close()
    mem, ck_opens = reopen(flat_dir, "flat")
    ck_open_s = min(ck_opens)
    tail = mem.recovery
    intact = intact and len(mem.vectors) == n + n_single + n_concurrent and not tail.problems
    per_1m_full = full_open_s / n * 1e6
    total = len(mem.vectors)
    per_1m_ck = ck_open_s / total * 1e6
    recovery: dict[str, Any] = {
        "full_replay_open_s": round(full_open_s, 3),
        "full_replay_open_s_all": [round(x, 3) for x in full_opens],
        "full_replay_recovery_s_last_open": round(full.seconds, 3),
        "full_replay_records": full.replayed,
        "full_replay_s_per_1m": round(per_1m_full, 2),
        "checkpoint_s": round(checkpoint_s, 3),
        "checkpoint_vectors": ck["vectors"],
        "after_checkpoint_open_s": round(ck_open_s, 3),
        "after_checkpoint_open_s_all": [round(x, 3) for x in ck_opens],
        "after_checkpoint_records": total,
        "after_checkpoint_recovery_s_last_open": round(tail.seconds, 3),
        "after_checkpoint_tail_records": tail.replayed,
        "after_checkpoint_s_per_1m": round(per_1m_ck, 2),
        "goal_s_per_1m": GOAL_RECOVERY_S_PER_1M,
        "goal_met_full_replay": per_1m_full <= GOAL_RECOVERY_S_PER_1M,
        "goal_met_after_checkpoint": per_1m_ck <= GOAL_RECOVERY_S_PER_1M,
        "recovered_intact": bool(intact),
    }
    say(
        f"recovery flat ({n} records): whole log replayed {full_open_s:.2f} s "
        f"({per_1m_full:.2f} s per 1M); checkpoint took {checkpoint_s:.2f} s; after checkpoint "
        f"+ {tail.replayed}-record tail {ck_open_s:.2f} s ({per_1m_ck:.2f} s per 1M); goal <= "
        f"{GOAL_RECOVERY_S_PER_1M} s per 1M"
    )

    # 1c. always durability, single puts, on a fresh memory
    always_dir = root / "cogos-always"
    always_mem = open_memory(always_dir, "flat", durability="always")
    always_puts, raw_single_2 = single_puts(
        always_mem, entries_for(everything[at : at + n_always], at + 1), raw_single_wal
    )
    at += n_always
    always_mem.close()
    shutil.rmtree(always_dir)
    raw_single_wal.close()
    shutil.rmtree(root / "raw-wal-single")
    raw_single_rate = (n_single + n_always) / (n_single / raw_single + n_always / raw_single_2)
    say(
        f"single durable puts: group remember() {group_puts:,.0f}/s ({n_single}), always "
        f"{always_puts:,.0f}/s ({n_always}); raw single-record WAL appends "
        f"{raw_single_rate:,.0f}/s; "
        f"{WRITERS} concurrent aremember() writers {conc_puts:,.0f}/s ({per_sync:.1f} per fsync)"
    )

    # 2b. HNSW: ingest, search, checkpointed reopen --------------------------------------------
    raw_hnsw, raw_hnsw_rate = raw_ingest("hnsw", vectors, ids)
    hnsw_dir = root / "cogos-hnsw"
    hnsw_mem = open_memory(hnsw_dir, "hnsw")
    cogos_hnsw_rate = cogos_ingest(hnsw_mem, entries)
    say(f"ingest HNSW: CogOS {cogos_hnsw_rate:,.0f}/s, raw faiss {raw_hnsw_rate:,.0f}/s")
    raw_lat, cog_lat, raw_ids, cog_ids = search_pair(raw_hnsw, hnsw_mem, queries)
    hnsw = search_figures(raw_lat, cog_lat, truth, raw_ids, cog_ids)
    say(
        f"search HNSW k={K}: CogOS p50 {hnsw['cogos_p50_ms']} ms p99 {hnsw['cogos_p99_ms']} ms "
        f"recall@10 {hnsw['cogos_recall_at_10']}; raw faiss p50 {hnsw['raw_faiss_p50_ms']} ms "
        f"p99 {hnsw['raw_faiss_p99_ms']} ms recall@10 {hnsw['raw_faiss_recall_at_10']}; "
        f"ratio {hnsw['p50_ratio_vs_raw']}; goal {'met' if hnsw['goal_met'] else 'NOT met'}"
    )
    del raw_hnsw
    hnsw_mem.checkpoint()
    hnsw_mem.close()
    hnsw_mem, hnsw_opens = reopen(hnsw_dir, "hnsw")
    hnsw_open_s = min(hnsw_opens)
    recovery["hnsw_after_checkpoint_open_s"] = round(hnsw_open_s, 3)
    hnsw_mem.close()
    shutil.rmtree(hnsw_dir)

    result["ingest"] = {
        "batch": BATCH,
        "durability": "group",
        "cogos_flat_per_s": round(cogos_rate),
        "raw_faiss_flat_per_s": round(raw_flat_rate),
        "raw_wal_group_per_s": round(raw_wal_rate),
        "ratio_raw_faiss_over_cogos": round(raw_flat_rate / cogos_rate, 2),
        "ratio_raw_wal_over_cogos": round(raw_wal_rate / cogos_rate, 2),
        "cogos_hnsw_per_s": round(cogos_hnsw_rate),
        "raw_faiss_hnsw_per_s": round(raw_hnsw_rate),
        "ratio_raw_faiss_hnsw_over_cogos": round(raw_hnsw_rate / cogos_hnsw_rate, 2),
    }
    result["single_puts"] = {
        "group_remember_puts_per_s": round(group_puts),
        "group_n": n_single,
        "always_puts_per_s": round(always_puts),
        "always_n": n_always,
        "raw_wal_single_appends_per_s": round(raw_single_rate),
        "ratio_raw_wal_over_cogos_group": round(raw_single_rate / group_puts, 2),
        "concurrent_aremember_puts_per_s": round(conc_puts),
        "concurrent_writers": WRITERS,
        "concurrent_n": n_concurrent,
        "concurrent_records_per_fsync": round(per_sync, 1),
    }
    result["search"] = {"goal": GOAL_SEARCH, "flat": flat, "hnsw": {**hnsw, **HNSW}}
    result["recovery"] = recovery

    # 4. LangGraph baselines -------------------------------------------------------------------
    table = VectorTable(everything, queries)
    lg: dict[str, Any] = {}
    lg_truth = truth if lg_n == n else exact_truth(vectors[:lg_n], queries)
    for which in ("sqlite", "inmemory"):
        puts = list(range(at + 1, at + 1 + lg_puts))  # ids of everything[at : at + lg_puts]
        at += lg_puts
        concurrent: list[int] = []
        if which == "sqlite":
            concurrent = list(range(at + 1, at + 1 + lg_puts))
            at += lg_puts
        try:
            lg[which] = langgraph_store(
                which, root, table, lg_n, lg_queries[which], puts, concurrent, lg_truth, mem
            )
        except ImportError as exc:
            lg[which] = {"error": f"{type(exc).__name__}: {exc}"}
        say(f"langgraph {which}: {json.dumps(lg[which])}")
    mem.close()
    shutil.rmtree(flat_dir)
    result["langgraph"] = lg
    result["cogos_vs_langgraph"] = versus(result, lg)
    say(f"CogOS vs LangGraph: {json.dumps(result['cogos_vs_langgraph'])}")
    result["python"] = sys.version.split()[0]
    result["faiss"] = faiss.__version__
    return result


def versus(result: dict[str, Any], lg: dict[str, Any]) -> dict[str, Any]:
    """Speedups of CogOS over LangGraph's stores (higher is better for CogOS)."""
    out: dict[str, Any] = {"goal_speedup": GOAL_VS_LANGGRAPH, "cogos_n": result["n"]}
    flat50 = result["search"]["flat"]["cogos_p50_ms"]
    hnsw50 = result["search"]["hnsw"]["cogos_p50_ms"]
    search_ok = []
    for which in ("sqlite", "inmemory"):
        got = lg.get(which, {})
        if got.get("search_p50_ms"):
            out[f"{which}_n"] = got["n"]
            out[f"{which}_search_p50_speedup_flat"] = round(got["search_p50_ms"] / flat50, 1)
            out[f"{which}_search_p50_speedup_hnsw"] = round(got["search_p50_ms"] / hnsw50, 1)
            search_ok.append(got["search_p50_ms"] / flat50 >= GOAL_VS_LANGGRAPH)
        else:
            search_ok.append(False)
    sqlite = lg.get("sqlite", {})
    ours = sqlite.get("cogos_group_remember_puts_per_s_interleaved")
    if ours and sqlite.get("single_puts_per_s"):
        out["sqlite_durable_put_speedup"] = round(ours / sqlite["single_puts_per_s"], 2)
    if sqlite.get("concurrent_puts_per_s"):
        out["sqlite_durable_put_speedup_concurrent_writers"] = round(
            result["single_puts"]["concurrent_aremember_puts_per_s"]
            / sqlite["concurrent_puts_per_s"],
            2,
        )
    inmem = lg.get("inmemory", {})
    if inmem.get("single_puts_per_s"):
        out["inmemory_put_speedup_not_durable"] = round(
            result["single_puts"]["group_remember_puts_per_s"] / inmem["single_puts_per_s"], 3
        )
    out["goal_met_search"] = all(search_ok)
    out["goal_met_durable_puts"] = out.get("sqlite_durable_put_speedup", 0) >= GOAL_VS_LANGGRAPH
    out["note"] = (
        "search speedups are LangGraph p50 over CogOS p50 (flat: exact like LangGraph's; hnsw: "
        "ANN); durable puts: CogOS remember() (group, one fdatasync) interleaved with "
        "SqliteStore.put (default pragmas); concurrent: asyncio aremember() tasks against "
        "threads calling SqliteStore.put; InMemoryStore puts are not durable"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10K vectors instead of 100K (CI)")
    parser.add_argument("--n", type=int, default=0, help="number of vectors (overrides the mode)")
    parser.add_argument(
        "--langgraph-n", type=int, default=0, help="vectors for LangGraph's stores (default: n)"
    )
    parser.add_argument(
        "--dir", default=None, help="where the temporary directories go (a real disk, not tmpfs)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cogos-bench-memory-", dir=args.dir)).resolve()
    try:
        result = run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
