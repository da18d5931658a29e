"""The memory directory: its format marker, its lock, and where each view keeps its files.

::

    <dir>/FORMAT                  JSON: format name and version, dim, metric, index kind
    <dir>/LOCK                    held (flock) by the one process that has the directory open
    <dir>/wal/<seq>.seg           the write-ahead log (docs/wal.md)
    <dir>/records.sqlite          the record store (plus SQLite's -wal/-shm files)
    <dir>/checkpoints/index-<seq>.vix   vector index snapshots

The FORMAT marker is checked before anything in the directory is touched, and an open that
refuses leaves the directory as it found it. A new directory's marker is written first (before
its log and record store, so a crash while it is being made leaves a directory that opens), and
:meth:`FormatPlan.undo` removes what a failed open of a new directory made. An existing marker is
only ever rewritten by :meth:`FormatPlan.commit`, once the open has succeeded.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from memory.config import IndexConfig, MemoryConfig
from memory.errors import FormatVersionError, MemoryLockedError
from memory.wal.format import SEGMENT_SUFFIX
from memory.wal.log import fsync_dir
from memory.wal.segment import holds_records

FORMAT_NAME = "cogos-memory"
# 2: the log may hold expire records (op 4), skill entries and validity keys (vf, vt) in puts,
# which a version-1 reader would misread. Version-1 directories are read as they are, and marked
# version 2 by the first open that succeeds (from then on this CogOS writes version-2 records).
FORMAT_VERSION = 2

METRICS: tuple[str, ...] = get_args(MemoryConfig.model_fields["metric"].annotation)
INDEX_KINDS: tuple[str, ...] = get_args(IndexConfig.model_fields["kind"].annotation)

# what a directory holds once it has been used; a failed open of a new directory removes these
_MADE_BY_AN_OPEN = (
    "FORMAT",
    "FORMAT.tmp",
    "wal",
    "records.sqlite",
    "records.sqlite-wal",
    "records.sqlite-shm",
    "records.sqlite-journal",
    "checkpoints",
)


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

    def sqlite_scratch(self) -> list[Path]:
        """SQLite's side files of the record store (made by opening it in WAL mode)."""
        return [self.root / "records.sqlite-wal", self.root / "records.sqlite-shm"]

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def format_file(self) -> Path:
        return self.root / "FORMAT"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _malformed(path: Path, problem: str) -> FormatVersionError:
    return FormatVersionError(f"{path}: malformed format marker: {problem}")


def check_marker(path: Path, found: Any) -> dict[str, Any]:
    """Return ``found``, the parsed FORMAT file at ``path``, if this CogOS can read it.

    Anything else raises one :class:`FormatVersionError` that says in one line what is wrong.
    """
    if not isinstance(found, dict):
        kind = "a list" if isinstance(found, list) else _short(found)
        raise FormatVersionError(
            f"{path}: not a CogOS memory directory (FORMAT holds {kind}, not a JSON object)"
        )
    name = found.get("format")
    if name != FORMAT_NAME:
        raise FormatVersionError(
            f"{path}: not a CogOS memory directory (format {_short(name)}, "
            f"expected {FORMAT_NAME!r})"
        )
    version = found.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _malformed(path, f"'version' must be a positive integer, got {_short(version)}")
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"{path.parent}: newer format version {version}: this CogOS reads memory format "
            f"versions 1 to {FORMAT_VERSION}; upgrade CogOS to open it"
        )
    dim = found.get("dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise _malformed(path, f"'dim' must be a positive integer, got {_short(dim)}")
    if found.get("metric") not in METRICS:
        raise _malformed(
            path, f"'metric' must be one of {', '.join(METRICS)}, got {_short(found.get('metric'))}"
        )
    if found.get("index") not in INDEX_KINDS:
        raise _malformed(
            path,
            f"'index' must be one of {', '.join(INDEX_KINDS)}, got {_short(found.get('index'))}",
        )
    embedder = found.get("embedder")
    if embedder is not None:
        if not isinstance(embedder, dict):
            raise _malformed(path, f"'embedder' must be an object, got {_short(embedder)}")
        for key in ("space", "name"):  # the space is compared on every open; name is optional
            value = embedder.get(key, None if key == "space" else "-")
            if not (isinstance(value, str) and value):
                raise _malformed(
                    path, f"'embedder.{key}' must be a non-empty string, got {_short(value)}"
                )
        options = embedder.get("options", {})
        if not isinstance(options, dict):
            raise _malformed(path, f"'embedder.options' must be an object, got {_short(options)}")
    return found


def _holds_a_memory(layout: Layout) -> list[str]:
    """What, in a directory without FORMAT, shows that it already holds a memory."""
    found = []
    sqlite_files = ("records.sqlite", "records.sqlite-wal", "records.sqlite-journal")
    if any((layout.root / name).exists() for name in sqlite_files):
        found.append(layout.records.name)
    if layout.wal.is_dir():
        for path in layout.wal.iterdir():
            # a log that holds no record (segments of a header and zeros) holds nothing to misread
            empty = path.suffix == SEGMENT_SUFFIX and not holds_records(path.read_bytes())
            if not empty:
                found.append("wal/ with records")
                break
    if layout.checkpoints.is_dir() and any(layout.checkpoints.iterdir()):
        found.append("checkpoints/")
    return found


def read_format(layout: Layout) -> dict[str, Any] | None:
    """The format marker of an existing directory (checked), or None for a new one.

    Raises :class:`FormatVersionError` for a marker this CogOS cannot read, and for a directory
    that holds a memory but has lost its marker: writing a fresh one would have to guess the
    settings its vectors were made with. Nothing is written.
    """
    path = layout.format_file
    if not path.exists():
        held = _holds_a_memory(layout) if layout.root.is_dir() else []
        if held:
            raise FormatVersionError(
                f"{layout.root} has {' and '.join(held)} but no FORMAT file, so it is not a new "
                "memory directory and its settings cannot be guessed: restore FORMAT from a "
                "backup, or write it with the format, version, dim, metric and index the memory "
                "was made with (docs/wal.md)"
            )
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormatVersionError(f"{path}: cannot read the format marker ({exc})") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise FormatVersionError(
            f"{path}: not a CogOS memory directory (FORMAT is not JSON: {exc})"
        ) from None
    return check_marker(path, found)


def _write_marker(layout: Layout, marker: dict[str, Any]) -> None:
    path = layout.format_file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(marker, indent=2) + "\n")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)
    fsync_dir(layout.root)


def _listing(root: Path) -> frozenset[str] | None:
    try:
        return frozenset(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass
class FormatPlan:
    """What an open does with the FORMAT marker, decided before anything is written.

    ``found`` is the marker on disk (None: a new directory); ``marker`` is what the open works
    with. ``new``: :meth:`create` writes the marker. ``pending``: the marker gains something
    once the open succeeds (the first embedder used, or the upgrade of a version-1 directory),
    which :meth:`commit` writes.
    """

    layout: Layout
    settings: dict[str, Any]
    found: dict[str, Any] | None
    marker: dict[str, Any]
    before: frozenset[str] | None  # the directory's entries when the open began (None: none)
    created: bool = field(default=False, init=False)

    @property
    def new(self) -> bool:
        return self.found is None

    @property
    def pending(self) -> bool:
        return self.found is not None and self.marker != self.found

    def again(self) -> FormatPlan:
        """The same check again, once the directory is locked.

        Another process may have made or changed the directory in between.
        """
        return _plan(self.layout, self.settings, self.before)

    def create(self) -> dict[str, Any]:
        """A new directory: write its marker, before anything else in it. Returns the marker."""
        if self.new and not self.created:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            _write_marker(self.layout, self.marker)
            self.created = True
        return self.marker

    def commit(self) -> dict[str, Any]:
        """The open succeeded: write what the marker gains, if anything. Returns the marker."""
        self.create()
        if self.pending:
            _write_marker(self.layout, self.marker)
            self.found = dict(self.marker)
        return self.marker

    def undo(self) -> None:
        """The open failed: remove what it made of a new directory.

        An existing directory's marker was never touched. LOCK stays: another process may be
        waiting on it.
        """
        if not self.created:
            return
        for name in _MADE_BY_AN_OPEN:
            if self.before is not None and name in self.before:
                continue
            path = self.layout.root / name
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:
                pass
        self.created = False


def plan_format(layout: Layout, settings: dict[str, Any]) -> FormatPlan:
    """Check the marker against ``settings``; say what the open will write, or refuse.

    ``settings`` are what the marker records (dim, metric, index, embedder). A directory
    written by a newer format version, or by something that is not CogOS memory, is refused; so
    is one created with a different vector dimension or metric, which would make every stored
    vector meaningless to new queries, or one whose vectors come from another embedder's space.
    A refusal is a :class:`FormatVersionError` and writes nothing: call this before locking the
    directory, so that it creates not even ``LOCK``.
    """
    return _plan(layout, settings, _listing(layout.root))


def _plan(layout: Layout, settings: dict[str, Any], before: frozenset[str] | None) -> FormatPlan:
    found = read_format(layout)
    if found is None:
        marker = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **settings}
        return FormatPlan(layout, settings, None, marker, before)
    root = layout.root
    for key in ("dim", "metric"):
        if key in settings and found.get(key) != settings[key]:
            raise FormatVersionError(
                f"{root} was created with {key}={found.get(key)!r}, "
                f"but {key}={settings[key]!r} was configured"
            )
    marker = dict(found)
    wanted = settings.get("embedder")
    recorded = found.get("embedder")
    if wanted is not None and recorded is not None and recorded["space"] != wanted["space"]:
        raise FormatVersionError(
            f"{root} holds vectors made by embedder {recorded['space']!r}; "
            f"{wanted['space']!r} makes vectors of another space and cannot be mixed in"
        )
    if wanted is not None and recorded is None:  # the first embedder used fixes the space
        marker["embedder"] = wanted
    marker["version"] = FORMAT_VERSION  # what this CogOS writes from now on
    return FormatPlan(layout, settings, found, marker, before)


def read_or_create_format(layout: Layout, settings: dict[str, Any]) -> dict[str, Any]:
    """Check the marker and write at once what it needs (the one-step form of :func:`plan_format`).

    A refusal writes nothing. But a first embedder is recorded before the rest of the open has
    run, so an open that fails after this call has changed the marker: an open should rather
    call :func:`plan_format` before it locks the directory, then ``again()`` and
    :meth:`~FormatPlan.create` under the lock, :meth:`~FormatPlan.commit` once it has succeeded
    and :meth:`~FormatPlan.undo` if it fails. Here a version-1 marker keeps its version (only
    :meth:`~FormatPlan.commit` upgrades it).
    """
    plan = _plan(layout, settings, None)
    if plan.found is None:
        return plan.create()
    marker = dict(plan.found)
    if marker.get("embedder") is None and plan.marker.get("embedder") is not None:
        marker["embedder"] = plan.marker["embedder"]
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
