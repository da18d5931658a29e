"""Byte layout of WAL segments (documented for users in docs/wal.md).

Segment file ``<first_seq:020d>.seg``::

    header  16 bytes   magic b"CGOSWAL1" | u32 format version | u32 reserved (0)
    frame*             u32 payload length | u64 seq | u32 crc32 | payload

All integers little-endian. The current segment may end in zeros written ahead of its frames (see
:data:`memory.wal.log.PREALLOCATE_BYTES`); a scan takes them as its end. The CRC32 (zlib) covers the
length, the sequence number and the payload, so a damaged length field is caught as surely as a
damaged payload. Sequence numbers increase by exactly one from frame to frame and across segments.

Format versions: 1 (the first; its frames are laid out as in 2) and 2 (the current one, which
added the expire operation, ``skill`` entries and the ``vf``/``vt`` validity keys; see
:mod:`memory.codec`). New segments are written as :data:`FORMAT_VERSION`; a segment of any
version outside :data:`READABLE_VERSIONS` is refused.
"""

from __future__ import annotations

import struct
import zlib

MAGIC = b"CGOSWAL1"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SEGMENT_HEADER = struct.Struct("<8sII")
FRAME_HEADER = struct.Struct("<IQI")
FRAME_PREFIX = struct.Struct("<IQ")  # the part of the header the CRC covers
MAX_PAYLOAD = 256 * 1024 * 1024  # a larger length field can only be damage
SEGMENT_SUFFIX = ".seg"


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def segment_header(version: int = FORMAT_VERSION) -> bytes:
    return SEGMENT_HEADER.pack(MAGIC, version, 0)


def frame(seq: int, payload: bytes) -> bytes:
    """One framed record, ready to append."""
    prefix = FRAME_PREFIX.pack(len(payload), seq)
    crc = zlib.crc32(payload, zlib.crc32(prefix))
    return prefix + struct.pack("<I", crc) + payload


def frame_crc(length: int, seq: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(FRAME_PREFIX.pack(length, seq)))
