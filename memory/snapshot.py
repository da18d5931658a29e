"""Rebuild a memory directory as it was at an earlier point of its log, without touching it.

``cogos replay --verify`` re-runs a traced run, and a run that used long-term memory has to be
re-run against the memory it started from, not against the memory as it is now (which holds the
run's own writes, and more). :func:`copy_memory_as_of` makes that copy: the FORMAT marker, and a
fresh write-ahead log holding the source log's records up to a sequence number, under the same
sequence numbers (a fresh log numbers from 1, and the records are appended in order from 1). The
views (record store, vector index, graph) are not copied: :class:`~memory.memory_os.MemoryOS`
rebuilds them from the log when the copy is opened.

The source is only read: no lock is taken (taking it writes the LOCK file), the log is scanned
rather than opened (opening truncates a torn tail and opens a segment for appending), and
nothing is created in it. Once a checkpoint has dropped the segments holding the early records,
the earlier state is gone from the log, and :class:`SnapshotUnavailable` says so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from memory.codec import OP_CHECKPOINT, decode, peek_op
from memory.errors import MemoryOSError, WALCorruptionError
from memory.layout import Layout
from memory.stores.sqlite_record_store import SqliteRecordStore
from memory.wal.format import SEGMENT_SUFFIX
from memory.wal.log import Durability, WriteAheadLog
from memory.wal.segment import ScanResult, first_seq_of, scan

_BATCH = 4096


class SnapshotUnavailable(MemoryOSError):
    """The source log no longer holds every record up to the wanted sequence number."""

    def __init__(self, source: Path, upto: int, reason: str) -> None:
        self.source = str(source)
        self.upto = upto
        self.reason = reason
        super().__init__(
            f"memory {source} cannot be rebuilt as it was at seq {upto}: {reason}; "
            "nothing was changed"
        )


@dataclass(frozen=True)
class SnapshotReport:
    """What :func:`copy_memory_as_of` copied."""

    source: Path
    dest: Path
    upto: int
    records: int
    source_last_seq: int


def _segments(wal: Path) -> list[Path]:
    if not wal.is_dir():
        return []
    return sorted(wal.glob(f"*{SEGMENT_SUFFIX}"), key=first_seq_of)


def _read(source: Path, upto: int, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SnapshotUnavailable(
            source, upto, f"its log segment {path.name} vanished while it was read"
        ) from None


def _bounds(source: Path, upto: int, segments: list[Path]) -> tuple[int, int]:
    """The first and last sequence numbers in the log (first = last + 1 when it is empty)."""
    if not segments:
        return 1, 0
    tail = segments[-1]
    records = 0
    for item in scan(tail, _read(source, upto, tail), expect_seq=first_seq_of(tail), is_last=True):
        if not isinstance(item, ScanResult):
            records += 1
    return first_seq_of(segments[0]), first_seq_of(tail) + records - 1


def _records(source: Path, upto: int, segments: list[Path]) -> Iterator[tuple[int, bytes]]:
    """The log's records with seq <= ``upto``, in order, one segment in memory at a time."""
    expect: int | None = None
    for i, path in enumerate(segments):
        first = first_seq_of(path)
        if first > upto:
            return
        if expect is not None and first != expect:
            raise WALCorruptionError(
                path, 0, f"segment starts at seq {first} but the previous one ended at {expect - 1}"
            )
        data = _read(source, upto, path)
        expect = first
        for item in scan(path, data, expect_seq=first, is_last=i == len(segments) - 1):
            if isinstance(item, ScanResult):
                break
            seq, payload = item
            if seq > upto:
                return
            yield seq, bytes(payload)
            expect = seq + 1


def copy_memory_as_of(source: str | Path, dest: str | Path, upto: int) -> SnapshotReport:
    """Write into ``dest`` (new or empty) the memory ``source`` was when its log ended at ``upto``.

    ``upto`` is a sequence number the source's log reached (``MemoryOS.last_seq`` at some
    earlier time; 0 for a memory that was empty). Raises :class:`SnapshotUnavailable` when the
    log no longer holds every record from 1 to ``upto``: a checkpoint dropped its start, or the
    directory was replaced or lost records since. ``source`` is never written to.
    """
    source, dest = Path(source), Path(dest)
    src, out = Layout(source), Layout(dest)
    if upto < 0:
        raise ValueError(f"upto must be >= 0, got {upto}")
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty: a memory copy needs a new directory")
    if upto > 0 and not src.format_file.exists():
        raise SnapshotUnavailable(source, upto, "it is not a memory directory (no FORMAT marker)")
    segments = _segments(src.wal)
    first_seq, last_seq = _bounds(source, upto, segments)
    if upto > last_seq:
        raise SnapshotUnavailable(
            source,
            upto,
            f"its log now ends at seq {last_seq} (the directory was replaced, or lost records)",
        )
    if upto > 0 and first_seq > 1:
        raise SnapshotUnavailable(
            source,
            upto,
            f"it has been checkpointed and its log now begins at seq {first_seq}: the records "
            f"up to seq {min(first_seq - 1, upto)} are no longer in it",
        )
    dest.mkdir(parents=True, exist_ok=True)
    if src.format_file.exists():
        shutil.copyfile(src.format_file, out.format_file)
    copied = 0
    with WriteAheadLog(out.wal, durability=Durability.NONE) as wal:
        batch: list[tuple[int, bytes]] = []
        for record in _records(source, upto, segments):
            batch.append(record)
            if len(batch) >= _BATCH:
                copied += _append(wal, batch, src, out, upto)
                batch = []
        if batch:
            copied += _append(wal, batch, src, out, upto)
    if copied != upto:
        raise SnapshotUnavailable(source, upto, f"its log holds only {copied} records up to it")
    SqliteRecordStore(out.records).close()  # empty: the copy's recovery replays the log into it
    return SnapshotReport(source, dest, upto, copied, last_seq)


def _append(
    wal: WriteAheadLog, batch: list[tuple[int, bytes]], src: Layout, out: Layout, upto: int
) -> int:
    seqs = wal.append([payload for _, payload in batch])
    if seqs != [seq for seq, _ in batch]:  # a fresh log numbers from 1; the source did too
        raise AssertionError(f"copied records were renumbered: {seqs[:3]}...")
    for seq, payload in batch:
        if peek_op(payload) == OP_CHECKPOINT:
            # a checkpoint still in the log with its start (one taken on an empty log): its
            # index file is the one the copy's recovery loads
            body = decode(seq, payload).body
            for key in ("file", "records_file"):
                if key not in body:
                    continue
                found = src.checkpoints / str(body[key])
                if not found.exists():
                    raise SnapshotUnavailable(
                        src.root, upto, f"checkpoint file {found} named by log record {seq} is gone"
                    )
                out.checkpoints.mkdir(exist_ok=True)
                shutil.copyfile(found, out.checkpoints / found.name)
    return len(batch)
