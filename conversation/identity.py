"""Pseudonymous user ids: a keyed hash of (channel, channel user id); the raw id is never stored."""

from __future__ import annotations

import hashlib
import hmac


class UserHasher:
    """HMAC-SHA256 of ``"<channel>:<user>"``, 32 hex characters.

    Args:
        key: the secret (BOT_HASH_KEY, or the random key kept in ``<db>.key``), >= 16 bytes.

    Raises:
        ValueError: the key is shorter than 16 bytes.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the user hash key needs at least 16 bytes")
        self._key = key

    def __call__(self, channel: str, user: str | int | None) -> str | None:
        """The pseudonymous id, or None for a missing user."""
        if user is None or user == "":
            return None
        return hmac.new(self._key, f"{channel}:{user}".encode(), hashlib.sha256).hexdigest()[:32]
