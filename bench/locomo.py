"""Retrieval quality on LoCoMo: evidence recall@k of the memory OS's search, per question category.

    python bench/locomo.py [PATH] [--quick] [--conversations N] [--captions] [--no-variants]

PATH is LoCoMo's ``locomo10.json`` (default ``../shared/data/locomo10.json`` beside the repo;
CC BY-NC 4.0, Maharana et al., ACL 2024: it is read from there, never copied into the repo).

Every dialogue turn is remembered as an *event* of its session (episode ``<sample_id>/session_<n>``;
the turn's speaker and ``dia_id`` in metadata; the session's date, e.g. "1:56 pm on 8 May, 2023",
parsed as UTC into the entry's ``time``, plus one second per turn so a session's turns keep their
order), one memory directory per conversation: questions are asked against their own conversation
only. Each conversation is ingested with one ``remember_many`` (so its turns are embedded in one
batched call) by MiniLM (``embedder: {name: minilm}``).

For every question with evidence, its evidence ``dia_id``\\ s are parsed with ``D:?(\\d+):(\\d+)``
and normalised (``D30:05`` is ``D30:5``); ids that do not exist in the conversation are dropped
(and counted), and a question left with none is skipped (and counted). ``recall@k`` is the
fraction of a question's evidence turns among the top ``k`` hits (one ``search(k=20)`` per
question, cut at 5, 10 and 20), averaged over questions: overall and per category (1 multi-hop,
2 temporal, 3 open-domain, 4 single-hop, 5 adversarial, as most papers label them).

Figures (last stdout line: one JSON object):

* ``ingest``: seconds to ingest every conversation (of which embedding), turns/s;
* ``modes``: the memory OS's default ``hybrid`` search (its shipped, LoCoMo-tuned retrieval
  settings) beside ``dense``-only and ``lexical``-only (bm25) search of the same memories, both
  without graph expansion; and hybrid with the hashing embedder (``hashing_hybrid``, its own
  memories, defaults and ``hashing_hybrid_baseline``): recall@5/10/20 overall and per
  category, query time p50/p95 (ms);
* ``variants``: plain reciprocal rank fusion (``BASELINE``: k=60, equal weights, no expansion)
  and that baseline with one or more of the memory OS's retrieval knobs changed
  (``RetrievalConfig``: ``rrf_k``, weights, ``candidates``, ``expand``, ``expand_weight``);
  ``best`` is the variant with the highest recall@10; ``recommended`` the shipped defaults.

``--captions`` appends a shared image's BLIP caption to its turn's text (off by default: the
measured text is what was said).

Query times: ``query_ms`` is one whole ``search()`` call including the query's embedding; the
questions are embedded once, in the first (default hybrid) pass, whose per-question embedding
time is then added to the later passes' search time (``search_ms``, which they measure with the
vector already at hand). The goal (not a test): recall@10 >= 0.65, query p50 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from memory.config import MemoryConfig, RetrievalConfig
from memory.embedding import Embedder, FloatArray, make_embedder
from memory.entries import Entry
from memory.memory_os import MemoryOS

DEFAULT_PATH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "locomo10.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
KS = (5, 10, 20)
EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
SESSION = re.compile(r"session_(\d+)")
DATE_FORMAT = "%I:%M %p on %d %B, %Y"
GOAL_R10 = 0.65
GOAL_P50_MS = 20.0

# Variants of hybrid search: (name, RetrievalConfig changes), each applied on top of BASELINE
# (plain reciprocal rank fusion as in Cormack et al.: k=60, equal weights, no expansion). Single
# knobs first, then the combinations that a grid over rrf_k, weights, candidates and expansion
# found best; the memory OS ships RECOMMENDED as its defaults (the "hybrid" row).
BASELINE = {"rrf_k": 60.0, "lexical_weight": 1.0, "expand": 0, "expand_weight": 0.5}
_FUSE = {"rrf_k": 10.0, "lexical_weight": 2.0}
_EXPAND = {"expand": 5, "expand_weight": 0.8}
RECOMMENDED = {**_FUSE, **_EXPAND}
PURE = {"expand": 0}  # dense-only and bm25-only are measured without graph expansion
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("baseline (k=60, equal weights, no expansion)", {}),
    ("rrf_k=10", {"rrf_k": 10.0}),
    ("lexical_weight=2", {"lexical_weight": 2.0}),
    ("candidates=20", {"candidates": 20}),
    ("expand=5", {"expand": 5}),
    ("expand=5 w=0.8", _EXPAND),
    ("rrf_k=10 lw=2", _FUSE),
    ("rrf_k=10 lw=2 expand=3 w=0.8", {**_FUSE, "expand": 3, "expand_weight": 0.8}),
    ("rrf_k=10 lw=2 expand=5 w=0.8", RECOMMENDED),
    ("rrf_k=10 lw=2 expand=5 w=0.8 c=100", {**RECOMMENDED, "candidates": 100}),
    (
        "rrf_k=20 lw=3 expand=5 w=0.8 c=100",
        {"rrf_k": 20.0, "lexical_weight": 3.0, **_EXPAND, "candidates": 100},
    ),
]


# -- the data ---------------------------------------------------------------------------------


def parse_when(text: str) -> float:
    """A session's "1:56 pm on 8 May, 2023" as a UTC timestamp."""
    return datetime.strptime(text.strip(), DATE_FORMAT).replace(tzinfo=UTC).timestamp()


def norm_id(session: str | int, turn: str | int) -> str:
    return f"D{int(session)}:{int(turn)}"


def sessions(sample: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]], float]]:
    """``(number, turns, start time)`` of a conversation's sessions, in order."""
    conv = sample["conversation"]
    out = []
    for key, turns in conv.items():
        found = SESSION.fullmatch(key)
        if found and isinstance(turns, list):
            n = int(found.group(1))
            out.append((n, turns, parse_when(conv[f"session_{n}_date_time"])))
    return sorted(out, key=lambda s: s[0])


def turn_text(turn: dict[str, Any], captions: bool) -> str:
    text = str(turn.get("text", ""))
    caption = turn.get("blip_caption")
    if captions and caption:
        text = f"{text} [shares {caption}]"
    return text


def entries_of(sample: dict[str, Any], captions: bool = False) -> list[Entry]:
    """Every dialogue turn of a conversation as an event of its session."""
    out = []
    sid = sample["sample_id"]
    for n, turns, start in sessions(sample):
        for i, turn in enumerate(turns):
            meta = {"speaker": turn["speaker"], "dia_id": norm_id(*turn["dia_id"][1:].split(":"))}
            out.append(
                Entry(
                    kind="event",
                    text=turn_text(turn, captions),
                    episode=f"{sid}/session_{n}",
                    time=start + i,
                    metadata=meta,
                )
            )
    return out


@dataclass
class Question:
    text: str
    category: int
    evidence: frozenset[str]


@dataclass
class Dataset:
    samples: list[dict[str, Any]]
    questions: dict[str, list[Question]]  # by sample_id
    turns: int = 0
    total_questions: int = 0
    no_evidence: int = 0
    missing_ids: list[str] = field(default_factory=list)
    all_missing: int = 0


def load(path: Path, conversations: int | None) -> Dataset:
    samples = json.loads(path.read_text())
    if conversations is not None:
        samples = samples[:conversations]
    data = Dataset(samples, {})
    for sample in samples:
        sid = sample["sample_id"]
        known = {
            norm_id(*t["dia_id"][1:].split(":")) for _, turns, _ in sessions(sample) for t in turns
        }
        data.turns += len(known)
        qs = []
        for qa in sample["qa"]:
            data.total_questions += 1
            ids = {norm_id(s, t) for e in qa.get("evidence") or [] for s, t in EVIDENCE.findall(e)}
            if not ids:
                data.no_evidence += 1
                continue
            missing = sorted(ids - known)
            data.missing_ids.extend(f"{sid} {m}" for m in missing)
            ids &= known
            if not ids:
                data.all_missing += 1
                continue
            qs.append(Question(str(qa["question"]), int(qa["category"]), frozenset(ids)))
        data.questions[sid] = qs
    return data


# -- the memories -----------------------------------------------------------------------------


class TimedEmbedder:
    """An embedder that remembers what it embedded (texts -> vectors) and how long misses took.

    It keeps the wrapped embedder's ``name`` (the same vector space), so memories made through
    it reopen with it or without it.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.normalized = inner.normalized
        self.cache: dict[str, FloatArray] = {}
        self.seconds = 0.0  # total time spent embedding misses
        self.last = 0.0  # time the last call spent embedding

    def embed(self, texts: Sequence[str]) -> FloatArray:
        batch = list(texts)
        todo = list(dict.fromkeys(t for t in batch if t not in self.cache))
        self.last = 0.0
        if todo:
            t0 = time.perf_counter()
            vectors = self.inner.embed(todo)
            self.last = time.perf_counter() - t0
            self.seconds += self.last
            self.cache.update(zip(todo, vectors, strict=True))
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([self.cache[t] for t in batch]), dtype=np.float32)


def memory_config(embedder: str, retrieval: dict[str, Any] | None = None) -> MemoryConfig:
    return MemoryConfig(
        embedder={"name": embedder},
        checkpoint_every=0,
        retrieval=RetrievalConfig(**(retrieval or {})),
    )


@dataclass
class Memories:
    """One memory directory per conversation, all made with the same embedder and ingest."""

    embedder_name: str
    embedder: TimedEmbedder
    paths: dict[str, Path]
    ingest_seconds: float
    embed_seconds: float
    turns: int


def build(
    data: Dataset, root: Path, embedder_name: str, embedder: TimedEmbedder, captions: bool = False
) -> Memories:
    paths = {}
    embedded_before = embedder.seconds
    total = 0.0
    turns = 0
    for sample in data.samples:
        sid = sample["sample_id"]
        path = root / sid
        entries = entries_of(sample, captions)
        t0 = time.perf_counter()
        with MemoryOS.open(path, memory_config(embedder_name), embedder=embedder) as mem:
            ids = mem.remember_many(entries)
        total += time.perf_counter() - t0
        assert len(ids) == len(entries)
        turns += len(entries)
        paths[sid] = path
    return Memories(
        embedder_name, embedder, paths, total, embedder.seconds - embedded_before, turns
    )


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    settings: dict[str, Any]
    recall: dict[int, list[list[float]]]  # by category: per question, recall at each k
    search_ms: list[float]
    query_ms: list[float]

    def at(self, k: int, category: int | None = None) -> float:
        i = KS.index(k)
        rows = [r for c, rs in self.recall.items() if category in (None, c) for r in rs]
        return float(np.mean([r[i] for r in rows])) if rows else float("nan")

    def summary(self) -> dict[str, Any]:
        def ms(values: list[float]) -> dict[str, float]:
            return {
                "p50": round(float(np.percentile(values, 50)), 2),
                "p95": round(float(np.percentile(values, 95)), 2),
            }

        return {
            "settings": self.settings,
            **{f"r@{k}": round(self.at(k), 4) for k in KS},
            "by_category": {
                CATEGORIES[c]: {
                    "n": len(self.recall[c]),
                    **{f"r@{k}": round(self.at(k, c), 4) for k in KS},
                }
                for c in sorted(self.recall)
            },
            "query_ms": ms(self.query_ms),
            "search_ms": ms(self.search_ms),
        }


def evaluate(
    data: Dataset,
    memories: Memories,
    name: str,
    retrieval: dict[str, Any] | None = None,
    mode: str = "hybrid",
    embed_ms: dict[str, float] | None = None,
) -> Result:
    """Ask every question of every conversation against that conversation's memory.

    ``embed_ms`` maps question texts to the milliseconds their embedding took: filled in by the
    first pass that embeds them (which measures it), and added to later passes' search times.
    """
    settings = {"mode": mode, **(retrieval or {})}
    result = Result(name, settings, {}, [], [])
    embedder = memories.embedder
    for sid, path in memories.paths.items():
        config = memory_config(memories.embedder_name, retrieval)
        with MemoryOS.open(path, config, embedder=embedder) as mem:
            for q in data.questions[sid]:
                embedder.last = 0.0
                t0 = time.perf_counter()
                hits = mem.search(q.text, max(KS), mode=mode)
                elapsed = (time.perf_counter() - t0) * 1000
                embedded = embedder.last * 1000 if mode != "lexical" else 0.0
                search = elapsed - embedded
                if embed_ms is not None and mode != "lexical":
                    if embedded:
                        embed_ms[q.text] = embedded
                    embedded = embed_ms.get(q.text, embedded)
                result.search_ms.append(search)
                result.query_ms.append(search + embedded)
                ranked = [h.item.metadata.get("dia_id") for h in hits]
                row = [len(q.evidence.intersection(ranked[:k])) / len(q.evidence) for k in KS]
                result.recall.setdefault(q.category, []).append(row)
    return result


def line(result: Result) -> str:
    s = result.summary()
    cats = " ".join(f"{s['by_category'][c]['r@10']:.3f}" for c in s["by_category"])
    return (
        f"  {result.name:<36} {s['r@5']:.3f} {s['r@10']:.3f} {s['r@20']:.3f}   {cats}"
        f"   {s['query_ms']['p50']:6.1f} {s['query_ms']['p95']:6.1f} {s['search_ms']['p50']:6.1f}"
    )


def header(data: Dataset) -> str:
    present = sorted({c for qs in data.questions.values() for q in qs for c in [q.category]})
    cats = " ".join(f"{CATEGORIES[c][:5]:>5}" for c in present)
    return (
        f"  {'':<36} {'R@5':>5} {'R@10':>5} {'R@20':>5}   {cats}   {'q p50':>6} {'q p95':>6}"
        f" {'s p50':>6}\n  {'':<36} {'':17}   (R@10 per category)"
        f"{' ' * max(0, 6 * len(present) - 20)}   (query/search ms)"
    )


# -- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    conversations = args.conversations or (2 if args.quick else None)
    data = load(args.path, conversations)
    asked = sum(len(qs) for qs in data.questions.values())
    print(
        f"LoCoMo {args.path.name}: {len(data.samples)} conversations, {data.turns} turns, "
        f"{data.total_questions} questions; {asked} asked, {data.no_evidence} skipped without "
        f"evidence, {data.all_missing} skipped whose evidence ids do not exist; "
        f"{len(data.missing_ids)} unknown evidence ids dropped ({', '.join(data.missing_ids)})"
    )
    root = Path(args.dir or tempfile.mkdtemp(prefix="locomo-"))
    cleanup = args.dir is None
    try:
        minilm = TimedEmbedder(make_embedder("minilm"))
        minilm.inner.embed(["warm up"])  # load and warm the model outside the timings
        memories = build(data, root / "minilm", "minilm", minilm, args.captions)
        print(
            f"ingest (minilm): {memories.turns} turns in {memories.ingest_seconds:.1f} s "
            f"({memories.turns / memories.ingest_seconds:.0f} turns/s; embedding "
            f"{memories.embed_seconds:.1f} s)"
        )
        embed_ms: dict[str, float] = {}
        print(header(data))
        modes = {}
        for name, mode, knobs in (
            ("hybrid", "hybrid", None),
            ("dense", "dense", PURE),
            ("lexical", "lexical", PURE),
        ):
            modes[name] = evaluate(data, memories, name, knobs, mode, embed_ms)
            print(line(modes[name]))
        hashing = TimedEmbedder(make_embedder("hashing"))
        hashed = build(data, root / "hashing", "hashing", hashing, args.captions)
        modes["hashing_hybrid"] = evaluate(data, hashed, "hashing_hybrid", None, "hybrid")
        print(line(modes["hashing_hybrid"]))
        if not args.no_variants:
            name = "hashing_hybrid_baseline"
            modes[name] = evaluate(data, hashed, name, BASELINE, "hybrid")
            print(line(modes[name]))
        variants = [modes["hybrid"]]
        if not args.no_variants:
            print("variants of the default hybrid (minilm):")
            for name, changes in VARIANTS:
                knobs = {**BASELINE, **changes}
                variants.append(evaluate(data, memories, name, knobs, "hybrid", embed_ms))
                print(line(variants[-1]))
        best = max(variants, key=lambda r: (r.at(10), r.at(20)))
        s_best = best.summary()
        print(
            f"best: {best.name} R@10 {s_best['r@10']:.3f} (goal {GOAL_R10}), query p50 "
            f"{s_best['query_ms']['p50']:.1f} ms (goal {GOAL_P50_MS})"
        )
    finally:
        if cleanup:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "bench": "locomo",
        "quick": args.quick,
        "data": str(args.path),
        "conversations": len(data.samples),
        "turns": data.turns,
        "questions": data.total_questions,
        "asked": asked,
        "skipped_no_evidence": data.no_evidence,
        "skipped_unknown_evidence": data.all_missing,
        "dropped_evidence_ids": data.missing_ids,
        "embedder": "minilm",
        "captions": args.captions,
        "ingest": {
            "seconds": round(memories.ingest_seconds, 2),
            "embed_seconds": round(memories.embed_seconds, 2),
            "turns_per_s": round(memories.turns / memories.ingest_seconds, 1),
            "hashing_seconds": round(hashed.ingest_seconds, 2),
        },
        "modes": {name: r.summary() for name, r in modes.items()},
        "variants": {
            r.name: {
                "settings": r.settings,
                **{f"r@{k}": round(r.at(k), 4) for k in KS},
                "query_p50_ms": r.summary()["query_ms"]["p50"],
            }
            for r in variants
        },
        "best": {"name": best.name, **s_best},
        "recommended": {"settings": RECOMMENDED, "note": "shipped as the memory OS's defaults"},
        "goal": {"r@10": GOAL_R10, "query_p50_ms": GOAL_P50_MS},
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help="locomo10.json")
    parser.add_argument("--quick", action="store_true", help="2 conversations (CI smoke)")
    parser.add_argument("--conversations", type=int, help="use the first N conversations")
    parser.add_argument("--dir", help="keep the memories here (default: a temporary directory)")
    parser.add_argument("--no-variants", action="store_true", help="skip the knob variants")
    parser.add_argument(
        "--captions",
        action="store_true",
        help="append a shared image's BLIP caption to its turn's text ('[shares a photo of ...]')",
    )
    args = parser.parse_args()
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
