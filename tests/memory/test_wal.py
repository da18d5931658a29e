"""The write-ahead log on real files: framing, policies, torn tails at every byte, corruption."""

import os
import struct
from pathlib import Path

import pytest

from memory.errors import FormatVersionError, WALCorruptionError
from memory.wal import WriteAheadLog
from memory.wal.format import FRAME_HEADER, SEGMENT_HEADER, frame, segment_name


def payloads(n: int, size: int = 40) -> list[bytes]:
    return [bytes([i % 251]) * (size + i % 7) for i in range(n)]


def test_append_read_and_reopen(tmp_path: Path) -> None:
    data = payloads(50)
    with WriteAheadLog(tmp_path) as wal:
        assert wal.append(data[:20]) == list(range(1, 21))
        assert wal.append(data[20:]) == list(range(21, 51))
    with WriteAheadLog(tmp_path) as wal:
        assert wal.last_seq == 50
        assert wal.recovery.records == 50 and wal.recovery.truncated_bytes == 0
        assert [p for _, p in wal.read()] == data
        assert [s for s, _ in wal.read(after_seq=45)] == [46, 47, 48, 49, 50]
        assert wal.append([b"more"]) == [51]


def test_segments_roll_over_and_drop(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=4096) as wal:
        for _chunk in range(20):
            wal.append(payloads(10, 100))
        segments = wal.segments()
        assert len(segments) > 3
        assert segments[0].name == segment_name(1)
        dropped = wal.drop_before(120)
        assert dropped and all(p not in wal.segments() for p in dropped)
        remaining = [s for s, _ in wal.read()]
        assert remaining[0] <= 120 and remaining[-1] == 200
        assert remaining == list(range(remaining[0], 201))
    with WriteAheadLog(tmp_path, segment_bytes=4096) as wal:
        assert wal.recovery.first_seq == remaining[0] and wal.last_seq == 200


@pytest.mark.parametrize(("policy", "syncs"), [("always", 10), ("group", 2), ("none", 0)])
def test_durability_policies_sync_as_promised(tmp_path: Path, policy: str, syncs: int) -> None:
    wal = WriteAheadLog(tmp_path, durability=policy)
    before = wal.syncs
    wal.append(payloads(5))
    wal.append(payloads(5))
    assert wal.syncs - before == syncs
    wal.close()


def last_segment(tmp_path: Path) -> Path:
    return sorted(tmp_path.glob("*.seg"))[-1]


def frame_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    offsets, at = [], SEGMENT_HEADER.size
    while at < len(data):
        offsets.append(at)
        (length,) = struct.unpack_from("<I", data, at)
        at += FRAME_HEADER.size + length
    return [*offsets, len(data)]


def test_torn_tail_cut_at_every_byte_offset(tmp_path: Path) -> None:
    """Cut the file at every byte of the last three frames: recovery keeps exactly the whole ones."""
    src = tmp_path / "src"
    with WriteAheadLog(src) as wal:
        wal.append(payloads(12, 30))
    seg = last_segment(src)
    original = seg.read_bytes()
    offsets = frame_offsets(seg)
    for cut in range(offsets[-4], len(original)):
        case = tmp_path / f"cut{cut}"
        case.mkdir()
        (case / seg.name).write_bytes(original[:cut])
        with WriteAheadLog(case) as wal:
            whole = sum(1 for o in offsets[1:] if o <= cut)
            assert wal.last_seq == whole, cut
            assert wal.recovery.truncated_bytes == cut - offsets[whole]
            assert (case / seg.name).stat().st_size == offsets[whole]
            assert [s for s, _ in wal.read()] == list(range(1, whole + 1))
            assert wal.append([b"next"]) == [whole + 1]  # appends continue cleanly
        with WriteAheadLog(case) as wal:
            assert wal.last_seq == whole + 1


def test_corrupt_byte_in_last_frame_is_a_torn_tail(tmp_path: Path) -> None:
    """Flip every byte of the last frame: it cannot be verified, nothing follows: truncated."""
    src = tmp_path / "src"
    with WriteAheadLog(src) as wal:
        wal.append(payloads(6, 20))
    seg = last_segment(src)
    original = seg.read_bytes()
    offsets = frame_offsets(seg)
    for pos in range(offsets[-2], len(original)):
        damaged = bytearray(original)
        damaged[pos] ^= 0xFF
        case = tmp_path / f"flip{pos}"
        case.mkdir()
        (case / seg.name).write_bytes(bytes(damaged))
        with WriteAheadLog(case) as wal:
            assert wal.last_seq == 5, pos
            assert wal.recovery.truncated_bytes == len(original) - offsets[-2]


def test_corruption_before_the_tail_is_refused_never_skipped(tmp_path: Path) -> None:
    """Flip every byte of a middle frame: valid records follow, so recovery must stop and say where."""
    src = tmp_path / "src"
    with WriteAheadLog(src) as wal:
        wal.append(payloads(8, 20))
    seg = last_segment(src)
    original = seg.read_bytes()
    offsets = frame_offsets(seg)
    lo, hi = offsets[3], offsets[4]  # the 4th frame (seq 4)
    for pos in range(lo, hi):
        damaged = bytearray(original)
        damaged[pos] ^= 0x55
        case = tmp_path / f"mid{pos}"
        case.mkdir()
        (case / seg.name).write_bytes(bytes(damaged))
        with pytest.raises(WALCorruptionError) as info:
            WriteAheadLog(case)
        err = info.value
        assert err.offset == lo and err.seq == 4, pos
        assert err.path.endswith(seg.name)
        assert (case / seg.name).read_bytes() == bytes(damaged), "nothing was truncated"


def test_damage_in_an_earlier_segment_is_refused(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=512) as wal:
        for _ in range(10):
            wal.append(payloads(3, 60))
    first = sorted(tmp_path.glob("*.seg"))[0]
    with first.open("r+b") as f:  # cut the first segment's last frame short
        f.truncate(first.stat().st_size - 5)
    with pytest.raises(WALCorruptionError, match="not the last"):
        WriteAheadLog(tmp_path)


def test_missing_segment_is_a_gap(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=512) as wal:
        for _ in range(10):
            wal.append(payloads(3, 60))
    segments = sorted(tmp_path.glob("*.seg"))
    segments[1].unlink()
    with pytest.raises(WALCorruptionError, match="previous one ended"):
        WriteAheadLog(tmp_path)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / segment_name(1)).write_bytes(
        SEGMENT_HEADER.pack(b"CGOSWAL1", 99, 0) + frame(1, b"x")
    )
    with pytest.raises(FormatVersionError, match="version 99"):
        WriteAheadLog(tmp_path)


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / segment_name(1)).write_bytes(b"not a wal segment at all")
    with pytest.raises(WALCorruptionError, match="bad magic"):
        WriteAheadLog(tmp_path)


def test_crash_while_creating_a_segment_leaves_no_trace(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append(payloads(3))
    (tmp_path / segment_name(4)).write_bytes(SEGMENT_HEADER.pack(b"CGOSWAL1", 1, 0)[:7])
    with WriteAheadLog(tmp_path) as wal:
        assert wal.recovery.removed_empty_segments == [segment_name(4)]
        assert wal.append([b"x"]) == [4]


def test_written_bytes_match_the_documented_format(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append([b"hello"])
    raw = last_segment(tmp_path).read_bytes()
    assert raw[:8] == b"CGOSWAL1"
    assert struct.unpack_from("<I", raw, 8)[0] == 2
    length, seq, _crc = FRAME_HEADER.unpack_from(raw, 16)
    assert (length, seq) == (5, 1)
    assert raw[16 + FRAME_HEADER.size :] == b"hello"
    assert os.path.getsize(last_segment(tmp_path)) == 16 + 16 + 5
