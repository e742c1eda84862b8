"""Replay detection for plaintext WeChat POSTs, in bounded memory.

A plaintext-mode ``signature`` covers (token, timestamp, nonce) and not the body, so a
captured URL could carry another message while its timestamp is in the window.
:class:`ReplayCache` remembers each signed (timestamp, nonce) pair with a digest of its body,
so the endpoint can tell a platform retry (same body) from a reused signature (other body).

Memory is bounded twice (issue 14): by entry count and by bytes. Keys and values are fixed-
size digests, so a long nonce costs no more than a short one; the endpoint also records only
requests whose signature it has already verified, so unauthenticated traffic adds nothing.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

#: Pairs kept at most (the oldest are dropped first). 2 x 300 s at 100 signed plaintext
#: messages/s; a busier account should use safe mode, where the body is signed.
MAX_ENTRIES = 60_000
#: Bytes the cache may account for (keys, values and per-entry overhead).
MAX_BYTES = 8 * 1024 * 1024
#: Bytes per entry beyond the two digests' contents: the OrderedDict slot and link, the
#: tuple, the float and two bytes objects' headers. Measured with tracemalloc on CPython
#: 3.11 (100,000 entries): 259 bytes per entry in all; the accounting (332) errs high.
ENTRY_OVERHEAD = 300
_KEY_BYTES = 16
_DIGEST_BYTES = 16


class ReplayCache:
    """Signed (timestamp, nonce) pairs seen within ``window_s`` seconds, with body digests.

    Args:
        window_s: how long a pair is remembered, seconds (> 0); the endpoint passes twice
            its timestamp window.
        max_entries / max_bytes: memory bounds (> 0); the oldest pairs are dropped beyond them.
    """

    def __init__(self, window_s: float, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        if window_s <= 0 or max_entries <= 0 or max_bytes <= 0:
            raise ValueError("window_s, max_entries and max_bytes must be positive")
        self.window_s, self.max_entries, self.max_bytes = window_s, max_entries, max_bytes
        self._pairs: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pairs)

    @property
    def bytes(self) -> int:
        """Accounted size of the cache in bytes (entries x fixed entry size)."""
        return len(self._pairs) * (_KEY_BYTES + _DIGEST_BYTES + ENTRY_OVERHEAD)

    def check(self, timestamp: str, nonce: str, body: bytes, now: float) -> bool:
        """Remember the pair; True for a new pair or a retry (same body), False when the pair
        was seen with a different body (a reused signature). ``now`` is Unix time in seconds.
        Never raises for str/bytes input."""
        key = hashlib.blake2b(f"{timestamp}\x00{nonce}".encode("utf-8", "surrogatepass"),
                              digest_size=_KEY_BYTES).digest()
        digest = hashlib.blake2b(body, digest_size=_DIGEST_BYTES).digest()
        pairs = self._pairs
        while pairs and next(iter(pairs.values()))[1] < now - self.window_s:
            pairs.popitem(last=False)
        seen = pairs.get(key)
        if seen is not None:
            return seen[0] == digest
        pairs[key] = (digest, now)
        while len(pairs) > self.max_entries or self.bytes > self.max_bytes:
            pairs.popitem(last=False)
        return True
