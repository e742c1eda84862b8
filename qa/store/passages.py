"""The passage index: documents -> paragraphs -> sentences, FTS5 over jieba tokens.

FTS5 cannot segment Chinese, so each sentence and paragraph carries its jieba search-mode
tokens joined by spaces, and FTS5 (``unicode61`` with ``.`` and ``%`` as token characters so
1432.86 and 30% stay whole) indexes that column. MATCH strings are built here from tokens
only (:func:`match_expression`); user text never reaches MATCH.

Reindex writes ``*_build`` tables beside the live ones in short chunked transactions (other
writers such as staff FAQ edits interleave), then swaps all of them in one transaction, so
readers answer from the old index until the instant the new one is complete.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from qa.store.db import Database
from qa.store.rows import DOCUMENT_FIELDS_DDL, insert_document_rows, term_counts

_TABLES = ("documents", "paragraphs", "sentences", "terms", "sentences_fts", "paragraphs_fts")
_FTS_TOKENIZE = "unicode61 remove_diacritics 0 tokenchars '.%'"
#: Sentences per build transaction; keeps each write lock well under a second.
CHUNK_SENTENCES = 4000


def match_expression(tokens: Iterable[str]) -> str:
    """An FTS5 MATCH string that ORs ``tokens`` as quoted phrases.

    Each token is wrapped in double quotes with inner quotes doubled (FTS5 string syntax,
    https://sqlite.org/fts5.html#fts5_strings), so operators such as AND, NEAR(, *, ^, :
    are plain text. Returns "" for no tokens (callers skip the query).
    """
    seen = dict.fromkeys(t for t in tokens if t and t.strip())
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in seen)


@dataclass(frozen=True)
class SentenceRow:
    """One candidate sentence with its context, as the ranker needs it."""

    id: int
    doc_id: str
    paragraph_id: int
    seq: int
    start: int
    end: int
    text: str
    norm: str
    tokens: tuple[str, ...]
    role: str
    section: str | None
    number: int
    title: str
    context_norm: str
    context_tokens: frozenset[str]
    doc_years: frozenset[str]


@dataclass(frozen=True)
class IndexCounts:
    documents: int
    paragraphs: int
    sentences: int
    generation: int


def _create_build_tables(conn: sqlite3.Connection, generation: int) -> None:
    for table in _TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}_build")
    conn.execute(f"""CREATE TABLE documents_build (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL,
        source TEXT, date TEXT, url TEXT, path TEXT, meta TEXT, cleaned_text TEXT NOT NULL,
        n_paragraphs INTEGER, n_sentences INTEGER, years TEXT NOT NULL DEFAULT '', {DOCUMENT_FIELDS_DDL})""")
    conn.execute("""CREATE TABLE paragraphs_build (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL,
        seq INTEGER, role TEXT, section TEXT, number INTEGER, start INTEGER, "end" INTEGER, text TEXT,
        norm TEXT, tokens TEXT, heading_tokens TEXT NOT NULL DEFAULT '')""")
    conn.execute(f"CREATE INDEX paragraphs_doc_g{generation} ON paragraphs_build(doc_id)")
    conn.execute(f"CREATE INDEX documents_supersedes_g{generation} ON documents_build(supersedes) "
                 f"WHERE supersedes IS NOT NULL")
    conn.execute("""CREATE TABLE sentences_build (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL,
        paragraph_id INTEGER NOT NULL, seq INTEGER, start INTEGER, "end" INTEGER, text TEXT,
        norm TEXT, tokens TEXT)""")
    conn.execute(f"CREATE INDEX sentences_paragraph_g{generation} ON sentences_build(paragraph_id)")
    conn.execute("CREATE TABLE terms_build (term TEXT PRIMARY KEY, sdf INTEGER, pdf INTEGER, py TEXT) WITHOUT ROWID")
    conn.execute(f"CREATE INDEX terms_py_g{generation} ON terms_build(py) WHERE py IS NOT NULL")
    conn.execute(f"CREATE VIRTUAL TABLE sentences_fts_build USING fts5(tokens, title, content='', "
                 f"tokenize=\"{_FTS_TOKENIZE}\")")
    conn.execute(f"CREATE VIRTUAL TABLE paragraphs_fts_build USING fts5(tokens, heading, content='', "
                 f"tokenize=\"{_FTS_TOKENIZE}\")")


class PassageIndex:
    """Read and rebuild the passage tables of one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ----------------------------------------------------------------- build
    def begin_build(self) -> "IndexBuild":
        """Start a rebuild; tables left by a crashed rebuild are dropped first."""
        return IndexBuild(self.db, self.generation() + 1)

    # ----------------------------------------------------------------- reads
    def generation(self) -> int:
        """Number of completed reindexes (0 = no index yet)."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key='index_generation'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> IndexCounts:
        """Row counts of the live index, from the meta row written at swap time."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key='index_counts'").fetchone()
        data = json.loads(row[0]) if row else {}
        return IndexCounts(data.get("documents", 0), data.get("paragraphs", 0), data.get("sentences", 0),
                           self.generation())

    def sentence_hits(self, match: str, limit: int, *, title_weight: float = 0.3) -> list[tuple[int, float]]:
        """(sentence id, BM25 score >= 0, higher is better) for a :func:`match_expression`; the
        document title is a second column weighted ``title_weight`` (a sentence saying 该区
        still belongs to the article about 宛城区)."""
        if not match:
            return []
        rows = self.db.conn.execute(
            "SELECT rowid, bm25(sentences_fts, 1.0, ?) AS s FROM sentences_fts WHERE sentences_fts MATCH ? "
            "ORDER BY s LIMIT ?", (title_weight, match, limit)).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def paragraph_hits(self, match: str, limit: int, *, heading_weight: float = 0.4) -> list[tuple[int, float]]:
        """(paragraph id, BM25 >= 0) with the title/section column weighted ``heading_weight``."""
        if not match:
            return []
        rows = self.db.conn.execute(
            "SELECT rowid, bm25(paragraphs_fts, 1.0, ?) AS s FROM paragraphs_fts WHERE paragraphs_fts MATCH ? "
            "ORDER BY s LIMIT ?", (heading_weight, match, limit)).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def homophones(self, pinyin: str, limit: int = 3) -> list[str]:
        """Index terms whose toneless pinyin equals ``pinyin``, most frequent first."""
        return [r[0] for r in self.db.conn.execute(
            "SELECT term FROM terms WHERE py = ? ORDER BY sdf DESC LIMIT ?", (pinyin, limit))]

    def title_hits(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(paragraph id, BM25 >= 0) matching ``match`` in the title/section column only: the
        documents a question names (华硕 in 「华硕英文名称asus代表什么」)."""
        if not match:
            return []
        rows = self.db.conn.execute(
            "SELECT rowid, bm25(paragraphs_fts, 0.0, 1.0) AS s FROM paragraphs_fts WHERE paragraphs_fts MATCH ? "
            "ORDER BY s LIMIT ?", (f"heading : ({match})", limit)).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def term_stats(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        """{term: (sentence df, paragraph df)} for the terms that occur in the index."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        rows = self.db.conn.execute(f"SELECT term, sdf, pdf FROM terms WHERE term IN ({marks})", list(terms))
        return {r[0]: (r[1], r[2]) for r in rows}

    _ROW_SQL = """SELECT s.id, s.doc_id, s.paragraph_id, s.seq, s.start, s."end", s.text, s.norm, s.tokens,
        p.role, p.section, p.number, d.title, d.years FROM sentences s JOIN paragraphs p ON p.id = s.paragraph_id
        JOIN documents d ON d.doc_id = s.doc_id"""

    def _rows(self, where: str, args: list) -> list[SentenceRow]:
        """Sentence rows plus their paragraph context, each paragraph's context read and
        parsed once (a long paragraph's tokens are shared by all its sentences)."""
        raw = self.db.conn.execute(f"{self._ROW_SQL} {where}", args).fetchall()
        pids = sorted({r[2] for r in raw})
        contexts: dict[int, tuple[str, frozenset[str]]] = {}
        if pids:
            marks = ",".join("?" * len(pids))
            for pid, norm, tokens in self.db.conn.execute(
                    f"SELECT id, norm, tokens FROM paragraphs WHERE id IN ({marks})", pids):
                contexts[pid] = (norm or "", frozenset((tokens or "").split()))
        years: dict[str, frozenset[str]] = {}
        out = []
        for r in raw:
            norm, tokens = contexts.get(r[2], ("", frozenset()))
            doc_years = years.get(r[1])
            if doc_years is None:
                doc_years = years[r[1]] = frozenset((r[13] or "").split())
            out.append(SentenceRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(r[8].split()),
                                   r[9], r[10], r[11], r[12], norm, tokens, doc_years))
        return out

    def sentences(self, ids: Sequence[int]) -> list[SentenceRow]:
        """Rows for sentence ids (any order; missing ids skipped)."""
        if not ids:
            return []
        return self._rows(f"WHERE s.id IN ({','.join('?' * len(ids))})", list(ids))

    def sentences_in_paragraphs(self, paragraph_ids: Sequence[int]) -> list[SentenceRow]:
        """Every sentence of the given paragraphs, in reading order."""
        if not paragraph_ids:
            return []
        return self._rows(f"WHERE s.paragraph_id IN ({','.join('?' * len(paragraph_ids))}) ORDER BY s.id",
                          list(paragraph_ids))

    def document(self, doc_id: str) -> dict | None:
        """The stored document row (title, source, url, cleaned_text ...) or None."""
        row = self.db.conn.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return dict(row) if row else None

    def title_sample(self, n: int) -> tuple[int, list[str]]:
        """(number of documents, the first ``n`` titles by doc_id) without reading them all."""
        total = self.db.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        titles = [r[0] for r in self.db.conn.execute("SELECT title FROM documents ORDER BY doc_id LIMIT ?", (n,))]
        return total, titles

    def documents(self) -> list[dict]:
        """doc_id, title, path and counts of every indexed document."""
        return [dict(r) for r in self.db.conn.execute(
            "SELECT doc_id, title, path, n_paragraphs, n_sentences FROM documents ORDER BY doc_id")]


class IndexBuild:
    """Accumulates one rebuild in ``*_build`` tables; :meth:`commit` swaps it live.

    Use: ``build = index.begin_build(); build.add(doc, paragraph_rows, sentence_rows) ...;
    build.commit()``. Rows are dicts produced by :mod:`qa.indexer`. Abandoning a build (crash,
    exception) leaves the live index untouched; the next build drops the leftovers.
    """

    def __init__(self, db: Database, generation: int) -> None:
        self.db, self.generation = db, generation
        self.started = time.perf_counter()
        self._sdf: Counter[str] = Counter()
        self._pdf: Counter[str] = Counter()
        self._pending: list[tuple[dict, list[dict], list[dict]]] = []
        self._pending_sentences = 0
        self.n_documents = self.n_paragraphs = self.n_sentences = 0
        with db.write() as conn:
            _create_build_tables(conn, generation)

    def add(self, document: dict, paragraphs: list[dict], sentences: list[dict]) -> None:
        """Queue one document's rows; flushed to disk every :data:`CHUNK_SENTENCES` sentences.

        ``paragraphs`` rows need id, seq, role, section, number, start, end, text, tokens,
        heading_tokens, context_norm (normalised paragraph, section and title); ``sentences`` rows need id, paragraph_id, seq, start, end, text, norm, tokens.
        """
        sdf, pdf = term_counts(paragraphs, sentences)
        self._sdf.update(sdf)
        self._pdf.update(pdf)
        self._pending.append((document, paragraphs, sentences))
        self._pending_sentences += len(sentences)
        if self._pending_sentences >= CHUNK_SENTENCES:
            self.flush()

    def flush(self) -> None:
        """Write queued rows in one short transaction."""
        if not self._pending:
            return
        with self.db.write() as conn:
            for document, paragraphs, sentences in self._pending:
                insert_document_rows(conn, document, paragraphs, sentences, suffix="_build")
                self.n_documents += 1
                self.n_paragraphs += len(paragraphs)
                self.n_sentences += len(sentences)
        self._pending.clear()
        self._pending_sentences = 0

    def commit(self, pinyin: Callable[[str], str | None] = lambda term: None) -> IndexCounts:
        """Write the term statistics (with ``pinyin(term)`` for homophone lookup) and swap every
        build table live in one transaction."""
        self.flush()
        counts = {"documents": self.n_documents, "paragraphs": self.n_paragraphs, "sentences": self.n_sentences}
        terms = [(t, self._sdf.get(t, 0), self._pdf.get(t, 0), pinyin(t)) for t in self._sdf.keys() | self._pdf.keys()]
        with self.db.write() as conn:
            conn.executemany("INSERT INTO terms_build VALUES (?,?,?,?)", terms)
            conn.execute("INSERT INTO sentences_fts_build(sentences_fts_build) VALUES ('optimize')")
            conn.execute("INSERT INTO paragraphs_fts_build(paragraphs_fts_build) VALUES ('optimize')")
        with self.db.write() as conn:
            live = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table in _TABLES:
                if table in live:
                    conn.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
                conn.execute(f"ALTER TABLE {table}_build RENAME TO {table}")
            for table in _TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}_old")
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('index_generation', ?)",
                         (str(self.generation),))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('index_counts', ?)", (json.dumps(counts),))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('index_built_at', ?)",
                         (time.strftime("%Y-%m-%dT%H:%M:%S%z"),))
        return IndexCounts(self.n_documents, self.n_paragraphs, self.n_sentences, self.generation)
