"""Every view can be rebuilt after a checkpoint (issue 15).

After a checkpoint the log before it is gone, so a lost view file cannot be replayed from the
log alone. For each file a view keeps (the record store, the index snapshot, the record store's
copy at the checkpoint), deleted, cut in half or overwritten with garbage: the open either
reads every acknowledged record, or refuses with one message that names the repair command and
leaves the directory byte-for-byte as it was; ``cogos memory rebuild`` then brings every record
back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from memory.config import IndexConfig
from memory.entries import Entry
from memory.errors import MemoryOSError, ViewDamagedError
from memory.memory_os import MemoryOS
from tests.cli_runner import cogos

DIM = 8
BEFORE, AFTER = 40, 15  # records before the checkpoint, and after it (only in the log)


def vec(i: int) -> np.ndarray:
    return np.random.default_rng(i).standard_normal(DIM).astype(np.float32)


def open_mem(path: Path) -> MemoryOS:
    return MemoryOS.open(path, dim=DIM, index=IndexConfig(kind="flat"))


def write(path: Path) -> None:
    with open_mem(path) as m:
        for i in range(BEFORE):
            m.remember(Entry("text", text=f"note {i}", vector=vec(i)))
        m.remember_event("moved east", episode="ep-1", facts=[("at", "c0_1")])
        m.checkpoint()
        for i in range(BEFORE, BEFORE + AFTER):
            m.remember(Entry("text", text=f"note {i}", vector=vec(i)))
        m.delete(3)


def check_everything(m: MemoryOS) -> None:
    texts = {item.text for item in m.recent(1000, {"kind": "text"})}
    assert texts == {f"note {i}" for i in range(BEFORE + AFTER) if i != 2}  # id 3 deleted
    for i in (0, BEFORE - 1, BEFORE, BEFORE + AFTER - 1):
        assert m.search(vec(i), k=1)[0].item.text == f"note {i}"
    assert [e.text for e in m.episode("ep-1")] == ["moved east"]
    assert m.verify() == []


def digest(root: Path) -> dict[str, str]:
    """Every file's hash (the LOCK file holds the pid of the last opener, so it is left out)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "LOCK"
    }


def delete(path: Path) -> None:
    path.unlink()


def halve(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(7).bytes(path.stat().st_size))


DAMAGE: dict[str, Callable[[Path], None]] = {"deleted": delete, "halved": halve, "garbage": garbage}
FILES: dict[str, Callable[[Path], Path]] = {
    "records": lambda root: root / "records.sqlite",
    "index-snapshot": lambda root: next((root / "checkpoints").glob("index-*.vix")),
    "records-snapshot": lambda root: next((root / "checkpoints").glob("records-*.sqlite")),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("which", sorted(FILES))
def test_a_damaged_view_file_is_refused_untouched_then_rebuilt(
    tmp_path: Path, which: str, damage: str
) -> None:
    root = tmp_path / "mem"
    write(root)
    DAMAGE[damage](FILES[which](root))
    before = digest(root)
    refused: MemoryOSError | None = None
    try:
        with open_mem(root) as m:
            check_everything(m)  # the damage did not matter to this open
    except MemoryOSError as exc:
        refused = exc
    opened = refused is None
    if refused is not None:
        assert "\n" not in str(refused)
        assert digest(root) == before, "a refused open changed the directory"
        if isinstance(refused, ViewDamagedError):
            assert f"cogos memory rebuild {root} --view {refused.view}" in str(refused)
    if which == "records-snapshot":
        assert opened, "the record store's copy is only needed to rebuild the record store"
        return
    assert not opened, f"{which} {damage}: the open did not notice"
    result = cogos("memory", "rebuild", str(root), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ok: rebuilt" in result.stdout
    with open_mem(root) as m:
        check_everything(m)
        assert m.recovery.replayed <= 2  # the rebuild checkpointed: nothing left to replay


def test_rebuild_of_one_view_and_a_damaged_copy(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    write(root)
    FILES["index-snapshot"](root).unlink()
    result = cogos("memory", "rebuild", str(root), "--view", "index", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    with open_mem(root) as m:
        check_everything(m)
    # the record store and its copy both gone: nothing can bring the records before the
    # checkpoint back, and the rebuild says so rather than open an empty memory
    write(tmp_path / "two")
    garbage(FILES["records-snapshot"](tmp_path / "two"))
    (tmp_path / "two" / "records.sqlite").unlink()
    result = cogos(
        "memory", "rebuild", str(tmp_path / "two"), "--view", "records", cwd=tmp_path, timeout=120
    )
    assert result.returncode != 0
    assert "cannot be rebuilt" in result.stderr and result.stderr.count("\n") == 1
