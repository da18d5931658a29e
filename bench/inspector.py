"""The inspector: opening a 20-episode run, and a search over a 100K-item memory, over HTTP.

    python bench/inspector.py [--quick] [--run RUN_DIR] [--items N]

Everything goes through the real server (uvicorn on a free port) and a plain HTTP client, as a
browser would ask, and is set beside the raw library doing the least the same answer needs
(figures on the last line: one JSON object):

* ``open_run``: a cold start on a 20-episode maze run (``config/maze.yaml``, made first unless
  ``--run`` names one): build the workspace, then fetch the run's episode table, episode 3's
  cycles and its picture at step 9 (best and median of 5 cold starts). ``raw_read_trace_s`` is
  ``json.loads`` of every line of the same trace (what a reader without an index pays);
  goal: under 1 s.
* ``memory_search``: a memory of ``--items`` text items (100,000; 20,000 with ``--quick``) with
  the hashing embedder, so hybrid search runs both rankers. One request is
  ``/api/memory/search`` (k=20, each ranker's part explained); p50 and p95 over 40 queries.
  ``raw_*`` are FAISS ``IndexFlatIP`` on the same vectors plus a SQLite FTS5 bm25 query over the
  same texts in a plain table, the two rankers' raw cost; goal: under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from cogos.config import load_config
from cogos.inspector.server import InspectorServer
from cogos.inspector.workspace import open_workspace
from cogos.runner import run
from memory import Entry, MemoryOS
from memory.config import MemoryConfig

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "agent",
    "kitchen",
    "apple",
    "fridge",
    "door",
    "key",
    "ball",
    "box",
    "maze",
    "corridor",
    "lamp",
    "table",
    "chair",
    "window",
    "garden",
    "river",
    "bridge",
    "market",
    "school",
    "doctor",
    "music",
    "travel",
    "dinner",
    "coffee",
    "morning",
    "evening",
    "puppy",
    "park",
    "lisbon",
    "paris",
    "berlin",
    "tokyo",
    "sister",
    "brother",
    "friend",
    "teacher",
    "book",
    "movie",
    "painting",
    "guitar",
    "piano",
    "rain",
    "snow",
    "summer",
    "winter",
    "birthday",
    "wedding",
    "holiday",
    "project",
    "meeting",
    "report",
    "budget",
    "deadline",
]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return bytes(answer.read())


def make_run(out: Path) -> Path:
    run(load_config(ROOT / "config" / "maze.yaml"), out)
    return out


def open_run(run_dir: Path) -> dict[str, Any]:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        workspace = open_workspace([run_dir])
        try:
            with InspectorServer(workspace) as server:
                key = next(iter(workspace.runs))
                q = urllib.parse.quote(key)
                table = json.loads(get(f"{server.url}api/run?run={q}"))
                episode = json.loads(get(f"{server.url}api/episode?run={q}&episode=3"))
                picture = get(f"{server.url}api/frame?run={q}&episode=3&step=9")
                times.append(time.perf_counter() - started)
        finally:
            workspace.close()
    assert len(table["episodes"]) >= 4
    assert episode["cycles"]
    assert picture
    started = time.perf_counter()
    with (run_dir / "trace.jsonl").open(encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    raw = time.perf_counter() - started
    best = min(times)
    return {
        "episodes": len(table["episodes"]),
        "trace_mb": round((run_dir / "trace.jsonl").stat().st_size / 1e6, 2),
        "trace_lines": len(lines),
        "open_best_s": round(best, 4),
        "open_median_s": round(statistics.median(times), 4),
        "raw_read_trace_s": round(raw, 4),
        "ratio_open_over_raw_read": round(best / raw, 2),
        "goal_open_under_1s": best < 1.0,
    }


def sentence(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(WORDS, size=int(rng.integers(6, 14))))


def make_memory(path: Path, items: int, rng: np.random.Generator) -> list[str]:
    texts = [sentence(rng) for _ in range(items)]
    config = MemoryConfig.model_validate({"embedder": {"name": "hashing"}, "durability": "group"})
    with MemoryOS.open(path, config) as memory:
        for start in range(0, items, 2000):
            batch = texts[start : start + 2000]
            memory.remember_many(
                [
                    Entry("text", text=t, episode=f"e{(start + i) // 50}")
                    for i, t in enumerate(batch)
                ]
            )
    return texts


def memory_search(items: int, queries: int = 40) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    scratch = Path(tempfile.mkdtemp(prefix="bench-inspector-"))
    try:
        started = time.perf_counter()
        texts = make_memory(scratch / "memory", items, rng)
        built = time.perf_counter() - started
        asked = [" ".join(rng.choice(WORDS, size=3)) for _ in range(queries)]
        started = time.perf_counter()
        workspace = open_workspace([scratch / "memory"])
        opened = time.perf_counter() - started
        try:
            view = next(iter(workspace.memories.values()))
            vectors = view.memory.embedder.embed(texts) if view.memory.embedder else None
            with InspectorServer(workspace) as server:
                times = []
                for q in [asked[0], *asked]:  # the first one warms up
                    query = urllib.parse.quote(q)
                    url = f"{server.url}api/memory/search?memory=memory&k=20&q={query}"
                    started = time.perf_counter()
                    hits = json.loads(get(url))["hits"]
                    times.append(time.perf_counter() - started)
                times = times[1:]
        finally:
            workspace.close()
        assert hits
        assert vectors is not None
        raw = raw_rankers(texts, vectors, asked, view.memory.embedder)
        p50, p95 = np.percentile(times, [50, 95])
        return {
            "items": items,
            "build_s": round(built, 1),
            "inspector_open_s": round(opened, 2),
            "search_p50_ms": round(1000 * p50, 2),
            "search_p95_ms": round(1000 * p95, 2),
            **raw,
            "ratio_p50_over_raw": round(1000 * p50 / raw["raw_p50_ms"], 2),
            "goal_search_under_100ms": bool(p95 < 0.1),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def raw_rankers(texts: list[str], vectors: Any, asked: list[str], embedder: Any) -> dict[str, Any]:
    """FAISS flat search plus SQLite FTS5 bm25, each top 100: the two rankers with nothing else."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text)")
    db.executemany("INSERT INTO t(text) VALUES (?)", [(t,) for t in texts])
    times = []
    for q in asked:
        started = time.perf_counter()
        index.search(embedder.embed([q]), 100)
        words = " OR ".join(f'"{w}"' for w in q.split())
        db.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 100", (words,)
        ).fetchall()
        times.append(time.perf_counter() - started)
    db.close()
    return {"raw_p50_ms": round(1000 * float(np.percentile(times, 50)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 memory items, not 100,000")
    parser.add_argument("--run", type=Path, help="a run directory to open (default: make one)")
    parser.add_argument("--items", type=int, help="memory items (default 100,000)")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    items = args.items or (20_000 if args.quick else 100_000)
    out: dict[str, Any] = {"bench": "inspector", "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="bench-inspector-run-") as scratch:
        run_dir = args.run or make_run(Path(scratch) / "demo")
        out["open_run"] = open_run(run_dir)
        print("open_run", out["open_run"], flush=True)
    out["memory_search"] = memory_search(items)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
