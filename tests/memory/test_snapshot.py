"""copy_memory_as_of: a memory rebuilt as it was at an earlier seq, the source only read."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from memory import SnapshotUnavailable, copy_memory_as_of
from memory.memory_os import MemoryOS

DIM = 8


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def open_mem(path: Path) -> MemoryOS:
    return MemoryOS.open(path, dim=DIM)


def files(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its bytes (LOCK and SQLite's files too)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def remember(m: MemoryOS, start: int, n: int) -> list[int]:
    return [m.remember_text(f"note {i}", vector=vec(i)) for i in range(start, start + n)]


def test_copy_holds_exactly_the_records_up_to_the_seq(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with open_mem(src) as m:
        early = remember(m, 0, 5)
        m.delete(early[1])
        upto = m.last_seq
        later = remember(m, 5, 4)
    before = files(src)
    report = copy_memory_as_of(src, tmp_path / "copy", upto)
    assert files(src) == before, "the source must not change"
    assert (report.records, report.source_last_seq) == (upto, later[-1])
    assert (tmp_path / "copy" / "FORMAT").read_bytes() == (src / "FORMAT").read_bytes()
    with open_mem(tmp_path / "copy") as copy:
        assert copy.last_seq == upto
        assert sorted(i.id for i in copy.recent(100)) == [early[0], *early[2:]]
        assert copy.search(vec(3), k=1)[0].item.id == early[3]  # the index too
        copy.remember_text("after", vector=vec(99))  # the copy is an ordinary memory
        assert copy.last_seq == upto + 1
    assert files(src) == before


def test_copy_of_seq_zero_is_an_empty_memory_with_the_same_format(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with open_mem(src) as m:
        remember(m, 0, 3)
    copy_memory_as_of(src, tmp_path / "copy", 0)
    with open_mem(tmp_path / "copy") as copy:
        assert (copy.last_seq, copy.recent(10)) == (0, [])


def test_a_checkpointed_log_is_refused_and_left_alone(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with open_mem(src) as m:
        remember(m, 0, 3)
        upto = m.last_seq
        remember(m, 3, 3)
        m.checkpoint()
        remember(m, 6, 2)
    before = files(src)
    with pytest.raises(SnapshotUnavailable, match=r"checkpointed and its log now begins at seq 7"):
        copy_memory_as_of(src, tmp_path / "copy", upto)
    assert files(src) == before


def test_a_log_that_ends_before_the_seq_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with open_mem(src) as m:
        remember(m, 0, 2)
    with pytest.raises(SnapshotUnavailable, match="now ends at seq 2"):
        copy_memory_as_of(src, tmp_path / "copy", 5)


def test_a_checkpoint_of_an_empty_log_comes_with_its_index_file(tmp_path: Path) -> None:
    # the one checkpoint that keeps seq 1 in the log: the copy's recovery loads its index file
    src = tmp_path / "src"
    with open_mem(src) as m:
        m.checkpoint()
        remember(m, 0, 2)
        upto = m.last_seq
    copy_memory_as_of(src, tmp_path / "copy", upto)
    with open_mem(tmp_path / "copy") as copy:
        assert copy.last_seq == upto
        assert len(copy.recent(10)) == 2
