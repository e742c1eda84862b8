"""Writing and deleting one document's rows (documents, paragraphs, sentences, both FTS5
indexes), shared by the full rebuild (``*_build`` tables) and incremental changes (live tables).

The FTS5 tables are contentless (``content=''``): deleting a row needs the exact values that
were inserted (https://sqlite.org/fts5.html#the_delete_command). They are all kept:
``sentences.tokens``, ``documents.title_tokens``, and ``paragraphs.tokens`` = body tokens +
" " + ``paragraphs.heading_tokens``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

#: Document columns beyond the original ones, in table order.
DOCUMENT_FIELDS = ("doc_number", "valid_from", "valid_until", "status", "supersedes", "content_hash", "title_tokens")
DOCUMENT_FIELDS_DDL = ("doc_number TEXT, valid_from TEXT, valid_until TEXT, status TEXT, supersedes TEXT, "
                       "content_hash TEXT NOT NULL DEFAULT '', title_tokens TEXT NOT NULL DEFAULT ''")
_DOCUMENT_COLUMNS = ("doc_id", "title", "source", "date", "url", "path", "meta", "cleaned_text", "n_paragraphs",
                     "n_sentences", "years") + DOCUMENT_FIELDS
#: Longest IN (...) list per statement (SQLite's default variable limit is 32766; stay small).
_IN_CHUNK = 500


def term_counts(paragraphs: list[dict], sentences: list[dict]) -> tuple[Counter[str], Counter[str]]:
    """(sentence document frequency, paragraph document frequency) of one document's rows:
    each term counted once per sentence / paragraph (paragraph rows: body ``tokens`` only)."""
    sdf: Counter[str] = Counter()
    pdf: Counter[str] = Counter()
    for p in paragraphs:
        pdf.update(set(p["tokens"].split()))
    for s in sentences:
        sdf.update(set(s["tokens"].split()))
    return sdf, pdf


def insert_document_rows(conn: sqlite3.Connection, document: dict, paragraphs: list[dict], sentences: list[dict],
                         *, suffix: str = "") -> None:
    """Insert one document's rows into ``documents{suffix}`` and friends (rows as produced by
    :func:`qa.indexer.document_rows`). Runs inside the caller's transaction."""
    values = {**document, "meta": json.dumps(document.get("meta") or {}, ensure_ascii=False),
              "n_paragraphs": len(paragraphs), "n_sentences": len(sentences)}
    conn.execute(f"INSERT INTO documents{suffix} ({', '.join(_DOCUMENT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(_DOCUMENT_COLUMNS))})",
                 [values.get(c) if c not in ("content_hash", "title_tokens", "years") else values.get(c) or ""
                  for c in _DOCUMENT_COLUMNS])
    doc_id = document["doc_id"]
    conn.executemany(f'INSERT INTO paragraphs{suffix} (id, doc_id, seq, role, section, number, start, "end", text, '
                     f'norm, tokens, heading_tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', [
                         (p["id"], doc_id, p["seq"], p["role"], p["section"], p["number"], p["start"], p["end"],
                          p["text"], p["context_norm"], p["tokens"] + " " + p["heading_tokens"], p["heading_tokens"])
                         for p in paragraphs])
    conn.executemany(f"INSERT INTO paragraphs_fts{suffix}(rowid, tokens, heading) VALUES (?,?,?)", [
        (p["id"], p["tokens"], p["heading_tokens"]) for p in paragraphs if p["tokens"]])
    conn.executemany(f'INSERT INTO sentences{suffix} (id, doc_id, paragraph_id, seq, start, "end", text, norm, tokens) '
                     f'VALUES (?,?,?,?,?,?,?,?,?)', [
                         (s["id"], doc_id, s["paragraph_id"], s["seq"], s["start"], s["end"], s["text"], s["norm"],
                          s["tokens"]) for s in sentences])
    conn.executemany(f"INSERT INTO sentences_fts{suffix}(rowid, tokens, title) VALUES (?,?,?)", [
        (s["id"], s["tokens"], document["title_tokens"]) for s in sentences])


def delete_document_rows(conn: sqlite3.Connection, doc_id: str) -> tuple[int, int, Counter[str], Counter[str]] | None:
    """Delete one document from the live tables, FTS5 entries included.

    Returns:
        (paragraphs deleted, sentences deleted, sentence df, paragraph df) of the removed
        rows, for the term statistics; None when the document is not indexed.
    """
    row = conn.execute("SELECT title_tokens FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    if row is None:
        return None
    title_tokens = row[0] or ""
    paragraphs = conn.execute("SELECT id, tokens, heading_tokens FROM paragraphs WHERE doc_id=?", (doc_id,)).fetchall()
    sdf: Counter[str] = Counter()
    pdf: Counter[str] = Counter()
    fts_rows = []
    for pid, stored, heading in paragraphs:
        body = stored[:len(stored) - len(heading) - 1]
        pdf.update(set(body.split()))
        if body:
            fts_rows.append((pid, body, heading))
    conn.executemany("INSERT INTO paragraphs_fts(paragraphs_fts, rowid, tokens, heading) VALUES ('delete', ?, ?, ?)",
                     fts_rows)
    pids = [p[0] for p in paragraphs]
    n_sentences = 0
    for i in range(0, len(pids), _IN_CHUNK):
        chunk = pids[i:i + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        sentences = conn.execute(f"SELECT id, tokens FROM sentences WHERE paragraph_id IN ({marks})", chunk).fetchall()
        for _, tokens in sentences:
            sdf.update(set(tokens.split()))
        conn.executemany("INSERT INTO sentences_fts(sentences_fts, rowid, tokens, title) VALUES ('delete', ?, ?, ?)",
                         [(sid, tokens, title_tokens) for sid, tokens in sentences])
        conn.execute(f"DELETE FROM sentences WHERE paragraph_id IN ({marks})", chunk)
        n_sentences += len(sentences)
    conn.execute("DELETE FROM paragraphs WHERE doc_id=?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
    return len(paragraphs), n_sentences, sdf, pdf
