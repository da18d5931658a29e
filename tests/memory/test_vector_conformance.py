"""Every vector-store backend passes the same suite; FAISS results are checked against NumPy's exact ones."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from memory.errors import DimensionError
from memory.stores import FaissVectorStore, Metric, NumpyVectorStore, VectorStore

DIM = 16

BACKENDS: dict[str, Callable[[Metric], VectorStore]] = {
    "numpy": lambda metric: NumpyVectorStore(DIM, metric),
    "faiss-flat": lambda metric: FaissVectorStore(DIM, metric, "flat", device="cpu"),
    "faiss-hnsw": lambda metric: FaissVectorStore(DIM, metric, "hnsw", ef_search=256, device="cpu"),
    "faiss-ivf": lambda metric: FaissVectorStore(
        DIM, metric, "ivf", ivf_nlist=4, ivf_nprobe=4, train_size=100, device="cpu"
    ),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def data(n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_self_match_and_agreement_with_exact(backend: str, metric: Metric) -> None:
    store = BACKENDS[backend](metric)
    reference = NumpyVectorStore(DIM, metric)
    x = data()
    ids = np.arange(1000, 1000 + len(x))
    store.add(ids, x)
    reference.add(ids, x)
    assert len(store) == len(x)
    got_ids, got_scores = store.search(x[:20], 5)
    exp_ids, _exp_scores = reference.search(x[:20], 5)
    assert got_ids.shape == (20, 5) and got_scores.dtype == np.float32
    if metric != "ip":  # with raw inner product a vector need not be its own best match
        assert (got_ids[:, 0] == ids[:20]).all()
    # approximate backends: at least 90% of the exact top-5 are found
    overlap = np.mean([len(set(g) & set(e)) / 5 for g, e in zip(got_ids, exp_ids, strict=True)])
    assert overlap >= 0.9
    assert (np.diff(got_scores, axis=1) <= 1e-5).all(), "scores are sorted, best first"


def test_remove_and_allow(backend: str) -> None:
    store = BACKENDS[backend]("cosine")
    x = data()
    ids = np.arange(1, len(x) + 1)
    store.add(ids, x)
    assert store.remove([1, 2, 3, 99999]) == 3
    assert len(store) == len(x) - 3
    assert not store.contains(1) and store.contains(4)
    found, _ = store.search(x[:3], 10)
    assert not set(found.ravel().tolist()) & {1, 2, 3}
    allowed = [10, 20, 30, 2]  # 2 is removed: never returned
    found, scores = store.search(x[9], 10, allow=allowed)
    assert found[0, 0] == 10
    assert set(found[0][found[0] >= 0].tolist()) == {10, 20, 30}
    assert np.isneginf(scores[0, 3:]).all() and (found[0, 3:] == -1).all()
    assert sorted(store.ids().tolist()) == list(range(4, len(x) + 1))


def test_compact_drops_what_remove_marked(backend: str) -> None:
    """After ``compact`` the store holds exactly the live vectors (HNSW rebuilds itself)."""
    store = BACKENDS[backend]("cosine")
    x = data()
    ids = np.arange(1, len(x) + 1)
    store.add(ids, x)
    store.remove([1, 2, 3])
    store.compact()
    assert len(store) == len(x) - 3
    assert sorted(store.ids().tolist()) == list(range(4, len(x) + 1))
    if isinstance(store, FaissVectorStore):
        assert store._index.ntotal == len(x) - 3, "nothing removed is still in the index"
    found, _ = store.search(x[3:6], 1)
    assert found.ravel().tolist() == [4, 5, 6]


def test_save_and_load_round_trip(backend: str, tmp_path: Path) -> None:
    store = BACKENDS[backend]("cosine")
    x = data()
    store.add(np.arange(len(x)), x)
    store.remove([5])
    store.save(tmp_path / "ix")
    again = BACKENDS[backend]("cosine")
    again.load(tmp_path / "ix")
    assert len(again) == len(store)
    a, _ = store.search(x[:10], 5)
    b, _ = again.search(x[:10], 5)
    assert (a == b).all()
    assert not again.contains(5)


def test_dimension_and_value_errors(backend: str) -> None:
    store = BACKENDS[backend]("cosine")
    with pytest.raises(DimensionError, match=r"expected \(n, 16\)"):
        store.add([1], np.zeros((1, DIM + 1), dtype=np.float32))
    with pytest.raises(DimensionError, match="NaN"):
        store.add([1], np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(DimensionError):
        store.search(np.zeros(3), 1)
    assert len(store) == 0


def test_empty_store_search(backend: str) -> None:
    ids, scores = BACKENDS[backend]("cosine").search(data(2), 3)
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_ivf_trains_once_enough_vectors_arrived() -> None:
    store = FaissVectorStore(DIM, "cosine", "ivf", ivf_nlist=4, train_size=50, device="cpu")
    x = data(80)
    store.add(np.arange(30), x[:30])
    assert (store.trained, len(store)) == (False, 30)  # (a tuple: mypy does not narrow it)
    assert store.search(x[3], 1)[0][0, 0] == 3  # exact search while untrained
    store.add(np.arange(30, 80), x[30:])
    assert (store.trained, len(store)) == (True, 80)


@pytest.mark.gpu
@pytest.mark.skipif(
    not __import__("memory.stores.faiss_vectors", fromlist=["gpu_available"]).gpu_available(),
    reason="needs a GPU and a faiss GPU build",
)
def test_gpu_index_matches_cpu() -> None:
    gpu = FaissVectorStore(DIM, "cosine", "flat", device="gpu")
    cpu = FaissVectorStore(DIM, "cosine", "flat", device="cpu")
    x = data()
    for store in (gpu, cpu):
        store.add(np.arange(len(x)), x)
    assert gpu.on_gpu
    assert (gpu.search(x[:10], 5)[0] == cpu.search(x[:10], 5)[0]).all()
