"""The root of CogOS's errors, and the memory OS's own.

``CogOSError`` is defined here, in the lowest layer, so that every package can derive from the
one root without importing upward (``cogos.errors`` re-exports it and adds the kernel's errors)::

    CogOSError
    └── MemoryOSError
        ├── WALCorruptionError          a bad record before the tail of the log (never skipped)
        ├── WALWriteError               a write to the log failed and was undone (not acknowledged)
        │   └── WALUnusableError        ... and could not be undone: no appends until reopened
        ├── CheckpointError             a checkpoint file missing, unreadable or not matching
        ├── ViewMismatchError           after recovery the views disagree with the log
        ├── FormatVersionError          a directory written by a newer (or foreign) format
        │   └── UnknownOperationError   a log record whose operation this version does not know
        ├── MemoryLockedError           another process holds the directory
        ├── DimensionError (ValueError) a vector of the wrong shape
        ├── UnknownItemError (KeyError) no live item with that id
        ├── ViewDamagedError            a view's files missing or damaged (``cogos memory rebuild``)
        └── SnapshotUnavailable         memory.snapshot: the log no longer reaches that far back
"""

from __future__ import annotations

from pathlib import Path


class CogOSError(Exception):
    """Root of all errors raised by CogOS on purpose."""


class MemoryOSError(CogOSError):
    """Base of the memory OS's errors."""


class WALCorruptionError(MemoryOSError):
    """A record that fails its checksum (or breaks the sequence) with valid data after it.

    A torn *tail* is expected after a crash and is truncated; damage anywhere else means
    acknowledged data is at stake, so recovery stops and says where.
    """

    def __init__(self, path: str | Path, offset: int, reason: str, seq: int | None = None) -> None:
        self.path = str(path)
        self.offset = offset
        self.reason = reason
        self.seq = seq
        at = f" (record seq {seq})" if seq is not None else ""
        super().__init__(f"{self.path}: corrupt WAL record at byte {offset}{at}: {reason}")


class WALWriteError(MemoryOSError):
    """Appending to the log failed (disk full, I/O error); the ``OSError`` is the cause.

    The log was put back as it was before the call: nothing the call tried to write is in it,
    the sequence numbers did not advance, and the next append (once there is space) continues
    cleanly. No record of the failed call was acknowledged.
    """

    def __init__(self, path: str | Path, message: str, errno: int | None = None) -> None:
        self.path = str(path)
        self.errno = errno
        super().__init__(f"{self.path}: {message}")


class WALUnusableError(WALWriteError):
    """A failed write could not be undone (or a sync failed): the log refuses every append.

    What is on disk after the last acknowledged record is unknown, so nothing more is written;
    reopening the memory recovers the log (an unfinished frame is a torn tail there).
    """


class CheckpointError(MemoryOSError):
    """A checkpoint named in the log cannot be used."""


class ViewMismatchError(MemoryOSError):
    """The vector index, record store and graph disagree after recovery."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("memory views disagree: " + "; ".join(problems))


class FormatVersionError(MemoryOSError):
    """The directory was written by a format this version cannot read."""


class UnknownOperationError(FormatVersionError):
    """A log record carries an operation code this version does not know (never skipped)."""

    def __init__(self, seq: int | None, op: int | None) -> None:
        self.seq = seq
        self.op = op
        record = f"log record seq {seq}" if seq is not None else "a log record"
        what = f"unknown operation {op}" if op is not None else "no operation (empty payload)"
        super().__init__(
            f"{record} has {what} (this CogOS knows 1 put, 2 delete, 3 checkpoint, 4 expire): "
            "it was written by a newer CogOS, or is damaged"
        )


class MemoryLockedError(MemoryOSError):
    """Another process has this memory directory open."""


class DimensionError(MemoryOSError, ValueError):
    """A vector whose shape does not match the store's dimension."""


class UnknownItemError(MemoryOSError, KeyError):
    """No live item has this id (sequence number)."""

    def __init__(self, seq: int, detail: str = "") -> None:
        self.seq = seq
        super().__init__(f"no memory item with id {seq}" + (f" ({detail})" if detail else ""))

    def __str__(self) -> str:
        return str(self.args[0])


class ViewDamagedError(MemoryOSError):
    """A view's files are missing or damaged; ``cogos memory rebuild`` rebuilds it.

    ``view`` is ``records`` or ``index``. The open that found it changed nothing on disk.
    """

    def __init__(self, root: object, view: str, problem: str) -> None:
        self.view = view
        super().__init__(
            f"{root}: {problem}; rebuild it with: cogos memory rebuild {root} --view {view}"
        )
