"""Log record payloads: one byte of operation, a JSON body, and an optional raw float32 vector.

Layout: ``u8 op | u32 body length | body (UTF-8 JSON) | vector (float32 little-endian)``.
Operations: put (an entry), delete (a tombstone: hard delete), checkpoint, expire (end an
entry's validity: a soft delete). An operation code outside these is refused
(:class:`~memory.errors.UnknownOperationError`), never skipped: a record a reader does not
understand may be one that changes what the others mean.
JSON keeps the log readable and forward compatible (unknown keys are ignored by older readers of
the same major format); the vector stays binary because it is most of the bytes and JSON floats
would be slow to write and to parse.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from memory.entries import Entry, Vector
from memory.errors import UnknownOperationError
from memory.fastjson import dumps

OP_PUT = 1
OP_DELETE = 2
OP_CHECKPOINT = 3
OP_EXPIRE = 4
OPS = frozenset({OP_PUT, OP_DELETE, OP_CHECKPOINT, OP_EXPIRE})
_HEAD = struct.Struct("<BI")


@dataclass(frozen=True)
class LogOp:
    """A decoded log record."""

    seq: int
    op: int
    body: dict[str, Any]
    vector: Vector | None


def encode_body(op: int, body: dict[str, Any], vector: Vector | None = None) -> bytes:
    raw = dumps(body).encode()
    vec = b"" if vector is None else vector.astype("<f4", copy=False).tobytes()
    return _HEAD.pack(op, len(raw)) + raw + vec


def put_body(entry: Entry) -> dict[str, Any]:
    """The JSON body of a put record (short keys: it is written once per item)."""
    body: dict[str, Any] = {"k": entry.kind, "t": entry.time}
    if entry.text:
        body["x"] = entry.text
    if entry.facts:
        body["f"] = list(map(list, entry.facts))
    if entry.metadata:
        body["m"] = entry.metadata
    if entry.episode is not None:
        body["e"] = entry.episode
    if entry.agent is not None:
        body["a"] = entry.agent
    if entry.decision is not None:
        body["d"] = entry.decision
    if entry.entities:
        body["n"] = list(entry.entities)
    if entry.valid_from is not None:
        body["vf"] = entry.valid_from
    valid_to = entry.effective_valid_to
    if valid_to is not None:
        body["vt"] = valid_to
    return body


def peek_op(payload: bytes | memoryview, seq: int | None = None) -> int:
    """The operation of a record without decoding it (recovery looks for checkpoints this way).

    Raises :class:`UnknownOperationError` for an operation this version does not know.
    """
    if not len(payload):
        raise UnknownOperationError(seq, None)
    op = int(payload[0])
    if op not in OPS:
        raise UnknownOperationError(seq, op)
    return op


def _head(seq: int, payload: bytes | memoryview) -> tuple[int, int]:
    if len(payload) < _HEAD.size:
        raise UnknownOperationError(seq, int(payload[0]) if len(payload) else None)
    op, n = _HEAD.unpack_from(payload, 0)
    if op not in OPS:
        raise UnknownOperationError(seq, op)
    return op, n


def decode(seq: int, payload: bytes | memoryview) -> LogOp:
    """Decode a record; an unknown operation raises :class:`UnknownOperationError`."""
    op, n = _head(seq, payload)
    start = _HEAD.size
    body = json.loads(bytes(payload[start : start + n]))
    rest = payload[start + n :]
    vector = np.frombuffer(rest, dtype="<f4").astype(np.float32, copy=True) if len(rest) else None
    return LogOp(seq, op, body, vector)


def decode_vector(seq: int, payload: bytes | memoryview) -> LogOp:
    """A put record's vector without parsing its JSON body (replay into the index only)."""
    op, n = _head(seq, payload)
    rest = payload[_HEAD.size + n :]
    vector = np.frombuffer(rest, dtype="<f4").astype(np.float32, copy=True) if len(rest) else None
    return LogOp(seq, op, {}, vector)


def entry_of(body: dict[str, Any], vector: Vector | None) -> Entry:
    """The :class:`Entry` a put record holds."""
    return Entry(
        kind=body["k"],
        text=body.get("x", ""),
        vector=vector,
        facts=tuple(map(tuple, body.get("f", ()))),
        metadata=body.get("m", {}),
        episode=body.get("e"),
        agent=body.get("a"),
        time=body["t"],
        decision=body.get("d"),
        entities=tuple(body.get("n", ())),
        valid_from=body.get("vf"),
        valid_to=body.get("vt"),
    )
