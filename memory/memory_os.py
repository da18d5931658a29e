"""The MemoryOS facade: the one entry point modules use to remember, search and recall.

One write path, one log, several views. ``remember`` encodes the entries, appends them to the
write-ahead log (returning once the durability policy is met), then applies them to the views:
the SQLite record store (with ``last_applied_seq`` in the same transaction), the FAISS vector
index and the networkx episodic graph. Opening a directory recovers it: the log's torn tail is
truncated, the newest checkpointed index is loaded, the log after it is replayed into every
view that is behind, and the views are verified to agree (counts and last sequence).

Every method has a synchronous form; ``a``-prefixed forms are for asyncio code. Concurrent
``aremember`` calls are gathered by a group committer thread (within ``group_window_ms`` or
``group_max_records``) so they share one fsync. An async write returns once it is in the log
(durable per the policy); the views follow in batches, applied by an applier thread, and whoever
takes the store lock first brings them up to date. Store access is serialised by that one lock,
so a MemoryOS may be used from the event loop and from worker threads at once, and a reader sees
every write that has returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
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
APPLY_BATCH = 64
"""Entries the applier thread waits for before it updates the views (or APPLY_DELAY)."""
APPLY_DELAY = 0.02
"""Seconds the applier thread lets logged entries wait for company (or APPLY_BATCH)."""
BACKLOG_MAX = 4096
"""Logged entries not yet applied that make an async writer wait until the views catch up."""


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


def _settle(
    group: list[tuple[list[_Prepared], asyncio.Future[list[int]]]], outcome: list[int] | Exception
) -> None:
    """Resolve a group's futures, from the committer thread, each in its event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[int]], Any]]] = {}
    at = 0
    for prepared, future in group:
        result = outcome if isinstance(outcome, Exception) else outcome[at : at + len(prepared)]
        at += len(prepared)
        by_loop.setdefault(future.get_loop(), []).append((future, result))
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # the committer thread
        running = None
    for loop, results in by_loop.items():
        if loop is running:  # logged by a flush, on the loop's own thread
            _resolve(results)
            continue
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, results)


def _resolve(results: list[tuple[asyncio.Future[list[int]], Any]]) -> None:
    for future, result in results:
        if future.done():  # cancelled by its waiter
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


class _StoreLock:
    """The store lock (reentrant): whoever takes it finds the views up to date with the log.

    Taking it applies the entries logged since (``catch_up``), so every reader sees every write
    that has returned, however far behind the applier thread is.
    """

    def __init__(self, catch_up: Callable[[], None]) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._catch_up = catch_up

    def __enter__(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._catch_up()
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        self._lock.release()


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
        self._lock = _StoreLock(self._catch_up)
        # the log: appended to by the group committer without the store lock, under this one
        self._wal_lock = threading.RLock()
        self._backlog: list[LogOp] = []  # logged, not yet applied to the views (_catch_up)
        self._backlog_cv = threading.Condition(self._wal_lock)  # wakes the applier
        # the group committer (see _enqueue): threads, fed under _cv
        self._cv = threading.Condition(threading.Lock())
        self._queue: list[tuple[list[_Prepared], asyncio.Future[list[int]]]] = []
        self._queued = 0
        self._urgent = False  # a flush waits: no lingering for more writers
        self._committing = False  # a group is being logged (by the committer, or a flush)
        self._stopping = False
        self._committer: threading.Thread | None = None
        self._applier: threading.Thread | None = None
        self._commit_failure: BaseException | None = None
        self._last_enqueued: asyncio.Future[list[int]] | None = None
        self._pending_commits: list[asyncio.Future[list[int]]] = []
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
        with self._lock, self._wal_lock:
            self._apply_backlog()
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
            seqs = self._log(prepared)
            self._catch_up()
            return seqs

    def _log(self, prepared: Sequence[_Prepared]) -> list[int]:
        """Append to the log (durable per the policy on return); the views follow later.

        The entries join the backlog that :meth:`_catch_up` applies, in log order. Needs only
        the log's lock: the group committer logs while the views are being updated.
        """
        with self._wal_lock:
            self._check_open()
            seqs = self.wal.append([p.payload for p in prepared])
            backlog = self._backlog
            was = len(backlog)
            backlog.extend(
                LogOp(s, p.op, p.body, p.vector) for s, p in zip(seqs, prepared, strict=True)
            )
            if not was or (was < APPLY_BATCH <= len(backlog)):  # the applier's timer, or batch
                self._backlog_cv.notify()
        return seqs

    def _catch_up(self) -> None:
        """Apply the backlog to the views; evict and checkpoint when due (under ``_lock``).

        Taking the store lock does this (see :class:`_StoreLock`), so the views a reader sees
        hold every entry that was logged before it took the lock.
        """
        if self._apply_backlog():
            self._evict_if_over_capacity()
            every = self.config.checkpoint_every
            if every and self._since_checkpoint >= every:
                self.checkpoint()

    def _apply_backlog(self) -> int:
        """Apply the backlog to the views (under ``_lock``); the number of entries it put."""
        with self._wal_lock:
            ops, self._backlog = self._backlog, []
        if not ops:
            return 0
        self._apply(ops)
        puts = sum(1 for op in ops if op.op == OP_PUT)
        self._since_checkpoint += puts
        return puts

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
        with self._wal_lock:
            seqs = self.wal.append([encode_body(op, body) for op, body in ops])
            self._backlog.extend(
                LogOp(s, op, body, None) for s, (op, body) in zip(seqs, ops, strict=True)
            )
        self._catch_up()
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
        ids = await self._enqueue(prepared)
        await self._keep_up()
        return ids

    async def _keep_up(self) -> None:
        """Back-pressure: past ``BACKLOG_MAX`` entries behind the log, wait for the views."""
        if len(self._backlog) > BACKLOG_MAX:
            await asyncio.to_thread(self._caught_up)

    def _caught_up(self) -> None:
        with self._lock:  # taking it applies the backlog
            pass

    def _enqueue(self, prepared: list[_Prepared]) -> asyncio.Future[list[int]]:
        """Queue entries for the committer; the future resolves once they are durable."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        with self._cv:
            if self._stopping:
                raise ValueError(f"memory {self.layout.root} is closed")
            self._queue.append((prepared, future))
            self._queued += len(prepared)
            first = len(self._queue) == 1
            if self._committer is None:
                self._committer = threading.Thread(
                    target=self._commit_groups, name="memory-group-commit", daemon=True
                )
                self._applier = threading.Thread(
                    target=self._apply_in_background, name="memory-apply", daemon=True
                )
                self._committer.start()
                self._applier.start()
            if self._queued >= self.config.group_max_records:
                self._cv.notify()
        if first:
            # the committer starts once this task lets the loop run: a flush before then logs
            # the group itself, and no other thread is woken (see flush)
            asyncio.get_running_loop().call_soon(self._wake_committer)
        self._last_enqueued = future
        return future

    def _wake_committer(self) -> None:
        with self._cv:
            if self._queue:
                self._cv.notify()

    def _commit_groups(self) -> None:
        """The committer thread: write queued entries in groups, one log sync per group.

        A group is everything queued when the committer gets to it: writers that arrive while a
        group is being synced form the next one, so concurrent writers share syncs without a
        fixed delay. ``group_window_ms`` > 0 also lingers that long for more writers (until
        ``group_max_records`` are waiting, or someone flushes). It runs in a thread of its own,
        so that a write starts at once, while the event loop goes on (with the next decision,
        say).
        """
        window = self.config.group_window_ms / 1000
        most = self.config.group_max_records
        cv = self._cv
        while True:
            with cv:
                while (not self._queue or self._committing) and not self._stopping:
                    cv.wait()
                if not self._queue:
                    return  # closing, and everything queued is written
                if window > 0:
                    deadline = time.monotonic() + window
                    while self._queued < most and not (self._urgent or self._stopping):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        cv.wait(left)
                if not self._queue:  # a flush took it meanwhile
                    continue
                self._urgent = False
                group, self._queue, self._queued = self._queue, [], 0
                self._committing = True
            try:
                self._commit_group(group)
            finally:
                with cv:
                    self._committing = False
                    cv.notify_all()

    def _commit_group(self, group: list[tuple[list[_Prepared], asyncio.Future[list[int]]]]) -> None:
        """Log a group and tell its writers that it is durable.

        The views are not updated here (a cycle's reply need not wait for SQLite): the applier
        thread does it in batches, and so does whoever takes the store lock first.
        """
        flat = [p for prepared, _ in group for p in prepared]
        try:
            seqs = self._log(flat)
        except Exception as exc:
            _settle(group, exc)
            return
        _settle(group, seqs)

    def _apply_in_background(self) -> None:
        """The applier thread: bring the views up to date with the log, in batches.

        It waits until ``APPLY_BATCH`` entries are logged, or ``APPLY_DELAY`` seconds have
        passed since the first: one SQLite transaction for many entries costs less each than
        one for every cycle. A failure is logged, and the next :meth:`flush` raises it (the
        views catch up with the log when the memory is reopened).
        """
        cv = self._backlog_cv
        while True:
            with cv:
                while not self._backlog and not self._stopping:
                    cv.wait()
                deadline = time.monotonic() + APPLY_DELAY
                while len(self._backlog) < APPLY_BATCH and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    cv.wait(left)
                if self._stopping:
                    return  # close() applies the rest
            try:
                self._caught_up()
            except Exception as exc:
                log.exception("memory %s: applying logged entries failed", self.layout.root)
                self._commit_failure = exc

    def _stop_committer(self) -> None:
        """Let the committer log what is queued, and end it and the applier."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
            threads = [self._committer, self._applier]
        with self._backlog_cv:
            self._backlog_cv.notify()
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join()

    async def flush(self) -> None:
        """Wait until every queued async write is durable; re-raise a failed commit's error."""
        loop = asyncio.get_running_loop()
        last = self._last_enqueued
        if last is not None and not last.done() and last.get_loop() is loop:
            group = None
            with self._cv:
                # the committer is idle and the log free (no checkpoint): log the group here,
                # without a hand-off to the committer thread (which would have to wait for the
                # interpreter lock first); the loop waits for the sync as its caller would
                if self._queue and not self._committing and self._wal_lock.acquire(False):
                    group, self._queue, self._queued = self._queue, [], 0
                    self._committing = True
                else:
                    self._urgent = True
                    self._cv.notify()
            if group is not None:
                try:
                    self._commit_group(group)
                finally:
                    self._wal_lock.release()
                    with self._cv:
                        self._committing = False
                        self._cv.notify_all()
            if not last.done():  # groups are logged in order: all before it are done
                await asyncio.wait([last])
        pending, self._pending_commits = self._pending_commits, []
        failure, self._commit_failure = self._commit_failure, None
        for future in pending:
            if future.done():  # (not one of an event loop that is gone)
                future.result()
        if failure is not None:
            raise failure

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
        await self._keep_up()

    # -- maintenance ----------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """Snapshot the index and drop the log before it (see :mod:`memory.checkpoint`)."""
        with self._lock, self._wal_lock:  # nothing is logged meanwhile
            self._apply_backlog()
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
        with self._lock, self._wal_lock:
            self._apply_backlog()
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
        self._stop_committer()  # what is queued is written first
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
