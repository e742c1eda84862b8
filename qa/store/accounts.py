"""Staff console accounts and login throttling (the ``staff_accounts`` and ``login_failures``
tables). This module stores password *hashes* only; hashing and verifying live in
:mod:`ops.accounts`.

Times of account rows are UTC ISO strings; throttling times are Unix seconds (floats) because
they are compared arithmetically.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from qa.store.db import Database
from qa.store.log import utc_now

ROLES = ("staff", "admin")


@dataclass(frozen=True)
class StaffAccount:
    """One console account. ``password_version`` changes on every password change, so a
    session cookie issued before it no longer authenticates."""

    name: str
    role: str
    password_hash: str
    status: str
    password_version: int
    created_by: str
    created_at: str
    updated_at: str
    last_login_at: str | None


class AccountExists(ValueError):
    """An account with this name already exists."""


class AccountNotFound(KeyError):
    """No account has this name."""


def _account(row: sqlite3.Row) -> StaffAccount:
    return StaffAccount(**dict(row))


class AccountRows:
    """CRUD on ``staff_accounts`` and the per-name failure counter, on one database.
    Every write is one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> StaffAccount | None:
        row = self.db.conn.execute("SELECT * FROM staff_accounts WHERE name=?", (name,)).fetchone()
        return _account(row) if row else None

    def all(self) -> list[StaffAccount]:
        """Every account, by name."""
        return [_account(r) for r in self.db.conn.execute("SELECT * FROM staff_accounts ORDER BY name")]

    def add(self, name: str, role: str, password_hash: str, *, actor: str) -> StaffAccount:
        """Create an active account.

        Raises:
            AccountExists: the name is taken.
            ValueError: unknown role.
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        now = utc_now()
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM staff_accounts WHERE name=?", (name,)).fetchone():
                raise AccountExists(name)
            conn.execute("INSERT INTO staff_accounts(name, role, password_hash, status, password_version, created_by,"
                         " created_at, updated_at) VALUES (?,?,?,'active',1,?,?,?)",
                         (name, role, password_hash, actor, now, now))
        return self.get(name)

    def update(self, name: str, *, role: str | None = None, status: str | None = None,
               password_hash: str | None = None) -> StaffAccount:
        """Change role, status and/or password hash (a new hash bumps ``password_version``).

        Raises:
            AccountNotFound: no such account.
        """
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM staff_accounts WHERE name=?", (name,)).fetchone()
            if row is None:
                raise AccountNotFound(name)
            current = _account(row)
            conn.execute("UPDATE staff_accounts SET role=?, status=?, password_hash=?, password_version=?, "
                         "updated_at=? WHERE name=?",
                         (role or current.role, status or current.status, password_hash or current.password_hash,
                          current.password_version + (1 if password_hash else 0), utc_now(), name))
        return self.get(name)

    def end_sessions(self, name: str) -> None:
        """Bump ``password_version`` without changing the password: every session of the account
        ends at its next request (logging out ends the session for good, even a copied cookie)."""
        with self.db.write() as conn:
            conn.execute("UPDATE staff_accounts SET password_version=password_version+1, updated_at=? WHERE name=?",
                         (utc_now(), name))

    def set_hash_quietly(self, name: str, password_hash: str) -> None:
        """Replace a hash after a parameter upgrade (same password: sessions stay valid)."""
        with self.db.write() as conn:
            conn.execute("UPDATE staff_accounts SET password_hash=? WHERE name=?", (password_hash, name))

    def mark_login(self, name: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE staff_accounts SET last_login_at=? WHERE name=?", (utc_now(), name))
            conn.execute("DELETE FROM login_failures WHERE name=?", (name,))

    # ------------------------------------------------------------ throttling
    def locked_until(self, name: str, now: float) -> float | None:
        """Unix time until which ``name`` is refused, or None when it is not locked at ``now``."""
        row = self.db.conn.execute("SELECT locked_until FROM login_failures WHERE name=?", (name,)).fetchone()
        return row[0] if row and row[0] > now else None

    def record_failure(self, name: str, now: float, *, limit: int, window_s: float, lock_s: float) -> float | None:
        """Count one failed login for ``name``; failures older than ``window_s`` start a new
        count. On the ``limit``-th failure the name is locked for ``lock_s`` seconds.
        Returns the lock's end (Unix seconds) when this failure locked it, else None."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM login_failures WHERE locked_until < ? AND first_at < ?", (now, now - window_s))
            row = conn.execute("SELECT failures, first_at, locked_until FROM login_failures WHERE name=?",
                               (name,)).fetchone()
            failures, first_at = (row[0], row[1]) if row and row[2] <= now and now - row[1] < window_s else (0, now)
            failures += 1
            locked = now + lock_s if failures >= limit else 0.0
            conn.execute("INSERT OR REPLACE INTO login_failures(name, failures, first_at, locked_until) "
                         "VALUES (?,?,?,?)", (name, 0 if locked else failures, first_at, locked))
        return locked or None
