"""The memory lifecycle: validity intervals and "as of", TTL, eviction by heat, consolidation.
Every step goes through the log, so each test also checks it survives a restart."""

from pathlib import Path

import numpy as np
import pytest

from memory.config import LifecycleConfig
from memory.entries import Entry
from memory.errors import UnknownItemError
from memory.lifecycle import choose_evictions, heat
from memory.memory_os import MemoryOS

DIM = 8


def vec(i: int) -> np.ndarray:
    return np.random.default_rng(i).normal(size=DIM).astype(np.float32)


def open_mem(path: Path, **kw: object) -> MemoryOS:
    return MemoryOS.open(path, dim=DIM, **kw)  # type: ignore[arg-type]


def test_forget_is_a_soft_delete_with_as_of(tmp_path: Path) -> None:
    t0 = 1_000_000.0
    with open_mem(tmp_path) as m:
        old = m.remember(
            Entry(
                "fact",
                text="Alice lives in Paris",
                facts=[("lives", "alice", "paris")],
                time=t0,
                vector=vec(1),
            )
        )
        m.forget(old, at=t0 + 100, reason="moved")
        new = m.remember(
            Entry(
                "fact",
                text="Alice lives in Rome",
                facts=[("lives", "alice", "rome")],
                time=t0 + 100,
                vector=vec(2),
            )
        )
    for _ in range(2):  # and again after a restart
        with open_mem(tmp_path) as m:
            assert [i.id for i in m.recent(10)] == [new]
            assert [h.item.id for h in m.search(vec(1), k=5)] == [new], "forgotten: not current"
            assert [i.id for i in m.recent(10, {"as_of": t0 + 50})] == [old]
            assert [i.id for i in m.recent(10, {"as_of": t0 + 150})] == [new]
            past = m.search("Alice lives", k=5, where={"as_of": t0 + 50}, mode="lexical")
            assert [h.item.id for h in past] == [old]
            assert m.get(old).valid_to == t0 + 100


def test_ttl_expiry_and_compaction(tmp_path: Path) -> None:
    """Every time is given, none read from the clock: the short-lived entry was valid from t0 to
    t0+5, the lasting one from t0+1 on, and compaction is asked "as if" at t0+10 (expired 5 s
    ago, within the 10 s retention) and at t0+70 (past it). A query with no "as of" asks about
    the real now, which is long after t0 (1970): the short-lived entry has expired by then."""
    t0 = 1_000_000.0
    with open_mem(tmp_path, lifecycle=LifecycleConfig(expired_retention=10)) as m:
        short = m.remember(Entry("text", text="the oven is on", time=t0, ttl=5, vector=vec(1)))
        lasting = m.remember(Entry("text", text="the house is blue", time=t0 + 1, vector=vec(2)))
        assert {i.id for i in m.recent(10, {"as_of": t0 + 3})} == {short, lasting}
        assert [i.id for i in m.recent(10)] == [lasting]
        assert short not in [h.item.id for h in m.search(vec(1), k=5)]
        assert [i.id for i in m.recent(10, {"as_of": t0 + 4})] == [lasting, short]
        assert m.compact(now=t0 + 10)["expired"] == 0, "within retention: kept for 'as of'"
        result = m.compact(now=t0 + 70)
        assert result["expired"] == 1 and result["removed"] == 1
        with pytest.raises(UnknownItemError):
            m.forget(short)
    with open_mem(tmp_path) as m:
        assert m.records.get([short], include_deleted=True) == []
        assert len(m.vectors) == 1 and m.verify() == []


def test_heat_orders_by_recency_and_frequency() -> None:
    now = 1000.0
    assert heat(5, now, now, 100) > heat(0, now, now, 100)  # used more
    assert heat(0, now, now, 100) > heat(0, now - 500, now, 100)  # used more recently
    assert heat(3, now - 100, now, 100) == pytest.approx(2.0)  # (1 + 3) * 0.5
    stats = [(1, 0, now - 1000), (2, 10, now), (3, 0, now), (4, 1, now - 50)]
    assert choose_evictions(stats, capacity=3, now=now, half_life=100) == [1]
    assert choose_evictions(stats, capacity=4, now=now, half_life=100) == []


def test_eviction_under_a_capacity_limit(tmp_path: Path) -> None:
    lifecycle = LifecycleConfig(capacity=20, evict_kinds=("text",))
    with open_mem(tmp_path, lifecycle=lifecycle) as m:
        ids = m.remember_many([Entry("text", text=f"note {i}", vector=vec(i)) for i in range(20)])
        hot = ids[0]
        for _ in range(3):
            m.search(vec(0), k=1, touch=True)  # the oldest note is recalled often
        m.remember(Entry("fact", text="facts are not evicted", vector=vec(99)))
        more = m.remember_many(
            [Entry("text", text=f"later {i}", vector=vec(100 + i)) for i in range(5)]
        )
        live = {i.id for i in m.recent(100, {"kind": "text"})}
        assert len(live) <= 20
        assert hot in live, "a hot memory survives"
        assert set(more) <= live, "fresh memories survive"
        assert ids[1] not in live, "the coldest went first"
        assert m.stats()["items"]["fact"] == 1
        evicted = m.records.deleted_ids()
    with open_mem(tmp_path, lifecycle=lifecycle) as m:
        assert m.records.deleted_ids() == evicted, "evictions are in the log"
        assert m.verify() == []


def test_consolidation_into_facts_and_skills(tmp_path: Path) -> None:
    with open_mem(tmp_path) as m:
        for ep, path in (
            ("e1", ["east", "south", "east", "east"]),
            ("e2", ["south", "east", "east"]),
        ):
            for step in range(3):
                m.remember(
                    Entry(
                        "event",
                        text=f"step {step}",
                        episode=ep,
                        facts=[
                            ("at", f"c0_{step}"),
                            ("open", f"c0_{step}", f"c0_{step + 1}"),
                            ("goal", "c2_2"),
                        ],
                    )
                )
            result = m.consolidate(
                ep, context="maze7", success=True, actions=path, goal="reach the goal"
            )
            if ep == "e1":
                assert result["facts"] == 4  # 3 open facts + the goal; 'at' is dropped
                first_skill = result["skill"]
            else:
                assert result["facts"] == 0, "already known in this context"
                assert result["superseded"] == first_skill
        again = m.consolidate(
            "e2",
            context="maze7",
            success=True,
            actions=["south", "east", "east"],
            goal="reach the goal",
        )
        assert again == {"facts": 0, "skill": None, "superseded": None}, "idempotent"
        other = m.consolidate("e1", context="another-maze")
        assert other["facts"] == 4 and other["skill"] is None
    with open_mem(tmp_path) as m:
        knowledge = m.knowledge("maze7")
        facts = sorted(i.facts[0] for i in knowledge if i.kind == "fact")
        assert ("goal", "c2_2") in facts and all(f[0] != "at" for f in facts)
        skills = [i for i in knowledge if i.kind == "skill"]
        assert len(skills) == 1 and skills[0].metadata["actions"] == ["south", "east", "east"]
        as_before = m.knowledge("maze7", as_of=skills[0].time - 1e-3)
        assert [i.metadata["steps"] for i in as_before if i.kind == "skill"] == [4]
