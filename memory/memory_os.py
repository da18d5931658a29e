"""The MemoryOS facade: the one entry point modules use to remember, search and recall.

One write path, one log, several views. ``remember`` encodes the entries, appends them to the
write-ahead log (returning once the durability policy is met), then applies them to the views:
the SQLite record store (with ``last_applied_seq`` in the same transaction), the FAISS vector
index and the networkx episodic graph. Opening a directory recovers it: the log's torn tail is
truncated, the newest checkpointed index is loaded, the log after it is replayed into every
view that is behind, and the views are verified to agree (counts and last sequence).

Every method has a synchronous form; ``a``-prefixed forms are for asyncio code. The work is
done by the parts this facade holds, one file each:

* :mod:`memory.recovery`: opening and recovery;
* :mod:`memory.write_path`: the write path and the group commit (concurrent ``aremember`` calls
  share one sync; an async write returns once it is in the log, and the views follow);
* :mod:`memory.queries`: search, recall, decisions and why;
* :mod:`memory.lifecycle`: forgetting, eviction, consolidation, checkpoints, compaction.

Store access is serialised by one lock, so a MemoryOS may be used from the event loop and from
worker threads at once, and a reader sees every write that has returned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy.typing as npt

from memory.config import MemoryConfig
from memory.cycle_records import CycleRecord
from memory.embedding import Embedder, make_embedder
from memory.entries import Entry, Hit, MemoryItem
from memory.errors import DimensionError
from memory.layout import DirectoryLock, Layout, plan_format, read_format
from memory.lifecycle import Lifecycle
from memory.queries import Queries
from memory.recovery import CheckpointNote, RecoveryReport, open_record_store, recover
from memory.stores.faiss_vectors import FaissVectorStore
from memory.stores.graph import GraphStore, NetworkxGraphStore
from memory.stores.record_store import RecordStore, Where
from memory.stores.vectors import VectorStore
from memory.tracing import COMMIT, FLUSH, REMEMBER, SEARCH, Tracer
from memory.views import Views
from memory.wal.log import WriteAheadLog
from memory.write_path import WritePath

__all__ = ["MemoryOS", "RecoveryReport"]


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
        rebuild: Iterable[str] = (),
    ) -> None:
        """Open (and recover) the memory ``config.path``.

        ``rebuild`` names views to rebuild instead of trusting their files (``records``: from
        the last checkpoint's copy and the log after it; ``index``: from the vectors the record
        store keeps); ``cogos memory rebuild`` uses it.
        """
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
        # refuses (a malformed, foreign or newer FORMAT, another dim...) before anything is written
        plan = plan_format(self.layout, _format_settings(config, embedder))
        self._dir_lock = DirectoryLock(self.layout.root)
        scratch = _absent(self.layout.sqlite_scratch())
        opened: list[Any] = []  # what to close if the open fails
        try:
            plan = plan.again()  # under the lock: another process may have made it since
            self.format = plan.create()  # a new directory's FORMAT, before its log and records
            note = CheckpointNote()
            self.wal = WriteAheadLog(
                self.layout.wal,
                durability=config.durability,
                segment_bytes=config.segment_bytes,
                on_record=note,
                defer_truncation=True,  # recovery truncates, once it knows nothing is lost
            )
            opened.append(self.wal)
            checkpoint = note.last()
            if records is None:
                records = open_record_store(
                    self.layout, config, self.wal, checkpoint, restore="records" in rebuild
                )
            opened.append(records)
            self.views = Views(
                records, vectors or _vector_store(config), graph or NetworkxGraphStore()
            )
            self.recovery = recover(
                self.layout,
                self.wal,
                self.views,
                checkpoint,
                verify=config.verify_on_open,
                rebuild_index="index" in rebuild,
            )
            self.format = plan.commit()  # a first embedder, or version 1 -> 2: once it succeeded
        except BaseException:
            for part in reversed(opened):
                with contextlib.suppress(Exception):
                    part.close()
            for path in scratch:  # SQLite's -wal/-shm, made by this open: it changed nothing
                path.unlink(missing_ok=True)
            plan.undo()  # a new directory: the FORMAT, log and record store this open made
            self._dir_lock.release()
            raise
        self.writes = WritePath(config, self.layout.root, self.wal, self.views, embedder)
        self.lifecycle = Lifecycle(config, self.layout, self.views, self.writes)
        self.queries = Queries(config, self.views, self.writes.lock, embedder)
        self.tracer: Tracer | None = None
        """Makes a span of every write and search when set (see :mod:`memory.tracing`)."""

    @classmethod
    def open(
        cls,
        path: str | Path,
        config: MemoryConfig | None = None,
        *,
        embedder: Embedder | None = None,
        rebuild: Iterable[str] = (),
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
        return cls(MemoryConfig.model_validate(base), embedder=embedder, rebuild=rebuild)

    # -- the views ------------------------------------------------------------------------

    @property
    def records(self) -> RecordStore:
        return self.views.records

    @property
    def vectors(self) -> VectorStore:
        return self.views.vectors

    @property
    def graph(self) -> GraphStore:
        return self.views.graph

    @property
    def root(self) -> Path:
        """The memory's directory."""
        return self.layout.root

    @property
    def last_seq(self) -> int:
        return self.wal.last_seq

    def verify(self) -> list[str]:
        """Check that the views agree with the log and each other; return the problems found."""
        with self.writes.lock, self.writes.wal_lock:
            self.writes.apply_backlog()
            return self.views.problems(self.wal.last_seq)

    # -- writing --------------------------------------------------------------------------

    def remember(self, entry: Entry) -> int:
        """Store one entry; return its id once durable (per the durability policy)."""
        return self.remember_many([entry])[0]

    def remember_many(self, entries: Sequence[Entry]) -> list[int]:
        """Store entries as one group (one log write, one sync under ``group``)."""
        if self.tracer is None:
            return self.writes.write(self.writes.prepare(entries))
        with self.tracer.start_as_current_span(REMEMBER, attributes=_writing(entries)):
            return self.writes.write(self.writes.prepare(entries))

    def remember_text(self, text: str, **fields: Any) -> int:
        return self.remember(Entry(kind="text", text=text, **fields))

    def remember_fact(self, fact: Sequence[str], text: str = "", **fields: Any) -> int:
        return self.remember(Entry(kind="fact", facts=(tuple(fact),), text=text, **fields))

    def remember_event(self, text: str, *, episode: str, **fields: Any) -> int:
        return self.remember(Entry(kind="event", text=text, episode=episode, **fields))

    async def aremember(self, entry: Entry) -> int:
        return (await self.aremember_many([entry]))[0]

    async def aremember_many(self, entries: Sequence[Entry]) -> list[int]:
        """Like :meth:`remember_many`; concurrent callers share one group commit."""
        if self.tracer is None:
            return await self.writes.aremember_many(entries)
        with self.tracer.start_as_current_span(REMEMBER, attributes=_writing(entries)):
            return await self.writes.aremember_many(entries)

    async def commit(self, record: CycleRecord) -> None:
        """Store a finished decision cycle as one event (the kernel's ``CycleSink``).

        Queued to the group committer and not awaited: :meth:`flush` waits until it is durable.
        """
        if self.tracer is None:
            await self.writes.commit(record)
            return
        attributes = {"cogos.episode": record.episode, "cogos.cycle": record.cycle}
        with self.tracer.start_as_current_span(COMMIT, attributes=attributes):
            await self.writes.commit(record)

    async def flush(self) -> None:
        """Wait until every queued async write is durable; re-raise a failed commit's error."""
        if self.tracer is None:
            await self.writes.flush()
            return
        with self.tracer.start_as_current_span(FLUSH):
            await self.writes.flush()

    def delete(self, item_id: int, reason: str = "") -> int:
        """Hard-delete a live item (a tombstone in the log); its sequence number."""
        return self.lifecycle.delete(item_id, reason)

    def forget(self, item_id: int, at: float | None = None, reason: str = "") -> int:
        """Soft-delete: end an item's validity at ``at`` (default now)."""
        return self.lifecycle.forget(item_id, at, reason)

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
        return self.lifecycle.consolidate(
            episode,
            context=context,
            keep=keep,
            drop=drop,
            success=success,
            actions=actions,
            goal=goal,
        )

    # -- reading --------------------------------------------------------------------------

    def get(self, item_id: int) -> MemoryItem:
        return self.queries.get(item_id)

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
        """The ``k`` best items for ``query`` (see :meth:`memory.queries.Queries.search`)."""
        if self.tracer is None:
            return self.queries.search(query, k, where, mode=mode, expand=expand, touch=touch)
        with self.tracer.start_as_current_span(
            SEARCH, attributes=self._searching(query, k, mode)
        ) as span:
            hits = self.queries.search(query, k, where, mode=mode, expand=expand, touch=touch)
            span.set_attribute("cogos.memory.hits", len(hits))
            return hits

    def explain(
        self,
        query: str | npt.ArrayLike,
        k: int = 10,
        where: Where | None = None,
        *,
        mode: str | None = None,
        expand: int | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`search`'s hits with each ranker's part in them (bm25, dense, graph)."""
        return self.queries.explain(query, k, where, mode=mode, expand=expand)

    def details(self, item_id: int, now: float | None = None) -> dict[str, Any]:
        """An item with its validity, TTL, heat and log sequence number (for inspection)."""
        return self.queries.details(item_id, now)

    async def asearch(
        self, query: str | npt.ArrayLike, k: int = 10, where: Where | None = None, **options: Any
    ) -> list[Hit]:
        if self.tracer is None:
            return await self.queries.asearch(query, k, where, **options)
        with self.tracer.start_as_current_span(
            SEARCH, attributes=self._searching(query, k, options.get("mode"))
        ) as span:
            hits = await self.queries.asearch(query, k, where, **options)
            span.set_attribute("cogos.memory.hits", len(hits))
            return hits

    def _searching(
        self, query: str | npt.ArrayLike, k: int, mode: str | None
    ) -> dict[str, str | int]:
        """A search span's attributes before it runs: the retrievers it uses and ``k``."""
        return {"cogos.memory.mode": self.queries.mode_for(query, mode), "cogos.memory.k": k}

    def recent(self, n: int = 10, where: Where | None = None) -> list[MemoryItem]:
        """The newest live items (e.g. ``where={"kind": "event", "episode": ...}``)."""
        return self.queries.recent(n, where)

    def about(self, entity: str, n: int = 10) -> list[MemoryItem]:
        """The newest live items linked to ``entity`` in the graph."""
        return self.queries.about(entity, n)

    def episode(self, episode: str) -> list[MemoryItem]:
        """An episode's live events in order."""
        return self.queries.episode(episode)

    def episodes(self) -> dict[str, int]:
        """Every remembered episode id with its number of events."""
        return self.queries.episodes()

    def decision(self, item_id: int) -> dict[str, Any] | None:
        """The decision record of an event: candidates, values, choice, outcome."""
        return self.queries.decision(item_id)

    def why(self, item_id: int, context: int = 3) -> dict[str, Any]:
        """Why the agent did what event ``item_id`` records: its decision and what led to it."""
        return self.queries.why(item_id, context)

    def neighbours(self, item_id: int, hops: int = 1) -> list[MemoryItem]:
        return self.queries.neighbours(item_id, hops)

    def neighbourhood(self, item_id: int, limit: int = 30) -> list[tuple[str, str, str]]:
        """The graph edges around an item, structure first then entities (for drawing)."""
        return self.queries.neighbourhood(item_id, limit)

    def path(self, source: str, target: str) -> list[str]:
        """Shortest path between graph nodes (``event:12``, ``entity:apple``...)."""
        return self.queries.path(source, target)

    def knowledge(self, context: str, *, as_of: float | None = None) -> list[MemoryItem]:
        """The facts and skills consolidated for ``context`` (valid now, or ``as_of``)."""
        return self.queries.knowledge(context, as_of=as_of)

    def export(self, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        """Every item as JSON (oldest first), with its decision record where it has one."""
        return self.queries.export(include_deleted)

    # -- maintenance ----------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """Snapshot the index and drop the log before it (see :mod:`memory.checkpoint`)."""
        return self.lifecycle.checkpoint()

    def compact(self, now: float | None = None) -> dict[str, Any]:
        """Hard-delete what is deleted, or expired longer than the retention; then checkpoint."""
        return self.lifecycle.compact(now)

    def stats(self) -> dict[str, Any]:
        with self.writes.lock, self.writes.wal_lock:
            self.writes.apply_backlog()
            records, segments = self.records, self.wal.segments()
            kinds = ("event", "fact", "text")
            return {
                "path": str(self.layout.root),
                "format": self.format,
                "items": {kind: records.count({"kind": kind}) for kind in kinds},
                "deleted": len(records.deleted_ids()),
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

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Sync the log and release everything; safe to call twice."""
        self.writes.stop()  # what is queued is written first
        with self.writes.lock:
            if self.writes.closed:
                return
            self.writes.closed = True
            self.wal.close()
            self.views.close()
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


def _writing(entries: Sequence[Entry]) -> dict[str, Any]:
    """A write span's attributes: how many entries, of which kinds."""
    return {
        "cogos.memory.entries": len(entries),
        "cogos.memory.kinds": sorted({e.kind for e in entries}),
    }


def _format_settings(config: MemoryConfig, embedder: Embedder | None) -> dict[str, Any]:
    """What the FORMAT marker records of a memory: what must not change between opens."""
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
    return settings


def _absent(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if not p.exists()]


def _vector_store(config: MemoryConfig) -> VectorStore:
    ix = config.index
    return FaissVectorStore(
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
