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


#: Largest request body per path prefix, in bytes (issue 14 hardening, found by a hostile
#: tester: chunked bodies carry no Content-Length, so only counting the bytes bounds them).
#: The chat API takes a question (a few KB); console forms take an upload of at most 5 MB
#: (ops.documents) plus multipart framing; WeChat and the Telegram webhook check their own.
BODY_LIMITS = (("/api/", 64 * 1024), ("/admin/", 6 * 1024 * 1024))
#: Paths that enforce their own body limits and deadlines.
OWN_BODY_LIMITS = ("/wechat", "/wecom")
#: Default for any other path (the Telegram webhook's own limit is 1 MB).
DEFAULT_BODY_LIMIT = 1024 * 1024
#: Seconds a request body may take to arrive (WeChat's endpoint uses the same, 408 after it).
BODY_TIMEOUT_S = 10.0


class BodyLimits:
    """ASGI middleware: a request body over its path's limit gets 413, one still arriving after
    ``timeout_s`` seconds gets 408, before the application has buffered it (Starlette reads
    bodies whole, and multipart uploads spool to disk). Raised as Starlette's HTTPException from
    ``receive``, so the app's exception middleware answers and nothing is logged as an error.

    Args:
        app: the ASGI app.
        limits: ``(path prefix, bytes)`` pairs, first match wins; ``default`` otherwise.
        exempt: path prefixes that check their own bodies.
        timeout_s: seconds from the first body read to the last body byte.
    """

    def __init__(self, app, *, limits=BODY_LIMITS, default: int = DEFAULT_BODY_LIMIT, exempt=OWN_BODY_LIMITS,
                 timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app, self.limits, self.default, self.exempt, self.timeout_s = app, limits, default, exempt, timeout_s

    def limit_for(self, path: str) -> int | None:
        if path.startswith(self.exempt):
            return None
        return next((n for prefix, n in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        from starlette.exceptions import HTTPException

        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _plain(send, 413)
                return
        state = {"bytes": 0, "deadline": None, "done": False}
        loop = asyncio.get_running_loop()

        async def limited_receive():
            if state["done"]:  # the body is complete: later reads only wait for a disconnect
                return await receive()
            if state["deadline"] is None:
                state["deadline"] = loop.time() + self.timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(state["deadline"] - loop.time(), 0.001))
            except TimeoutError:
                raise HTTPException(408) from None
            if message["type"] == "http.request":
                state["bytes"] += len(message.get("body", b""))
                if state["bytes"] > limit:
                    raise HTTPException(413)
                state["done"] = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


async def _plain(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
