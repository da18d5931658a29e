"""Opening a memory directory: the log's torn tail, the last checkpoint, replay, verification.

The log is the truth. Recovery loads the newest checkpointed vector index that the log names,
replays the log after what each view has applied into that view, and checks that the views
agree with the log and with each other. It refuses (``ViewMismatchError``,
``CheckpointError``) rather than open a memory that has lost acknowledged records.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.checkpoint import file_crc32, fsync_file, index_file_name, records_file_name
from memory.codec import OP_CHECKPOINT, OP_PUT, LogOp, decode, decode_vector, peek_op
from memory.config import MemoryConfig
from memory.errors import CheckpointError, ViewDamagedError, ViewMismatchError
from memory.layout import Layout
from memory.stores.record_store import RecordStore
from memory.stores.sqlite_record_store import SqliteRecordStore
from memory.views import Views
from memory.wal.log import WriteAheadLog, fsync_dir

log = logging.getLogger("cogos.memory")

REPLAY_BATCH = 4096
"""Log records applied to the views at once while replaying."""


@dataclass
class RecoveryReport:
    """What opening the directory had to do."""

    wal_records: int = 0
    truncated_bytes: int = 0
    torn_reason: str | None = None
    checkpoint_seq: int | None = None
    replayed: int = 0
    rebuilt_vectors: int | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CheckpointNote:
    """The last checkpoint record, noted while the log is scanned (the log's ``on_record``).

    So recovery does not read the log twice.
    """

    def __init__(self) -> None:
        self.record: tuple[int, bytes] | None = None

    def __call__(self, seq: int, payload: memoryview) -> None:
        if peek_op(payload, seq) == OP_CHECKPOINT:
            self.record = (seq, bytes(payload))

    def last(self) -> LogOp | None:
        return decode(*self.record) if self.record is not None else None


def recover(
    layout: Layout,
    wal: WriteAheadLog,
    views: Views,
    checkpoint: LogOp | None,
    *,
    verify: bool,
    rebuild_index: bool = False,
) -> RecoveryReport:
    """Bring every view up to date with the log; see the module docstring.

    ``rebuild_index``: build the vector index from the vectors the record store keeps instead
    of loading the checkpoint's snapshot. A torn log tail is truncated last, once every check
    has passed: an open that refuses leaves the log as it found it.
    """
    try:
        return _recover(layout, wal, views, checkpoint, verify, rebuild_index)
    except sqlite3.DatabaseError as exc:
        raise ViewDamagedError(
            layout.root, "records", f"the record store {layout.records.name} is damaged ({exc})"
        ) from None


def _recover(
    layout: Layout,
    wal: WriteAheadLog,
    views: Views,
    checkpoint: LogOp | None,
    verify: bool,
    rebuild_index: bool,
) -> RecoveryReport:
    started = time.perf_counter()
    report = RecoveryReport(wal_records=wal.recovery.records)
    tail = wal.torn_tail
    if checkpoint is not None:
        report.checkpoint_seq = int(checkpoint.body["upto"])
    if rebuild_index:
        report.rebuilt_vectors = rebuild_vectors(layout, views)
    elif checkpoint is not None:
        load_checkpoint(layout, views, checkpoint)
    first_in_log = wal.recovery.first_seq or wal.last_seq + 1
    records = views.records
    applied = records.last_applied_seq
    if tail is not None and max(applied, report.checkpoint_seq or 0) >= tail.first_lost_seq:
        raise ViewMismatchError(
            [
                f"the log is damaged at its end: records from seq {tail.first_lost_seq} cannot "
                f"be read ({tail.reason}, {tail.path.name}), but the record store applied up to "
                f"seq {applied}, so they were acknowledged; nothing was changed (a torn tail is "
                "truncated only when no view has seen it)"
            ]
        )
    if applied > wal.last_seq:
        raise ViewMismatchError(
            [
                f"record store has applied up to seq {applied} but the log ends at "
                f"{wal.last_seq}: the log lost acknowledged records (durability 'none' "
                "and a power loss?)"
            ]
        )
    start = min(applied, views.vectors.applied_seq)
    if start + 1 < first_in_log:
        raise ViewMismatchError(
            [
                f"views need the log from seq {start + 1} but it starts at {first_in_log}: "
                "a checkpoint dropped records that a view had not made durable"
            ]
        )
    views.graph.add_edges(records.edges())
    batch: list[LogOp] = []
    records_applied = records.last_applied_seq
    for seq, payload in wal.read(start):
        # records the record store already holds are needed by the vector index only
        if seq <= records_applied and peek_op(payload) == OP_PUT:
            batch.append(decode_vector(seq, payload))
        else:
            batch.append(decode(seq, payload))
        if len(batch) >= REPLAY_BATCH:
            views.apply(batch)
            report.replayed += len(batch)
            batch = []
    if batch:
        views.apply(batch)
        report.replayed += len(batch)
    drop_stray_checkpoints(layout, report.checkpoint_seq)
    report.seconds = time.perf_counter() - started
    if verify:
        report.problems = views.problems(wal.last_seq)
        if report.problems:
            raise ViewMismatchError(report.problems)
    cut = wal.truncate_torn_tail()
    if cut is not None:
        report.truncated_bytes, report.torn_reason = cut.lost_bytes, cut.reason
        log.warning("memory %s: truncated a torn log tail: %s", layout.root, cut.describe())
    return report


def open_record_store(
    layout: Layout,
    config: MemoryConfig,
    wal: WriteAheadLog,
    checkpoint: LogOp | None,
    *,
    restore: bool,
) -> RecordStore:
    """Open the record store, refusing (changing nothing) when its file is missing or damaged.

    ``restore``: set the current file aside (into ``damaged-<time>/``) and start from the last
    checkpoint's copy of the store, or from empty when the log still starts at its first record;
    recovery then replays the log after it.
    """
    path = layout.records
    if restore:
        _set_aside(layout)
        if checkpoint is not None and "records_file" in checkpoint.body:
            snapshot = layout.checkpoints / str(checkpoint.body["records_file"])
            if not snapshot.exists() or file_crc32(snapshot) != checkpoint.body["records_crc"]:
                raise CheckpointError(
                    f"{snapshot} (the record store's copy at the last checkpoint) is missing or "
                    "damaged: the records before that checkpoint cannot be rebuilt"
                )
            shutil.copyfile(snapshot, path)
            fsync_file(path)
    elif not path.exists() and (wal.last_seq > 0 or checkpoint is not None):
        raise ViewDamagedError(layout.root, "records", f"the record store {path.name} is missing")
    try:
        return SqliteRecordStore(path, config.retrieval.doc_fields)
    except sqlite3.DatabaseError as exc:
        raise ViewDamagedError(
            layout.root, "records", f"the record store {path.name} is damaged ({exc})"
        ) from None


def _set_aside(layout: Layout) -> None:
    """Move the record store's files into ``damaged-<time>/`` (kept, never deleted)."""
    present = [p for p in (layout.records, *layout.sqlite_scratch()) if p.exists()]
    if not present:
        return
    aside = layout.root / time.strftime("damaged-%Y%m%d-%H%M%S")
    aside.mkdir(exist_ok=True)
    for path in present:
        path.replace(aside / path.name)
    fsync_dir(layout.root)
    log.warning("memory %s: set the damaged record store aside in %s", layout.root, aside)


def load_checkpoint(layout: Layout, views: Views, op: LogOp) -> None:
    """Load the vector index snapshot a checkpoint record names, checking it against the record."""
    path = layout.checkpoints / str(op.body["file"])
    if not path.exists():
        raise ViewDamagedError(
            layout.root, "index", f"the vector index snapshot {path.name} is missing"
        )
    crc = file_crc32(path)
    if crc != op.body["crc"]:
        raise ViewDamagedError(
            layout.root,
            "index",
            f"the vector index snapshot {path.name} is damaged "
            f"(CRC32 {crc:#010x}, the log says {op.body['crc']:#010x})",
        )
    vectors = views.vectors
    vectors.load(path)
    if len(vectors) != op.body["vectors"]:
        raise CheckpointError(
            f"checkpoint file {path} holds {len(vectors)} vectors, log says {op.body['vectors']}"
        )
    vectors.applied_seq = int(op.body["upto"])


def rebuild_vectors(layout: Layout, views: Views) -> int:
    """Fill the (empty) vector index from the record store; the number of vectors."""
    records, vectors = views.records, views.vectors
    missing = records.missing_vectors()
    if missing:
        raise ViewDamagedError(
            layout.root,
            "index",
            f"{missing} item(s) have vectors that the record store does not keep (written "
            "before memory format 3): the index cannot be rebuilt from it",
        )
    ids: list[int] = []
    rows: list[npt.NDArray[np.float32]] = []
    for item, vector in records.stored_vectors():
        ids.append(item)
        rows.append(vector)
    if ids:
        vectors.add(ids, np.stack(rows))
    vectors.applied_seq = records.last_applied_seq
    return len(ids)


def drop_stray_checkpoints(layout: Layout, keep: int | None) -> None:
    """Delete snapshot files other than those of checkpoint ``keep`` (left by crashes)."""
    directory: Path = layout.checkpoints
    if not directory.exists():
        return
    wanted = {index_file_name(keep), records_file_name(keep)} if keep is not None else set()
    for path in directory.iterdir():
        if path.name not in wanted:
            path.unlink()
