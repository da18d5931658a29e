"""The memory OS's writes and searches as spans, on a real memory with the SDK's tracer.

The memory OS itself knows nothing of OpenTelemetry: any tracer shaped like one will do, and the
agent hands it the run's (see tests/cogos/test_telemetry.py for the spans inside a cycle).
"""

from pathlib import Path

import numpy as np
import pytest

from tests.extras import needs_extra
from tests.spans import TELEMETRY_MODULES

needs_extra("telemetry", *TELEMETRY_MODULES)

from opentelemetry.trace import StatusCode

from memory import Entry, MemoryConfig, MemoryOS
from tests.spans import attrs, in_memory, undocumented


def open_memory(path: Path) -> MemoryOS:
    return MemoryOS.open(
        path, MemoryConfig(dim=64, embedder={"name": "hashing", "options": {"dim": 64}})
    )


async def test_writes_and_searches_are_spans(tmp_path: Path) -> None:
    telemetry, exporter = in_memory()
    with open_memory(tmp_path / "mem") as memory:
        memory.remember_text("Alice moved to Paris in May")  # before the tracer: no span
        memory.tracer = telemetry.tracer
        memory.remember_many(
            [
                Entry(kind="text", text="Bob likes tea"),
                Entry(kind="fact", facts=(("at", "bob", "home"),)),
            ]
        )
        await memory.aremember_many([Entry(kind="text", text="Carol plays chess")])
        hits = memory.search("where does Alice live?", k=2)
        vector = np.ones(64, dtype=np.float32)
        by_vector = await memory.asearch(vector, 3)
        lexical = memory.search("chess", k=4, mode="lexical")
        with pytest.raises(ValueError, match="search mode"):
            memory.search("tea", mode="fuzzy")
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names == ["memory.remember"] * 2 + ["memory.search"] * 4
    sync_write, async_write = attrs(spans[0]), attrs(spans[1])
    assert sync_write == {"cogos.memory.entries": 2, "cogos.memory.kinds": ("fact", "text")}
    assert async_write == {"cogos.memory.entries": 1, "cogos.memory.kinds": ("text",)}
    searches = [attrs(s) for s in spans[2:6]]
    assert searches[0] == {
        "cogos.memory.mode": "hybrid",
        "cogos.memory.k": 2,
        "cogos.memory.hits": len(hits),
    }
    assert searches[1] == {
        "cogos.memory.mode": "dense",
        "cogos.memory.k": 3,
        "cogos.memory.hits": len(by_vector),
    }
    assert searches[2] == {
        "cogos.memory.mode": "lexical",
        "cogos.memory.k": 4,
        "cogos.memory.hits": len(lexical),
    }
    assert len(hits) == 2 and len(lexical) >= 1
    refused = spans[5]
    assert refused.status.status_code is StatusCode.ERROR and "cogos.memory.hits" not in attrs(
        refused
    )
    assert undocumented(spans) == set()


def test_without_an_embedder_a_hybrid_search_is_reported_lexical(tmp_path: Path) -> None:
    telemetry, exporter = in_memory()
    with MemoryOS.open(tmp_path / "mem", MemoryConfig(dim=8)) as memory:
        memory.tracer = telemetry.tracer
        memory.remember_text("the key is under the mat")
        memory.search("key", k=1)
    search = next(s for s in exporter.get_finished_spans() if s.name == "memory.search")
    assert attrs(search)["cogos.memory.mode"] == "lexical"
    assert attrs(search)["cogos.memory.hits"] == 1
