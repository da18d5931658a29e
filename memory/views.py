"""The views of the log: the record store, the vector index and the episodic graph.

Each is derived from the write-ahead log alone, so each can be rebuilt from it; applying a batch
of log operations is the one way they change. The record store and the vector index remember
the last sequence number they applied (``applied_seq``), which is how recovery knows what to
replay into each, and what the log must still hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.codec import OP_DELETE, OP_PUT, LogOp
from memory.stores.graph import GraphStore
from memory.stores.record_store import RecordStore
from memory.stores.vectors import VectorStore


@dataclass
class Views:
    """The three views, updated together."""

    records: RecordStore
    vectors: VectorStore
    graph: GraphStore

    def apply(self, ops: Sequence[LogOp]) -> None:
        """Apply logged operations, in log order, to every view that has not seen them."""
        new_edges = self.records.apply(ops)
        vectors = self.vectors
        fresh = [op for op in ops if op.seq > vectors.applied_seq]
        ids = [op.seq for op in fresh if op.op == OP_PUT and op.vector is not None]
        if ids:
            vectors.add(
                ids,
                np.stack([op.vector for op in fresh if op.op == OP_PUT and op.vector is not None]),
            )
        gone = [int(op.body["id"]) for op in fresh if op.op == OP_DELETE]
        if gone:
            vectors.remove(gone)
        if ops:
            vectors.applied_seq = max(vectors.applied_seq, ops[-1].seq)
        if new_edges:
            self.graph.add_edges(new_edges)

    def problems(self, log_last_seq: int) -> list[str]:
        """Where the views disagree with the log (ending at ``log_last_seq``) or each other."""
        problems = []
        records, vectors = self.records, self.vectors
        if records.last_applied_seq != log_last_seq:
            problems.append(
                f"record store applied seq {records.last_applied_seq}, log ends at {log_last_seq}"
            )
        if vectors.applied_seq != log_last_seq:
            problems.append(
                f"vector index applied seq {vectors.applied_seq}, log ends at {log_last_seq}"
            )
        with_vectors = records.count({"include_expired": True}, with_vector=True)
        if len(vectors) != with_vectors:
            problems.append(
                f"vector index holds {len(vectors)} vectors, record store {with_vectors}"
            )
        problems.extend(records.integrity())
        graph_edges = self.graph.counts()["edges"]
        record_edges = records.edge_count()
        if graph_edges != record_edges:
            problems.append(f"graph has {graph_edges} edges, record store {record_edges}")
        return problems

    def close(self) -> None:
        self.records.close()
        self.vectors.close()
