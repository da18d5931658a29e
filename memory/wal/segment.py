"""Reading one segment file: frames out, and exactly where and why a scan stopped.

A scan never guesses. It ends cleanly at the end of the file; or at a *torn tail* (the last
frame is incomplete or fails its checksum and nothing valid follows it), which the log truncates;
or it raises :class:`~memory.errors.WALCorruptionError` when a damaged frame has valid data after
it, because skipping it would silently lose an acknowledged record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from memory.errors import FormatVersionError, WALCorruptionError
from memory.wal.format import (
    FORMAT_VERSION,
    FRAME_HEADER,
    MAGIC,
    MAX_PAYLOAD,
    SEGMENT_HEADER,
    SEGMENT_SUFFIX,
    frame_crc,
)


@dataclass
class ScanResult:
    """Where a segment scan ended: ``valid_end`` is the byte offset after the last good frame."""

    path: Path
    first_seq: int
    last_seq: int | None
    records: int
    valid_end: int
    size: int
    torn_reason: str | None = None

    @property
    def torn(self) -> bool:
        return self.valid_end < self.size


def first_seq_of(path: Path) -> int:
    stem = path.name[: -len(SEGMENT_SUFFIX)]
    if not stem.isdigit():
        raise WALCorruptionError(path, 0, "segment file name is not a sequence number")
    return int(stem)


def check_header(path: Path, data: bytes | memoryview) -> None:
    if len(data) < SEGMENT_HEADER.size:
        raise WALCorruptionError(path, 0, "segment header is incomplete")
    magic, version, _ = SEGMENT_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise WALCorruptionError(path, 0, f"bad magic {bytes(magic)!r}, expected {MAGIC!r}")
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"{path}: WAL format version {version} is newer than this CogOS reads "
            f"({FORMAT_VERSION}); upgrade CogOS to open it"
        )


def _valid_frame_after(data: memoryview, start: int, seq: int) -> bool:
    """Tell whether an intact frame (sequence ``seq`` to ``seq + 2``) starts after ``start``.

    Used only once damage is found: if intact records follow the damage, it is not a torn tail
    and must not be truncated away. The search looks for the sequence number's bytes (a fast
    substring search) instead of trusting the damaged frame's length field.
    """
    raw = data.obj if isinstance(data.obj, bytes) else bytes(data)
    for candidate in (seq, seq + 1, seq + 2):
        needle = candidate.to_bytes(8, "little")
        pos = raw.find(needle, start + 1)
        while pos != -1:
            frame_start = pos - 4  # the u64 seq follows the u32 length
            if frame_start > start and _valid_frame_at(data, frame_start, candidate):
                return True
            pos = raw.find(needle, pos + 1)
    return False


def _valid_frame_at(data: memoryview, offset: int, seq: int) -> bool:
    """Tell whether an intact frame with sequence number ``seq`` starts at ``offset``."""
    if offset + FRAME_HEADER.size > len(data):
        return False
    length, fseq, crc = FRAME_HEADER.unpack_from(data, offset)
    end = offset + FRAME_HEADER.size + length
    if fseq != seq or length > MAX_PAYLOAD or end > len(data):
        return False
    return bool(frame_crc(length, fseq, data[offset + FRAME_HEADER.size : end]) == crc)


def scan(
    path: Path, data: bytes, *, expect_seq: int, is_last: bool
) -> Iterator[tuple[int, memoryview] | ScanResult]:
    """Yield ``(seq, payload)`` for each good frame, then one final :class:`ScanResult`.

    ``expect_seq`` is the sequence number the first frame must carry. Damage in a segment that
    is not the last one, or damage followed by an intact next frame, raises
    WALCorruptionError; damage at the very end of the last segment is reported as a torn tail.
    """
    view = memoryview(data)
    check_header(path, view)
    offset = SEGMENT_HEADER.size
    size = len(view)
    seq = expect_seq
    records = 0
    torn: str | None = None
    header_size = FRAME_HEADER.size
    while offset < size:
        if offset + header_size > size:
            torn = "incomplete frame header"
            break
        length, fseq, crc = FRAME_HEADER.unpack_from(view, offset)
        end = offset + header_size + length
        if length > MAX_PAYLOAD or end > size:
            torn = "frame runs past the end of the file"
        else:
            payload = view[offset + header_size : end]
            if fseq != seq:
                torn = f"sequence {fseq}, expected {seq}"
            elif frame_crc(length, fseq, payload) != crc:
                torn = "checksum mismatch"
        if torn is not None:
            if _valid_frame_after(view, offset, seq):
                raise WALCorruptionError(path, offset, torn, seq)
            break
        yield seq, payload
        records += 1
        seq += 1
        offset = end
    if torn is not None and not is_last:
        raise WALCorruptionError(path, offset, f"{torn} in a segment that is not the last", seq)
    yield ScanResult(
        path,
        expect_seq,
        seq - 1 if records else None,
        records,
        offset,
        size,
        torn,
    )
