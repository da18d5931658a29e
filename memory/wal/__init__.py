"""The write-ahead log: segmented, checksummed, with a durability policy per store."""

from memory.wal.format import FORMAT_VERSION, MAGIC
from memory.wal.log import Durability, LogRecovery, WriteAheadLog, fsync_dir

__all__ = ["FORMAT_VERSION", "MAGIC", "Durability", "LogRecovery", "WriteAheadLog", "fsync_dir"]
