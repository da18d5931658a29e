from memory.stores import NetworkxGraphStore


def build() -> NetworkxGraphStore:
    g = NetworkxGraphStore()
    g.add_edges(
        [
            ("episode:e1", "event:1", "has"),
            ("episode:e1", "event:2", "has"),
            ("episode:e1", "event:3", "has"),
            ("event:1", "event:2", "next"),
            ("event:2", "event:3", "next"),
            ("event:1", "entity:key", "about"),
            ("event:9", "entity:key", "about"),
            ("event:3", "decision:3", "decided"),
        ]
    )
    return g


def test_queries() -> None:
    g = build()
    assert g.about("key") == [9, 1]
    assert g.about("nothing") == []
    assert g.episode_events("e1") == [1, 2, 3]
    assert sorted(g.neighbours(2)) == [1, 3]
    assert sorted(g.neighbours(1)) == [2, 9]  # next, and via the shared entity
    assert sorted(g.neighbours(1, via_entities=False)) == [2]
    assert sorted(g.neighbours(3, hops=2)) == [1, 2]
    path = g.path("event:9", "event:3")
    assert path[:3] == ["event:9", "entity:key", "event:1"] and path[-1] == "event:3"
    assert len(path) == 5  # via event:2 or via the episode node: both are shortest
    assert g.path("event:1", "episode:nope") == []
    counts = g.counts()
    assert counts["event"] == 4 and counts["entity"] == 1 and counts["edges"] == 8


def test_removing_an_event_bridges_the_chain() -> None:
    g = build()
    g.remove_items([2, 3])
    assert g.episode_events("e1") == [1]
    g2 = build()
    g2.remove_items([2])
    assert (
        g2.g.has_edge("event:1", "event:3") and g2.g.edges["event:1", "event:3"]["kind"] == "next"
    )
