"""Configuration of a memory OS instance (the ``memory:`` section of an agent's YAML)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from memory.wal.log import Durability


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexConfig(_Strict):
    """Which FAISS index backs the vector view, and its parameters."""

    kind: Literal["flat", "hnsw", "ivf"] = "flat"
    hnsw_m: int = Field(default=32, ge=4)
    ef_construction: int = Field(default=40, ge=8)
    ef_search: int = Field(default=64, ge=1)
    ivf_nlist: int = Field(default=256, ge=1)
    ivf_nprobe: int = Field(default=16, ge=1)
    train_size: int | None = Field(default=None, ge=1, description="IVF: train after this many")
    device: Literal["auto", "cpu", "gpu"] = "auto"
    threads: int = Field(default=1, ge=1, description="OpenMP threads for faiss")


class EmbedderSpec(_Strict):
    """A registered embedder (entry-point group ``cogos.embedders``) and its options."""

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class RetrievalConfig(_Strict):
    """How :meth:`~memory.memory_os.MemoryOS.search` finds memories (see docs/retrieval.md)."""

    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    candidates: int = Field(default=50, ge=1, description="hits taken from each retriever")
    # Defaults tuned on LoCoMo (bench/locomo.py, full run, MiniLM): R@10 0.575 -> 0.733
    rrf_k: float = Field(default=10.0, gt=0, description="reciprocal rank fusion constant")
    dense_weight: float = Field(default=1.0, ge=0)
    lexical_weight: float = Field(default=2.0, ge=0)
    expand: int = Field(default=5, ge=0, description="top hits whose graph neighbours are added")
    expand_weight: float = Field(
        default=0.8,
        ge=0,
        description="neighbour score / parent score; must exceed the fused-score ratio of rank "
        "1 to rank k for a neighbour to reach the top k",
    )
    doc_fields: tuple[str, ...] = Field(
        default=("speaker", "name", "actor", "user", "role"),
        description="metadata fields indexed beside the text (who was involved)",
    )


class LifecycleConfig(_Strict):
    """Forgetting: capacity with heat-based eviction, and retention of expired items."""

    capacity: int | None = Field(default=None, ge=1, description="max live items of evict_kinds")
    evict_kinds: tuple[str, ...] = ("event", "text")
    heat_half_life: float = Field(default=86_400.0, gt=0, description="seconds")
    expired_retention: float = Field(
        default=7 * 86_400.0, ge=0, description="compaction removes items expired this long ago"
    )


class MemoryConfig(_Strict):
    """Where memory lives and how it is written."""

    path: str | None = Field(default=None, description="directory; None keeps memory off")
    dim: int = Field(default=384, ge=1)
    embedder: EmbedderSpec | None = Field(
        default=None, description="turns texts into vectors (remember and search by text)"
    )
    metric: Literal["cosine", "ip", "l2"] = "cosine"
    index: IndexConfig = Field(default_factory=IndexConfig)
    durability: Durability = Durability.GROUP
    group_window_ms: float = Field(
        default=0.0,
        ge=0,
        description="group commit: extra wait for more writers (0: a group is what arrived "
        "while the previous group was being synced)",
    )
    group_max_records: int = Field(default=1024, ge=1, description="group commit: or this many")
    segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    checkpoint_every: int = Field(
        default=200_000, ge=0, description="records between automatic checkpoints (0: never)"
    )
    verify_on_open: bool = True
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
