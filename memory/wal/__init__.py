"""The write-ahead log: segmented, checksummed, with a durability policy per store."""

from memory.wal.format import FORMAT_VERSION, MAGIC, READABLE_VERSIONS
from memory.wal.log import Durability, LogRecovery, TornTail, WriteAheadLog, fsync_dir

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "READABLE_VERSIONS",
    "Durability",
    "LogRecovery",
    "TornTail",
    "WriteAheadLog",
    "fsync_dir",
]
