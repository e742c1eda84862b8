"""Connection limits of ``python bot.py serve`` (issue 14): a deadline for request headers,
a cap on concurrent connections and on header size.

uvicorn (0.54) has no header timeout: its keep-alive timer starts only after a response, so
a client that connects and sends nothing, or sends its headers a byte at a time, holds a
connection for ever (a slow-loris client). :class:`HeaderTimeoutH11Protocol` is uvicorn's
h11 protocol plus one timer per request: started when a connection opens or when the first
byte of a new request arrives, cancelled once the headers are complete; when it fires the
connection is closed. Request bodies have their own deadline in the WeChat endpoint
(``channels.wechat.BODY_TIMEOUT_S``).

Behind a reverse proxy the proxy should enforce the same (README, "Reverse proxy").
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

#: Seconds a client has to send a request's line and headers (nginx's client_header_timeout
#: defaults to 60 s; the platforms send theirs in one packet, so 10 s is generous).
HEADER_TIMEOUT_S = 10.0
#: Connections served at once; beyond this uvicorn answers 503 (``limit_concurrency``).
#: 1 worker answers about 300 WeChat requests/s with p99 under 10 ms (README), so 500 open
#: connections are far more than the platforms use, and well under the usual 1024 file limit.
MAX_CONNECTIONS = 500
#: Largest request line plus headers h11 buffers while they are incomplete, in bytes
#: (``h11_max_incomplete_event_size``). A WeChat callback URL is about 300 bytes.
MAX_HEADER_BYTES = 16 * 1024


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request headers are not
    complete within :attr:`header_timeout_s` seconds of the connection opening or the
    request's first byte. Passed to ``uvicorn.Config(http=...)``."""

    header_timeout_s: float = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_header_timer()  # part of a request line or headers: the clock runs
        else:
            self._cancel_header_timer()  # headers complete (or the connection is ending)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request headers within %.0f s",
                     self.header_timeout_s)
            self.transport.close()
