"""Schema of the user-data tables and its migrations (``PRAGMA user_version``).

User data (FAQ entries and their history, the question log, reply dedupe, drafts, staff
settings of document validity) lives in
tables that reindex never touches; the passage index tables are created by reindex itself
(:mod:`qa.store.passages`).
"""

from __future__ import annotations

import sqlite3

# Each step upgrades from its index to index + 1; never edit a released step, append one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS faq_entries (
            id TEXT PRIMARY KEY, question TEXT NOT NULL, alternates TEXT NOT NULL DEFAULT '[]',
            answer TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
            origin TEXT NOT NULL DEFAULT 'staff', seed_hash TEXT,
            created_by TEXT NOT NULL, created_at TEXT NOT NULL,
            updated_by TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS faq_history (
            id INTEGER PRIMARY KEY, faq_id TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL,
            at TEXT NOT NULL, old TEXT, new TEXT)""",
        "CREATE INDEX IF NOT EXISTS faq_history_faq ON faq_history(faq_id)",
        """CREATE TABLE IF NOT EXISTS questions (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, channel TEXT NOT NULL, user_hash TEXT,
            text_norm TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, confidence REAL NOT NULL,
            faq_id TEXT, doc_id TEXT, candidates TEXT NOT NULL DEFAULT '[]', feedback INTEGER)""",
        "CREATE INDEX IF NOT EXISTS questions_at ON questions(at)",
        "CREATE INDEX IF NOT EXISTS questions_user ON questions(user_hash)",
        """CREATE TABLE IF NOT EXISTS replies (
            channel TEXT NOT NULL, dedupe_key TEXT NOT NULL, user_hash TEXT, question_id INTEGER,
            reply TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (channel, dedupe_key))""",
        "CREATE INDEX IF NOT EXISTS replies_at ON replies(at)",
        """CREATE TABLE IF NOT EXISTS pages (
            channel TEXT NOT NULL, user_hash TEXT NOT NULL, rest TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (channel, user_hash))""",
        """CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE IF NOT EXISTS drafts (
            channel TEXT NOT NULL, user_key TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (channel, user_key))""",
    ),
    (
        # Staff settings of a document's validity (bot.py docs set); win over what the
        # document says and survive every reindex. NULL = not set by staff.
        """CREATE TABLE IF NOT EXISTS document_settings (
            doc_id TEXT PRIMARY KEY, valid_from TEXT, valid_until TEXT, status TEXT, supersedes TEXT,
            updated_by TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    ),
    (  # staff console accounts (issue 15); login failures persist so a restart keeps a lockout
        """CREATE TABLE IF NOT EXISTS staff_accounts (
            name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
            password_hash TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'disabled')), password_version INTEGER NOT NULL DEFAULT 1,
            created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            last_login_at TEXT)""",
        """CREATE TABLE IF NOT EXISTS login_failures (
            name TEXT PRIMARY KEY, failures INTEGER NOT NULL, first_at REAL NOT NULL,
            locked_until REAL NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS faq_entries_question ON faq_entries(question)",
        "CREATE INDEX IF NOT EXISTS questions_feedback ON questions(feedback) WHERE feedback IS NOT NULL",
        # covers the console's per-day, per-kind and FAQ-hit counts (no table reads)
        "CREATE INDEX IF NOT EXISTS questions_at_kind ON questions(at, kind, outcome, faq_id)",
    ),
    (  # issue 12: conversation context for follow-ups and numbered picks; the understood question
        """CREATE TABLE IF NOT EXISTS contexts (
            scope TEXT NOT NULL, user_hash TEXT NOT NULL, frame TEXT NOT NULL, at REAL NOT NULL,
            PRIMARY KEY (scope, user_hash))""",
        "CREATE INDEX IF NOT EXISTS contexts_at ON contexts(at)",
        "ALTER TABLE questions ADD COLUMN understood TEXT",
    ),
    (
        # Negative questions of an FAQ entry (phrasings that must not be answered by it, as in
        # WeKnora's FAQ model): a JSON list like alternates; existing rows get none.
        "ALTER TABLE faq_entries ADD COLUMN negatives TEXT NOT NULL DEFAULT '[]'",
        # The FAQ version of an entry's last write: matchers fetch only rows newer than the
        # version they have seen (faq/matcher.py FaqMatcher.sync).
        "ALTER TABLE faq_entries ADD COLUMN rev INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS faq_entries_rev ON faq_entries(rev)",
    ),
)

SCHEMA_VERSION = len(_MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the user-data schema up to :data:`SCHEMA_VERSION` in one write transaction.

    Returns the version found before migrating. Safe to call from several processes at once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        for version in range(found, SCHEMA_VERSION):
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return found
