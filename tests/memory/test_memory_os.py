"""The MemoryOS facade on a real directory: remember, search, recall, delete, reopen, errors."""

import asyncio
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from memory import write_path
from memory.config import IndexConfig
from memory.entries import Entry
from memory.errors import (
    DimensionError,
    FormatVersionError,
    MemoryLockedError,
    UnknownItemError,
    ViewDamagedError,
    ViewMismatchError,
)
from memory.memory_os import MemoryOS

DIM = 8


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def open_mem(path: Path, **kw: object) -> MemoryOS:
    return MemoryOS.open(path, dim=DIM, **kw)  # type: ignore[arg-type]


def fill(m: MemoryOS) -> dict[str, int]:
    ids = {}
    ids["t0"] = m.remember_text("the red apple", vector=vec(0), metadata={"speaker": "Ann"})
    ids["t1"] = m.remember_text("a blue car", vector=vec(1), metadata={"speaker": "Bob"})
    ids["f"] = m.remember_fact(("color", "apple", "red"), text="apples are red", vector=vec(2))
    ids["e0"] = m.remember_event(
        "moved east",
        episode="ep1",
        facts=[("at", "c0_1")],
        decision={"choice": "east", "values": [1]},
    )
    ids["e1"] = m.remember_event("saw the apple", episode="ep1", entities=["apple"], vector=vec(3))
    ids["e2"] = m.remember_event("picked it", episode="ep1", facts=[("holding", "apple")])
    return ids


def test_remember_search_recall(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        ids = fill(m)
        assert list(ids.values()) == list(range(1, 7)), "ids are the log's sequence numbers"
        hits = m.search(vec(1), k=2)
        assert hits[0].item.id == ids["t1"] and hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert [h.item.id for h in m.search(vec(1), k=5, where={"speaker": "Ann"})] == [ids["t0"]]
        assert m.search(vec(1), where={"speaker": "Nobody"}) == []
        assert [i.id for i in m.about("apple")] == [ids["e2"], ids["e1"], ids["f"]]
        assert [i.text for i in m.episode("ep1")] == ["moved east", "saw the apple", "picked it"]
        assert m.decision(ids["e0"]) == {"choice": "east", "values": [1]}
        why = m.why(ids["e2"])
        assert [e["text"] for e in why["preceding"]] == ["moved east", "saw the apple"]
        assert [i.id for i in m.recent(2, {"kind": "event"})] == [ids["e2"], ids["e1"]]
        assert {i.id for i in m.neighbours(ids["e1"])} == {ids["e0"], ids["e2"], ids["f"]}
        assert m.path(f"event:{ids['e0']}", "entity:apple")[-1] == "entity:apple"
        assert m.verify() == []


def test_everything_survives_reopen(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        ids = fill(m)
        before = (m.stats()["items"], m.stats()["graph"], [h.item.id for h in m.search(vec(3), 3)])
    with open_mem(tmp_path) as m:
        assert m.recovery.replayed == 6 and m.recovery.problems == []
        after = (m.stats()["items"], m.stats()["graph"], [h.item.id for h in m.search(vec(3), 3)])
        assert after == before
        assert m.remember_text("new", vector=vec(9)) == 7
        assert m.decision(ids["e0"]) is not None


def test_delete(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        ids = fill(m)
        tomb = m.delete(ids["t1"], reason="user asked")
        assert tomb == 7
        assert ids["t1"] not in [h.item.id for h in m.search(vec(1), k=10)]
        with pytest.raises(UnknownItemError):
            m.get(ids["t1"])
        with pytest.raises(UnknownItemError, match="already deleted"):
            m.delete(ids["t1"])
        with pytest.raises(UnknownItemError):
            m.delete(12345)
        assert m.stats()["deleted"] == 1
    with open_mem(tmp_path) as m:
        assert ids["t1"] not in [h.item.id for h in m.search(vec(1), k=10)]
        result = m.compact()
        assert result["removed"] == 1 and m.stats()["deleted"] == 0
        assert m.verify() == []


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_checkpoint_then_reopen_replays_only_the_tail(tmp_path: Path, kind: str) -> None:
    index = IndexConfig(kind=kind, ivf_nlist=2, train_size=20)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, DIM)).astype(np.float32)
    with open_mem(tmp_path, index=index) as m:
        m.remember_many([Entry("text", text=str(i), vector=x[i]) for i in range(50)])
        m.delete(3)
        info = m.checkpoint()
        assert info["upto"] == 51 and info["vectors"] == 49 and info["dropped_segments"] == 1
        m.remember_many([Entry("text", text=str(i), vector=x[i]) for i in range(50, 60)])
    with open_mem(tmp_path, index=index) as m:
        assert m.recovery.checkpoint_seq == 51
        assert m.recovery.replayed == 11  # the checkpoint record and the 10 after it
        assert len(m.vectors) == 59
        assert m.search(x[55], 1)[0].item.text == "55"
        assert 3 not in [h.item.id for h in m.search(x[2], 5)]
        assert sorted(f.suffix for f in m.layout.checkpoints.iterdir()) == [".sqlite", ".vix"]


def test_automatic_checkpoints(tmp_path: Path) -> None:
    with open_mem(tmp_path, checkpoint_every=25) as m:
        for i in range(6):
            m.remember_many([Entry("text", text=f"{i}-{j}", vector=vec(j)) for j in range(10)])
        assert len(list(m.layout.checkpoints.glob("*.vix"))) == 1
        assert len(m.wal.segments()) == 1
    with open_mem(tmp_path) as m:
        assert m.recovery.checkpoint_seq is not None and m.stats()["items"]["text"] == 60


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        m.remember_text("ok", vector=vec(0))
        with pytest.raises(DimensionError, match=r"entry 1.*expected \(n, 8\)"):
            m.remember_many(
                [
                    Entry("text", text="a", vector=vec(1)),
                    Entry("text", vector=np.zeros(3, dtype=np.float32)),
                ]
            )
        with pytest.raises(DimensionError):
            m.search(np.zeros(5))
        with pytest.raises(ValueError, match="embedder"):
            m.search("text query without an embedder", mode="dense")
        with pytest.raises(ValueError, match="filter key"):
            m.search(vec(0), where={"bad key!": 1})
        with pytest.raises(ValueError, match="kind"):
            Entry("opinion")  # type: ignore[arg-type]
        assert m.last_seq == 1 and m.verify() == []


def test_directory_from_a_newer_format_is_refused(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        m.remember_text("x", vector=vec(0))
    marker = json.loads((tmp_path / "FORMAT").read_text())
    (tmp_path / "FORMAT").write_text(json.dumps({**marker, "version": 7}))
    with pytest.raises(FormatVersionError, match="version 7"):
        open_mem(tmp_path)
    (tmp_path / "FORMAT").write_text(json.dumps(marker))
    with pytest.raises(FormatVersionError, match="dim=8"):
        MemoryOS.open(tmp_path, dim=16)
    with open_mem(tmp_path) as m:  # nothing was lost by the refusals
        assert m.get(1).text == "x"


def test_second_process_is_locked_out(tmp_path: Path) -> None:
    import subprocess
    import sys

    with open_mem(tmp_path):
        code = (
            "from memory.memory_os import MemoryOS\n"
            "from memory.errors import MemoryLockedError\n"
            f"try:\n    MemoryOS.open({str(tmp_path)!r}, dim={DIM})\n"
            "except MemoryLockedError as e:\n    print('locked:', e)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert "locked:" in out.stdout and "another process" in out.stdout
    with open_mem(tmp_path):  # released on close
        pass


def test_same_process_lock(tmp_path: Path) -> None:
    with open_mem(tmp_path), pytest.raises(MemoryLockedError):
        open_mem(tmp_path)


def test_damaged_checkpoint_is_reported(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        fill(m)
        m.checkpoint()
    (ck,) = (tmp_path / "checkpoints").glob("*.vix")
    data = bytearray(ck.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ck.write_bytes(bytes(data))
    with pytest.raises(ViewDamagedError, match=r"damaged.*cogos memory rebuild .* --view index"):
        open_mem(tmp_path)
    ck.unlink()
    with pytest.raises(ViewDamagedError, match=r"missing.*--view index"):
        open_mem(tmp_path)


def test_views_that_disagree_are_detected(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        fill(m)
    conn = sqlite3.connect(tmp_path / "records.sqlite")
    conn.execute("DELETE FROM edges WHERE kind = 'next'")
    conn.commit()
    conn.close()
    with pytest.raises(ViewMismatchError, match="edges"):
        open_mem(tmp_path)


def test_replay_is_idempotent(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        fill(m)
        first = m.stats()
    for _ in range(2):
        with open_mem(tmp_path) as m:
            again = m.stats()
            assert (again["items"], again["vectors"], again["graph"]) == (
                first["items"],
                first["vectors"],
                first["graph"],
            )


def test_async_writers_share_group_commits(tmp_path: Path) -> None:
    """50 writers at once share one sync. The group is closed by its size, never by the clock:
    the committer lingers (a window far longer than the test) until all 50 are queued, however
    slowly the writers' encoding threads get to them on a busy machine."""

    async def main() -> tuple[list[int], int]:
        async with open_mem(tmp_path, group_window_ms=600_000, group_max_records=50) as m:
            before = m.wal.syncs
            ids = await asyncio.gather(
                *(m.aremember(Entry("text", text=str(i), vector=vec(i))) for i in range(50))
            )
            hits = await m.asearch(vec(7), 1)
            assert hits[0].item.text == "7"
            return ids, m.wal.syncs - before

    ids, syncs = asyncio.run(main())
    assert sorted(ids) == list(range(1, 51))
    assert syncs == 1, f"50 concurrent writers should share one fsync, took {syncs}"
    with open_mem(tmp_path) as m:
        assert m.stats()["items"]["text"] == 50


def test_always_durability_syncs_every_record(tmp_path: Path) -> None:
    with open_mem(tmp_path, durability="always") as m:
        before = m.wal.syncs
        m.remember_many([Entry("text", text=str(i)) for i in range(5)])
        assert m.wal.syncs - before == 5


def test_export(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        ids = fill(m)
        m.delete(ids["t0"])
        rows = list(m.export())
        assert [r["id"] for r in rows] == [2, 3, 4, 5, 6]
        assert rows[2]["decision"] == {"choice": "east", "values": [1]}
        assert len(list(m.export(include_deleted=True))) == 6


def test_async_writes_from_successive_event_loops(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        first = asyncio.run(m.aremember(Entry("text", text="a", vector=vec(1))))
        second = asyncio.run(
            asyncio.wait_for(m.aremember(Entry("text", text="b", vector=vec(2))), 5)
        )
        assert (first, second) == (1, 2)


def test_async_writes_return_when_logged_and_readers_see_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async write returns once it is in the log; the views follow later, in batches, but a
    reader (who takes the store lock) brings them up to date first."""
    monkeypatch.setattr(write_path, "APPLY_DELAY", 3600.0)  # the applier thread never gets to it
    monkeypatch.setattr(write_path, "APPLY_BATCH", 1 << 30)

    async def main(m: MemoryOS) -> list[int]:
        ids = [await m.aremember(Entry("text", text=f"note {i}", vector=vec(i))) for i in range(3)]
        ids.append(
            await m.aremember(Entry("event", text="moved", episode="ep", facts=[("at", "a")]))
        )
        await m.flush()
        return ids

    with open_mem(tmp_path) as m:
        ids = asyncio.run(main(m))
        assert ids == [1, 2, 3, 4]
        assert m.wal.last_seq == 4
        assert m.records.last_applied_seq == 0, "the views are behind the log"
        assert m.get(2).text == "note 1"  # a reader catches them up
        assert m.records.last_applied_seq == 4
        assert [i.text for i in m.episode("ep")] == ["moved"]
        assert m.search(vec(2), k=1)[0].item.id == 3
        assert m.verify() == []
        asyncio.run(main(m))  # and again, then closed with the views behind
        assert m.records.last_applied_seq == 4
    with open_mem(tmp_path) as m:
        assert m.recovery.problems == []
        assert m.stats()["items"] == {"event": 2, "fact": 0, "text": 6}


def test_checkpoint_while_async_writers_log(tmp_path: Path) -> None:
    """Checkpoints (every 25 records here) taken by the applier while writers keep logging: the
    log after each checkpoint holds every record its index lacks."""

    async def main(m: MemoryOS) -> list[int]:
        return list(
            await asyncio.gather(
                *(m.aremember(Entry("text", text=str(i), vector=vec(i))) for i in range(200))
            )
        )

    with open_mem(tmp_path, checkpoint_every=25) as m:
        ids = asyncio.run(main(m))
        assert sorted(ids) == list(range(1, 201))
        assert m.verify() == []
    with open_mem(tmp_path) as m:
        assert m.recovery.problems == []
        assert m.recovery.checkpoint_seq is not None
        assert m.stats()["items"]["text"] == 200
        assert m.search(vec(150), k=1)[0].item.text == "150"
