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

A write that fails (``write`` or ``fdatasync`` raising: disk full, I/O error) is undone before
the error is raised (:class:`~memory.errors.WALWriteError`): the segment is cut back to its size
before the call (a segment the call began is removed), the sequence numbers do not advance, and
no record of the call is acknowledged, even those of an ``always`` batch that were already
synced. If the undo fails too, the log refuses every further append until it is reopened
(:class:`~memory.errors.WALUnusableError`).

Opening a log scans every segment without writing anything. Damage anywhere but at the very end
of the last segment, or damage with any intact frame after it, is refused
(:class:`~memory.errors.WALCorruptionError`). A *torn tail* (the last, incomplete or
unverifiable records of the last segment, never acknowledged under ``always``/``group``) is
reported in :attr:`LogRecovery.torn_tail`, and cut by :meth:`WriteAheadLog.truncate_torn_tail`,
which the opener calls once it has checked that no acknowledged record is in it
(``defer_truncation=True``), or at once when the log is opened with the default
``defer_truncation=False``. The log is single-writer; the memory OS holds a lock file so that a
second process cannot open the same directory.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory.errors import WALCorruptionError, WALUnusableError, WALWriteError
from memory.wal.format import (
    FORMAT_VERSION,
    MAX_PAYLOAD,
    SEGMENT_HEADER,
    SEGMENT_SUFFIX,
    frame,
    segment_header,
    segment_name,
)
from memory.wal.segment import ScanResult, first_seq_of, scan


class Durability(enum.StrEnum):
    """When appended records are forced to disk (see the module docstring)."""

    ALWAYS = "always"
    GROUP = "group"
    NONE = "none"


@dataclass(frozen=True)
class TornTail:
    """The unverifiable end of the last segment, found on open (nothing is changed yet).

    ``first_lost_seq`` is the sequence number the first lost record would carry: the log's last
    intact record is ``first_lost_seq - 1``. A view that has applied ``first_lost_seq`` (or a
    later one) proves the tail held an acknowledged record: the opener must refuse, not
    truncate. ``valid_end`` is the size the segment is cut to; 0 (with ``removes_file``) for a
    segment whose header was never completely written, which is removed instead.
    """

    path: Path
    valid_end: int
    size: int
    first_lost_seq: int
    reason: str
    removes_file: bool = False

    @property
    def lost_bytes(self) -> int:
        return self.size - self.valid_end

    def describe(self) -> str:
        what = "remove" if self.removes_file else f"cut to {self.valid_end} bytes"
        return (
            f"{self.path}: torn tail of {self.lost_bytes} bytes from seq {self.first_lost_seq} "
            f"({self.reason}); would {what}"
        )


@dataclass
class LogRecovery:
    """What opening the log found (and, once truncated, what it cut)."""

    segments: int = 0
    records: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    truncated_bytes: int = 0
    torn_reason: str | None = None
    removed_empty_segments: list[str] = field(default_factory=list)
    torn_tail: TornTail | None = None
    """The torn tail found by the scan, truncated or not (see ``tail_truncated``)."""
    tail_truncated: bool = False


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the directory synced too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


PREALLOCATE_BYTES = 1 << 20
"""Zeros written ahead of the end of the current segment, a mebibyte at a time.

A record appended inside them changes no file size, so its ``fdatasync`` writes the record's
pages and nothing else; appended at the end of the file, each sync also commits the new size
through the file system's journal, with whatever else that journal holds (the record store's
writes). On this project's machines that is 0.17 ms per sync instead of 0.25-0.4 ms, paid once
per observation by the daemon. A scan takes all-zero bytes after the last frame as the end of
the log (see :mod:`memory.wal.segment`); closing a log, or moving on to a new segment, cuts them.
"""


@dataclass
class _Current:
    """The segment appends go to."""

    fd: int
    path: Path
    size: int
    """Bytes of the segment's header and frames: where the next frame goes."""
    version: int
    allocated: int
    """Bytes in the file: ``size`` and the zeros written ahead of it."""


def _write_zeros_ahead(cur: _Current, end: int) -> None:
    """Fill the segment with zeros up to ``end`` (see :data:`PREALLOCATE_BYTES`).

    Without room for them (a full disk) the records are written without zeros ahead, so that
    a disk that can still take a record is not refused for the want of a mebibyte more.
    """
    try:
        _write_all(cur.fd, bytes(end - cur.allocated), cur.allocated)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(cur.fd, cur.allocated)
        return
    cur.allocated = end


def _cut_zeros(cur: _Current) -> None:
    """Cut the zeros written ahead of a segment's last frame, where nothing more will go.

    Tidiness, not safety: a scan reads them as the end of the log, so a failure is ignored.
    """
    if cur.allocated > cur.size:
        with contextlib.suppress(OSError):
            os.ftruncate(cur.fd, cur.size)
            cur.allocated = cur.size


class WriteAheadLog:
    """Append-only, segmented, checksummed log of opaque payloads with gap-free sequence numbers."""

    def __init__(
        self,
        directory: str | Path,
        *,
        durability: Durability | str = Durability.GROUP,
        segment_bytes: int = 64 * 1024 * 1024,
        on_record: Callable[[int, memoryview], None] | None = None,
        defer_truncation: bool = False,
    ) -> None:
        """Open (recovering) the log in ``directory``.

        ``on_record`` sees every intact record during the recovery scan, so that a caller can
        learn what it needs (the memory OS: the last checkpoint) without reading the log twice.

        The scan writes nothing. With ``defer_truncation=False`` a torn tail is truncated at
        the end of this constructor (the historical behaviour). With ``defer_truncation=True``
        it is only reported (:attr:`LogRecovery.torn_tail`): the log can be read, but appends
        are refused until :meth:`truncate_torn_tail` is called, which the opener does once every
        other check has passed, so that an open that refuses leaves the disk as it was.
        """
        self.directory = Path(directory)
        self.durability = Durability(durability)
        self.segment_bytes = segment_bytes
        self.preallocate = PREALLOCATE_BYTES  # (0: append at the end of the file)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._current: _Current | None = None
        self._unsynced = False
        self._broken: str | None = None  # why appends are refused (a failed undo or sync)
        self._closed = False
        self._pending: TornTail | None = None  # found, not yet truncated
        self._resume: ScanResult | None = None  # the segment appends continue in
        self.syncs = 0
        self._on_record = on_record
        self.recovery = self._recover()
        if not defer_truncation:
            self.truncate_torn_tail()

    # -- opening --------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"), key=first_seq_of)

    def _recover(self) -> LogRecovery:
        """Scan every segment; write nothing (see :meth:`truncate_torn_tail`)."""
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
            if i == len(segments) - 1 and len(data) < SEGMENT_HEADER.size:
                # a crash while a new segment was being created: it holds no record
                report.torn_tail = TornTail(
                    path,
                    0,
                    len(data),
                    first,
                    "incomplete segment header (a crash while the segment was created)",
                    removes_file=True,
                )
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
            assert last_result.torn_reason is not None
            report.torn_tail = TornTail(
                last_result.path,
                last_result.valid_end,
                last_result.size,
                last_result.next_seq,
                last_result.torn_reason,
            )
        self._pending = report.torn_tail
        self._resume = last_result
        if self._pending is None:
            self._open_resume()
        return report

    @property
    def torn_tail(self) -> TornTail | None:
        """The torn tail found on open and not truncated yet (None once truncated, or none)."""
        return self._pending

    def truncate_torn_tail(self) -> TornTail | None:
        """Cut the torn tail found on open (or remove a half-created segment); return it.

        Call only after checking that no acknowledged record is in it (no view has applied
        ``first_lost_seq``). Returns None when there was nothing to cut. Afterwards appends are
        accepted. Raises :class:`WALCorruptionError` if the file changed since the scan.
        """
        tail = self._pending
        if tail is None:
            return None
        try:
            size = tail.path.stat().st_size
        except FileNotFoundError:
            size = -1
        if size != tail.size:
            raise WALCorruptionError(
                tail.path,
                tail.valid_end,
                f"the segment is {size} bytes, not the {tail.size} found when the log was "
                "opened: it changed under the log; nothing was truncated",
                tail.first_lost_seq,
            )
        if tail.removes_file:
            os.unlink(tail.path)
            fsync_dir(self.directory)
            self.recovery.removed_empty_segments.append(tail.path.name)
        else:
            fd = os.open(tail.path, os.O_WRONLY)
            try:
                os.ftruncate(fd, tail.valid_end)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.recovery.truncated_bytes = tail.lost_bytes
            self.recovery.torn_reason = tail.reason
        self.recovery.tail_truncated = True
        self._pending = None
        self._open_resume()
        return tail

    def _open_resume(self) -> None:
        """Open the last segment for appending (writes nothing)."""
        last = self._resume
        if last is not None:
            fd = os.open(last.path, os.O_WRONLY)
            allocated = os.fstat(fd).st_size  # the zeros a killed writer had written ahead
            self._current = _Current(fd, last.path, last.valid_end, last.version, allocated)

    # -- writing --------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self.recovery.last_seq

    @property
    def usable(self) -> bool:
        """Whether appends are accepted (open, torn tail truncated, no failed undo)."""
        return not self._closed and self._pending is None and self._broken is None

    def _check_writable(self) -> None:
        if self._closed:
            raise RuntimeError(f"write-ahead log {self.directory} is closed")
        if self._pending is not None:
            raise RuntimeError(
                f"write-ahead log {self.directory} has a torn tail not truncated yet "
                f"({self._pending.describe()}): call truncate_torn_tail() before appending"
            )
        if self._broken is not None:
            raise WALUnusableError(
                self.directory,
                f"the write-ahead log refuses appends: {self._broken}; "
                "reopen the memory to recover it",
            )

    def _break(self, reason: str, exc: BaseException) -> WALUnusableError:
        self._broken = reason
        return WALUnusableError(
            self.directory,
            f"{reason}; the write-ahead log refuses every further append until it is reopened",
            getattr(exc, "errno", None),
        )

    def _begin_segment(self, first_seq: int) -> tuple[bool, _Current | None]:
        """Create a segment starting at ``first_seq`` and make it current.

        Returns whether undoing a failed write must remove the new segment again, and the
        previous current segment, still open (the caller closes it once the write succeeded, or
        restores it). A failure leaves no new file behind and raises :class:`WALWriteError`
        (:class:`WALUnusableError` if a half-made file cannot be removed).

        The one segment that may already bear the name is the current one, empty (a version 1
        segment that no record of this version may go into): it is replaced by an empty
        segment of this version, through a temporary file and a rename.
        """
        if self._unsynced:
            self.sync()
        path = self.directory / segment_name(first_seq)
        cur = self._current
        replace = cur is not None and cur.path == path
        if cur is not None and not replace:
            _cut_zeros(cur)
        if replace:
            assert cur is not None
            if cur.size != SEGMENT_HEADER.size:
                raise WALCorruptionError(path, cur.size, "the segment to begin exists with records")
            target = path.with_name(path.name + ".tmp")
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        else:
            target = path
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            raise WALWriteError(
                target, f"could not create a log segment: {exc}", exc.errno
            ) from exc
        renamed = False
        try:
            _write_all(fd, segment_header(), 0)
            os.fsync(fd)
            if replace:
                os.close(fd)
                fd = -1
                os.rename(target, path)
                renamed = True
                fd = os.open(path, os.O_WRONLY)
            fsync_dir(self.directory)
        except BaseException as exc:
            if fd >= 0:
                os.close(fd)
            try:
                if renamed:
                    raise OSError(f"{path} was already replaced")
                os.unlink(target)
                fsync_dir(self.directory)
            except OSError as undo:
                raise self._break(
                    f"creating segment {path} failed ({exc}) and could not be undone ({undo})",
                    exc,
                ) from exc
            if isinstance(exc, OSError):
                raise WALWriteError(
                    path, f"could not create a log segment (removed again): {exc}", exc.errno
                ) from exc
            raise
        self._current = _Current(fd, path, SEGMENT_HEADER.size, FORMAT_VERSION, SEGMENT_HEADER.size)
        if replace:
            assert cur is not None
            os.close(cur.fd)
            return False, None
        return True, cur

    def rotate(self) -> None:
        """Start a new segment now (a checkpoint does, so that everything before it can go)."""
        self._check_writable()
        if self._current is None or first_seq_of(self._current.path) <= self.last_seq:
            _, previous = self._begin_segment(self.last_seq + 1)
            if previous is not None:
                os.close(previous.fd)

    def append(self, payloads: Sequence[bytes]) -> list[int]:
        """Append payloads; return their sequence numbers once the durability policy is met.

        On failure nothing of this call stays in the log (see the module docstring).
        """
        if not payloads:
            return []
        self._check_writable()
        for payload in payloads:
            if len(payload) > MAX_PAYLOAD:
                raise ValueError(
                    f"a log record of {len(payload)} bytes is larger than {MAX_PAYLOAD}"
                )
        first = self.recovery.last_seq + 1
        seqs = list(range(first, first + len(payloads)))
        frames = [frame(s, p) for s, p in zip(seqs, payloads, strict=True)]
        cur = self._current
        began, previous = False, None
        # a new segment when the current one is full, and instead of a version 1 segment: no
        # record written by this version goes into a segment that says version 1
        if cur is None or cur.size >= self.segment_bytes or cur.version != FORMAT_VERSION:
            began, previous = self._begin_segment(first)
        assert self._current is not None
        start_size = self._current.size
        try:
            if self.durability is Durability.ALWAYS:
                for data in frames:
                    self._write(data)
                    self._fdatasync()
            else:
                self._write(b"".join(frames))
                if self.durability is Durability.GROUP:
                    self._fdatasync()
        except BaseException as exc:
            self._undo(start_size, began, previous, exc)
            raise  # _undo raises; this is for the type checker
        if previous is not None:
            os.close(previous.fd)
        self.recovery.last_seq = seqs[-1]
        return seqs

    def _write(self, data: bytes) -> None:
        cur = self._current
        assert cur is not None
        self._unsynced = True
        end = cur.size + len(data)
        if end > cur.allocated and self.preallocate > 0:
            _write_zeros_ahead(cur, end + self.preallocate)
        _write_all(cur.fd, data, cur.size)
        cur.size = end
        cur.allocated = max(cur.allocated, end)

    def _fdatasync(self) -> None:
        assert self._current is not None
        os.fdatasync(self._current.fd)
        self._unsynced = False
        self.syncs += 1

    def _undo(
        self, start_size: int, began: bool, previous: _Current | None, exc: BaseException
    ) -> None:
        """Put the log back as it was before a failed append, then raise."""
        cur = self._current
        assert cur is not None
        try:
            if began:  # the segment this call began goes again
                os.close(cur.fd)
                self._current = None
                os.unlink(cur.path)
                fsync_dir(self.directory)
                self._current = previous
            else:
                os.ftruncate(cur.fd, start_size)
                os.fsync(cur.fd)
                cur.size = cur.allocated = start_size
        except OSError as undo:
            if previous is not None and previous is not self._current:
                os.close(previous.fd)
            raise self._break(
                f"a write to {cur.path} failed ({exc}) and could not be undone ({undo})", exc
            ) from exc
        self._unsynced = False
        if isinstance(exc, OSError):
            raise WALWriteError(
                cur.path,
                f"appending to the write-ahead log failed ({exc}); the log was put back as it "
                "was before the call and none of its records were acknowledged",
                exc.errno,
            ) from exc
        raise exc

    def sync(self) -> None:
        """Force what was written to disk (``fdatasync``).

        A failure leaves unknown what reached the disk, so the log then refuses appends
        (:class:`WALUnusableError`) until it is reopened.
        """
        if self._current is not None and self._unsynced:
            if self._broken is not None:
                raise WALUnusableError(self.directory, f"cannot sync: {self._broken}")
            try:
                self._fdatasync()
            except OSError as exc:
                raise self._break(f"fdatasync of {self._current.path} failed ({exc})", exc) from exc

    # -- reading --------------------------------------------------------------------------

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every record with a sequence number greater than ``after_seq``, in order."""
        segments = self.segments()
        pending = self._pending
        if pending is not None and pending.removes_file:  # a half-created segment: no records
            segments = [p for p in segments if p != pending.path]
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
        current = self._current.path if self._current is not None else None
        dropped = []
        for path, nxt in itertools.pairwise(segments):
            if first_seq_of(nxt) <= seq and path != current:
                path.unlink()
                dropped.append(path)
        if dropped:
            fsync_dir(self.directory)
        return dropped

    def close(self) -> None:
        """Sync and close; safe to call twice (a log that refuses appends is closed unsynced)."""
        self._closed = True
        cur = self._current
        if cur is not None:
            try:
                if self._broken is None:
                    self.sync()
                    _cut_zeros(cur)
            finally:
                os.close(cur.fd)
                self._current = None

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
