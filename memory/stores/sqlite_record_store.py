"""SQLite record store through sqlite-utils.

Schema version 4 (created idempotently by :meth:`SqliteRecordStore.setup`, which also migrates
older files in place)::

    items(id INTEGER PRIMARY KEY, kind, text, facts JSON, metadata JSON, episode, agent, time,
          has_vector, deleted_by,          -- deleted_by: seq of the delete record, NULL if live
          valid_from, valid_to,            -- validity interval; valid_to NULL = open-ended
          doc,                             -- what full-text search indexes (text, actors, date)
          hits, last_access)               -- retrieval statistics for eviction (soft state)
    items_fts                              -- FTS5 over items.doc, kept in step by triggers
    decisions(id INTEGER PRIMARY KEY, record JSON)
    vectors(id INTEGER PRIMARY KEY, v BLOB)  -- each item's vector (float32), from version 3: the
                                           -- vector index can be rebuilt from them
    edges(src, dst, kind, seq)             -- seq: the entry that made the edge; indexed by seq,
                                           -- and 'next' edges by src and by dst (version 4)
    meta(key PRIMARY KEY, value)           -- last_applied_seq, schema_version

The FTS index is updated by triggers inside the same transaction as the rows, so lexical
search never sees a half-applied batch.

SQLite runs in WAL journal mode with ``synchronous=NORMAL``: a crash may lose the last
transactions but never corrupts the file, and our own log has those records, so recovery replays
them. :meth:`make_durable` (called by a checkpoint before the log behind it is dropped) forces a
full SQLite checkpoint, which syncs the database file.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlite_utils

from memory.codec import OP_CHECKPOINT, OP_DELETE, OP_EXPIRE, OP_PUT, LogOp, entry_of
from memory.entries import Entry, MemoryItem
from memory.errors import FormatVersionError, UnknownOperationError
from memory.fastjson import dumps
from memory.stores.record_store import (
    COLUMNS,
    DEFAULT_DOC_FIELDS,
    ENTITY_PREFIX,
    Edge,
    RecordStore,
    Where,
    check_where,
    doc_text,
    edges_for,
)

SCHEMA_VERSION = 4
_ITEM_COLUMNS = (
    "id, kind, text, facts, metadata, episode, agent, time, has_vector, deleted_by,"
    " valid_from, valid_to"
)
_V2_COLUMNS = {
    "valid_from": float,
    "valid_to": float,
    "doc": str,
    "hits": int,
    "last_access": float,
}
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


@dataclass
class _Rows:
    """One batch of log operations as rows, by table; written in one transaction."""

    items: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[int, str]] = field(default_factory=list)
    vectors: list[tuple[int, bytes]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    """Every new edge, for the graph view."""
    edge_rows: list[tuple[str, str, str, int]] = field(default_factory=list)
    about_rows: list[tuple[str, str, int, str]] = field(default_factory=list)
    """``(node, entity prefix, seq, the entities as a JSON array)``: expanded by SQLite."""
    deletes: list[tuple[int, int]] = field(default_factory=list)
    expires: list[tuple[float, int]] = field(default_factory=list)

    def put(self, op: LogOp, entry: Entry, previous: int | None, doc_fields: Sequence[str]) -> None:
        self.items.append(
            (
                op.seq,
                entry.kind,
                entry.text,
                dumps(entry.facts) if entry.facts else None,
                dumps(entry.metadata) if entry.metadata else None,
                entry.episode,
                entry.agent,
                entry.time,
                int(op.vector is not None),
                entry.effective_valid_from,
                entry.effective_valid_to,
                doc_text(entry, doc_fields),
            )
        )
        if entry.decision is not None:
            self.decisions.append((op.seq, dumps(entry.decision)))
        if op.vector is not None:
            self.vectors.append((op.seq, np.asarray(op.vector, dtype="<f4").tobytes()))
        entities = entry.all_entities()
        new = edges_for(op.seq, entry, previous, entities)
        self.edges.extend(new)
        self.edge_rows.extend([(*edge, op.seq) for edge in new if edge[2] != "about"])
        if entities:
            node = f"{entry.kind}:{op.seq}"
            self.about_rows.append((node, ENTITY_PREFIX, op.seq, dumps(entities)))

    def write(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO items (id, kind, text, facts, metadata, episode, agent, time,"
            " has_vector, valid_from, valid_to, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.items,
        )
        if self.items:
            conn.execute(
                "INSERT INTO items_fts (rowid, doc) SELECT id, doc FROM items"
                " WHERE id >= ? AND id <= ?",
                [self.items[0][0], self.items[-1][0]],
            )
        statements: list[tuple[str, list[Any]]] = [
            ("INSERT INTO decisions (id, record) VALUES (?, ?)", self.decisions),
            ("INSERT INTO vectors (id, v) VALUES (?, ?)", self.vectors),
            ("INSERT INTO edges (src, dst, kind, seq) VALUES (?, ?, ?, ?)", self.edge_rows),
            # an event is about ~45 entities: SQLite expands them from one JSON array each,
            # outside the GIL, at a third of the cost of binding every row from Python
            (
                "INSERT INTO edges (src, dst, kind, seq)"
                " SELECT ?1, ?2 || value, 'about', ?3 FROM json_each(?4)",
                self.about_rows,
            ),
            ("UPDATE items SET deleted_by = ? WHERE id = ? AND deleted_by IS NULL", self.deletes),
            (
                "UPDATE items SET valid_to = ?1 WHERE id = ?2"
                " AND (valid_to IS NULL OR valid_to > ?1)",
                self.expires,
            ),
        ]
        for sql, rows in statements:
            if rows:
                conn.executemany(sql, rows)


class SqliteRecordStore(RecordStore):
    """Records in one SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str | Path, doc_fields: Sequence[str] = DEFAULT_DOC_FIELDS) -> None:
        self.path = str(path)
        self.doc_fields = tuple(doc_fields)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self._last_applied = 0
        self._last_event: dict[str, int] = {}
        self.setup()

    def __enter__(self) -> SqliteRecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def setup(self) -> None:
        db = self.db
        with db.atomic():
            if "meta" not in db.table_names():
                db.table("meta").create({"key": str, "value": str}, pk="key")
                db.table("meta").insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})
                db.table("meta").insert({"key": "last_applied_seq", "value": "0"})
            db.table("items").create(
                {
                    "id": int,
                    "kind": str,
                    "text": str,
                    "facts": str,
                    "metadata": str,
                    "episode": str,
                    "agent": str,
                    "time": float,
                    "has_vector": int,
                    "deleted_by": int,
                },
                pk="id",
                if_not_exists=True,
            )
            db.table("decisions").create({"id": int, "record": str}, pk="id", if_not_exists=True)
            db.table("vectors").create({"id": int, "v": bytes}, pk="id", if_not_exists=True)
            db.table("edges").create(
                {"src": str, "dst": str, "kind": str, "seq": int}, if_not_exists=True
            )
            items = db.table("items")
            for column, kind in _V2_COLUMNS.items():  # version 1 -> 2: add what is missing
                if column not in items.columns_dict:
                    items.add_column(column, kind)
            if "items_fts" not in db.table_names():
                # content-linked FTS5, filled in bulk by apply() in the batch's own transaction
                # (per-row triggers cost ~6x more at ingest)
                items.enable_fts(["doc"], create_triggers=False, tokenize="porter")
            db.table("items").create_index(["kind", "id"], if_not_exists=True)
            db.table("items").create_index(["episode", "id"], if_not_exists=True)
            # edges are found by the entry that made them, and 'next' edges by either end (to
            # bridge a compacted event); an index of every edge's ends cost ~3x at ingest
            db.execute("CREATE INDEX IF NOT EXISTS edges_seq ON edges (seq)")
            db.execute(
                "CREATE INDEX IF NOT EXISTS edges_next_src ON edges (src) WHERE kind = 'next'"
            )
            db.execute(
                "CREATE INDEX IF NOT EXISTS edges_next_dst ON edges (dst) WHERE kind = 'next'"
            )
        meta = {r["key"]: r["value"] for r in db.table("meta").rows}
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise FormatVersionError(
                f"{self.path}: record store schema version {version} is newer than this CogOS "
                f"reads ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            with db.atomic():
                if version < 3:
                    db.execute("UPDATE items SET valid_from = time WHERE valid_from IS NULL")
                    db.execute("UPDATE items SET doc = text WHERE doc IS NULL")
                    db.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
                db.execute("DROP INDEX IF EXISTS idx_edges_src")  # version 3 -> 4
                db.execute("DROP INDEX IF EXISTS idx_edges_dst")
                db.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)]
                )
        self._last_applied = int(meta.get("last_applied_seq", "0"))

    @property
    def last_applied_seq(self) -> int:
        return self._last_applied

    # -- writing --------------------------------------------------------------------------

    def _previous_event(self, episode: str) -> int | None:
        if episode not in self._last_event:
            row = self.db.execute(
                "SELECT max(id) FROM items WHERE kind = 'event' AND episode = ?", [episode]
            ).fetchone()
            if row[0] is None:
                return None
            self._last_event[episode] = int(row[0])
        return self._last_event[episode]

    def _chain(self, entry: Entry, seq: int, last_event: dict[str, int]) -> int | None:
        """The event before ``entry`` in its episode (None: none, or not an event); notes it."""
        if entry.kind != "event" or entry.episode is None:
            return None
        if entry.episode not in last_event:
            found = self._previous_event(entry.episode)
            if found is not None:
                last_event[entry.episode] = found
        previous = last_event.get(entry.episode)
        last_event[entry.episode] = seq
        return previous

    def apply(self, ops: Sequence[LogOp]) -> list[Edge]:
        ops = [op for op in ops if op.seq > self._last_applied]
        if not ops:
            return []
        rows = _Rows()
        last_event = dict(self._last_event)
        for op in ops:
            if op.op == OP_PUT:
                entry = entry_of(op.body, None)
                rows.put(op, entry, self._chain(entry, op.seq, last_event), self.doc_fields)
            elif op.op == OP_DELETE:
                rows.deletes.append((op.seq, int(op.body["id"])))
            elif op.op == OP_EXPIRE:
                rows.expires.append((float(op.body["valid_to"]), int(op.body["id"])))
            elif op.op != OP_CHECKPOINT:
                raise UnknownOperationError(op.seq, op.op)
        with self.db.atomic():
            rows.write(self.db.conn)
            self.db.execute(
                "UPDATE meta SET value = ? WHERE key = 'last_applied_seq'", [str(ops[-1].seq)]
            )
        self._last_applied = ops[-1].seq
        self._last_event = last_event
        return rows.edges

    def make_durable(self) -> None:
        if self.path != ":memory:":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def snapshot(self, path: Path) -> None:
        """A consistent copy of the whole store in ``path`` (SQLite's online backup)."""
        target = sqlite3.connect(str(path))
        try:
            self.db.conn.backup(target)
        finally:
            target.close()

    def stored_vectors(self) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        """The vector of every item not deleted that has one, in id order."""
        rows = self.db.execute(
            "SELECT vectors.id, vectors.v FROM vectors JOIN items ON items.id = vectors.id"
            " WHERE items.deleted_by IS NULL ORDER BY vectors.id"
        )
        for item, blob in rows:
            yield int(item), np.frombuffer(blob, dtype="<f4")

    def missing_vectors(self) -> int:
        """Items that have a vector which this store does not keep (written before version 3)."""
        row = self.db.execute(
            "SELECT count(*) FROM items WHERE has_vector = 1 AND deleted_by IS NULL"
            " AND id NOT IN (SELECT id FROM vectors)"
        ).fetchone()
        return int(row[0])

    def compact(self) -> int:
        db = self.db
        with db.atomic():
            dead = [
                (r[0], r[1], r[2])
                for r in db.execute(
                    "SELECT id, kind, deleted_by FROM items"
                    " WHERE deleted_by IS NOT NULL ORDER BY id"
                )
            ]
            for item, kind, by in dead:
                node = f"{kind}:{item}"
                # bridge the episode's 'next' chain over the removed event, as the graph does
                before = [
                    r[0]
                    for r in db.execute(
                        "SELECT src FROM edges WHERE dst = ? AND kind = 'next'", [node]
                    )
                ]
                after = [
                    r[0]
                    for r in db.execute(
                        "SELECT dst FROM edges WHERE src = ? AND kind = 'next'", [node]
                    )
                ]
                db.conn.executemany(
                    "INSERT INTO edges (src, dst, kind, seq) VALUES (?, ?, 'next', ?)",
                    [(b, a, by) for b in before for a in after],
                )
                # every edge at the node is the item's own (seq), or a 'next' edge of its chain
                db.execute("DELETE FROM edges WHERE seq = ?", [item])
                db.execute("DELETE FROM edges WHERE kind = 'next' AND src = ?", [node])
                db.execute("DELETE FROM edges WHERE kind = 'next' AND dst = ?", [node])
                db.execute("DELETE FROM decisions WHERE id = ?", [item])
                db.execute("DELETE FROM vectors WHERE id = ?", [item])
                db.execute(
                    "INSERT INTO items_fts (items_fts, rowid, doc)"
                    " SELECT 'delete', id, doc FROM items WHERE id = ?",
                    [item],
                )
                db.execute("DELETE FROM items WHERE id = ?", [item])
        self._last_event.clear()
        if dead and self.path != ":memory:":
            self.db.vacuum()
        return len(dead)

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def _item(row: Sequence[Any]) -> MemoryItem:
        return MemoryItem(
            id=row[0],
            kind=row[1],
            text=row[2] or "",
            facts=tuple(tuple(a) for a in json.loads(row[3])) if row[3] else (),
            metadata=json.loads(row[4]) if row[4] else {},
            episode=row[5],
            agent=row[6],
            time=row[7],
            has_vector=bool(row[8]),
            deleted=row[9] is not None,
            valid_from=row[10],
            valid_to=row[11],
        )

    def get(self, ids: Sequence[int], *, include_deleted: bool = False) -> list[MemoryItem]:
        if not ids:
            return []
        found: dict[int, MemoryItem] = {}
        id_list = [int(i) for i in ids]
        for start in range(0, len(id_list), 900):  # SQLite's bound-parameter limit
            chunk = id_list[start : start + 900]
            sql = f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self.db.execute(sql, chunk):
                item = self._item(row)
                if include_deleted or not item.deleted:
                    found[item.id] = item
        return [found[i] for i in id_list if i in found]

    def _where_sql(self, where: Where | None, prefix: str = "") -> tuple[str, list[Any]]:
        check_where(where)
        where = where or {}
        clauses = [f"{prefix}deleted_by IS NULL"]
        params: list[Any] = []
        if "as_of" in where:
            clauses.append(
                f"{prefix}valid_from <= ? AND ({prefix}valid_to IS NULL OR {prefix}valid_to > ?)"
            )
            params.extend([where["as_of"], where["as_of"]])
        elif not where.get("include_expired"):
            clauses.append(f"({prefix}valid_to IS NULL OR {prefix}valid_to > ?)")
            params.append(time.time())
        for key, value in where.items():
            if key in ("as_of", "include_expired"):
                continue
            if key == "time_from":
                clauses.append(f"{prefix}time >= ?")
                params.append(value)
                continue
            if key == "time_to":
                clauses.append(f"{prefix}time < ?")
                params.append(value)
                continue
            if key == "id" or key in COLUMNS:
                column = prefix + key
            else:
                path = key.removeprefix("metadata.")
                column = f"json_extract({prefix}metadata, '$.\"{path}\"')"
            if isinstance(value, list | tuple):
                clauses.append(f"{column} IN ({','.join('?' * len(value))})")
                params.extend(value)
            elif value is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params

    @staticmethod
    def fts_query(text: str) -> str | None:
        """A forgiving FTS5 query: every content word, quoted, joined by OR (bm25 ranks)."""
        words = dict.fromkeys(
            w for w in re.findall(r"\w+", text.lower()) if w not in _STOPWORDS and len(w) > 1
        )
        return " OR ".join(f'"{w}"' for w in words) or None

    def lexical(self, query: str, k: int, where: Where | None = None) -> list[tuple[int, float]]:
        match = self.fts_query(query)
        if match is None:
            return []
        sql, params = self._where_sql(where, prefix="i.")
        rows = self.db.execute(
            "SELECT f.rowid, bm25(items_fts) AS rank FROM items_fts f"
            f" JOIN items i ON i.id = f.rowid WHERE items_fts MATCH ? AND {sql}"
            " ORDER BY rank LIMIT ?",
            [match, *params, int(k)],
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def touch(self, ids: Sequence[int], when: float) -> None:
        if ids:
            self.db.conn.executemany(
                "UPDATE items SET hits = coalesce(hits, 0) + 1, last_access = ? WHERE id = ?",
                [(when, int(i)) for i in ids],
            )

    def access_of(self, item_id: int) -> tuple[int, float] | None:
        rows = list(
            self.db.execute(
                "SELECT coalesce(hits, 0), coalesce(last_access, time) FROM items WHERE id = ?",
                [int(item_id)],
            )
        )
        return (int(rows[0][0]), float(rows[0][1])) if rows else None

    def access_stats(self, kinds: Sequence[str]) -> list[tuple[int, int, float]]:
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            "SELECT id, coalesce(hits, 0), coalesce(last_access, time) FROM items"
            f" WHERE deleted_by IS NULL AND kind IN ({marks})",
            list(kinds),
        )
        return [(int(r[0]), int(r[1]), float(r[2])) for r in rows]

    def expired_before(self, when: float) -> list[int]:
        rows = self.db.execute(
            "SELECT id FROM items WHERE deleted_by IS NULL AND valid_to IS NOT NULL"
            " AND valid_to < ? ORDER BY id",
            [when],
        )
        return [int(r[0]) for r in rows]

    def filter_ids(
        self,
        where: Where | None = None,
        *,
        with_vector: bool | None = None,
        limit: int | None = None,
    ) -> list[int]:
        sql, params = self._where_sql(where)
        if with_vector is not None:
            sql += f" AND has_vector = {int(with_vector)}"
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return [
            r[0]
            for r in self.db.execute(
                f"SELECT id FROM items WHERE {sql} ORDER BY id DESC{tail}",
                params,
            )
        ]

    def recent(self, n: int, where: Where | None = None) -> list[MemoryItem]:
        sql, params = self._where_sql(where)
        rows = self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE {sql} ORDER BY id DESC LIMIT ?",
            [*params, int(n)],
        )
        return [self._item(r) for r in rows]

    def count(
        self,
        where: Where | None = None,
        *,
        include_deleted: bool = False,
        with_vector: bool | None = None,
    ) -> int:
        if include_deleted:
            where = {**(where or {}), "include_expired": True}
        sql, params = self._where_sql(where)
        if include_deleted:
            sql = sql.replace("deleted_by IS NULL", "1", 1)
        if with_vector is not None:
            sql += f" AND has_vector = {int(with_vector)}"
        row = self.db.execute(f"SELECT count(*) FROM items WHERE {sql}", params).fetchone()
        return int(row[0])

    def edge_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM edges").fetchone()[0])

    def integrity(self) -> list[str]:
        def one(sql: str) -> int:
            return int(self.db.execute(sql).fetchone()[0])

        problems = []
        events = one("SELECT count(*) FROM items WHERE kind = 'event' AND episode IS NOT NULL")
        episodes = one("SELECT count(DISTINCT episode) FROM items WHERE kind = 'event'")
        has = one("SELECT count(*) FROM edges WHERE kind = 'has'")
        nxt = one("SELECT count(*) FROM edges WHERE kind = 'next'")
        decided = one("SELECT count(*) FROM edges WHERE kind = 'decided'")
        decisions = one("SELECT count(*) FROM decisions")
        if has != events:
            problems.append(f"{events} episode events but {has} 'has' edges")
        if nxt != events - episodes:
            problems.append(f"{events} events in {episodes} episodes but {nxt} 'next' edges")
        if decided != decisions:
            problems.append(f"{decisions} decision records but {decided} 'decided' edges")
        return problems

    def decision(self, item_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT record FROM decisions WHERE id = ?", [item_id]).fetchone()
        return json.loads(row[0]) if row else None

    def edges(self) -> Iterator[Edge]:
        yield from self.db.execute("SELECT src, dst, kind FROM edges ORDER BY rowid")

    def deleted_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM items WHERE deleted_by IS NOT NULL")]

    def close(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.db.conn.close()
