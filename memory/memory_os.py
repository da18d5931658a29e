"""The MemoryOS facade: the one entry point modules use to remember, search and recall.

One write path, one log, several views. ``remember`` encodes the entries, appends them to the
write-ahead log (returning once the durability policy is met), then applies them to the views:
the SQLite record store (with ``last_applied_seq`` in the same transaction), the FAISS vector
index and the networkx episodic graph. Opening a directory recovers it: the log's torn tail is
truncated, the newest checkpointed index is loaded, the log after it is replayed into every
view that is behind, and the views are verified to agree (counts and last sequence).

Every method has a synchronous form; ``a``-prefixed forms are for asyncio code. Concurrent
``aremember`` calls are gathered by a group committer (within ``group_window_ms`` or
``group_max_records``) so they share one fsync. Store access is serialised by one lock, so a
MemoryOS may be used from the event loop and from worker threads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from memory.checkpoint import crash_point, file_crc32, fsync_file, index_file_name
from memory.codec import (
    OP_CHECKPOINT,
    OP_DELETE,
    OP_EXPIRE,
    OP_PUT,
    LogOp,
    decode,
    decode_vector,
    encode_body,
    peek_op,
    put_body,
)
from memory.config import MemoryConfig
from memory.consolidation import plan_consolidation
from memory.cycle_events import event_from_cycle
from memory.embedding import Embedder, make_embedder
from memory.entries import Entry, Hit, MemoryItem
from memory.errors import (
    CheckpointError,
    DimensionError,
    MemoryOSError,
    UnknownItemError,
    ViewMismatchError,
)
from memory.layout import DirectoryLock, Layout, read_format, read_or_create_format
from memory.lifecycle import choose_evictions
from memory.records import CycleRecord
from memory.retrieval import expand, reciprocal_rank_fusion
from memory.stores.faiss_vectors import FaissVectorStore
from memory.stores.graph import GraphStore, NetworkxGraphStore
from memory.stores.records import RecordStore, Where, doc_text
from memory.stores.sqlite_records import SqliteRecordStore
from memory.stores.vectors import VectorStore, as_matrix
from memory.wal.log import WriteAheadLog, fsync_dir

log = logging.getLogger("cogos.memory")

_REPLAY_BATCH = 4096


@dataclass
class RecoveryReport:
    """What opening the directory had to do."""

    wal_records: int = 0
    truncated_bytes: int = 0
    torn_reason: str | None = None
    checkpoint_seq: int | None = None
    replayed: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Prepared:
    payload: bytes
    op: int
    body: dict[str, Any]
    vector: npt.NDArray[np.float32] | None


class MemoryOS:
    """See the module docstring. Build with :meth:`open`; close with :meth:`close` (or ``with``)."""

    def __init__(
        self,
        config: MemoryConfig,
        *,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
        records: RecordStore | None = None,
        graph: GraphStore | None = None,
    ) -> None:
        if config.path is None:
            raise ValueError("MemoryConfig.path is None: memory needs a directory")
        if embedder is None and config.embedder is not None:
            embedder = make_embedder(config.embedder.name, **config.embedder.options)
        if embedder is not None and embedder.dim != config.dim:
            raise DimensionError(
                f"embedder {embedder.name!r} makes {embedder.dim}-d vectors; "
                f"memory is {config.dim}-d"
            )
        self.config = config
        self.embedder = embedder
        self.layout = Layout(Path(config.path))
        self._lock = threading.RLock()
        self._dir_lock = DirectoryLock(self.layout.root)
        try:
            settings: dict[str, Any] = {
                "dim": config.dim,
                "metric": config.metric,
                "index": config.index.kind,
            }
            if embedder is not None:
                settings["embedder"] = {
                    "space": embedder.name,
                    **(config.embedder.model_dump() if config.embedder is not None else {}),
                }
            self.format = read_or_create_format(self.layout, settings)
            self._checkpoint_record: tuple[int, bytes] | None = None
            self.wal = WriteAheadLog(
                self.layout.wal,
                durability=config.durability,
                segment_bytes=config.segment_bytes,
                on_record=self._note_checkpoint,
            )
            ix = config.index
            self.vectors: VectorStore = vectors or FaissVectorStore(
                config.dim,
                config.metric,
                ix.kind,
                hnsw_m=ix.hnsw_m,
                ef_construction=ix.ef_construction,
                ef_search=ix.ef_search,
                ivf_nlist=ix.ivf_nlist,
                ivf_nprobe=ix.ivf_nprobe,
                train_size=ix.train_size,
                device=ix.device,
                threads=ix.threads,
            )
            self.records: RecordStore = records or SqliteRecordStore(
                self.layout.records, config.retrieval.doc_fields
            )
            self.graph: GraphStore = graph or NetworkxGraphStore()
            self._since_checkpoint = 0
            self._closed = False
            self.recovery = self._recover()
        except BaseException:
            self._dir_lock.release()
            raise
        self._queue: list[tuple[list[_Prepared], asyncio.Future[list[int]]]] = []
        self._pending_commits: list[asyncio.Future[list[int]]] = []
        self._queued = 0
        self._wake: asyncio.Event | None = None
        self._committer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        config: MemoryConfig | None = None,
        *,
        embedder: Embedder | None = None,
        **settings: Any,
    ) -> MemoryOS:
        """Open (creating if needed, recovering if it crashed) the memory at ``path``.

        For an existing directory, what its FORMAT marker records (dim, metric, index kind,
        embedder) is the default, so ``MemoryOS.open(path)`` reopens it as it was made.
        """
        base = (config or MemoryConfig()).model_dump(exclude_unset=config is None)
        marker = read_format(Layout(Path(path)))
        if marker is not None and config is None:
            base.setdefault("dim", marker.get("dim"))
            base.setdefault("metric", marker.get("metric"))
            base.setdefault("index", {}).setdefault("kind", marker.get("index"))
            recorded = marker.get("embedder")
            if embedder is None and isinstance(recorded, dict) and "name" in recorded:
                base.setdefault(
                    "embedder", {"name": recorded["name"], "options": recorded.get("options", {})}
                )
        base.update(settings, path=str(path))
        return cls(MemoryConfig.model_validate(base), embedder=embedder)

    # -- recovery -------------------------------------------------------------------------

    def _recover(self) -> RecoveryReport:
        started = time.perf_counter()
        wal = self.wal
        report = RecoveryReport(
            wal_records=wal.recovery.records,
            truncated_bytes=wal.recovery.truncated_bytes,
            torn_reason=wal.recovery.torn_reason,
        )
        if report.truncated_bytes:
            log.warning(
                "memory %s: truncated a torn log tail of %d bytes (%s)",
                self.layout.root,
                report.truncated_bytes,
                report.torn_reason,
            )
        checkpoint = self._last_checkpoint()
        if checkpoint is not None:
            self._load_checkpoint(checkpoint)
            report.checkpoint_seq = int(checkpoint.body["upto"])
        first_in_log = wal.recovery.first_seq or wal.last_seq + 1
        applied = self.records.last_applied_seq
        if applied > wal.last_seq:
            raise ViewMismatchError(
                [
                    f"record store has applied up to seq {applied} but the log ends at "
                    f"{wal.last_seq}: the log lost acknowledged records (durability 'none' "
                    "and a power loss?)"
                ]
            )
        start = min(applied, self.vectors.applied_seq)
        if start + 1 < first_in_log:
            raise ViewMismatchError(
                [
                    f"views need the log from seq {start + 1} but it starts at {first_in_log}: "
                    "a checkpoint dropped records that a view had not made durable"
                ]
            )
        self.graph.add_edges(self.records.edges())
        batch: list[LogOp] = []
        records_applied = self.records.last_applied_seq
        for seq, payload in wal.read(start):
            # records the record store already holds are needed by the vector index only
            if seq <= records_applied and peek_op(payload) == OP_PUT:
                batch.append(decode_vector(seq, payload))
            else:
                batch.append(decode(seq, payload))
            if len(batch) >= _REPLAY_BATCH:
                self._apply(batch)
                report.replayed += len(batch)
                batch = []
        if batch:
            self._apply(batch)
            report.replayed += len(batch)
        self._drop_stray_checkpoints(report.checkpoint_seq)
        report.seconds = time.perf_counter() - started
        if self.config.verify_on_open:
            report.problems = self.verify()
            if report.problems:
                raise ViewMismatchError(report.problems)
        return report

    def _note_checkpoint(self, seq: int, payload: memoryview) -> None:
        if peek_op(payload) == OP_CHECKPOINT:
            self._checkpoint_record = (seq, bytes(payload))

    def _last_checkpoint(self) -> LogOp | None:
        """The last checkpoint record, noted while the log was scanned on open."""
        last = self._checkpoint_record
        return decode(*last) if last is not None else None

    def _load_checkpoint(self, op: LogOp) -> None:
        path = self.layout.checkpoints / str(op.body["file"])
        if not path.exists():
            raise CheckpointError(f"checkpoint file {path} named by log record {op.seq} is missing")
        crc = file_crc32(path)
        if crc != op.body["crc"]:
            raise CheckpointError(
                f"checkpoint file {path} is damaged "
                f"(CRC32 {crc:#010x}, log says {op.body['crc']:#010x})"
            )
        self.vectors.load(path)
        if len(self.vectors) != op.body["vectors"]:
            raise CheckpointError(
                f"checkpoint file {path} holds {len(self.vectors)} vectors, "
                f"log says {op.body['vectors']}"
            )
        self.vectors.applied_seq = int(op.body["upto"])

    def _drop_stray_checkpoints(self, keep: int | None) -> None:
        directory = self.layout.checkpoints
        if not directory.exists():
            return
        wanted = index_file_name(keep) if keep is not None else None
        for path in directory.iterdir():
            if path.name != wanted:
                path.unlink()

    def verify(self) -> list[str]:
        """Check that the views agree with the log and each other; return the problems found."""
        with self._lock:
            problems = []
            last = self.wal.last_seq
            if self.records.last_applied_seq != last:
                problems.append(
                    f"record store applied seq {self.records.last_applied_seq}, log ends at {last}"
                )
            if self.vectors.applied_seq != last:
                problems.append(
                    f"vector index applied seq {self.vectors.applied_seq}, log ends at {last}"
                )
            with_vectors = self.records.count({"include_expired": True}, with_vector=True)
            if len(self.vectors) != with_vectors:
                problems.append(
                    f"vector index holds {len(self.vectors)} vectors, record store {with_vectors}"
                )
            problems.extend(self.records.integrity())
            graph_edges = self.graph.counts()["edges"]
            record_edges = self.records.edge_count()
            if graph_edges != record_edges:
                problems.append(f"graph has {graph_edges} edges, record store {record_edges}")
            return problems

    # -- writing --------------------------------------------------------------------------

    def _prepare(self, entries: Sequence[Entry]) -> list[_Prepared]:
        """Validate and encode before anything is written: bad input never reaches the log."""
        need = [
            i
            for i, e in enumerate(entries)
            if e.vector is None and e.text and self.embedder is not None
        ]
        embedded: dict[int, npt.NDArray[np.float32]] = {}
        if need:
            assert self.embedder is not None
            # the embedding sees what full-text search sees: the text, its actors and its date
            fields = self.config.retrieval.doc_fields
            matrix = self.embedder.embed([doc_text(entries[i], fields) for i in need])
            embedded = dict(zip(need, matrix, strict=True))
        vectors = [
            e.vector if e.vector is not None else embedded.get(i) for i, e in enumerate(entries)
        ]
        checked = self._check_vectors(vectors)
        out = []
        for entry, vector in zip(entries, checked, strict=True):
            body = put_body(entry)
            out.append(_Prepared(encode_body(OP_PUT, body, vector), OP_PUT, body, vector))
        return out

    def _check_vectors(
        self, vectors: list[npt.NDArray[np.float32] | None]
    ) -> list[npt.NDArray[np.float32] | None]:
        """Shape- and finiteness-check every vector at once (one matrix, not one per entry)."""
        present = [i for i, v in enumerate(vectors) if v is not None]
        if not present:
            return vectors
        dim = self.config.dim
        for i in present:
            shape = np.asarray(vectors[i]).shape
            if shape not in ((dim,), (1, dim)):
                raise DimensionError(f"vector of entry {i} has shape {shape}, expected (n, {dim})")
        matrix = np.asarray(
            np.stack([np.asarray(vectors[i], dtype=np.float32).reshape(dim) for i in present]),
            dtype=np.float32,
        )
        if not np.isfinite(matrix).all():
            bad = present[int(np.argwhere(~np.isfinite(matrix))[0][0])]
            raise DimensionError(f"vector of entry {bad} contains NaN or infinity")
        out: list[npt.NDArray[np.float32] | None] = [None] * len(vectors)
        for row, i in enumerate(present):
            out[i] = matrix[row]
        return out

    def _write(self, prepared: Sequence[_Prepared]) -> list[int]:
        if not prepared:
            return []
        with self._lock:
            self._check_open()
            seqs = self.wal.append([p.payload for p in prepared])
            self._apply(
                [LogOp(s, p.op, p.body, p.vector) for s, p in zip(seqs, prepared, strict=True)]
            )
            self._since_checkpoint += len(seqs)
            self._evict_if_over_capacity()
            every = self.config.checkpoint_every
            if every and self._since_checkpoint >= every:
                self.checkpoint()
            return seqs

    def _apply(self, ops: Sequence[LogOp]) -> None:
        new_edges = self.records.apply(ops)
        vectors = self.vectors
        fresh = [op for op in ops if op.seq > vectors.applied_seq]
        ids = [op.seq for op in fresh if op.op == OP_PUT and op.vector is not None]
        if ids:
            vectors.add(
                ids,
                np.stack([op.vector for op in fresh if op.op == OP_PUT and op.vector is not None]),
            )
        gone = [int(op.body["id"]) for op in fresh if op.op == OP_DELETE]
        if gone:
            vectors.remove(gone)
        if ops:
            vectors.applied_seq = max(vectors.applied_seq, ops[-1].seq)
        if new_edges:
            self.graph.add_edges(new_edges)

    def _append_ops(self, ops: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
        """Write non-put operations (deletes, expiries) through the log and apply them."""
        if not ops:
            return []
        seqs = self.wal.append([encode_body(op, body) for op, body in ops])
        self._apply([LogOp(s, op, body, None) for s, (op, body) in zip(seqs, ops, strict=True)])
        return seqs

    def _evict_if_over_capacity(self) -> list[int]:
        lc = self.config.lifecycle
        if lc.capacity is None:
            return []
        live = {"kind": list(lc.evict_kinds), "include_expired": True}  # as access_stats counts
        if self.records.count(live) <= lc.capacity:
            return []  # the common case, on every write: a count, not every item's stats
        stats = self.records.access_stats(lc.evict_kinds)
        victims = choose_evictions(stats, lc.capacity, time.time(), lc.heat_half_life)
        self._append_ops([(OP_DELETE, {"id": v, "reason": "evicted"}) for v in victims])
        return victims

    def remember(self, entry: Entry) -> int:
        """Store one entry; return its id once durable (per the durability policy)."""
        return self._write(self._prepare([entry]))[0]

    def remember_many(self, entries: Sequence[Entry]) -> list[int]:
        """Store entries as one group (one log write, one sync under ``group``)."""
        return self._write(self._prepare(entries))

    def remember_text(self, text: str, **fields: Any) -> int:
        return self.remember(Entry(kind="text", text=text, **fields))

    def remember_fact(self, fact: Sequence[str], text: str = "", **fields: Any) -> int:
        return self.remember(Entry(kind="fact", facts=(tuple(fact),), text=text, **fields))

    def remember_event(self, text: str, *, episode: str, **fields: Any) -> int:
        return self.remember(Entry(kind="event", text=text, episode=episode, **fields))

    def delete(self, item_id: int, reason: str = "") -> int:
        """Hard-delete a live item: gone from every query now, from disk at compaction.

        Written to the log as a tombstone; returns the tombstone's sequence number.
        """
        with self._lock:
            self._check_open()
            if not self.records.get([item_id]):
                raise UnknownItemError(item_id, "already deleted or never stored")
            (seq,) = self._append_ops([(OP_DELETE, {"id": item_id, "reason": reason})])
            return seq

    def forget(self, item_id: int, at: float | None = None, reason: str = "") -> int:
        """Soft-delete: end an item's validity at ``at`` (default now).

        The item no longer matches current queries but still answers "as of" queries for
        earlier times, until compaction removes it after ``lifecycle.expired_retention``.
        """
        with self._lock:
            self._check_open()
            if not self.records.get([item_id]):
                raise UnknownItemError(item_id, "deleted or never stored")
            body = {"id": item_id, "valid_to": time.time() if at is None else at, "reason": reason}
            (seq,) = self._append_ops([(OP_EXPIRE, body)])
            return seq

    # -- async writing (group commit) -----------------------------------------------------

    async def aremember(self, entry: Entry) -> int:
        return (await self.aremember_many([entry]))[0]

    async def aremember_many(self, entries: Sequence[Entry]) -> list[int]:
        """Like :meth:`remember_many`; concurrent callers share one group commit."""
        prepared = await asyncio.to_thread(self._prepare, entries)
        return await self._enqueue(prepared)

    def _enqueue(self, prepared: list[_Prepared]) -> asyncio.Future[list[int]]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # first use, or a new event loop (asyncio.run called again): the committer and its
            # event belong to one loop, so start them afresh on this one
            self._loop = loop
            self._wake = asyncio.Event()
            self._committer = None
            self._pending_commits = [f for f in self._pending_commits if not f.done()]
        assert self._wake is not None
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.append((prepared, future))
        self._queued += len(prepared)
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_groups(), name="memory-group-commit")
        if self._queued >= self.config.group_max_records:
            self._wake.set()
        return future

    async def _commit_groups(self) -> None:
        """Write queued entries in groups, one log sync per group.

        A group is everything queued when the committer gets to run: writers that arrive while
        a group is being synced form the next one, so concurrent writers share syncs without a
        fixed delay. ``group_window_ms`` > 0 also lingers that long for more writers (until
        ``group_max_records`` are waiting).
        """
        assert self._wake is not None
        window = self.config.group_window_ms / 1000
        while self._queue:
            if self._queued < self.config.group_max_records and window > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), window)
            self._wake.clear()
            group, self._queue, self._queued = self._queue, [], 0
            flat = [p for prepared, _ in group for p in prepared]
            try:
                seqs = await asyncio.to_thread(self._write, flat)
            except BaseException as exc:
                failure = exc if isinstance(exc, Exception) else MemoryOSError("commit cancelled")
                for _, future in group:
                    if not future.done():
                        future.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise
                continue
            at = 0
            for prepared, future in group:
                if not future.done():
                    future.set_result(seqs[at : at + len(prepared)])
                at += len(prepared)

    async def flush(self) -> None:
        """Wait until every queued async write is durable; re-raise a failed commit's error."""
        while self._committer is not None and not self._committer.done():
            if self._wake is not None:
                self._wake.set()
            await asyncio.shield(self._committer)
        pending, self._pending_commits = self._pending_commits, []
        for future in pending:
            future.result()

    # -- reading --------------------------------------------------------------------------

    def get(self, item_id: int) -> MemoryItem:
        with self._lock:
            found = self.records.get([item_id])
        if not found:
            raise UnknownItemError(item_id)
        return found[0]

    def search(
        self,
        query: str | npt.ArrayLike,
        k: int = 10,
        where: Where | None = None,
        *,
        mode: str | None = None,
        expand: int | None = None,
        touch: bool = False,
    ) -> list[Hit]:
        """The ``k`` best items for ``query`` (see :mod:`memory.retrieval`).

        A text query runs the configured ``mode``: ``hybrid`` (dense and bm25, fused by
        reciprocal rank), ``dense`` or ``lexical``; without an embedder, hybrid falls back to
        lexical. A vector query is dense. ``where`` filters (metadata, time, ``as_of``) apply to
        every retriever. ``expand`` adds the graph neighbours of that many top hits. ``touch``
        counts the returned items as retrieved (for heat-based eviction).
        """
        cfg = self.config.retrieval
        mode = mode or cfg.mode
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"search mode must be hybrid, dense or lexical; got {mode!r}")
        text = query if isinstance(query, str) else None
        vector = None
        if text is None:
            vector, mode = as_matrix(query, self.config.dim, "query vector"), "dense"
        elif mode != "lexical":
            if self.embedder is not None:
                vector = self.embedder.embed([text])
            elif mode == "dense":
                raise ValueError("dense search by text needs an embedder; pass a vector instead")
            else:
                mode = "lexical"
        n = max(cfg.candidates, k)
        with self._lock:
            rankings: list[tuple[list[tuple[int, float]], float]] = []
            if vector is not None:
                rankings.append((self._dense(vector, n, where), cfg.dense_weight))
            if text is not None and mode != "dense":
                rankings.append((self.records.lexical(text, n, where), cfg.lexical_weight))
            if len(rankings) == 1:
                ranked = rankings[0][0]
            else:
                ranked = reciprocal_rank_fusion(rankings, cfg.rrf_k)
            top = cfg.expand if expand is None else expand
            if top:
                ranked = self._expanded(ranked, top, cfg.expand_weight, where)
            ranked = ranked[:k]
            items = {i.id: i for i in self.records.get([i for i, _ in ranked])}
            hits = [Hit(items[i], s) for i, s in ranked if i in items]
            if touch and hits:
                self.records.touch([h.item.id for h in hits], time.time())
        return hits

    def _dense(
        self, vector: npt.NDArray[np.float32], n: int, where: Where | None
    ) -> list[tuple[int, float]]:
        allow = None
        if where:
            allow = self.records.filter_ids(where, with_vector=True)
            if not allow:
                return []
        ids, scores = self.vectors.search(vector[:1], n, allow)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if allow is None and found:  # the index also holds expired items: keep the valid ones
            valid = set(self.records.filter_ids({"id": [i for i, _ in found]}))
            found = [(i, s) for i, s in found if i in valid]
        return found

    def _expanded(
        self, ranked: list[tuple[int, float]], top: int, weight: float, where: Where | None
    ) -> list[tuple[int, float]]:
        # episode neighbours only: an entity shared by thousands of items would flood the results
        expanded = expand(
            ranked, lambda i: self.graph.neighbours(i, 1, via_entities=False), top, weight
        )
        direct = {i for i, _ in ranked}
        new = [i for i, _ in expanded if i not in direct]
        if new:  # neighbours must pass the same filters as direct hits
            allowed = set(self.records.filter_ids({**(where or {}), "id": new}))
            expanded = [(i, s) for i, s in expanded if i in direct or i in allowed]
        return expanded

    async def asearch(
        self, query: str | npt.ArrayLike, k: int = 10, where: Where | None = None, **options: Any
    ) -> list[Hit]:
        return await asyncio.to_thread(lambda: self.search(query, k, where, **options))

    def recent(self, n: int = 10, where: Where | None = None) -> list[MemoryItem]:
        """The newest live items (e.g. ``where={"kind": "event", "episode": ...}``)."""
        with self._lock:
            return self.records.recent(n, where)

    def about(self, entity: str, n: int = 10) -> list[MemoryItem]:
        """The newest live items linked to ``entity`` in the graph."""
        with self._lock:
            return self.records.get(self.graph.about(entity)[: n * 2])[:n]

    def episode(self, episode: str) -> list[MemoryItem]:
        """An episode's live events in order."""
        with self._lock:
            return self.records.get(self.graph.episode_events(episode))

    def episodes(self) -> dict[str, int]:
        """Every remembered episode id with its number of events (what ``episode`` takes)."""
        with self._lock:
            return self.graph.episodes()

    def decision(self, item_id: int) -> dict[str, Any] | None:
        """The decision record of an event: candidates, values, choice, outcome."""
        with self._lock:
            return self.records.decision(item_id)

    def why(self, item_id: int, context: int = 3) -> dict[str, Any]:
        """Why the agent did what event ``item_id`` records: its decision and what led to it."""
        with self._lock:
            item = self.get(item_id)
            before: list[MemoryItem] = []
            if item.episode is not None:
                events = self.graph.episode_events(item.episode)
                at = events.index(item_id) if item_id in events else len(events)
                before = self.records.get(events[max(0, at - context) : at])
            return {
                "event": item.to_json(),
                "decision": self.records.decision(item_id),
                "preceding": [e.to_json() for e in before],
            }

    def neighbours(self, item_id: int, hops: int = 1) -> list[MemoryItem]:
        with self._lock:
            return self.records.get(self.graph.neighbours(item_id, hops))

    def path(self, source: str, target: str) -> list[str]:
        """Shortest path between graph nodes (``event:12``, ``entity:apple``...)."""
        with self._lock:
            return self.graph.path(source, target)

    def consolidate(
        self,
        episode: str,
        *,
        context: str,
        keep: Sequence[str] | None = None,
        drop: Sequence[str] = ("at",),
        success: bool = False,
        actions: Sequence[str] | None = None,
        goal: str | None = None,
    ) -> dict[str, Any]:
        """Distil an episode into facts and, if it succeeded, a skill (:mod:`memory.consolidation`).

        Idempotent: consolidating the same episode twice writes nothing the second time.
        """
        with self._lock:
            self._check_open()
            events = self.records.get(self.graph.episode_events(episode))
            known = {
                item.facts[0]
                for item in self.records.recent(1 << 30, {"kind": "fact", "context": context})
                if item.facts
            }
            skills = self.records.recent(1, {"kind": "skill", "context": context, "goal": goal})
            plan = plan_consolidation(
                episode=episode,
                context=context,
                events=events,
                known_facts=known,
                keep=keep,
                drop=drop,
                success=success,
                actions=actions,
                goal=goal,
                existing_skill=skills[0] if skills else None,
                time=time.time(),
            )
            entries = [*plan.facts, *([plan.skill] if plan.skill is not None else [])]
            ids = self.remember_many(entries) if entries else []
            if plan.supersedes is not None:
                self.forget(plan.supersedes, reason=f"superseded by a shorter skill ({ids[-1]})")
            return {
                "facts": len(plan.facts),
                "skill": ids[-1] if plan.skill is not None else None,
                "superseded": plan.supersedes,
            }

    def knowledge(self, context: str, *, as_of: float | None = None) -> list[MemoryItem]:
        """The facts and skills consolidated for ``context`` (valid now, or ``as_of``)."""
        where: dict[str, Any] = {"kind": ["fact", "skill"], "context": context}
        if as_of is not None:
            where["as_of"] = as_of
        with self._lock:
            return list(reversed(self.records.recent(1 << 30, where)))

    # -- the decision cycle's sink ----------------------------------------------------------

    async def commit(self, record: CycleRecord) -> None:
        """Store a finished decision cycle as one event (the kernel's ``CycleSink``).

        The write is queued to the group committer and not awaited, so a cycle does not wait
        for an fsync; :meth:`flush` (the agent calls it at each episode end) waits until every
        queued cycle is durable. A long queue makes ``commit`` wait (back-pressure).
        """
        entry = event_from_cycle(record)
        if self.embedder is None:
            prepared = self._prepare([entry])
        else:
            prepared = await asyncio.to_thread(self._prepare, [entry])
        future = self._enqueue(prepared)
        self._pending_commits.append(future)
        if len(self._pending_commits) > 4 * self.config.group_max_records:
            await self.flush()

    # -- maintenance ----------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """Snapshot the index and drop the log before it (see :mod:`memory.checkpoint`)."""
        with self._lock:
            self._check_open()
            wal = self.wal
            wal.sync()
            seq = wal.last_seq
            crash_point("before_records_durable")
            self.records.make_durable()
            crash_point("after_records_durable")
            directory = self.layout.checkpoints
            directory.mkdir(exist_ok=True)
            name = index_file_name(seq)
            tmp = directory / (name + ".tmp")
            self.vectors.save(tmp)
            fsync_file(tmp)
            crash_point("after_index_tmp")
            final = directory / name
            tmp.replace(final)
            fsync_dir(directory)
            crash_point("after_index_rename")
            body = {
                "upto": seq,
                "file": name,
                "crc": file_crc32(final),
                "vectors": len(self.vectors),
                "records": self.records.count(include_deleted=True),
            }
            wal.rotate()
            (ck_seq,) = wal.append([encode_body(OP_CHECKPOINT, body)])
            wal.sync()
            self._apply([LogOp(ck_seq, OP_CHECKPOINT, body, None)])
            crash_point("after_checkpoint_record")
            dropped = wal.drop_before(seq + 1)
            crash_point("after_drop_segments")
            self._drop_stray_checkpoints(seq)
            self._since_checkpoint = 0
            return {**body, "checkpoint_seq": ck_seq, "dropped_segments": len(dropped)}

    def compact(self, now: float | None = None) -> dict[str, Any]:
        """Hard-delete what is deleted, or expired longer than the retention; then checkpoint.

        Expired items are first deleted through the log (so a crash mid-compaction loses
        nothing), then every view drops the deleted items for good.
        """
        with self._lock:
            self._check_open()
            cutoff = (time.time() if now is None else now) - self.config.lifecycle.expired_retention
            expired = self.records.expired_before(cutoff)
            self._append_ops([(OP_DELETE, {"id": i, "reason": "expired"}) for i in expired])
            dead = self.records.deleted_ids()
            removed = self.records.compact()
            self.graph.remove_items(dead)
            self.vectors.compact()
            return {"removed": removed, "expired": len(expired), **self.checkpoint()}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            segments = self.wal.segments()
            return {
                "path": str(self.layout.root),
                "format": self.format,
                "items": {
                    kind: self.records.count({"kind": kind}) for kind in ("event", "fact", "text")
                },
                "deleted": len(self.records.deleted_ids()),
                "vectors": len(self.vectors),
                "graph": self.graph.counts(),
                "wal": {
                    "segments": len(segments),
                    "bytes": sum(p.stat().st_size for p in segments),
                    "last_seq": self.wal.last_seq,
                    "durability": self.wal.durability.value,
                    "syncs": self.wal.syncs,
                },
                "index": self.config.index.kind,
                "recovery": self.recovery.to_json(),
            }

    def export(self, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        """Every item as JSON (oldest first), with its decision record where it has one."""
        with self._lock:
            ids = sorted(self.records.filter_ids())
            if include_deleted:
                ids = sorted({*ids, *self.records.deleted_ids()})
            items = self.records.get(ids, include_deleted=include_deleted)
            decisions = {i.id: self.records.decision(i.id) for i in items if i.kind == "event"}
        for item in items:
            out = item.to_json()
            if decisions.get(item.id) is not None:
                out["decision"] = decisions[item.id]
            yield out

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self.wal.last_seq

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"memory {self.layout.root} is closed")

    def close(self) -> None:
        """Sync the log and release everything; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.wal.close()
            self.records.close()
            self.vectors.close()
            self._dir_lock.release()

    async def aclose(self) -> None:
        await self.flush()
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
