"""Inspecting a memory: explained search, an item's page, its graph, and never writing to it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from cogos.inspector.memory_view import MemoryHeldError, MemoryView
from memory import MemoryOS
from memory.config import MemoryConfig
from tests.cli_runner import cogos
from tests.inspector.conftest import remember_chat


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_explained_search_is_the_search_with_each_rankers_part(tmp_path: Path) -> None:
    config = MemoryConfig.model_validate({"embedder": {"name": "hashing"}})
    with MemoryOS.open(tmp_path / "m", config) as memory:
        ids = remember_chat(memory)
        plain = memory.search("Carol moved to Lisbon", k=6, expand=2)
        explained = memory.explain("Carol moved to Lisbon", k=6, expand=2)
        assert [h.item.id for h in plain] == [h["item"]["id"] for h in explained]
        assert [h.score for h in plain] == [h["score"] for h in explained]
        top = explained[0]
        assert top["item"]["id"] == ids[3]  # "My sister Carol moved to Lisbon in spring."
        assert top["lexical"]["rank"] == 1 and top["dense"]["rank"] == 1
        lifted = [h for h in explained if h["graph"] is not None]
        assert lifted, "expansion lifted the turns around the best hits"
        best = {h["item"]["id"] for h in explained[:2]}
        for hit in lifted:
            assert hit["graph"]["from"] in best
            assert hit["item"]["id"] in {i.id for i in memory.neighbours(hit["graph"]["from"])}
        lexical_only = memory.explain("Lisbon", k=3, mode="lexical", expand=0)
        assert all(h["dense"] is None and h["lexical"] for h in lexical_only)


def test_an_items_page_has_its_validity_ttl_heat_and_seq(tmp_path: Path) -> None:
    with MemoryOS.open(tmp_path / "m", MemoryConfig()) as memory:
        ids = remember_chat(memory)
        fact = memory.details(ids[-1], now=1_700_000_000.0 + 60)
        assert fact["seq"] == ids[-1] and fact["ttl"] == 3600.0 and fact["valid"]
        assert fact["valid_to"] == 1_700_000_000.0 + 3600.0
        assert memory.details(ids[-1], now=1_700_000_000.0 + 7200)["valid"] is False
        cold = memory.details(ids[0])["heat"]
        memory.search("puppy Biscuit", k=1, touch=True)
        warm = memory.details(ids[0])
        assert warm["hits"] == 1 and warm["heat"] > cold
        edges = memory.neighbourhood(ids[1])
        assert ("episode:s1", f"event:{ids[1]}", "has") in edges
        assert (f"event:{ids[0]}", f"event:{ids[1]}", "next") in edges
        assert (f"event:{ids[1]}", f"event:{ids[2]}", "next") in edges


def test_the_inspector_never_writes_to_the_memory_it_reads(memory_dir: Path) -> None:
    before = snapshot(memory_dir)
    view = MemoryView(memory_dir, "m")
    try:
        # the fact's one-hour TTL ended in 2023: counted as no longer valid
        assert view.summary()["stats"]["items"] == {"event": 5, "fact": 0, "text": 0}
        hits = view.search("golden retriever", k=3)
        assert hits[0]["item"]["text"] == "A golden retriever, he loves the park."
        item = view.item(hits[0]["item"]["id"])
        assert [p["text"] for p in item["preceding"]][-1] == "That is wonderful, what breed is it?"
        assert snapshot(memory_dir) == before
    finally:
        view.close()
    assert snapshot(memory_dir) == before
    assert not view._scratch.exists(), "the copy is removed on close"


HOLDER = """
import sys
from memory import MemoryOS
with MemoryOS.open(sys.argv[1]):
    print("ready", flush=True)
    sys.stdin.read()
"""


def test_a_memory_held_by_a_running_process_is_refused_naming_it(
    memory_dir: Path, repo_root: Path
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(memory_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo_root,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        before = snapshot(memory_dir)
        with pytest.raises(MemoryHeldError, match=rf"open in process {holder.pid}"):
            MemoryView(memory_dir, "m")
        done = cogos("inspect", str(memory_dir), cwd=repo_root)
        assert done.returncode == 1
        assert f"open in process {holder.pid}" in done.stderr and "Traceback" not in done.stderr
        assert snapshot(memory_dir) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        assert holder.stdout is not None
        holder.stdout.close()
    view = MemoryView(memory_dir, "m")  # once it is closed, the memory opens
    view.close()
