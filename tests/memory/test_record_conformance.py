"""Every record-store backend passes the same suite (a SQLite file and SQLite in memory)."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from memory.codec import OP_DELETE, OP_PUT, LogOp, put_body
from memory.entries import Entry
from memory.stores import RecordStore, SqliteRecordStore


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    s = SqliteRecordStore(tmp_path / "r.sqlite" if request.param == "file" else ":memory:")
    yield s
    s.close()


def put(seq: int, entry: Entry, vector: bool = False) -> LogOp:
    return LogOp(seq, OP_PUT, put_body(entry), np.zeros(4, dtype=np.float32) if vector else None)


def ops() -> list[LogOp]:
    return [
        put(
            1,
            Entry(
                "event",
                text="start",
                episode="e1",
                facts=[("at", "c0_0")],
                time=10.0,
                decision={"choice": "east"},
            ),
            vector=True,
        ),
        put(2, Entry("event", text="moved", episode="e1", facts=[("at", "c0_1")], time=11.0)),
        put(
            3,
            Entry(
                "fact",
                text="apple is red",
                facts=[("color", "apple", "red")],
                metadata={"speaker": "Ann", "n": 3},
                time=12.0,
            ),
            vector=True,
        ),
        put(4, Entry("text", text="hello", metadata={"speaker": "Bob"}, agent="a1", time=13.0)),
        put(5, Entry("event", text="other", episode="e2", entities=["apple"], time=14.0)),
    ]


def test_apply_get_and_last_applied(store: RecordStore) -> None:
    edges = store.apply(ops())
    assert store.last_applied_seq == 5
    assert ("episode:e1", "event:1", "has") in edges
    assert ("event:1", "event:2", "next") in edges
    assert ("event:1", "decision:1", "decided") in edges
    assert ("fact:3", "entity:apple", "about") in edges
    assert ("event:5", "entity:apple", "about") in edges
    items = store.get([4, 1, 99])
    assert [i.id for i in items] == [4, 1]
    assert items[1].facts == (("at", "c0_0"),) and items[1].has_vector
    assert items[0].metadata == {"speaker": "Bob"} and items[0].agent == "a1"
    assert store.decision(1) == {"choice": "east"} and store.decision(2) is None
    assert sorted(store.edges()) == sorted(edges)
    assert store.edge_count() == len(edges)


def test_apply_is_idempotent(store: RecordStore) -> None:
    store.apply(ops())
    assert store.apply(ops()) == []  # every op is at or below last_applied_seq
    assert store.count(include_deleted=True) == 5
    store.apply([*ops(), put(6, Entry("event", text="later", episode="e1"))])
    assert store.count() == 6
    assert ("event:2", "event:6", "next") in store.edges()  # the chain continues across batches


def test_filters(store: RecordStore) -> None:
    store.apply(ops())
    assert store.filter_ids({"kind": "event"}) == [5, 2, 1]
    assert store.filter_ids({"episode": "e1"}, with_vector=True) == [1]
    assert store.filter_ids({"speaker": "Ann"}) == [3]
    assert store.filter_ids({"metadata.speaker": ["Ann", "Bob"]}) == [4, 3]
    assert store.filter_ids({"n": 3}) == [3]
    assert store.filter_ids({"time_from": 11.0, "time_to": 13.0}) == [3, 2]
    assert store.filter_ids({"kind": "text", "agent": "a1"}) == [4]
    assert store.filter_ids(limit=2) == [5, 4]
    assert store.count({"kind": "event"}) == 3 and store.count(with_vector=True) == 2
    assert [i.id for i in store.recent(2, {"kind": "event"})] == [5, 2]
    for bad in ({"x; DROP TABLE items": 1}, {"kind": {"$ne": 1}}):
        with pytest.raises(ValueError, match="filter"):
            store.filter_ids(bad)


def test_delete_and_compact(store: RecordStore) -> None:
    store.apply(ops())
    store.apply([LogOp(6, OP_DELETE, {"id": 2}, None), LogOp(7, OP_DELETE, {"id": 3}, None)])
    assert store.last_applied_seq == 7
    assert [i.id for i in store.get([1, 2, 3])] == [1]
    assert [i.id for i in store.get([2], include_deleted=True)] == [2]
    assert store.deleted_ids() == [2, 3]
    assert store.count() == 3 and store.count(include_deleted=True) == 5
    assert 2 not in store.filter_ids()
    assert store.compact() == 2
    assert store.deleted_ids() == [] and store.get([2], include_deleted=True) == []
    assert not any("event:2" in (s, d) or "fact:3" in (s, d) for s, d, _ in store.edges())


def test_setup_is_idempotent_and_state_persists(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with SqliteRecordStore(path) as s:
        s.apply(ops())
        s.setup()
        s.make_durable()
    with SqliteRecordStore(path) as s:
        assert s.last_applied_seq == 5 and s.count() == 5
        s.apply([put(6, Entry("event", text="x", episode="e2"))])
        assert ("event:5", "event:6", "next") in s.edges()


def test_stored_edges_are_the_edges_apply_returned(store: RecordStore) -> None:
    """The store expands entity edges itself; what it keeps must be what the graph was given."""
    odd = ["it's", 'say "hi"', "naïve", "a b", "[x]", "c0_0"]
    returned = store.apply(
        [
            *ops(),
            put(6, Entry("event", episode="e1", facts=[("saw", *odd), ("at", "c0_0")])),
            put(7, Entry("fact", entities=["apple", "it's"])),
        ]
    )
    assert ("event:6", "entity:it's", "about") in returned
    assert ("event:6", "entity:naïve", "about") in returned
    assert sorted(store.edges()) == sorted(returned)
    assert [e for e in returned if e[0] == "event:6" and e[2] == "about"] == [
        ("event:6", f"entity:{name}", "about") for name in odd
    ]


def test_compact_bridges_the_episode_chain(store: RecordStore) -> None:
    chain = [put(i, Entry("event", episode="e", facts=[("at", f"c{i}")])) for i in range(1, 5)]
    store.apply(chain)
    store.apply([LogOp(5, OP_DELETE, {"id": 2}, None), LogOp(6, OP_DELETE, {"id": 3}, None)])
    assert store.compact() == 2
    edges = set(store.edges())
    assert ("event:1", "event:4", "next") in edges
    assert not any({"event:2", "event:3"} & {s, d} for s, d, _ in edges)
    assert ("event:4", "entity:c4", "about") in edges and ("episode:e", "event:4", "has") in edges


def test_a_version_3_file_gets_version_4_indexes(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with SqliteRecordStore(path) as s:
        s.apply(ops())
        s.db.execute("DROP INDEX edges_seq")
        s.db.execute("CREATE INDEX idx_edges_src ON edges (src)")
        s.db.execute("CREATE INDEX idx_edges_dst ON edges (dst)")
        s.db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with SqliteRecordStore(path) as s:
        indexes = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"edges_seq", "edges_next_src", "edges_next_dst"} <= indexes
        assert not {"idx_edges_src", "idx_edges_dst"} & indexes
        version = s.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version[0] == "4"
        assert s.count() == 5 and ("event:1", "event:2", "next") in set(s.edges())
