"""A memory directory as the inspector reads it: never written to, never opened under a writer.

Opening a :class:`~memory.memory_os.MemoryOS` writes (it takes the directory's lock, recovers the
log, may truncate a torn tail). The inspector promises to read files in place and change
nothing, so it opens a *copy*: the directory is copied into a temporary one, under a shared lock
on ``LOCK`` so that no writer opens it mid-copy, and the copy is opened and recovered. A memory
that a running daemon or run holds (its ``LOCK`` is taken) is refused with the holder's pid:
copying files that are being written would show a state that never existed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cogos.errors import CogOSError
from memory import MemoryOS

# the copy leaves out the lock (the copy has its own) and SQLite's scratch files of the source
_SKIPPED = ("LOCK",)


class MemoryHeldError(CogOSError):
    """The memory is open in another process; the message names it and what to do."""


def is_memory_dir(root: Path) -> bool:
    """A directory made by the memory OS: it has a FORMAT marker (docs/wal.md).

    A malformed marker still makes it one; opening it then says what is wrong.
    """
    return (root / "FORMAT").is_file()


@contextlib.contextmanager
def _shared_lock(root: Path) -> Any:
    """Hold ``LOCK`` shared while copying; refuse when a writer holds it exclusively."""
    path = root / "LOCK"
    if not path.exists():  # never opened by a writer: nothing can be writing it
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise MemoryHeldError(
                f"{root} is open in process {holder} (a running daemon or run): the inspector "
                "does not read a memory while it is written. Stop that process, or inspect a "
                "copy taken while it is stopped (cp -r)."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class MemoryView:
    """A read-only view of one memory directory (see the module docstring)."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self._scratch = Path(tempfile.mkdtemp(prefix="cogos-inspect-"))
        copy = self._scratch / "memory"
        try:
            with _shared_lock(root):
                shutil.copytree(root, copy, ignore=lambda _d, names: [*_SKIPPED])
            self.memory = MemoryOS.open(copy)
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def summary(self) -> dict[str, Any]:
        stats = {**self.memory.stats(), "path": str(self.root)}  # not the copy's
        return {
            "key": self.key,
            "path": str(self.root),
            "stats": stats,
            "episodes": self.memory.episodes(),
            "mode": self.memory.config.retrieval.mode,
            "embedder": self.memory.embedder.name if self.memory.embedder is not None else None,
        }

    def search(
        self, query: str, k: int = 10, mode: str | None = None, expand: int | None = None
    ) -> list[dict[str, Any]]:
        return self.memory.explain(query, k, mode=mode, expand=expand)

    def item(self, item_id: int) -> dict[str, Any]:
        """The item page: its record, validity, heat and seq; an event's decision and why."""
        out = self.memory.details(item_id)
        if out["kind"] == "event":
            why = self.memory.why(item_id)
            out["decision"] = why["decision"]
            out["preceding"] = why["preceding"]
        out["neighbours"] = [i.to_json() for i in self.memory.neighbours(item_id)[:50]]
        return out

    def neighbourhood(self, item_id: int, limit: int = 30) -> list[tuple[str, str, str]]:
        return self.memory.neighbourhood(item_id, limit)

    def close(self) -> None:
        try:
            self.memory.close()
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
