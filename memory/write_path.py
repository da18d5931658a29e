"""The one write path of the memory OS: encode, log, and apply to the views.

``write`` encodes entries, appends them to the write-ahead log (returning once the durability
policy is met) and applies them to the views. The asynchronous writers (``aremember_many``,
``commit`` for decision cycles) go through a group committer thread, which gathers concurrent
writers (within ``group_window_ms`` or ``group_max_records``) so that they share one sync; an
async write returns once it is in the log, and the views follow in batches, applied by an
applier thread. Whoever takes the store lock first (every query does) brings the views up to
date, so a reader sees every write that has returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.codec import OP_PUT, LogOp, encode_body, put_body
from memory.config import MemoryConfig
from memory.cycle_events import event_from_cycle
from memory.cycle_records import CycleRecord
from memory.embedding import Embedder
from memory.entries import Entry
from memory.errors import DimensionError
from memory.stores.record_store import doc_text
from memory.views import Views
from memory.wal.log import WriteAheadLog

log = logging.getLogger("cogos.memory")

APPLY_BATCH = 256
"""Entries the applier thread waits for before it updates the views (or APPLY_DELAY)."""
APPLY_DELAY = 0.1
"""Seconds the applier thread lets logged entries wait for company (or APPLY_BATCH).

Larger batches cost the views less per entry (one SQLite transaction for many) and take the
interpreter lock from the event loop less often; a reader does not wait for them, since taking
the store lock applies whatever is logged and not yet applied."""
COMMIT_DELAY = 0.001
"""Seconds a queued write waits for a flush to log it before the committer thread is woken.

Waking a thread that then finds the group already logged costs the event loop more than the
write itself: the two contend for the interpreter lock, and its switch comes right in the
middle of a reply."""
BACKLOG_MAX = 4096
"""Logged entries not yet applied that make an async writer wait until the views catch up."""


@dataclass
class Prepared:
    """An entry encoded for the log, with what the views need to apply it."""

    payload: bytes
    op: int
    body: dict[str, Any]
    vector: npt.NDArray[np.float32] | None


def _settle(
    group: list[tuple[list[Prepared], asyncio.Future[list[int]]]], outcome: list[int] | Exception
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


class StoreLock:
    """The store lock (reentrant): whoever takes it finds the views up to date with the log.

    Taking it applies the entries logged since (``catch_up``), so every reader sees every write
    that has returned, however far behind the applier thread is.
    """

    def __init__(self, catch_up: Callable[[], None]) -> None:
        self.lock = threading.RLock()
        self._depth = 0
        self.catch_up = catch_up

    def __enter__(self) -> None:
        self.lock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self.catch_up()
            except BaseException:
                self._depth -= 1
                self.lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        self.lock.release()


class WritePath:
    """See the module docstring.

    ``after_apply(puts)`` runs under the store lock once the views took new entries: the
    memory's lifecycle hooks in there (eviction, automatic checkpoints).
    """

    def __init__(
        self,
        config: MemoryConfig,
        root: Path,
        wal: WriteAheadLog,
        views: Views,
        embedder: Embedder | None,
    ) -> None:
        self.config = config
        self.root = root
        self.wal = wal
        self.views = views
        self.embedder = embedder
        self.after_apply: Callable[[int], None] = lambda puts: None
        self.closed = False
        self.lock = StoreLock(self.catch_up)
        # the log: appended to by the group committer without the store lock, under this one
        self.wal_lock = threading.RLock()
        self._backlog: list[LogOp] = []  # logged, not yet applied to the views (catch_up)
        self._backlog_cv = threading.Condition(self.wal_lock)  # wakes the applier
        # the group committer (see enqueue): threads, fed under _cv
        self._cv = threading.Condition(threading.Lock())
        self._queue: list[tuple[list[Prepared], asyncio.Future[list[int]]]] = []
        self._queued = 0
        self._urgent = False  # a flush waits: no lingering for more writers
        self._committing = False  # a group is being logged (by the committer, or a flush)
        self._stopping = False
        self._committer: threading.Thread | None = None
        self._applier: threading.Thread | None = None
        self._commit_failure: BaseException | None = None
        self._last_enqueued: asyncio.Future[list[int]] | None = None
        self._pending_commits: list[asyncio.Future[list[int]]] = []

    def check_open(self) -> None:
        if self.closed:
            raise ValueError(f"memory {self.root} is closed")

    @property
    def backlog(self) -> int:
        """Entries logged and not yet applied to the views."""
        return len(self._backlog)

    def prepare(self, entries: Sequence[Entry]) -> list[Prepared]:
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
            out.append(Prepared(encode_body(OP_PUT, body, vector), OP_PUT, body, vector))
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

    def write(self, prepared: Sequence[Prepared]) -> list[int]:
        if not prepared:
            return []
        with self.lock:
            seqs = self.log(prepared)
            self.catch_up()
            return seqs

    def log(self, prepared: Sequence[Prepared]) -> list[int]:
        """Append to the log (durable per the policy on return); the views follow later.

        The entries join the backlog that :meth:`_catch_up` applies, in log order. Needs only
        the log's lock: the group committer logs while the views are being updated.
        """
        with self.wal_lock:
            self.check_open()
            seqs = self.wal.append([p.payload for p in prepared])
            backlog = self._backlog
            was = len(backlog)
            backlog.extend(
                LogOp(s, p.op, p.body, p.vector) for s, p in zip(seqs, prepared, strict=True)
            )
            if not was or (was < APPLY_BATCH <= len(backlog)):  # the applier's timer, or batch
                self._backlog_cv.notify()
        return seqs

    def catch_up(self) -> None:
        """Apply the backlog to the views; evict and checkpoint when due (under ``_lock``).

        Taking the store lock does this (see :class:`StoreLock`), so the views a reader sees
        hold every entry that was logged before it took the lock.
        """
        puts = self.apply_backlog()
        if puts:
            self.after_apply(puts)

    def apply_backlog(self) -> int:
        """Apply the backlog to the views (under ``_lock``); the number of entries it put."""
        with self.wal_lock:
            ops, self._backlog = self._backlog, []
        if not ops:
            return 0
        self.views.apply(ops)
        return sum(1 for op in ops if op.op == OP_PUT)

    def append_ops(self, ops: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
        """Write non-put operations (deletes, expiries) through the log and apply them."""
        if not ops:
            return []
        with self.wal_lock:
            seqs = self.wal.append([encode_body(op, body) for op, body in ops])
            self._backlog.extend(
                LogOp(s, op, body, None) for s, (op, body) in zip(seqs, ops, strict=True)
            )
        self.catch_up()
        return seqs

    # -- async writing (group commit) -----------------------------------------------------

    async def aremember_many(self, entries: Sequence[Entry]) -> list[int]:
        """Like :meth:`remember_many`; concurrent callers share one group commit."""
        prepared = await asyncio.to_thread(self.prepare, entries)
        ids = await self.enqueue(prepared)
        await self.keep_up()
        return ids

    async def keep_up(self) -> None:
        """Back-pressure: past ``BACKLOG_MAX`` entries behind the log, wait for the views."""
        if len(self._backlog) > BACKLOG_MAX:
            await asyncio.to_thread(self._caught_up)

    def _caught_up(self) -> None:
        with self.lock:  # taking it applies the backlog
            pass

    def enqueue(self, prepared: list[Prepared]) -> asyncio.Future[list[int]]:
        """Queue entries for the committer; the future resolves once they are durable."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        with self._cv:
            if self._stopping:
                raise ValueError(f"memory {self.root} is closed")
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
            # the committer starts COMMIT_DELAY later: a flush before then (the daemon flushes
            # before each reply) logs the group itself, and no other thread is woken (see flush)
            asyncio.get_running_loop().call_later(COMMIT_DELAY, self._wake_committer)
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

    def _commit_group(self, group: list[tuple[list[Prepared], asyncio.Future[list[int]]]]) -> None:
        """Log a group and tell its writers that it is durable.

        The views are not updated here (a cycle's reply need not wait for SQLite): the applier
        thread does it in batches, and so does whoever takes the store lock first.
        """
        flat = [p for prepared, _ in group for p in prepared]
        try:
            seqs = self.log(flat)
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
                log.exception("memory %s: applying logged entries failed", self.root)
                self._commit_failure = exc

    def stop(self) -> None:
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
                if self._queue and not self._committing and self.wal_lock.acquire(False):
                    group, self._queue, self._queued = self._queue, [], 0
                    self._committing = True
                else:
                    self._urgent = True
                    self._cv.notify()
            if group is not None:
                try:
                    self._commit_group(group)
                finally:
                    self.wal_lock.release()
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

    # -- the decision cycle's sink ----------------------------------------------------------

    async def commit(self, record: CycleRecord) -> None:
        """Store a finished decision cycle as one event (the kernel's ``CycleSink``).

        The write is queued to the group committer and not awaited, so a cycle does not wait
        for an fsync; :meth:`flush` (the agent calls it at each episode end) waits until every
        queued cycle is durable. A long queue makes ``commit`` wait (back-pressure).
        """
        entry = event_from_cycle(record)
        if self.embedder is None:
            prepared = self.prepare([entry])
        else:
            prepared = await asyncio.to_thread(self.prepare, [entry])
        future = self.enqueue(prepared)
        self._pending_commits.append(future)
        if len(self._pending_commits) > 4 * self.config.group_max_records:
            await self.flush()
        await self.keep_up()
