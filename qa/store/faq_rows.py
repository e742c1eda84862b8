"""FAQ entries and their change history: user data that reindex never drops.

Every write is one ``BEGIN IMMEDIATE`` transaction that also appends to ``faq_history`` and
bumps ``meta.faq_version`` (matchers in other processes reload when it changes).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field, replace

from qa.store.db import Database
from qa.store.log import utc_now

FIELDS = ("question", "alternates", "answer", "source", "tags", "status", "negatives")
#: Fields stored as JSON lists of strings.
LIST_FIELDS = ("alternates", "tags", "negatives")


@dataclass(frozen=True)
class FaqRecord:
    """One FAQ entry as stored. ``alternates``, ``tags`` and ``negatives`` are lists of strings;
    ``negatives`` are phrasings that must not be answered by this entry (negative questions)."""

    id: str
    question: str
    answer: str
    alternates: list[str] = field(default_factory=list)
    source: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "active"
    origin: str = "staff"
    seed_hash: str | None = None
    created_by: str = ""
    created_at: str = ""
    updated_by: str = ""
    updated_at: str = ""
    negatives: list[str] = field(default_factory=list)
    rev: int = 0  # FAQ version of the last write (set by the store)

    def public(self) -> dict:
        """The editable fields (what history rows and exports hold)."""
        return {k: getattr(self, k) for k in FIELDS}


class FaqNotFound(KeyError):
    """No FAQ entry has this id."""


def _record(row: sqlite3.Row) -> FaqRecord:
    data = dict(row)
    for name in LIST_FIELDS:
        data[name] = json.loads(data[name])
    return FaqRecord(**data)


class FaqRows:
    """CRUD for ``faq_entries`` with history, on one :class:`~qa.store.db.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, faq_id: str) -> FaqRecord | None:
        row = self.db.conn.execute("SELECT * FROM faq_entries WHERE id=?", (faq_id,)).fetchone()
        return _record(row) if row else None

    def all(self, *, status: str | None = None) -> list[FaqRecord]:
        """Entries ordered by id (natural order: F2 before F10); optionally one status only."""
        sql, args = "SELECT * FROM faq_entries", ()
        if status:
            sql, args = sql + " WHERE status=?", (status,)
        rows = [_record(r) for r in self.db.conn.execute(sql, args)]
        return sorted(rows, key=lambda r: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", r.id)])

    def changed_since(self, rev: int) -> tuple[list[FaqRecord], int]:
        """Entries (any status) written after FAQ version ``rev``, and the newest ``rev`` among
        them (``rev`` itself when none): what a matcher that has seen ``rev`` must update.
        Uses the ``rev`` index, so it costs nothing per unchanged entry."""
        rows = [_record(r) for r in self.db.conn.execute("SELECT * FROM faq_entries WHERE rev > ?", (rev,))]
        return rows, max([rev, *(r.rev for r in rows)])

    def history(self, faq_id: str) -> list[dict]:
        return [dict(r) for r in self.db.conn.execute(
            "SELECT action, actor, at, old, new FROM faq_history WHERE faq_id=? ORDER BY id", (faq_id,))]

    def version(self) -> int:
        row = self.db.conn.execute("SELECT value FROM meta WHERE key='faq_version'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta(key, value) VALUES ('faq_version', '1') ON CONFLICT(key) "
                     "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    @staticmethod
    def _stamp(conn: sqlite3.Connection, faq_id: str) -> int:
        """Mark a row as written at the FAQ version the enclosing transaction will bump to
        (writes are serialised by ``BEGIN IMMEDIATE``, so versions only grow); returns it."""
        row = conn.execute("SELECT value FROM meta WHERE key='faq_version'").fetchone()
        rev = (int(row[0]) if row else 0) + 1
        conn.execute("UPDATE faq_entries SET rev=? WHERE id=?", (rev, faq_id))
        return rev

    @staticmethod
    def _history(conn: sqlite3.Connection, faq_id: str, action: str, actor: str, old: dict | None,
                 new: dict | None) -> None:
        conn.execute("INSERT INTO faq_history(faq_id, action, actor, at, old, new) VALUES (?,?,?,?,?,?)",
                     (faq_id, action, actor, utc_now(),
                      json.dumps(old, ensure_ascii=False) if old is not None else None,
                      json.dumps(new, ensure_ascii=False) if new is not None else None))

    @staticmethod
    def next_id(conn: sqlite3.Connection, reserved: frozenset[str] = frozenset()) -> str:
        """``F`` + one more than the largest numeric suffix of ``F<digits>`` ids (F001 style),
        skipping ``reserved`` ids (those named later in the same import file)."""
        row = conn.execute("SELECT MAX(CAST(SUBSTR(id, 2) AS INTEGER)) FROM faq_entries "
                           "WHERE id GLOB 'F[0-9]*' AND SUBSTR(id, 2) NOT GLOB '*[^0-9]*'").fetchone()
        number = (row[0] or 0) + 1
        while f"F{number:03d}" in reserved:
            number += 1
        return f"F{number:03d}"

    def _insert(self, conn: sqlite3.Connection, values: dict, actor: str, origin: str,
                seed_hash: str | None, reserved: frozenset[str] = frozenset()) -> FaqRecord:
        faq_id = values.get("id") or self.next_id(conn, reserved)
        now = utc_now()
        record = FaqRecord(id=faq_id, question=values["question"], answer=values["answer"],
                           alternates=list(values.get("alternates") or []), source=values.get("source") or "",
                           tags=list(values.get("tags") or []), status=values.get("status") or "active",
                           negatives=list(values.get("negatives") or []),
                           origin=origin, seed_hash=seed_hash, created_by=actor, created_at=now,
                           updated_by=actor, updated_at=now)
        row = asdict(record)
        for name in LIST_FIELDS:
            row[name] = json.dumps(row[name], ensure_ascii=False)
        conn.execute(f"INSERT INTO faq_entries({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values()))
        record = replace(record, rev=self._stamp(conn, faq_id))
        self._history(conn, faq_id, "add", actor, None, record.public())
        return record

    def _update(self, conn: sqlite3.Connection, current: FaqRecord, changes: dict, actor: str,
                action: str = "edit", seed_hash: str | None = None) -> FaqRecord:
        changes = {k: v for k, v in changes.items() if k in FIELDS and v is not None and getattr(current, k) != v}
        if not changes and seed_hash is None:
            return current
        merged = {**asdict(current), **changes, "updated_by": actor, "updated_at": utc_now()}
        if seed_hash is not None:
            merged["seed_hash"] = seed_hash
        record = FaqRecord(**merged)
        conn.execute("UPDATE faq_entries SET question=?, alternates=?, answer=?, source=?, tags=?, status=?, "
                     "negatives=?, seed_hash=?, updated_by=?, updated_at=? WHERE id=?",
                     (record.question, json.dumps(record.alternates, ensure_ascii=False), record.answer,
                      record.source, json.dumps(record.tags, ensure_ascii=False), record.status,
                      json.dumps(record.negatives, ensure_ascii=False), record.seed_hash,
                      record.updated_by, record.updated_at, record.id))
        record = replace(record, rev=self._stamp(conn, record.id))
        if changes:
            self._history(conn, record.id, action, actor, {k: getattr(current, k) for k in changes},
                          {k: getattr(record, k) for k in changes})
        return record

    def add(self, values: dict, *, actor: str, origin: str = "staff") -> FaqRecord:
        """Insert one entry (``values``: question, answer, optional id/alternates/source/tags).

        Raises:
            ValueError: the id already exists.
        """
        with self.db.write() as conn:
            if values.get("id") and conn.execute("SELECT 1 FROM faq_entries WHERE id=?", (values["id"],)).fetchone():
                raise ValueError(f"FAQ {values['id']} 已存在")
            record = self._insert(conn, values, actor, origin, None)
            self._bump(conn)
        return record

    def update(self, faq_id: str, changes: dict, *, actor: str, action: str = "edit") -> FaqRecord:
        """Change fields of one entry; a no-op change writes nothing.

        Raises:
            FaqNotFound: no such id.
        """
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM faq_entries WHERE id=?", (faq_id,)).fetchone()
            if row is None:
                raise FaqNotFound(faq_id)
            record = self._update(conn, _record(row), changes, actor, action)
            self._bump(conn)
        return record

    @staticmethod
    def _existing(conn: sqlite3.Connection, values: dict) -> sqlite3.Row | None:
        """The row an imported entry updates: same id, or for a row without id the entry with
        the same question (so importing the same id-less file twice does not duplicate it)."""
        if values.get("id"):
            return conn.execute("SELECT * FROM faq_entries WHERE id=?", (values["id"],)).fetchone()
        return conn.execute("SELECT * FROM faq_entries WHERE question=? ORDER BY created_at LIMIT 1",
                            (values["question"],)).fetchone()

    def existing(self, values: dict) -> FaqRecord | None:
        """The entry :meth:`write_many` would update with ``values`` (None: it would add one)."""
        row = self._existing(self.db.conn, values)
        return _record(row) if row else None

    def write_many(self, entries: list[dict], *, actor: str, origin: str) -> tuple[int, int, int]:
        """All-or-nothing upsert (import): by id, and rows without id by question (see
        :meth:`existing`); the others get new ids. Returns (added, updated, unchanged)."""
        added = updated = unchanged = 0
        reserved = frozenset(v["id"] for v in entries if v.get("id"))
        with self.db.write() as conn:
            for values in entries:
                row = self._existing(conn, values)
                if row is None:
                    self._insert(conn, values, actor, origin, None, reserved)
                    added += 1
                else:
                    current = _record(row)
                    new = self._update(conn, current, {k: v for k, v in values.items() if k != "id"}, actor, "import")
                    updated, unchanged = (updated + 1, unchanged) if new != current else (updated, unchanged + 1)
            self._bump(conn)
        return added, updated, unchanged

    def sync_seed(self, entries: list[tuple[dict, str]], *, actor: str = "seed") -> tuple[int, int, int]:
        """Load seed entries ``(values, content_hash)``: insert new ids; update an entry only
        when it still holds seed content (never edited by staff) and the seed file changed.
        Returns (added, updated, kept)."""
        added = updated = kept = 0
        with self.db.write() as conn:
            for values, digest in entries:
                row = conn.execute("SELECT * FROM faq_entries WHERE id=?", (values["id"],)).fetchone()
                if row is None:
                    self._insert(conn, values, actor, "seed", digest)
                    added += 1
                    continue
                current = _record(row)
                if current.origin == "seed" and current.updated_by == actor and current.seed_hash != digest:
                    self._update(conn, current, values, actor, "seed-update", seed_hash=digest)
                    updated += 1
                else:
                    kept += 1
            if added or updated:
                self._bump(conn)
        return added, updated, kept
