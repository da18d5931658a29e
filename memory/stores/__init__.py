"""The views of the memory OS, each behind one base contract with interchangeable backends.

* :class:`VectorStore`: FAISS (flat, HNSW, IVF; CPU or GPU) and an exact NumPy reference;
* :class:`RecordStore`: SQLite through sqlite-utils (a file, or ``:memory:``);
* :class:`GraphStore`: the networkx episodic graph.

Every backend passes the same conformance suite (``tests/memory/test_*_conformance.py``).
"""

from memory.stores.faiss_vectors import FaissVectorStore, IndexKind
from memory.stores.graph import GraphStore, NetworkxGraphStore
from memory.stores.numpy_vectors import NumpyVectorStore
from memory.stores.record_store import Edge, RecordStore, Where
from memory.stores.sqlite_record_store import SqliteRecordStore
from memory.stores.vectors import Metric, VectorStore

__all__ = [
    "Edge",
    "FaissVectorStore",
    "GraphStore",
    "IndexKind",
    "Metric",
    "NetworkxGraphStore",
    "NumpyVectorStore",
    "RecordStore",
    "SqliteRecordStore",
    "VectorStore",
    "Where",
]
