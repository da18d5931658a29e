"""Hybrid retrieval on a real memory directory: fusion, graph expansion, time and actors."""

from pathlib import Path

import pytest

from memory.config import MemoryConfig
from memory.entries import Entry
from memory.memory_os import MemoryOS
from memory.rank_fusion import expand, reciprocal_rank_fusion

T0 = 1_683_550_000.0  # 8 May 2023


def test_reciprocal_rank_fusion() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.1)]
    lexical = [(3, 12.0), (1, 5.0), (4, 1.0)]
    fused = reciprocal_rank_fusion([(dense, 1.0), (lexical, 1.0)], k=60)
    assert [i for i, _ in fused] == [1, 3, 2, 4]  # 1 is high in both; 3 wins a tie-break on ranks
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = reciprocal_rank_fusion([(dense, 0.0), (lexical, 1.0)], k=60)
    assert [i for i, _ in weighted][:3] == [3, 1, 4]


def test_expand_lifts_neighbours_never_demotes() -> None:
    ranked = [(10, 1.0), (20, 0.4), (30, 0.1)]
    graph = {10: [11, 30], 20: [21]}
    out = dict(expand(ranked, lambda i: graph.get(i, []), top=1, weight=0.5))
    assert out[11] == 0.5 and out[30] == 0.5  # 30 lifted from 0.1 to 0.5
    assert out[20] == 0.4 and 21 not in out  # only the top 1 is expanded
    assert expand(ranked, lambda i: graph.get(i, []), top=0, weight=0.5) == ranked


@pytest.fixture
def chat(tmp_path: Path) -> MemoryOS:
    config = MemoryConfig.model_validate({"embedder": {"name": "hashing"}})
    m = MemoryOS.open(tmp_path / "m", config)
    turns = [
        ("Alice", "I adopted a puppy named Biscuit last week!"),
        ("Bob", "That is wonderful, what breed is it?"),
        ("Alice", "A golden retriever, he loves the park."),
        ("Bob", "My sister Carol moved to Lisbon in spring."),
        ("Alice", "Lisbon is lovely, I went there for a conference."),
    ]
    m.remember_many(
        [
            Entry("event", text=t, episode="s1", time=T0 + 60 * i, metadata={"speaker": s})
            for i, (s, t) in enumerate(turns)
        ]
    )
    m.remember(
        Entry(
            "event",
            text="We talked about the weather.",
            episode="s2",
            time=T0 + 86400 * 40,
            metadata={"speaker": "Bob"},
        )
    )
    return m


def test_lexical_finds_rare_words_and_actors_and_dates(chat: MemoryOS) -> None:
    with chat:
        assert chat.search("Biscuit", k=1, mode="lexical")[0].item.text.startswith("I adopted")
        by_speaker = chat.search("what did Carol's brother Bob say", k=6, mode="lexical")
        assert by_speaker[0].item.metadata["speaker"] == "Bob"
        june = chat.search("June 2023", k=1, mode="lexical")  # T0 + 40 days: 17 June 2023
        assert june[0].item.text == "We talked about the weather."


def test_hybrid_fuses_dense_and_lexical(chat: MemoryOS) -> None:
    with chat:
        hybrid = chat.search("which breed is the puppy", k=3)
        dense = chat.search("which breed is the puppy", k=3, mode="dense")
        lexical = chat.search("which breed is the puppy", k=3, mode="lexical")
        ids = {h.item.id for h in hybrid}
        assert ids & {h.item.id for h in dense} and ids & {h.item.id for h in lexical}
        assert all(0 < h.score < 1 for h in hybrid), "hybrid scores are RRF scores"


def test_graph_expansion_brings_the_neighbouring_turn(chat: MemoryOS) -> None:
    with chat:
        plain = [h.item.id for h in chat.search("golden retriever", k=1, mode="lexical")]
        assert plain == [3]
        expanded = [
            h.item.id for h in chat.search("golden retriever", k=3, mode="lexical", expand=1)
        ]
        assert expanded[0] == 3 and set(expanded[1:]) == {2, 4}  # the turns before and after


def test_filters_apply_to_every_retriever(chat: MemoryOS) -> None:
    with chat:
        for mode in ("hybrid", "dense", "lexical"):
            hits = chat.search("Lisbon", k=5, where={"speaker": "Alice"}, mode=mode)
            assert hits and all(h.item.metadata["speaker"] == "Alice" for h in hits)
        expanded = chat.search("golden retriever", k=5, where={"speaker": "Alice"}, expand=2)
        assert all(h.item.metadata["speaker"] == "Alice" for h in expanded)


def test_retrieval_survives_restart(tmp_path: Path, chat: MemoryOS) -> None:
    before = [h.item.id for h in chat.search("Lisbon conference", k=3)]
    chat.close()
    with MemoryOS.open(tmp_path / "m") as again:  # embedder and FTS index come back
        assert [h.item.id for h in again.search("Lisbon conference", k=3)] == before
