"""Reading one segment file: frames out, and exactly where and why a scan stopped.

A scan never guesses and never writes. It ends cleanly at the end of the file, or where only
zeros follow the last frame (the room a writer fills with zeros ahead of its records, see
:data:`memory.wal.log.PREALLOCATE_BYTES`; no frame header is all zeros, since sequence numbers
start at 1). Or it ends at a *torn tail* (the last frame is incomplete or fails its checksum and
nothing valid follows it), which it reports (the log decides when to truncate it). Or it raises
:class:`~memory.errors.WALCorruptionError` when a damaged frame has any valid frame after it,
however far, because skipping or truncating it would lose acknowledged records.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memory.errors import FormatVersionError, WALCorruptionError
from memory.wal.format import (
    FORMAT_VERSION,
    FRAME_HEADER,
    FRAME_PREFIX,
    MAGIC,
    MAX_PAYLOAD,
    READABLE_VERSIONS,
    SEGMENT_HEADER,
    SEGMENT_SUFFIX,
    frame_crc,
)

_SEQ_SPAN = 1 << 32  # a frame after damage carries seq in [expected, expected + this)
_FIRST_CHUNK = 1 << 16  # offsets tried at once by the search for a valid frame (doubling)
_MAX_CHUNK = 1 << 22


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
    version: int = FORMAT_VERSION

    @property
    def torn(self) -> bool:
        return self.torn_reason is not None

    @property
    def next_seq(self) -> int:
        """The sequence number the frame at ``valid_end`` would carry (the first one lost)."""
        return self.first_seq + self.records


def first_seq_of(path: Path) -> int:
    stem = path.name[: -len(SEGMENT_SUFFIX)]
    if not stem.isdigit():
        raise WALCorruptionError(path, 0, "segment file name is not a sequence number")
    return int(stem)


def check_header(path: Path, data: bytes | memoryview) -> int:
    """Check a segment's header; return its format version."""
    if len(data) < SEGMENT_HEADER.size:
        raise WALCorruptionError(path, 0, "segment header is incomplete")
    magic, version, reserved = SEGMENT_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise WALCorruptionError(path, 0, f"bad magic {bytes(magic)!r}, expected {MAGIC!r}")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        if version > FORMAT_VERSION:
            raise FormatVersionError(
                f"{path}: WAL format version {version} is newer than this CogOS reads "
                f"({readable}); upgrade CogOS to open it"
            )
        raise FormatVersionError(
            f"{path}: unknown WAL format version {version} (this CogOS reads {readable}); "
            "the segment header is damaged or was not written by CogOS"
        )
    if reserved != 0:
        raise WALCorruptionError(path, 12, f"reserved header field is {reserved}, expected 0")
    return int(version)


def find_valid_frame(data: memoryview, start: int, seq: int) -> tuple[int, int] | None:
    """The first intact frame after byte ``start`` with a sequence number from ``seq`` on.

    Returns ``(offset, seq)`` or None. Used only once damage is found at ``start`` (where the
    frame with sequence number ``seq`` should be): if any intact frame follows the damage,
    however far and however many frames were destroyed, it is not a torn tail and must not be
    truncated away. The damaged length field is not trusted: every offset is tried. A cheap
    vectorised pre-check (the length field fits the file, the sequence number is at least
    ``seq`` and less than ``seq + 2**32``) picks the candidates, and their CRCs are computed
    together (:func:`_frame_crcs`), so that the search stays linear in the segment's size even
    where most offsets pass the pre-check (sparse vectors are full of small integers).
    """
    size = len(data)
    header = FRAME_HEADER.size
    last = size - header  # the last offset where a frame header fits
    lo = start + 1
    chunk = _FIRST_CHUNK
    while lo <= last:
        hi = min(lo + chunk, last + 1)
        chunk = min(chunk * 2, _MAX_CHUNK)
        n = hi - lo
        lengths = np.ndarray((n,), dtype="<u4", buffer=data, offset=lo, strides=(1,))
        seqs = np.ndarray((n,), dtype="<u8", buffer=data, offset=lo + 4, strides=(1,))
        room = np.arange(last - lo, last - hi, -1, dtype=np.int64)  # payload bytes that fit
        fits = lengths.astype(np.int64) <= np.minimum(room, MAX_PAYLOAD)
        plausible = fits & (seqs >= np.uint64(seq)) & (seqs - np.uint64(seq) < _SEQ_SPAN)
        index = np.flatnonzero(plausible)
        if index.size:
            offsets = index.astype(np.int64) + lo
            crcs = np.ndarray((n,), dtype="<u4", buffer=data, offset=lo + 12, strides=(1,))
            computed = _frame_crcs(data, offsets, lengths[index].astype(np.int64))
            for i in np.flatnonzero(computed == crcs[index]):
                offset = int(offsets[i])
                length, fseq, crc = FRAME_HEADER.unpack_from(data, offset)
                body = data[offset + header : offset + header + length]
                if frame_crc(length, fseq, body) == crc:  # confirmed the plain way
                    return offset, int(fseq)
        lo = hi
    return None


# -- CRC-32 of many frames at once ------------------------------------------------------------
#
# zlib's CRC-32 is linear over GF(2): with raw(c, M) the register after feeding M from state c
# (no pre- or post-inversion), raw(c, M) = Z_|M|(c) ^ raw(0, M), where Z_n, "feed n zero bytes",
# is a linear map of the 32-bit state. So with Q_x = raw(0, data[b:x]) known at the few
# positions needed (one zlib pass over the data), the CRC of any frame is a few table lookups.

_POLY = 0xEDB88320
_ONES = 0xFFFFFFFF
_LENGTH_BITS = MAX_PAYLOAD.bit_length()  # Z_(2**i) for every bit a length can have


@functools.cache
def _byte_table() -> npt.NDArray[np.uint32]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return np.array(table, dtype=np.uint32)


@functools.cache
def _zero_tables() -> list[npt.NDArray[np.uint32]]:
    """For each i, Z_(2**i) as four 256-entry tables, one per byte of the state."""
    byte = [int(v) for v in _byte_table()]

    def apply(columns: list[int], state: int) -> int:
        out = 0
        j = 0
        while state:
            if state & 1:
                out ^= columns[j]
            state >>= 1
            j += 1
        return out

    columns = [byte[(1 << j) & 0xFF] ^ ((1 << j) >> 8) for j in range(32)]  # Z_1
    values = np.arange(256, dtype=np.uint32)
    tables = []
    for _ in range(_LENGTH_BITS):
        lanes = np.zeros((4, 256), dtype=np.uint32)
        for lane in range(4):
            for bit in range(8):
                on = ((values >> np.uint32(bit)) & np.uint32(1)).astype(bool)
                lanes[lane][on] ^= np.uint32(columns[lane * 8 + bit])
        tables.append(lanes)
        columns = [apply(columns, c) for c in columns]  # Z_2n = Z_n after Z_n
    return tables


def _feed_zeros(state: npt.NDArray[np.uint32], counts: npt.NDArray[np.int64]) -> None:
    """``state[k] = Z_counts[k](state[k])``, in place."""
    top = int(counts.max()) if counts.size else 0
    for i, lanes in enumerate(_zero_tables()[: top.bit_length()]):
        on = ((counts >> i) & 1).astype(bool)
        if not on.any():
            continue
        x = state[on]
        state[on] = (
            lanes[0][x & 0xFF]
            ^ lanes[1][(x >> np.uint32(8)) & 0xFF]
            ^ lanes[2][(x >> np.uint32(16)) & 0xFF]
            ^ lanes[3][x >> np.uint32(24)]
        )


def _frame_crcs(
    data: memoryview, offsets: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint32]:
    """The CRC each frame header at ``offsets`` (with payload ``lengths``) should carry."""
    table = _byte_table()
    raw = np.frombuffer(data, dtype=np.uint8)
    header = FRAME_HEADER.size
    state = np.full(offsets.shape, _ONES, dtype=np.uint32)
    for i in range(FRAME_PREFIX.size):  # the length and seq fields, byte by byte
        state = table[(state ^ raw[offsets + i]) & 0xFF] ^ (state >> np.uint32(8))
    begin = offsets + header
    end = begin + lengths
    positions = np.unique(np.concatenate([begin, end]))
    q = 0
    prev = int(positions[0])
    found = []
    for x in positions.tolist():
        q = zlib.crc32(data[prev:x], q ^ _ONES) ^ _ONES
        found.append(q)
        prev = x
    at = np.array(found, dtype=np.uint32)
    q_begin = at[np.searchsorted(positions, begin)]
    q_end = at[np.searchsorted(positions, end)]
    state ^= q_begin
    _feed_zeros(state, lengths)
    result: npt.NDArray[np.uint32] = state ^ q_end ^ np.uint32(_ONES)
    return result


_ZERO_HEADER = bytes(FRAME_HEADER.size)


def _only_zeros(view: memoryview, offset: int) -> bool:
    """Whether every byte from ``offset`` on is zero.

    Asked only where a frame fails to parse, which an all-zero header always does: its checksum
    field is 0, and the CRC of a zero length and sequence number is not.
    """
    if view[offset : offset + FRAME_HEADER.size] != _ZERO_HEADER[: len(view) - offset]:
        return False
    return not np.frombuffer(view, dtype=np.uint8, offset=offset).any()


def holds_records(data: bytes) -> bool:
    """Whether a segment file's bytes hold anything after its header but zeros."""
    return bool(data[SEGMENT_HEADER.size :].strip(b"\0"))


def scan(
    path: Path, data: bytes, *, expect_seq: int, is_last: bool
) -> Iterator[tuple[int, memoryview] | ScanResult]:
    """Yield ``(seq, payload)`` for each good frame, then one final :class:`ScanResult`.

    ``expect_seq`` is the sequence number the first frame must carry. Damage in a segment that
    is not the last one, or damage followed by any intact frame, raises WALCorruptionError;
    damage at the very end of the last segment is reported as a torn tail. Nothing is written.
    """
    view = memoryview(data)
    version = check_header(path, view)
    offset = SEGMENT_HEADER.size
    size = len(view)
    seq = expect_seq
    records = 0
    torn: str | None = None
    header_size = FRAME_HEADER.size
    while offset < size:
        if offset + header_size > size:
            torn = "incomplete frame header"
        else:
            length, fseq, crc = FRAME_HEADER.unpack_from(view, offset)
            end = offset + header_size + length
            if length > MAX_PAYLOAD or end > size:
                torn = "frame runs past the end of the file"
            else:
                payload = view[offset + header_size : end]
                if frame_crc(length, fseq, payload) != crc:
                    torn = "checksum mismatch"
                elif fseq != seq:  # an intact frame out of sequence: no torn write does that
                    raise WALCorruptionError(path, offset, f"sequence {fseq}, expected {seq}", seq)
        if torn is not None and _only_zeros(view, offset):
            torn = None  # room written ahead of the records: the log ends here
            break
        if torn is not None:
            found = find_valid_frame(view, offset, seq)
            if found is not None:
                at, found_seq = found
                raise WALCorruptionError(
                    path,
                    offset,
                    f"{torn}, and an intact record (seq {found_seq}) follows at byte {at}: "
                    "damage before the end of the log",
                    seq,
                )
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
        version,
    )
