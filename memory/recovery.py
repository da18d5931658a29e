"""Opening a memory directory: the log's torn tail, the last checkpoint, replay, verification.

The log is the truth. Recovery loads the newest checkpointed vector index that the log names,
replays the log after what each view has applied into that view, and checks that the views
agree with the log and with each other. It refuses (``ViewMismatchError``,
``CheckpointError``) rather than open a memory that has lost acknowledged records.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory.checkpoint import file_crc32, index_file_name
from memory.codec import OP_CHECKPOINT, OP_PUT, LogOp, decode, decode_vector, peek_op
from memory.errors import CheckpointError, ViewMismatchError
from memory.layout import Layout
from memory.views import Views
from memory.wal.log import WriteAheadLog

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
        if peek_op(payload) == OP_CHECKPOINT:
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
) -> RecoveryReport:
    """Bring every view up to date with the log; see the module docstring."""
    started = time.perf_counter()
    report = RecoveryReport(
        wal_records=wal.recovery.records,
        truncated_bytes=wal.recovery.truncated_bytes,
        torn_reason=wal.recovery.torn_reason,
    )
    if report.truncated_bytes:
        log.warning(
            "memory %s: truncated a torn log tail of %d bytes (%s)",
            layout.root,
            report.truncated_bytes,
            report.torn_reason,
        )
    if checkpoint is not None:
        load_checkpoint(layout, views, checkpoint)
        report.checkpoint_seq = int(checkpoint.body["upto"])
    first_in_log = wal.recovery.first_seq or wal.last_seq + 1
    records = views.records
    applied = records.last_applied_seq
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
    return report


def load_checkpoint(layout: Layout, views: Views, op: LogOp) -> None:
    """Load the vector index snapshot a checkpoint record names, checking it against the record."""
    path = layout.checkpoints / str(op.body["file"])
    if not path.exists():
        raise CheckpointError(f"checkpoint file {path} named by log record {op.seq} is missing")
    crc = file_crc32(path)
    if crc != op.body["crc"]:
        raise CheckpointError(
            f"checkpoint file {path} is damaged "
            f"(CRC32 {crc:#010x}, log says {op.body['crc']:#010x})"
        )
    vectors = views.vectors
    vectors.load(path)
    if len(vectors) != op.body["vectors"]:
        raise CheckpointError(
            f"checkpoint file {path} holds {len(vectors)} vectors, log says {op.body['vectors']}"
        )
    vectors.applied_seq = int(op.body["upto"])


def drop_stray_checkpoints(layout: Layout, keep: int | None) -> None:
    """Delete index snapshots other than the one of checkpoint ``keep`` (left by crashes)."""
    directory: Path = layout.checkpoints
    if not directory.exists():
        return
    wanted = index_file_name(keep) if keep is not None else None
    for path in directory.iterdir():
        if path.name != wanted:
            path.unlink()
