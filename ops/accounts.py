"""Staff console accounts: argon2id password hashes, login with per-name throttling.

Throttling (issue 15): after :data:`MAX_FAILURES` failed logins for one user name within
:data:`FAILURE_WINDOW_S`, that name is refused for :data:`LOCK_S` seconds, even with the right
password. Counts live in SQLite, so a restart does not reset a lockout. Unknown names are
counted too, so the answer never tells whether an account exists.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from qa.store import Store
from qa.store.accounts import ROLES, AccountExists, AccountNotFound, StaffAccount

MAX_FAILURES = 5
LOCK_S = 15 * 60
FAILURE_WINDOW_S = 15 * 60
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,32}$")
#: argon2-cffi's defaults (RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
#: Verified against when the name is unknown, so an unknown name costs the same time.
_DUMMY_HASH = _HASHER.hash("not-a-password-0")


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why (Chinese)."""


@dataclass(frozen=True)
class LoginResult:
    """``account`` is set when the login succeeded; otherwise ``message`` says why not and
    ``locked_until`` (Unix seconds) is set while the name is locked."""

    account: StaffAccount | None
    message: str = ""
    locked_until: float | None = None


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise AccountError("用户名须为 1–32 个字母、数字、汉字或 . _ -")
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"密码至少 {MIN_PASSWORD_CHARS} 个字符")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"密码最多 {MAX_PASSWORD_CHARS} 个字符")
    return password


class StaffAccounts:
    """Account operations on one store. ``actor`` names who acted, for the audit trail."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = store.accounts

    def list(self) -> list[StaffAccount]:
        return self.rows.all()

    def get(self, name: str) -> StaffAccount | None:
        return self.rows.get((name or "").strip())

    def add(self, name: str, role: str, password: str, *, actor: str) -> StaffAccount:
        """Create an account.

        Raises:
            AccountError: bad name, role or password, or the name is taken.
        """
        name = _check_name(name)
        if role not in ROLES:
            raise AccountError(f"角色只能是 {' 或 '.join(ROLES)}")
        try:
            account = self.rows.add(name, role, _HASHER.hash(_check_password(password)), actor=actor)
        except AccountExists:
            raise AccountError(f"账号 {name} 已存在") from None
        self.store.log.audit(actor, "staff add", f"{name} role={role}")
        return account

    def set_password(self, name: str, password: str, *, actor: str) -> StaffAccount:
        """Replace the password (sessions issued before end). Raises AccountError."""
        hashed = _HASHER.hash(_check_password(password))
        return self._update(name, actor, "staff passwd", password_hash=hashed)

    def end_sessions(self, name: str) -> None:
        """End every console session of ``name`` (logout: a copied cookie stops working too)."""
        self.rows.end_sessions((name or "").strip())

    def disable(self, name: str, *, actor: str) -> StaffAccount:
        """Stop an account from logging in (its sessions end at the next request)."""
        return self._update(name, actor, "staff disable", status="disabled")

    def enable(self, name: str, *, actor: str) -> StaffAccount:
        return self._update(name, actor, "staff enable", status="active")

    def set_role(self, name: str, role: str, *, actor: str) -> StaffAccount:
        if role not in ROLES:
            raise AccountError(f"角色只能是 {' 或 '.join(ROLES)}")
        return self._update(name, actor, "staff role", role=role)

    def _update(self, name: str, actor: str, action: str, **changes) -> StaffAccount:
        try:
            account = self.rows.update((name or "").strip(), **changes)
        except AccountNotFound:
            raise AccountError(f"没有账号 {name}") from None
        detail = ", ".join(f"{k}={v}" for k, v in changes.items() if k != "password_hash")
        self.store.log.audit(actor, action, f"{account.name} {detail}".strip())
        return account

    def login(self, name: str, password: str, *, now: float | None = None) -> LoginResult:
        """Check a login. Never raises for bad input; failures are counted per name.

        Returns:
            LoginResult with the account on success, else a Chinese message (the same for an
            unknown name and a wrong password) and, when locked, ``locked_until``.
        """
        now = time.time() if now is None else now
        name = (name or "").strip()[:64]
        if not name or not password:
            return LoginResult(None, "请输入用户名和密码")
        locked = self.rows.locked_until(name, now)
        if locked:
            return LoginResult(None, _locked_message(locked, now), locked)
        account = self.rows.get(name)
        ok = False
        try:
            ok = _HASHER.verify(account.password_hash if account else _DUMMY_HASH, password[:MAX_PASSWORD_CHARS])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and account is not None and account.status == "active":
            if _HASHER.check_needs_rehash(account.password_hash):
                self.rows.set_hash_quietly(account.name, _HASHER.hash(password))
            self.rows.mark_login(account.name)
            self.store.log.audit(f"web:{account.name}", "login")
            return LoginResult(self.rows.get(account.name))
        locked = self.rows.record_failure(name, now, limit=MAX_FAILURES, window_s=FAILURE_WINDOW_S, lock_s=LOCK_S)
        if locked:
            self.store.log.audit(f"web:{name}", "login locked", f"{MAX_FAILURES} failures")
            return LoginResult(None, _locked_message(locked, now), locked)
        return LoginResult(None, "用户名或密码不正确")


def _locked_message(until: float, now: float) -> str:
    minutes = max(1, round((until - now) / 60))
    return f"该账号登录失败次数过多，已暂时锁定，请约 {minutes} 分钟后再试"
