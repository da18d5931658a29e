"""Zeros written ahead of the log's records: read as the end of the log, never as records.

A writer keeps ``PREALLOCATE_BYTES`` of zeros after its last frame so that a sync changes no
file size. A writer killed with SIGKILL leaves them there; the next open must find every
acknowledged record, report no torn tail, and go on appending in the same segment.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import memory.wal.log as wal_log
from memory.errors import WALCorruptionError, WALWriteError
from memory.wal import WriteAheadLog
from memory.wal.format import SEGMENT_HEADER, frame
from memory.wal.segment import ScanResult, first_seq_of, scan
from tests.memory.test_wal_faults import FaultyOS, read_all, records

WRITER = """
import sys
from memory.wal import WriteAheadLog
from tests.memory.test_wal_faults import records
wal = WriteAheadLog(sys.argv[1], durability="group")
for i in range(int(sys.argv[2])):
    wal.append(records(1, start=i))
print("acked", wal.last_seq, flush=True)
sys.stdin.read()  # killed here, zeros and all
"""


def _killed_writer(directory: Path, n: int) -> int:
    """Append ``n`` records in a process of its own, then SIGKILL it; its last acked seq."""
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(n)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # waits for the writer: no clock
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert line.startswith("acked"), line
    return int(line.split()[1])


def one_by_one(n: int, start: int = 0) -> list[bytes]:
    """The records the writer appends, one call each."""
    return [records(1, start=i)[0] for i in range(start, start + n)]


def _frames_end(segment: Path) -> int:
    """Bytes of a segment's header and frames (what a closed log keeps of it)."""
    data = segment.read_bytes()
    *_, result = scan(segment, data, expect_seq=first_seq_of(segment), is_last=True)
    assert isinstance(result, ScanResult) and not result.torn
    return result.valid_end


def test_a_killed_writer_leaves_zeros_that_read_as_the_end(tmp_path: Path) -> None:
    acked = _killed_writer(tmp_path, 40)
    segment = sorted(tmp_path.glob("*.seg"))[-1]
    frames = SEGMENT_HEADER.size + sum(len(frame(1, p)) for p in one_by_one(40))
    data = segment.read_bytes()
    assert len(data) >= frames + wal_log.PREALLOCATE_BYTES // 2  # zeros ahead...
    assert not data[frames:].strip(b"\0")  # ...and nothing else
    with WriteAheadLog(tmp_path) as wal:
        assert wal.recovery.torn_tail is None
        assert wal.last_seq == acked == 40
        assert [p for _, p in wal.read()] == one_by_one(40)
        assert wal.append(one_by_one(2, 40)) == [41, 42]  # into the zeros, same segment
        assert len(wal.segments()) == 1
    assert segment.stat().st_size == frames + sum(len(frame(1, p)) for p in one_by_one(2, 40))
    assert read_all(tmp_path) == one_by_one(42)


def test_a_frame_after_the_zeros_is_damage_not_the_end(tmp_path: Path) -> None:
    """Zeros over acknowledged records (a lost page) followed by an intact frame: refused."""
    _killed_writer(tmp_path, 10)
    segment = sorted(tmp_path.glob("*.seg"))[-1]
    data = bytearray(segment.read_bytes())
    ends = SEGMENT_HEADER.size + sum(len(frame(1, p)) for p in one_by_one(10))
    tenth = one_by_one(1, 9)[0]
    start = ends - len(frame(10, tenth))
    data[start:ends] = bytes(ends - start)  # the 10th record zeroed...
    data[ends + 4096 : ends + 4096 + len(frame(10, tenth))] = frame(10, tenth)  # ...seen later
    segment.write_bytes(bytes(data))
    with pytest.raises(WALCorruptionError, match="intact record"):
        WriteAheadLog(tmp_path)


def test_garbage_after_the_zeros_is_a_torn_tail(tmp_path: Path) -> None:
    _killed_writer(tmp_path, 10)
    segment = sorted(tmp_path.glob("*.seg"))[-1]
    data = bytearray(segment.read_bytes())
    data[-100] = 0x5A  # no frame: a torn write far into the zeros
    segment.write_bytes(bytes(data))
    wal = WriteAheadLog(tmp_path, defer_truncation=True)
    assert wal.torn_tail is not None
    assert wal.torn_tail.first_lost_seq == 11
    assert wal.last_seq == 10
    wal.truncate_torn_tail()
    assert wal.append(one_by_one(1, 10)) == [11]
    wal.close()
    assert read_all(tmp_path) == one_by_one(11)


def test_closing_and_a_new_segment_cut_the_zeros(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=4096) as wal:
        while len(wal.segments()) < 3:
            wal.append(records(3, start=wal.last_seq))
        done = wal.segments()[:-1]
        for segment in done:  # finished segments hold their frames and nothing more
            assert segment.read_bytes().rstrip(b"\0") == segment.read_bytes()
        current = wal.segments()[-1]
        assert current.stat().st_size > _frames_end(current)  # the current one has zeros ahead
    assert current.stat().st_size == _frames_end(current)
    assert len(read_all(tmp_path)) == wal.last_seq


def test_no_room_for_zeros_ahead_still_takes_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk with room for the record but not for the zeros: the record is written."""
    with WriteAheadLog(tmp_path) as wal:
        wal.append(records(3))
    fake = FaultyOS()
    monkeypatch.setattr(wal_log, "os", fake)
    wal = WriteAheadLog(tmp_path)
    one = records(1, start=3)
    fake.arm({"write": 1})  # the zeros do not fit; the record, written next, does
    assert wal.append(one) == [4]
    assert fake.calls["write"] == 2
    segment = wal.segments()[-1]
    assert segment.stat().st_size == _frames_end(segment)  # no zeros left half-written
    fake.write_budget = 0  # now not even a record fits
    with pytest.raises(WALWriteError) as info:
        wal.append(records(1, start=4))
    assert info.value.errno == errno.ENOSPC
    fake.write_budget = None
    wal.close()
    assert read_all(tmp_path) == [*records(3), *one]
