"""The checkpoint protocol, step by step, with named crash points for the crash tests.

1. sync the log, so every applied record is durable in it;
2. make the record store durable (a full SQLite checkpoint);
3. write the vector index to ``index-<seq>.vix.tmp`` and a copy of the record store to
   ``records-<seq>.sqlite.tmp``, and fsync them;
4. rename them to ``index-<seq>.vix`` and ``records-<seq>.sqlite`` and fsync the directory;
5. start a new log segment and append a checkpoint record naming the files, their CRC32s and
   counts;
6. drop the log segments that only hold records up to ``seq``, and older snapshot files.

The two snapshots are what makes every view rebuildable once the log before the checkpoint is
gone: the record store from its copy and the log after it, the vector index from the vectors the
record store keeps (``cogos memory rebuild``).

A crash before step 5 leaves the previous checkpoint in force (a stray new index file is ignored
and removed later); a crash after it leaves old segments that the next checkpoint drops. Recovery
loads the index named by the *last checkpoint record in the log*, checks its CRC, and replays the
log after it.

``COGOS_MEMORY_CRASH_AT=<step>[,<step>]`` makes the process kill itself (SIGKILL) at the named
points; the test suite uses it to crash at every step. It is read once, at import.
"""

from __future__ import annotations

import os
import signal
import zlib
from pathlib import Path

CRASH_POINTS = (
    "before_records_durable",
    "after_records_durable",
    "after_index_tmp",
    "after_index_rename",
    "after_checkpoint_record",
    "after_drop_segments",
)
_CRASH_AT = frozenset(p for p in os.environ.get("COGOS_MEMORY_CRASH_AT", "").split(",") if p)


def crash_point(name: str) -> None:
    """Die here, hard, if the test harness asked for it."""
    if name in _CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def index_file_name(seq: int) -> str:
    return f"index-{seq:020d}.vix"


def records_file_name(seq: int) -> str:
    return f"records-{seq:020d}.sqlite"


def file_crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())
