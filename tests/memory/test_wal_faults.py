"""The write-ahead log under faults, on real files (issue 15).

Write failures (injected at every byte of a batch, and a real disk-full tmpfs) leave the log as
it was; damage anywhere before the end of the log is refused without a byte changed; a torn
tail is reported and cut only when asked; segment headers of unknown versions are refused.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

import memory.wal.log as wal_log
from memory.codec import (
    OP_DELETE,
    OP_EXPIRE,
    OP_PUT,
    decode,
    decode_vector,
    encode_body,
    peek_op,
    put_body,
)
from memory.entries import ENTRY_KINDS, Entry
from memory.errors import (
    FormatVersionError,
    MemoryOSError,
    UnknownOperationError,
    WALCorruptionError,
    WALUnusableError,
    WALWriteError,
)
from memory.wal import FORMAT_VERSION, WriteAheadLog
from memory.wal.format import FRAME_HEADER, SEGMENT_HEADER, frame, segment_header, segment_name
from memory.wal.segment import _frame_crcs

POLICIES = ("always", "group", "none")
T = TypeVar("T")


# -- helpers -------------------------------------------------------------------------------


def records(n: int, start: int = 0, dim: int = 4) -> list[bytes]:
    """Realistic payloads: puts of every kind (some with vectors), deletes and expires."""
    rng = np.random.default_rng(start)
    out = []
    for i in range(start, start + n):
        if i % 7 == 5:
            out.append(encode_body(OP_DELETE, {"id": max(1, i - 3), "reason": "test"}))
        elif i % 11 == 9:
            out.append(encode_body(OP_EXPIRE, {"id": max(1, i - 2), "valid_to": 1e9 + i}))
        else:
            kind = ENTRY_KINDS[i % 4]
            entry = Entry(
                kind=kind,
                text=f"record {i} " + "x" * (i % 13),
                episode="ep" if kind == "event" else None,
                facts=((("at", "a", str(i)),) if kind == "fact" else ()),
                time=1e9 + i,
                valid_from=1e9 if i % 3 == 0 else None,
                ttl=60.0 if i % 5 == 0 else None,
            )
            vector = rng.random(dim, dtype=np.float32) if i % 2 == 0 else None
            out.append(encode_body(OP_PUT, put_body(entry), vector))
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def restore(directory: Path, files: dict[str, bytes]) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def read_all(directory: Path, **kwargs: Any) -> list[bytes]:
    with WriteAheadLog(directory, **kwargs) as wal:
        return [p for _, p in wal.read()]


def frame_offsets(data: bytes) -> list[int]:
    """Start of every frame of a segment's bytes, and its end."""
    offsets, at = [], SEGMENT_HEADER.size
    while at < len(data):
        offsets.append(at)
        (length,) = struct.unpack_from("<I", data, at)
        at += FRAME_HEADER.size + length
    assert at == len(data)
    return [*offsets, len(data)]


def _try(call: Callable[..., T], *args: Any, **kwargs: Any) -> T | MemoryOSError:
    """The call's result, or the memory OS error it raised."""
    try:
        return call(*args, **kwargs)
    except MemoryOSError as exc:
        return exc


class FaultyOS:
    """Stands in for ``os`` inside memory.wal.log: fails chosen calls like a full or bad disk."""

    def __init__(self) -> None:
        self.write_budget: int | None = None  # bytes still written before ENOSPC
        self.fail: dict[str, int] = {}  # call name -> fail its n-th call (1-based)
        self.calls: dict[str, int] = {}
        self.errno = errno.ENOSPC

    def arm(self, fail: dict[str, int], err: int = errno.ENOSPC) -> None:
        """Fail the n-th call (counted from now) of each named call with ``err``."""
        self.calls.clear()
        self.fail = fail
        self.errno = err

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        at = self.fail.get(name)
        if at is not None and self.calls[name] == at:
            raise OSError(self.errno, f"injected {name} failure: {os.strerror(self.errno)}")

    def write(self, fd: int, data: Any) -> int:
        self._count("write")
        if self.write_budget is None:
            return os.write(fd, data)
        if self.write_budget <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(fd, memoryview(data)[: self.write_budget])
        self.write_budget -= written
        return written

    def pwrite(self, fd: int, data: Any, offset: int) -> int:
        self._count("write")
        if self.write_budget is None:
            return os.pwrite(fd, data, offset)
        if self.write_budget <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.pwrite(fd, memoryview(data)[: self.write_budget], offset)
        self.write_budget -= written
        return written

    def fdatasync(self, fd: int) -> None:
        self._count("fdatasync")
        os.fdatasync(fd)

    def fsync(self, fd: int) -> None:
        self._count("fsync")
        os.fsync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        self._count("ftruncate")
        os.ftruncate(fd, size)

    def unlink(self, path: Any) -> None:
        self._count("unlink")
        os.unlink(path)

    def open(self, path: Any, flags: int, mode: int = 0o777) -> int:
        self._count("open")
        return os.open(path, flags, mode)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> FaultyOS:
    """The log's system calls, failing where a test says; the log appends at the end of the
    file, so that a write budget fails the records' bytes (not zeros written ahead of them,
    which :func:`test_no_room_for_zeros_ahead_still_takes_the_record` covers)."""
    fake = FaultyOS()
    monkeypatch.setattr(wal_log, "os", fake)
    monkeypatch.setattr(wal_log, "PREALLOCATE_BYTES", 0)
    return fake


# -- write failures, injected --------------------------------------------------------------


def _base_log(directory: Path, policy: str, segment_bytes: int, n: int) -> list[bytes]:
    """A log of ``n`` records or more: with a small ``segment_bytes``, as many as it takes for
    the last segment to be full (the next append begins a new one)."""
    data: list[bytes] = []
    fill = segment_bytes <= 1 << 16
    with WriteAheadLog(directory, durability=policy, segment_bytes=segment_bytes) as wal:
        while len(data) < n or (fill and wal.segments()[-1].stat().st_size < segment_bytes):
            batch = records(4, start=len(data))
            wal.append(batch)
            data.extend(batch)
    return data


@pytest.mark.parametrize("crossing", [False, True], ids=["same-segment", "new-segment"])
@pytest.mark.parametrize("policy", POLICIES)
def test_write_failure_at_every_byte_leaves_the_log_as_it_was(
    tmp_path: Path, faulty: FaultyOS, policy: str, crossing: bool
) -> None:
    """ENOSPC after N bytes, for every N from 0 to the batch's size (every frame boundary and
    every byte inside frames, and the new segment's header when the batch begins one): the
    directory is byte-for-byte as before, and once space is back the same log goes on."""
    base = tmp_path / "base"
    segment_bytes = 600 if crossing else 1 << 20
    acked = _base_log(base, policy, segment_bytes, 8)
    files = snapshot(base)
    if crossing:  # the next append must begin a new segment
        assert len(files[max(files)]) >= segment_bytes
    batch = records(3, start=100)
    more = records(2, start=200)
    header = SEGMENT_HEADER.size if crossing else 0
    total = header + sum(len(frame(1, p)) for p in batch)
    case = tmp_path / "case"
    for budget in range(total):
        restore(case, files)
        wal = WriteAheadLog(case, durability=policy, segment_bytes=segment_bytes)
        last = wal.last_seq
        faulty.write_budget = budget
        with pytest.raises(WALWriteError) as info:
            wal.append(batch)
        assert not isinstance(info.value, WALUnusableError)
        assert isinstance(info.value.__cause__, OSError)
        assert info.value.errno == errno.ENOSPC
        assert snapshot(case) == files, budget
        assert wal.last_seq == last
        faulty.write_budget = None  # space is back
        assert wal.append(more) == [last + 1, last + 2]
        wal.close()
        assert read_all(case) == [*acked, *more], budget


@pytest.mark.parametrize("crossing", [False, True], ids=["same-segment", "new-segment"])
@pytest.mark.parametrize("policy", ["always", "group"])
def test_fdatasync_failure_rolls_the_whole_batch_back(
    tmp_path: Path, faulty: FaultyOS, policy: str, crossing: bool
) -> None:
    """EIO from the n-th fdatasync of a batch (under ``always``: after n-1 records were synced):
    none of the batch stays, because the call that raised acknowledged none of it."""
    base = tmp_path / "base"
    segment_bytes = 600 if crossing else 1 << 20
    acked = _base_log(base, policy, segment_bytes, 8)
    files = snapshot(base)
    batch = records(3, start=100)
    case = tmp_path / "case"
    for nth in range(1, (len(batch) if policy == "always" else 1) + 1):
        restore(case, files)
        wal = WriteAheadLog(case, durability=policy, segment_bytes=segment_bytes)
        faulty.arm({"fdatasync": nth}, errno.EIO)
        with pytest.raises(WALWriteError, match="put back as it was") as info:
            wal.append(batch)
        assert info.value.errno == errno.EIO
        assert faulty.calls["fdatasync"] == nth
        assert snapshot(case) == files, nth
        faulty.arm({})
        assert wal.append(batch[:1]) == [len(acked) + 1]
        wal.close()
        assert read_all(case) == [*acked, batch[0]]


@pytest.mark.parametrize(
    ("call", "nth"),
    [("open", 1), ("write", 1), ("fsync", 1), ("fsync", 2)],
    ids=["create", "header-write", "header-fsync", "dir-fsync"],
)
def test_failure_while_creating_a_segment_leaves_no_file(
    tmp_path: Path, faulty: FaultyOS, call: str, nth: int
) -> None:
    base = tmp_path / "base"
    acked = _base_log(base, "group", 600, 8)
    files = snapshot(base)
    wal = WriteAheadLog(base, segment_bytes=600)
    faulty.arm({call: nth})
    with pytest.raises(WALWriteError, match="log segment"):
        wal.append(records(2, start=50))
    assert snapshot(base) == files
    faulty.arm({})
    assert wal.append(records(1, start=60)) == [len(acked) + 1]
    wal.rotate()
    wal.close()
    assert read_all(base) == [*acked, *records(1, start=60)]


def test_failed_rotation_leaves_no_file(tmp_path: Path, faulty: FaultyOS) -> None:
    acked = _base_log(tmp_path, "group", 1 << 20, 4)
    files = snapshot(tmp_path)
    wal = WriteAheadLog(tmp_path)
    faulty.arm({"fsync": 1})
    with pytest.raises(WALWriteError):
        wal.rotate()
    assert snapshot(tmp_path) == files
    faulty.arm({})
    wal.rotate()
    assert wal.append(records(1, start=9)) == [5]
    wal.close()
    assert read_all(tmp_path) == [*acked, *records(1, start=9)]


def test_a_failed_undo_stops_every_append_until_reopened(tmp_path: Path, faulty: FaultyOS) -> None:
    acked = _base_log(tmp_path, "group", 1 << 20, 4)
    wal = WriteAheadLog(tmp_path)
    faulty.write_budget = 30  # a partial frame is left...
    faulty.arm({"ftruncate": 1})  # ...and cannot be cut away
    with pytest.raises(WALUnusableError, match=str(tmp_path)) as info:
        wal.append(records(2, start=50))
    assert "could not be undone" in str(info.value)
    faulty.write_budget = None
    faulty.arm({})
    with pytest.raises(WALUnusableError, match="reopen"):
        wal.append(records(1, start=60))
    with pytest.raises(WALUnusableError):
        wal.rotate()
    assert wal.last_seq == 4
    wal.close()  # closes without syncing what it cannot vouch for
    with WriteAheadLog(tmp_path) as reopened:  # the partial frame is a torn tail
        assert reopened.recovery.truncated_bytes == 30
        assert [p for _, p in reopened.read()] == acked
        assert reopened.append(records(1, start=60)) == [5]


def test_a_failed_undo_of_a_new_segment_stops_appends(tmp_path: Path, faulty: FaultyOS) -> None:
    acked = _base_log(tmp_path, "group", 600, 8)
    wal = WriteAheadLog(tmp_path, segment_bytes=600)
    faulty.write_budget = SEGMENT_HEADER.size + 10
    faulty.arm({"unlink": 1})
    with pytest.raises(WALUnusableError, match="could not be undone"):
        wal.append(records(2, start=50))
    faulty.write_budget = None
    faulty.arm({})
    with pytest.raises(WALUnusableError):
        wal.append(records(1, start=60))
    wal.close()
    assert read_all(tmp_path) == acked


def test_a_failed_sync_under_none_stops_appends(tmp_path: Path, faulty: FaultyOS) -> None:
    wal = WriteAheadLog(tmp_path, durability="none")
    acked = records(3)
    assert wal.append(acked) == [1, 2, 3]
    faulty.arm({"fdatasync": 1}, errno.EIO)
    with pytest.raises(WALUnusableError, match="fdatasync"):
        wal.sync()
    faulty.arm({})
    with pytest.raises(WALUnusableError):
        wal.append(records(1, start=9))
    wal.close()
    assert read_all(tmp_path) == acked  # written to the OS: a killed process loses nothing


class Interrupted(BaseException):
    pass


def test_an_interrupt_mid_write_is_undone_too(tmp_path: Path, faulty: FaultyOS) -> None:
    acked = _base_log(tmp_path, "group", 1 << 20, 4)
    files = snapshot(tmp_path)
    wal = WriteAheadLog(tmp_path)

    def write_then_interrupt(fd: int, data: Any, offset: int) -> int:
        os.pwrite(fd, memoryview(data)[:7], offset)
        raise Interrupted

    faulty.pwrite = write_then_interrupt  # type: ignore[method-assign]
    with pytest.raises(Interrupted):
        wal.append(records(2, start=50))
    assert snapshot(tmp_path) == files
    del faulty.pwrite
    assert wal.append(records(1, start=60)) == [5]
    wal.close()
    assert read_all(tmp_path) == [*acked, *records(1, start=60)]


def test_a_record_too_large_to_read_back_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal_log, "MAX_PAYLOAD", 64)
    with WriteAheadLog(tmp_path) as wal:
        with pytest.raises(ValueError, match="larger than 64"):
            wal.append([b"x" * 10, b"y" * 65])
        assert wal.last_seq == 0
        assert wal.append([b"x" * 64]) == [1]


# -- a real full disk ----------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, or a skip where mounting is not permitted."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a small tmpfs for a real ENOSPC: {exc}")
    if done.returncode != 0:
        pytest.skip(
            "cannot mount a small tmpfs for a real ENOSPC (needs root or CAP_SYS_ADMIN): "
            + (done.stderr.strip() or f"mount exited {done.returncode}")
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=30, check=False)


@pytest.mark.parametrize("policy", POLICIES)
def test_disk_full_then_freed_loses_no_acknowledged_record(small_fs: Path, policy: str) -> None:
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * (64 * 1024))
    directory = small_fs / "wal"
    acked: list[bytes] = []
    failures = 0
    wal = WriteAheadLog(directory, durability=policy, segment_bytes=32 * 1024)
    batch_no = 0
    while failures < 5:  # fill the disk, then keep trying against a full disk
        batch = records(5, start=batch_no * 5, dim=64)
        batch_no += 1
        last = wal.last_seq
        outcome = _try(wal.append, batch)
        if isinstance(outcome, BaseException):
            assert type(outcome) is WALWriteError, outcome
            assert outcome.errno == errno.ENOSPC
            assert wal.last_seq == last
            failures += 1
            continue
        seqs = outcome
        assert seqs == list(range(last + 1, last + 6))
        acked.extend(batch)
    assert len(acked) > 50
    filler.unlink()  # space is back
    for _ in range(20):
        batch = records(3, start=batch_no * 5, dim=64)
        batch_no += 1
        wal.append(batch)
        acked.extend(batch)
    wal.close()
    with WriteAheadLog(directory) as reopened:
        assert reopened.recovery.torn_tail is None
        assert [p for _, p in reopened.read()] == acked


# -- damage: refused, never truncated ------------------------------------------------------


def _multi_segment_log(directory: Path) -> tuple[list[bytes], list[Path]]:
    data = records(60)
    with WriteAheadLog(directory, segment_bytes=2048) as wal:
        for i in range(0, len(data), 3):
            wal.append(data[i : i + 3])
    segments = sorted(directory.glob("*.seg"))
    assert len(segments) >= 3
    return data, segments


def _window(segment: Path) -> tuple[int, int, list[int], int]:
    """A 3-record window in the middle of a segment: (start, end, frame offsets, first seq)."""
    offsets = frame_offsets(segment.read_bytes())
    mid = (len(offsets) - 1) // 2 - 1
    assert mid >= 1 and mid + 3 < len(offsets) - 1  # records before and after the window
    first = int(segment.name[:-4]) + mid
    return offsets[mid], offsets[mid + 3], offsets, first


@pytest.mark.parametrize("where", ["middle-segment", "last-segment"])
def test_every_byte_of_a_mid_log_window_zeroed_or_flipped(tmp_path: Path, where: str) -> None:
    """Every byte of a 3-record window, zeroed and flipped one at a time: the open reads every
    record or refuses with WALCorruptionError naming the damaged frame, and a refused open (with
    or without deferred truncation) changes no byte in the directory."""
    directory = tmp_path / "log"
    data, segments = _multi_segment_log(directory)
    segment = segments[len(segments) // 2] if where == "middle-segment" else segments[-1]
    original = segment.read_bytes()
    files = snapshot(directory)
    lo, hi, offsets, first = _window(segment)
    cases = refused = 0
    for pos in range(lo, hi):
        for how in ("zero", "flip"):
            damaged = bytearray(original)
            damaged[pos] = 0 if how == "zero" else damaged[pos] ^ 0xFF
            segment.write_bytes(bytes(damaged))
            before = snapshot(directory)
            for defer in (True, False):
                cases += 1
                wal = _try(WriteAheadLog, directory, defer_truncation=defer)
                if isinstance(wal, BaseException):
                    refused += 1
                    assert isinstance(wal, WALCorruptionError), wal
                    assert snapshot(directory) == before, (pos, how, defer)
                    assert wal.path == str(segment)
                    assert first <= (wal.seq or 0) < first + 3, (pos, wal)
                    assert wal.offset == offsets[(wal.seq or 0) - int(segment.name[:-4])]
                    continue
                with wal:
                    assert damaged == bytearray(original), (pos, how, "damage went unnoticed")
                    assert wal.recovery.torn_tail is None
                    assert [p for _, p in wal.read()] == data
    segment.write_bytes(original)
    assert snapshot(directory) == files
    assert cases == (hi - lo) * 4
    zeros = original[lo:hi].count(0)
    assert refused == cases - 2 * zeros  # only zeroing a zero byte leaves the log intact


def test_every_byte_of_the_last_record_is_a_torn_tail_cut_only_when_asked(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "log"
    data, segments = _multi_segment_log(directory)
    segment = segments[-1]
    original = segment.read_bytes()
    offsets = frame_offsets(original)
    n = len(data)
    cases = torn = 0
    for pos in range(offsets[-2], len(original)):
        for how in ("zero", "flip"):
            damaged = bytearray(original)
            damaged[pos] = 0 if how == "zero" else damaged[pos] ^ 0xFF
            if damaged == bytearray(original):
                continue
            cases += 1
            segment.write_bytes(bytes(damaged))
            before = snapshot(directory)
            wal = WriteAheadLog(directory, defer_truncation=True)
            tail = wal.recovery.torn_tail
            assert tail is not None and wal.torn_tail == tail
            assert (tail.path, tail.first_lost_seq) == (segment, n)
            assert (tail.valid_end, tail.size) == (offsets[-2], len(original))
            assert tail.lost_bytes == len(original) - offsets[-2]
            assert wal.last_seq == n - 1
            assert [p for _, p in wal.read()] == data[:-1]
            with pytest.raises(RuntimeError, match="truncate_torn_tail"):
                wal.append([b"x"])
            assert snapshot(directory) == before, (pos, how)  # nothing touched yet
            assert wal.truncate_torn_tail() == tail
            assert wal.recovery.truncated_bytes == tail.lost_bytes
            assert segment.stat().st_size == offsets[-2]
            assert wal.truncate_torn_tail() is None
            assert wal.append([data[-1]]) == [n]
            wal.close()
            torn += 1
            assert read_all(directory) == data
            segment.write_bytes(original)
    assert torn == cases > 0


def test_zeroed_pages_in_the_middle_are_refused_and_nothing_changes(tmp_path: Path) -> None:
    """A zeroed 4 KiB page destroys many frames: the intact frames after it prove that it is
    damage, not a torn tail (the issue's half-a-segment case)."""
    directory = tmp_path / "log"
    data = records(600, dim=16)
    with WriteAheadLog(directory) as wal:
        for i in range(0, len(data), 50):
            wal.append(data[i : i + 50])
    (segment,) = directory.glob("*.seg")
    original = segment.read_bytes()
    offsets = frame_offsets(original)
    page = 4096
    pages = [p for p in range(0, len(original), page) if p + page <= offsets[-2]]
    assert len(pages) >= 10
    for start in pages:
        damaged = original[:start] + bytes(page) + original[start + page :]
        segment.write_bytes(damaged)
        for defer in (True, False):
            with pytest.raises(WALCorruptionError) as info:
                WriteAheadLog(directory, defer_truncation=defer)
            assert segment.read_bytes() == damaged, start
            assert len(list(directory.iterdir())) == 1
            err = info.value
            assert err.offset <= max(start, SEGMENT_HEADER.size), start
    # the same page in an earlier segment
    directory2 = tmp_path / "log2"
    with WriteAheadLog(directory2, segment_bytes=3 * page) as wal:
        for i in range(0, len(data), 50):
            wal.append(data[i : i + 50])
    first = sorted(directory2.glob("*.seg"))[0]
    raw = first.read_bytes()
    first.write_bytes(raw[:page] + bytes(page) + raw[2 * page :])
    before = snapshot(directory2)
    with pytest.raises(WALCorruptionError):
        WriteAheadLog(directory2)
    assert snapshot(directory2) == before


def test_corruption_names_an_intact_record_far_after_the_damage(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append(records(40))
    (segment,) = tmp_path.glob("*.seg")
    original = segment.read_bytes()
    offsets = frame_offsets(original)
    # 30 frames destroyed: only the last ten survive
    segment.write_bytes(
        original[: offsets[5]] + bytes(offsets[35] - offsets[5]) + original[offsets[35] :]
    )
    with pytest.raises(WALCorruptionError, match=r"intact record \(seq 36\)") as info:
        WriteAheadLog(tmp_path)
    assert (info.value.offset, info.value.seq) == (offsets[5], 6)


def _sparse_segment(directory: Path, n: int) -> tuple[Path, bytes, list[int]]:
    """A segment of puts with sparse vectors (hashing embedders make them): full of small
    integers, so that many offsets pass the search's cheap pre-check."""
    rng = np.random.default_rng(7)
    data = []
    for i in range(n):
        vector = np.zeros(256, dtype=np.float32)
        vector[rng.choice(256, 6, replace=False)] = rng.random(6, dtype=np.float32)
        entry = Entry(kind="text", text=f"t{i}", time=1e9 + i)
        data.append(encode_body(OP_PUT, put_body(entry), vector))
    with WriteAheadLog(directory) as wal:
        wal.append(data)
    (segment,) = directory.glob("*.seg")
    original = segment.read_bytes()
    return segment, original, frame_offsets(original)


def test_search_over_sparse_vectors_finds_the_one_intact_frame(tmp_path: Path) -> None:
    """Damage, then one intact frame, then damage to the end: the intact frame is found (by
    every offset's CRC, not by following lengths), so it is corruption, not a torn tail."""
    segment, original, offsets = _sparse_segment(tmp_path, 300)
    damaged = bytearray(original)
    for at in offsets[100:-1]:
        damaged[at + 12 : at + 16] = b"\0\0\0\0"  # every CRC from record 101 on is wrong
    keep = 250  # ... but record 251's
    damaged[offsets[keep] + 12 : offsets[keep] + 16] = original[
        offsets[keep] + 12 : offsets[keep] + 16
    ]
    segment.write_bytes(bytes(damaged))
    with pytest.raises(WALCorruptionError, match=rf"intact record \(seq {keep + 1}\)") as info:
        WriteAheadLog(tmp_path, defer_truncation=True)
    assert (info.value.offset, info.value.seq) == (offsets[100], 101)
    # without it, nothing valid follows record 100: a torn tail (as far as the log can tell)
    damaged[offsets[keep] + 12 : offsets[keep] + 16] = b"\0\0\0\0"
    segment.write_bytes(bytes(damaged))
    with WriteAheadLog(tmp_path, defer_truncation=True) as wal:
        tail = wal.torn_tail
        assert tail is not None and tail.first_lost_seq == 101
        assert tail.valid_end == offsets[100] and wal.last_seq == 100
    assert segment.read_bytes() == bytes(damaged)


def test_vectorised_crcs_match_zlib() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    offsets = np.sort(rng.choice(20_000, 500, replace=False)).astype(np.int64)
    lengths = rng.integers(0, 30_000, 500).astype(np.int64)
    lengths[:20] = 0
    got = _frame_crcs(memoryview(data), offsets, lengths)
    for o, n, crc in zip(offsets.tolist(), lengths.tolist(), got.tolist(), strict=True):
        assert crc == zlib.crc32(data[o + 16 : o + 16 + n], zlib.crc32(data[o : o + 12]))


def test_an_intact_frame_out_of_sequence_is_corruption(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append(records(3))
    (segment,) = tmp_path.glob("*.seg")
    with segment.open("ab") as f:
        f.write(frame(7, b"stray"))
    with pytest.raises(WALCorruptionError, match="sequence 7, expected 4"):
        WriteAheadLog(tmp_path, defer_truncation=True)


def test_half_created_segment_is_removed_only_when_asked(tmp_path: Path) -> None:
    data = records(5)
    with WriteAheadLog(tmp_path) as wal:
        wal.append(data)
    half = tmp_path / segment_name(6)
    half.write_bytes(segment_header()[:9])
    before = snapshot(tmp_path)
    wal = WriteAheadLog(tmp_path, defer_truncation=True)
    tail = wal.torn_tail
    assert tail is not None and tail.removes_file and tail.first_lost_seq == 6
    assert [p for _, p in wal.read()] == data
    with pytest.raises(RuntimeError, match="torn tail"):
        wal.rotate()
    assert snapshot(tmp_path) == before
    wal.truncate_torn_tail()
    assert not half.exists() and wal.recovery.removed_empty_segments == [half.name]
    assert wal.append([b"six"]) == [6]
    wal.close()
    assert read_all(tmp_path) == [*data, b"six"]


def test_truncation_refuses_a_file_that_changed_since_the_scan(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append(records(4))
    (segment,) = tmp_path.glob("*.seg")
    with segment.open("ab") as f:
        f.write(b"torn")
    wal = WriteAheadLog(tmp_path, defer_truncation=True)
    with segment.open("ab") as f:
        f.write(b"more")
    with pytest.raises(WALCorruptionError, match="changed under the log"):
        wal.truncate_torn_tail()
    assert segment.read_bytes().endswith(b"tornmore")
    wal.close()


# -- format versions -----------------------------------------------------------------------


def test_every_changed_version_bit_is_refused(tmp_path: Path) -> None:
    data = records(3)
    with WriteAheadLog(tmp_path) as wal:
        wal.append(data)
    (segment,) = tmp_path.glob("*.seg")
    original = segment.read_bytes()
    assert struct.unpack_from("<I", original, 8)[0] == FORMAT_VERSION == 2
    refused = 0
    for byte in range(8, 12):
        for bit in range(8):
            damaged = bytearray(original)
            damaged[byte] ^= 1 << bit
            segment.write_bytes(bytes(damaged))
            for defer in (True, False):
                with pytest.raises(FormatVersionError, match="WAL format version"):
                    WriteAheadLog(tmp_path, defer_truncation=defer)
                refused += 1
            assert segment.read_bytes() == bytes(damaged)
    assert refused == 64
    segment.write_bytes(original)
    assert read_all(tmp_path) == data


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (0, "unknown WAL format version 0"),
        (3, "version 3 is newer than this CogOS reads"),
        (2**32 - 1, "newer than this CogOS reads"),
    ],
)
def test_versions_outside_the_readable_ones_are_refused(
    tmp_path: Path, version: int, message: str
) -> None:
    (tmp_path / segment_name(1)).write_bytes(segment_header(version) + frame(1, b"x"))
    with pytest.raises(FormatVersionError, match=message):
        WriteAheadLog(tmp_path, defer_truncation=True)


def test_reserved_header_field_must_be_zero(tmp_path: Path) -> None:
    (tmp_path / segment_name(1)).write_bytes(SEGMENT_HEADER.pack(b"CGOSWAL1", 2, 5))
    with pytest.raises(WALCorruptionError, match="reserved"):
        WriteAheadLog(tmp_path)


def test_version_1_segments_are_read_and_never_appended_to(tmp_path: Path) -> None:
    old = records(4)
    v1 = segment_header(1) + b"".join(frame(i + 1, p) for i, p in enumerate(old))
    (tmp_path / segment_name(1)).write_bytes(v1)
    with WriteAheadLog(tmp_path) as wal:
        assert [p for _, p in wal.read()] == old
        assert wal.append([b"new"]) == [5]
    assert (tmp_path / segment_name(1)).read_bytes() == v1
    assert (tmp_path / segment_name(5)).read_bytes()[8:12] == struct.pack("<I", 2)
    assert read_all(tmp_path) == [*old, b"new"]


def test_an_empty_version_1_segment_is_replaced_by_a_version_2_one(tmp_path: Path) -> None:
    old = records(2)
    (tmp_path / segment_name(1)).write_bytes(
        segment_header(1) + b"".join(frame(i + 1, p) for i, p in enumerate(old))
    )
    (tmp_path / segment_name(3)).write_bytes(segment_header(1))  # rotated, nothing written
    with WriteAheadLog(tmp_path) as wal:
        assert wal.last_seq == 2
        assert wal.append([b"three"]) == [3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [segment_name(1), segment_name(3)]
    assert (tmp_path / segment_name(3)).read_bytes()[8:12] == struct.pack("<I", 2)
    assert read_all(tmp_path) == [*old, b"three"]


# -- operations ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", [0, 5, 255])
def test_unknown_operations_are_refused_not_skipped(op: int) -> None:
    payload = bytes([op]) + struct.pack("<I", 2) + b"{}"
    for decoder in (decode, decode_vector):
        with pytest.raises(UnknownOperationError, match=f"seq 7 has unknown operation {op}"):
            decoder(7, payload)
    with pytest.raises(UnknownOperationError):
        peek_op(payload)
    with pytest.raises(UnknownOperationError, match="empty payload"):
        peek_op(b"", 3)
    assert isinstance(UnknownOperationError(1, op), FormatVersionError)


def test_known_operations_still_decode() -> None:
    for i, payload in enumerate(records(12)):
        assert decode(i + 1, payload).op == peek_op(payload) in (OP_PUT, OP_DELETE, OP_EXPIRE)


# -- the memory OS on top ------------------------------------------------------------------


def test_memory_refuses_to_cut_an_acknowledged_last_record(tmp_path: Path) -> None:
    """A flipped byte in the last record of a cleanly closed memory: the record store has
    applied it, so it was acknowledged; the open refuses and changes nothing, and undoing the
    flip brings every record back (the issue's third case)."""
    from memory.memory_os import MemoryOS  # the integration: recovery defers the truncation

    entries = [Entry("text", text=f"t{i}", vector=np.full(4, i, np.float32)) for i in range(5)]
    with MemoryOS.open(tmp_path, dim=4) as m:
        ids = m.remember_many(entries)
    wal_dir = tmp_path / "wal"
    segment = sorted(wal_dir.glob("*.seg"))[-1]
    original = segment.read_bytes()
    offsets = frame_offsets(original)
    damaged = bytearray(original)
    damaged[offsets[-2] + FRAME_HEADER.size + 3] ^= 0xFF
    segment.write_bytes(bytes(damaged))
    before = snapshot(wal_dir)
    with pytest.raises(MemoryOSError, match="acknowledged"):
        MemoryOS.open(tmp_path, dim=4)
    assert snapshot(wal_dir) == before
    segment.write_bytes(original)
    with MemoryOS.open(tmp_path, dim=4) as m:
        assert m.last_seq == ids[-1]
        assert [m.get(i).text for i in ids] == [e.text for e in entries]
