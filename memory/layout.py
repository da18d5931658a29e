"""The memory directory: its format marker, its lock, and where each view keeps its files.

::

    <dir>/FORMAT                  JSON: format name and version, dim, metric, index kind
    <dir>/LOCK                    held (flock) by the one process that has the directory open
    <dir>/wal/<seq>.seg           the write-ahead log (docs/wal.md)
    <dir>/records.sqlite          the record store (plus SQLite's -wal/-shm files)
    <dir>/checkpoints/index-<seq>.vix   vector index snapshots
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory.errors import FormatVersionError, MemoryLockedError
from memory.wal.log import fsync_dir

FORMAT_NAME = "cogos-memory"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Where each part of a memory directory lives."""

    root: Path

    @property
    def wal(self) -> Path:
        return self.root / "wal"

    @property
    def records(self) -> Path:
        return self.root / "records.sqlite"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def format_file(self) -> Path:
        return self.root / "FORMAT"


def read_format(layout: Layout) -> dict[str, Any] | None:
    """The format marker of an existing directory, or None for a new one."""
    path = layout.format_file
    if not path.exists():
        return None
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FormatVersionError(f"{path}: unreadable format marker ({exc})") from exc
    return found


def _write_marker(layout: Layout, marker: dict[str, Any]) -> None:
    path = layout.format_file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(marker, indent=2) + "\n")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)
    fsync_dir(layout.root)


def read_or_create_format(layout: Layout, settings: dict[str, Any]) -> dict[str, Any]:
    """Check (or, for a new directory, write) the format marker.

    A directory written by a newer format version, or by something that is not CogOS memory, is
    refused; so is one created with a different vector dimension or metric, which would make
    every stored vector meaningless to new queries.
    """
    path = layout.format_file
    found = read_format(layout)
    if found is not None:
        if found.get("format") != FORMAT_NAME:
            raise FormatVersionError(
                f"{path}: not a CogOS memory directory ({found.get('format')!r})"
            )
        if int(found.get("version", 0)) > FORMAT_VERSION:
            raise FormatVersionError(
                f"{layout.root} was written by memory format version {found['version']}; this "
                f"CogOS reads up to version {FORMAT_VERSION}: upgrade CogOS to open it"
            )
        for key in ("dim", "metric"):
            if key in settings and found.get(key) != settings[key]:
                raise FormatVersionError(
                    f"{layout.root} was created with {key}={found.get(key)!r}, "
                    f"but {key}={settings[key]!r} was configured"
                )
        wanted = settings.get("embedder")
        recorded = found.get("embedder")
        if wanted is not None and recorded is not None and recorded["space"] != wanted["space"]:
            raise FormatVersionError(
                f"{layout.root} holds vectors made by embedder {recorded['space']!r}; "
                f"{wanted['space']!r} makes vectors of another space and cannot be mixed in"
            )
        if wanted is not None and recorded is None:  # the first embedder used fixes the space
            found = {**found, "embedder": wanted}
            _write_marker(layout, found)
        return dict(found)
    layout.root.mkdir(parents=True, exist_ok=True)
    marker = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **settings}
    _write_marker(layout, marker)
    return marker


class DirectoryLock:
    """An exclusive ``flock`` on ``<dir>/LOCK``, released on close or process death."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "LOCK"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            self._fd = None
            raise MemoryLockedError(
                f"{root} is open in another process (pid {holder}); close it first"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
