"""Console sessions: one signed cookie holding the CSRF token and, after login, the account.

The cookie is signed with itsdangerous (HMAC-SHA1 over a timestamped payload) and re-issued on
every response, so :data:`IDLE_TIMEOUT_S` is an idle timeout: a cookie not refreshed within it
no longer verifies. It is HttpOnly, SameSite=Lax and Secure when the request came over https
(the request scheme, which uvicorn sets from X-Forwarded-Proto for trusted proxies:
``--forwarded-allow-ips``, default 127.0.0.1). The account is re-read on every request, so a
disabled account or a changed password ends its sessions at once (``password_version``).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadSignature, TimestampSigner

COOKIE = "wc_console"
IDLE_TIMEOUT_S = 30 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class Session:
    """Decoded cookie. ``user`` is the account name after login; ``pv`` its password version;
    ``flash`` a one-shot message for the next page."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    pv: int = 0
    flash: str = ""
    changed: bool = True


class Sessions:
    """Reads and writes the session cookie.

    Args:
        secret: signing key (>= 16 bytes), derived by the wiring from the deployment's secret.
        idle_timeout_s: seconds of inactivity after which a session ends.
    """

    def __init__(self, secret: bytes, *, idle_timeout_s: int = IDLE_TIMEOUT_S) -> None:
        if len(secret) < 16:
            raise ValueError("session secret must be at least 16 bytes")
        self.signer = TimestampSigner(secret, salt="wancheng-console")
        self.idle_timeout_s = idle_timeout_s

    def load(self, cookies) -> Session:
        """The session in ``cookies`` (a mapping), or a fresh anonymous one when it is missing,
        forged or idle for longer than the timeout."""
        raw = cookies.get(COOKIE)
        if raw:
            try:
                data = json.loads(self.signer.unsign(raw, max_age=self.idle_timeout_s))
                return Session(csrf=str(data["c"]), user=data.get("u"), pv=int(data.get("v", 0)),
                               flash=str(data.get("f", "")), changed=False)
            except (BadSignature, ValueError, KeyError, TypeError):
                pass
        return Session()

    def save(self, response, session: Session, *, https: bool) -> None:
        """Set the (re-signed) cookie on ``response``."""
        payload = json.dumps({"c": session.csrf, "u": session.user, "v": session.pv, "f": session.flash},
                             ensure_ascii=True, separators=(",", ":"))
        response.set_cookie(COOKIE, self.signer.sign(payload).decode(), max_age=self.idle_timeout_s, path="/",
                            httponly=True, samesite="lax", secure=https)

    @staticmethod
    def csrf_ok(session: Session, submitted: str | None) -> bool:
        """Constant-time comparison of a submitted CSRF token with the session's."""
        return bool(submitted) and hmac.compare_digest(session.csrf.encode(), str(submitted).encode())
