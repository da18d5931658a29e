"""The memory's lifecycle: forgetting, eviction, consolidation, checkpoints and compaction.

Heat is recency x frequency: ``(1 + hits) * 0.5 ** (age / half_life)``, where ``hits`` counts
retrievals and ``age`` is the time since the last retrieval (or since the item was stored). A
memory used often and lately stays; one never recalled since long ago goes first. The choice is
made by :func:`choose_evictions`; the eviction itself is written through the log as deletes, so
it survives a crash like any other write. Checkpoints snapshot the vector index and let the log
before them go (see :mod:`memory.checkpoint`); compaction removes what was deleted for good.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from memory.checkpoint import (
    crash_point,
    file_crc32,
    fsync_file,
    index_file_name,
    records_file_name,
)
from memory.codec import OP_CHECKPOINT, OP_DELETE, OP_EXPIRE, LogOp, encode_body
from memory.config import MemoryConfig
from memory.consolidation import plan_consolidation
from memory.errors import UnknownItemError
from memory.layout import Layout
from memory.recovery import drop_stray_checkpoints
from memory.views import Views
from memory.wal.log import fsync_dir
from memory.write_path import WritePath


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


class Lifecycle:
    """Deletes, expiries, eviction, consolidation, checkpoints and compaction of one memory."""

    def __init__(
        self, config: MemoryConfig, layout: Layout, views: Views, writes: WritePath
    ) -> None:
        self.config = config
        self.layout = layout
        self.views = views
        self.writes = writes
        self.since_checkpoint = 0
        writes.after_apply = self.after_apply

    def after_apply(self, puts: int) -> None:
        """New entries reached the views: evict over capacity, checkpoint when due."""
        self.since_checkpoint += puts
        self.evict_if_over_capacity()
        every = self.config.checkpoint_every
        if every and self.since_checkpoint >= every:
            self.checkpoint()

    def evict_if_over_capacity(self) -> list[int]:
        lc = self.config.lifecycle
        if lc.capacity is None:
            return []
        live = {"kind": list(lc.evict_kinds), "include_expired": True}  # as access_stats counts
        if self.views.records.count(live) <= lc.capacity:
            return []  # the common case, on every write: a count, not every item's stats
        stats = self.views.records.access_stats(lc.evict_kinds)
        victims = choose_evictions(stats, lc.capacity, time.time(), lc.heat_half_life)
        self.writes.append_ops([(OP_DELETE, {"id": v, "reason": "evicted"}) for v in victims])
        return victims

    def delete(self, item_id: int, reason: str = "") -> int:
        """Hard-delete a live item: gone from every query now, from disk at compaction.

        Written to the log as a tombstone; returns the tombstone's sequence number.
        """
        with self.writes.lock:
            self.writes.check_open()
            if not self.views.records.get([item_id]):
                raise UnknownItemError(item_id, "already deleted or never stored")
            (seq,) = self.writes.append_ops([(OP_DELETE, {"id": item_id, "reason": reason})])
            return seq

    def forget(self, item_id: int, at: float | None = None, reason: str = "") -> int:
        """Soft-delete: end an item's validity at ``at`` (default now).

        The item no longer matches current queries but still answers "as of" queries for
        earlier times, until compaction removes it after ``lifecycle.expired_retention``.
        """
        with self.writes.lock:
            self.writes.check_open()
            if not self.views.records.get([item_id]):
                raise UnknownItemError(item_id, "deleted or never stored")
            body = {"id": item_id, "valid_to": time.time() if at is None else at, "reason": reason}
            (seq,) = self.writes.append_ops([(OP_EXPIRE, body)])
            return seq

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
        with self.writes.lock:
            self.writes.check_open()
            events = self.views.records.get(self.views.graph.episode_events(episode))
            known = {
                item.facts[0]
                for item in self.views.records.recent(1 << 30, {"kind": "fact", "context": context})
                if item.facts
            }
            skills = self.views.records.recent(
                1, {"kind": "skill", "context": context, "goal": goal}
            )
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
            ids = self.writes.write(self.writes.prepare(entries)) if entries else []
            if plan.supersedes is not None:
                self.forget(plan.supersedes, reason=f"superseded by a shorter skill ({ids[-1]})")
            return {
                "facts": len(plan.facts),
                "skill": ids[-1] if plan.skill is not None else None,
                "superseded": plan.supersedes,
            }

    def checkpoint(self) -> dict[str, Any]:
        """Snapshot the index and drop the log before it (see :mod:`memory.checkpoint`)."""
        with self.writes.lock, self.writes.wal_lock:  # nothing is logged meanwhile
            self.writes.apply_backlog()
            self.writes.check_open()
            wal = self.writes.wal
            wal.sync()
            seq = wal.last_seq
            crash_point("before_records_durable")
            self.views.records.make_durable()
            crash_point("after_records_durable")
            directory = self.layout.checkpoints
            directory.mkdir(exist_ok=True)
            name = index_file_name(seq)
            tmp = directory / (name + ".tmp")
            self.views.vectors.save(tmp)
            fsync_file(tmp)
            crash_point("after_index_tmp")
            records_name = records_file_name(seq)
            records_tmp = directory / (records_name + ".tmp")
            self.views.records.snapshot(records_tmp)
            fsync_file(records_tmp)
            crash_point("after_index_tmp")
            final = directory / name
            tmp.replace(final)
            records_tmp.replace(directory / records_name)
            fsync_dir(directory)
            crash_point("after_index_rename")
            body = {
                "upto": seq,
                "file": name,
                "crc": file_crc32(final),
                "vectors": len(self.views.vectors),
                "records": self.views.records.count(include_deleted=True),
                "records_file": records_name,
                "records_crc": file_crc32(directory / records_name),
            }
            wal.rotate()
            (ck_seq,) = wal.append([encode_body(OP_CHECKPOINT, body)])
            wal.sync()
            self.views.apply([LogOp(ck_seq, OP_CHECKPOINT, body, None)])
            crash_point("after_checkpoint_record")
            dropped = wal.drop_before(seq + 1)
            crash_point("after_drop_segments")
            drop_stray_checkpoints(self.layout, seq)
            self.since_checkpoint = 0
            return {**body, "checkpoint_seq": ck_seq, "dropped_segments": len(dropped)}

    def compact(self, now: float | None = None) -> dict[str, Any]:
        """Hard-delete what is deleted, or expired longer than the retention; then checkpoint.

        Expired items are first deleted through the log (so a crash mid-compaction loses
        nothing), then every view drops the deleted items for good.
        """
        with self.writes.lock:
            self.writes.check_open()
            cutoff = (time.time() if now is None else now) - self.config.lifecycle.expired_retention
            expired = self.views.records.expired_before(cutoff)
            self.writes.append_ops([(OP_DELETE, {"id": i, "reason": "expired"}) for i in expired])
            dead = self.views.records.deleted_ids()
            removed = self.views.records.compact()
            self.views.graph.remove_items(dead)
            self.views.vectors.compact()
            return {"removed": removed, "expired": len(expired), **self.checkpoint()}
