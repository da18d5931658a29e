"""The write-ahead log: the one write path of the memory OS.

Records are appended to the current segment with one ``write`` per batch; the durability policy
decides when they are forced to disk, and a write is acknowledged (the call returns) only once
its policy is met:

``always``  ``fdatasync`` after every record (even within a batch);
``group``   one ``fdatasync`` per batch. The async group committer of
            :class:`~memory.memory_os.MemoryOS` gathers concurrent writers into one batch within
            a window of N ms or M records, so they share one sync;
``none``    no sync: written to the OS at once (a killed process loses nothing), but a power
            loss may lose recent records.

Opening a log scans every segment, truncates a torn tail (the last, incomplete or unverifiable
records of the last segment, which were never acknowledged under ``always``/``group``) and
refuses to open over damage anywhere else. The log is single-writer; the memory OS holds a lock
file so that a second process cannot open the same directory.
"""

from __future__ import annotations

import enum
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory.errors import WALCorruptionError
from memory.wal.format import SEGMENT_SUFFIX, frame, segment_header, segment_name
from memory.wal.segment import ScanResult, first_seq_of, scan


class Durability(enum.StrEnum):
    """When appended records are forced to disk (see the module docstring)."""

    ALWAYS = "always"
    GROUP = "group"
    NONE = "none"


@dataclass
class LogRecovery:
    """What opening the log found."""

    segments: int = 0
    records: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    truncated_bytes: int = 0
    torn_reason: str | None = None
    removed_empty_segments: list[str] = field(default_factory=list)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the directory synced too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """Append-only, segmented, checksummed log of opaque payloads with gap-free sequence numbers."""

    def __init__(
        self,
        directory: str | Path,
        *,
        durability: Durability | str = Durability.GROUP,
        segment_bytes: int = 64 * 1024 * 1024,
        on_record: Callable[[int, memoryview], None] | None = None,
    ) -> None:
        """Open (recovering) the log in ``directory``.

        ``on_record`` sees every intact record during the recovery scan, so that a caller can
        learn what it needs (the memory OS: the last checkpoint) without reading the log twice.
        """
        self.directory = Path(directory)
        self.durability = Durability(durability)
        self.segment_bytes = segment_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._segment: Path | None = None
        self._segment_size = 0
        self._unsynced = False
        self.syncs = 0
        self._on_record = on_record
        self.recovery = self._recover()

    # -- opening --------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"), key=first_seq_of)

    def _recover(self) -> LogRecovery:
        report = LogRecovery()
        segments = self.segments()
        expect: int | None = None
        last_result: ScanResult | None = None
        for i, path in enumerate(segments):
            first = first_seq_of(path)
            if expect is not None and first != expect:
                raise WALCorruptionError(
                    path,
                    0,
                    f"segment starts at seq {first} but the previous one ended at {expect - 1}",
                )
            data = path.read_bytes()
            if i == len(segments) - 1 and len(data) < len(segment_header()):
                # a crash while a new segment was being created: it holds no record
                path.unlink()
                fsync_dir(self.directory)
                report.removed_empty_segments.append(path.name)
                segments = segments[:-1]
                break
            result: ScanResult | None = None
            for item in scan(path, data, expect_seq=first, is_last=i == len(segments) - 1):
                if isinstance(item, ScanResult):
                    result = item
                else:
                    report.records += 1
                    if self._on_record is not None:
                        self._on_record(*item)
            assert result is not None
            if report.first_seq is None and result.records:
                report.first_seq = first
            expect = first + result.records
            last_result = result
        report.segments = len(segments)
        report.last_seq = (expect - 1) if expect is not None else 0
        if last_result is not None and last_result.torn:
            report.truncated_bytes = last_result.size - last_result.valid_end
            report.torn_reason = last_result.torn_reason
            with last_result.path.open("r+b") as f:
                f.truncate(last_result.valid_end)
                f.flush()
                os.fsync(f.fileno())
        if last_result is not None:
            self._open_segment(last_result.path, last_result.valid_end)
        return report

    # -- writing --------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self.recovery.last_seq

    def _open_segment(self, path: Path, size: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._segment = path
        self._segment_size = size

    def _new_segment(self, first_seq: int) -> None:
        if self._fd is not None and self._unsynced:
            self.sync()
        path = self.directory / segment_name(first_seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            os.write(fd, segment_header())
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.directory)
        self._open_segment(path, len(segment_header()))

    def rotate(self) -> None:
        """Start a new segment now (a checkpoint does, so that everything before it can go)."""
        if self._segment is None or first_seq_of(self._segment) <= self.last_seq:
            self._new_segment(self.last_seq + 1)

    def append(self, payloads: Sequence[bytes]) -> list[int]:
        """Append payloads; return their sequence numbers once the durability policy is met."""
        if not payloads:
            return []
        first = self.recovery.last_seq + 1
        if self._fd is None or self._segment_size >= self.segment_bytes:
            self._new_segment(first)
        seqs = list(range(first, first + len(payloads)))
        if self.durability is Durability.ALWAYS:
            for seq, payload in zip(seqs, payloads, strict=True):
                self._write(frame(seq, payload))
                self.recovery.last_seq = seq
                self.sync()
            return seqs
        self._write(b"".join(frame(s, p) for s, p in zip(seqs, payloads, strict=True)))
        self.recovery.last_seq = seqs[-1]
        if self.durability is Durability.GROUP:
            self.sync()
        return seqs

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._segment_size += len(data)
        self._unsynced = True

    def sync(self) -> None:
        """Force what was written to disk (``fdatasync``)."""
        if self._fd is not None and self._unsynced:
            os.fdatasync(self._fd)
            self._unsynced = False
            self.syncs += 1

    # -- reading --------------------------------------------------------------------------

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every record with a sequence number greater than ``after_seq``, in order."""
        segments = self.segments()
        for i, path in enumerate(segments):
            first = first_seq_of(path)
            nxt = first_seq_of(segments[i + 1]) if i + 1 < len(segments) else None
            if nxt is not None and nxt <= after_seq + 1:
                continue
            data = path.read_bytes()
            for item in scan(path, data, expect_seq=first, is_last=nxt is None):
                if isinstance(item, ScanResult):
                    break
                seq, payload = item
                if seq > after_seq:
                    yield seq, bytes(payload)

    # -- retention ------------------------------------------------------------------------

    def drop_before(self, seq: int) -> list[Path]:
        """Delete whole segments whose records all precede ``seq`` (never the current one)."""
        segments = self.segments()
        dropped = []
        for path, nxt in itertools.pairwise(segments):
            if first_seq_of(nxt) <= seq and path != self._segment:
                path.unlink()
                dropped.append(path)
        if dropped:
            fsync_dir(self.directory)
        return dropped

    def close(self) -> None:
        """Sync and close; safe to call twice."""
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
