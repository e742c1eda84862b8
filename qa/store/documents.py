"""Documents one at a time: incremental add/replace/remove in the live index, the catalog
(`docs list`), staff validity settings and the validity data answers need.

An incremental change touches only that document's rows, its terms' statistics and the
meta counters, in one write transaction; readers see the index before or after it, never
half of it. The index generation is bumped so answer caches refresh. Callers hold the
reindex lock (a full rebuild and an incremental change never interleave).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence

from qa.store.db import Database, StoreError
from qa.store.rows import delete_document_rows, insert_document_rows, term_counts

#: Validity fields staff can set (``bot.py docs set``).
SETTING_FIELDS = ("valid_from", "valid_until", "status", "supersedes")
_CATALOG_COLUMNS = ("doc_id", "title", "path", "source", "date", "url", "doc_number", "n_paragraphs", "n_sentences",
                    "content_hash", "valid_from", "valid_until", "status", "supersedes")
TEXT_OLD_INDEX = "索引是旧版本建立的，不支持单篇更新：请先运行一次 python bot.py reindex。"


class DocumentCatalog:
    """Per-document operations on one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: (index generation, validity columns present, supersede claims): answers read them on
        #: every question, but they change only with the generation (reindex, docs add/remove/set).
        self._claims: tuple[int, bool, list] | None = None

    # ------------------------------------------------------------------ reads
    def _columns(self, table: str) -> set[str]:
        return {r[1] for r in self.db.conn.execute(f"PRAGMA table_info({table})")}

    def _supersede_claims(self) -> tuple[bool, list]:
        """(whether the index has validity columns, [(doc_id, title, supersedes)]) for the
        current index generation, read once per generation."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key='index_generation'").fetchone()
        generation = int(row[0]) if row else 0
        cached = self._claims
        if cached is None or cached[0] != generation:
            supported = "supersedes" in self._columns("documents")
            claims = self.db.conn.execute(
                "SELECT d.doc_id, d.title, COALESCE(s.supersedes, d.supersedes) AS sup FROM documents d "
                "LEFT JOIN document_settings s USING (doc_id) WHERE d.supersedes IS NOT NULL "
                "UNION SELECT s.doc_id, d.title, s.supersedes FROM document_settings s JOIN documents d USING (doc_id) "
                "WHERE s.supersedes IS NOT NULL").fetchall() if supported else []
            cached = self._claims = (generation, supported, claims)
        return cached[1], cached[2]

    def supports_incremental(self) -> bool:
        """True when the live index has the columns incremental changes need (built by this version)."""
        return {"title_tokens", "content_hash"} <= self._columns("documents") and \
            "heading_tokens" in self._columns("paragraphs")

    def settings(self) -> dict[str, dict]:
        """{doc_id: {field: value}} of the staff settings (only fields staff set)."""
        out = {}
        for row in self.db.conn.execute(f"SELECT doc_id, {', '.join(SETTING_FIELDS)} FROM document_settings"):
            out[row[0]] = {f: row[i + 1] for i, f in enumerate(SETTING_FIELDS) if row[i + 1] is not None}
        return out

    def catalog(self) -> list[dict]:
        """Every indexed document with its metadata, staff settings applied (sorted by doc_id).
        Keys: :data:`_CATALOG_COLUMNS` plus ``set_by_staff`` (the fields staff set)."""
        have = self._columns("documents")
        if not have:                                  # no index built yet
            return []
        cols = [c if c in have else f"NULL AS {c}" for c in _CATALOG_COLUMNS]
        rows = [dict(r) for r in self.db.conn.execute(f"SELECT {', '.join(cols)} FROM documents ORDER BY doc_id")]
        staff = self.settings()
        for row in rows:
            own = staff.get(row["doc_id"], {})
            row.update(own)
            row["set_by_staff"] = sorted(own)
        return rows

    def get(self, doc_id: str) -> dict | None:
        """One catalog row, or None."""
        return next((r for r in self.catalog() if r["doc_id"] == doc_id), None)

    def hashes(self) -> dict[str, tuple[str | None, str]]:
        """{doc_id: (stored path, sha256 of the source file at indexing; "" if unknown)}."""
        columns = self._columns("documents")
        if not columns:
            return {}
        if "content_hash" not in columns:
            return {r[0]: (r[1], "") for r in self.db.conn.execute("SELECT doc_id, path FROM documents")}
        return {r[0]: (r[1], r[2] or "") for r in self.db.conn.execute("SELECT doc_id, path, content_hash FROM documents")}

    def statuses(self, doc_ids: Sequence[str]) -> tuple[dict[str, dict], dict[str, str]]:
        """Validity inputs for the given documents, staff settings applied.

        Returns:
            ({doc_id: {"title", "status", "valid_from", "valid_until", "superseded_by"}},
             {doc_id: doc_id of its successor}). A document is superseded by an indexed
            document whose ``supersedes`` names its doc_id, title or 发文字号.
        """
        if not doc_ids:
            return {}, {}
        supported, claims = self._supersede_claims()
        if not supported:
            return {}, {}
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.conn.execute(
            f"SELECT d.doc_id, d.title, d.doc_number, COALESCE(s.status, d.status), COALESCE(s.valid_from, d.valid_from), "
            f"COALESCE(s.valid_until, d.valid_until) FROM documents d LEFT JOIN document_settings s USING (doc_id) "
            f"WHERE d.doc_id IN ({marks})", list(doc_ids)).fetchall()
        out, successors = {}, {}
        for doc_id, title, number, status, valid_from, valid_until in rows:
            names = {doc_id, title, f"《{title}》"} | ({number} if number else set())
            successor = next(((c[0], c[1]) for c in claims if c[2] and c[2].strip() in names and c[0] != doc_id), None)
            out[doc_id] = {"title": title, "status": status, "valid_from": valid_from, "valid_until": valid_until,
                           "superseded_by": successor[1] if successor else None}
            if successor:
                successors[doc_id] = successor[0]
        return out, successors

    # ----------------------------------------------------------------- writes
    def set_validity(self, doc_id: str, *, actor: str, **fields: str | None) -> dict:
        """Set staff validity fields (keys of :data:`SETTING_FIELDS`; "" clears a field) and
        bump the index generation so cached answers refresh. Returns the document's row.

        Raises:
            KeyError: ``doc_id`` is not indexed.
            ValueError: an unknown field name.
        """
        unknown = set(fields) - set(SETTING_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (doc_id,)).fetchone() is None:
                raise KeyError(doc_id)
            row = conn.execute(f"SELECT {', '.join(SETTING_FIELDS)} FROM document_settings WHERE doc_id=?",
                               (doc_id,)).fetchone()
            current = dict(zip(SETTING_FIELDS, row)) if row else dict.fromkeys(SETTING_FIELDS)
            for key, value in fields.items():
                if value is not None:
                    current[key] = value or None
            conn.execute(f"INSERT OR REPLACE INTO document_settings (doc_id, {', '.join(SETTING_FIELDS)}, updated_by, "
                         f"updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (doc_id, *[current[f] for f in SETTING_FIELDS], actor, time.strftime("%Y-%m-%dT%H:%M:%S")))
            conn.execute("INSERT INTO audit(at, actor, action, detail) VALUES (?, ?, 'docs_set', ?)",
                         (time.strftime("%Y-%m-%dT%H:%M:%S"), actor, json.dumps({"doc_id": doc_id, **fields},
                                                                                 ensure_ascii=False)))
            _bump(conn, 0, 0, 0)
        return self.get(doc_id) or {}

    def next_ids(self) -> tuple[int, int]:
        """(next paragraph id, next sentence id) for rows added to the live index."""
        conn = self.db.conn
        pid = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM paragraphs").fetchone()[0]
        sid = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM sentences").fetchone()[0]
        return pid, sid

    def put(self, document: dict, paragraphs: list[dict], sentences: list[dict],
            pinyin: Callable[[str], str | None] = lambda term: None) -> str:
        """Add or replace one document in the live index (rows from :func:`qa.indexer.document_rows`
        with ids from :meth:`next_ids`). Returns "added" or "changed".

        Raises:
            StoreError: the live index predates incremental updates (:data:`TEXT_OLD_INDEX`).
        """
        if not self.supports_incremental():
            raise StoreError(TEXT_OLD_INDEX)
        sdf, pdf = term_counts(paragraphs, sentences)
        with self.db.write() as conn:
            removed = delete_document_rows(conn, document["doc_id"])
            if removed:
                _untally(conn, removed[2], removed[3])
            insert_document_rows(conn, document, paragraphs, sentences)
            known = {r[0] for r in _in_chunks(conn, "SELECT term FROM terms WHERE term IN ({})", sorted(sdf | pdf))}
            conn.executemany("INSERT INTO terms(term, sdf, pdf, py) VALUES (?, ?, ?, ?) ON CONFLICT(term) DO UPDATE "
                             "SET sdf = sdf + excluded.sdf, pdf = pdf + excluded.pdf",
                             [(t, sdf.get(t, 0), pdf.get(t, 0), None if t in known else pinyin(t))
                              for t in sdf.keys() | pdf.keys()])
            if removed:
                _bump(conn, 0, len(paragraphs) - removed[0], len(sentences) - removed[1])
            else:
                _bump(conn, 1, len(paragraphs), len(sentences))
        return "changed" if removed else "added"

    def remove(self, doc_id: str) -> bool:
        """Remove one document's rows (its staff settings too). False when it is not indexed.

        Raises:
            StoreError: the live index predates incremental updates.
        """
        if not self.supports_incremental():
            raise StoreError(TEXT_OLD_INDEX)
        with self.db.write() as conn:
            removed = delete_document_rows(conn, doc_id)
            if removed is None:
                return False
            _untally(conn, removed[2], removed[3])
            conn.execute("DELETE FROM document_settings WHERE doc_id=?", (doc_id,))
            _bump(conn, -1, -removed[0], -removed[1])
        return True


def _in_chunks(conn, sql: str, values: list[str], size: int = 500):
    for i in range(0, len(values), size):
        chunk = values[i:i + size]
        yield from conn.execute(sql.format(",".join("?" * len(chunk))), chunk)


def _untally(conn, sdf: Counter[str], pdf: Counter[str]) -> None:
    terms = sorted(sdf.keys() | pdf.keys())
    conn.executemany("UPDATE terms SET sdf = sdf - ?, pdf = pdf - ? WHERE term = ?",
                     [(sdf.get(t, 0), pdf.get(t, 0), t) for t in terms])
    for i in range(0, len(terms), 500):
        chunk = terms[i:i + 500]
        conn.execute(f"DELETE FROM terms WHERE term IN ({','.join('?' * len(chunk))}) AND sdf <= 0 AND pdf <= 0", chunk)


def _bump(conn, documents: int, paragraphs: int, sentences: int) -> None:
    """Adjust the recorded counts and bump the index generation (answer caches compare it)."""
    row = conn.execute("SELECT value FROM meta WHERE key='index_counts'").fetchone()
    counts = json.loads(row[0]) if row else {"documents": 0, "paragraphs": 0, "sentences": 0}
    counts = {"documents": counts.get("documents", 0) + documents, "paragraphs": counts.get("paragraphs", 0) + paragraphs,
              "sentences": counts.get("sentences", 0) + sentences}
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('index_counts', ?)", (json.dumps(counts),))
    row = conn.execute("SELECT value FROM meta WHERE key='index_generation'").fetchone()
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('index_generation', ?)",
                 (str(int(row[0]) + 1 if row else 1),))
