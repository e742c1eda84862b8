"""Push a late answer through the Official Account customer-service message API (客服消息).

Used only when ``WECHAT_APP_SECRET`` is configured: when an answer was not ready within the
window of the last delivery of a message (the endpoint had to reply ``success``), the finished
reply is sent to the resident with ``message/custom/send`` instead of being lost (issue 14
item 3).

Protocol (checked against wechatpy's ``client/base.py`` and ``client/api/message.py``):

* ``GET {base}/cgi-bin/token?grant_type=client_credential&appid=APPID&secret=SECRET`` returns
  ``{"access_token": str, "expires_in": seconds}`` or ``{"errcode": int, "errmsg": str}``:
  https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
  The token is cached until :data:`EXPIRY_MARGIN_S` before its expiry (wechatpy uses 60 s).
* ``POST {base}/cgi-bin/message/custom/send?access_token=TOKEN`` with the UTF-8 JSON body
  ``{"touser": OPENID, "msgtype": "text", "text": {"content": TEXT}}`` (wechatpy sends
  ``json.dumps(..., ensure_ascii=False).encode("utf-8")``) returns ``{"errcode": 0, ...}``:
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
* errcode 40001 (invalid credential), 40014 (invalid token) and 42001 (token expired) mean
  the cached token is stale: fetch a new one and send once more (wechatpy does the same).

Log lines carry no AppSecret, access token, OpenID or message text: only errcodes and
exception type names. httpx logs each request URL (which carries the secret or the token) at
INFO; :class:`_RedactQuery` blanks those query values on the ``httpx`` logger.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import httpx

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
#: A cached token is refreshed this many seconds before the expiry the API stated.
EXPIRY_MARGIN_S = 60
#: errcodes that mean "fetch a new access token and try again".
STALE_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
#: Seconds for one HTTP request to the API (connect + read).
REQUEST_TIMEOUT_S = 10.0

_SECRET_QUERY = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")


class _RedactQuery(logging.Filter):
    """Replaces ``access_token=...`` and ``secret=...`` in a record's message with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_QUERY.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _RedactQuery) for f in _httpx_log.filters):
    _httpx_log.addFilter(_RedactQuery())


class PushError(RuntimeError):
    """The API refused or could not be reached. ``errcode`` is the API's code (None for a
    transport or HTTP failure); the message carries no secret, token or OpenID."""

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


def text_message_body(openid: str, content: str) -> bytes:
    """The exact JSON body of a text customer-service message: compact, UTF-8, Chinese not
    escaped (as wechatpy sends it)."""
    return json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CustomerServicePush:
    """Sends text messages to residents with the 客服消息 API; caches the access token.

    Args:
        app_id: the Official Account AppID (WECHAT_APP_ID).
        app_secret: its AppSecret (WECHAT_APP_SECRET).
        base_url: API base (WECHAT_API_BASE), without a trailing ``/cgi-bin``.
        timeout_s: seconds per HTTP request.
        transport: an httpx async transport (tests may pass one; default: the network).

    Use from one event loop; :meth:`aclose` releases the connection pool.
    """

    def __init__(self, app_id: str, app_secret: str, *, base_url: str = DEFAULT_API_BASE,
                 timeout_s: float = REQUEST_TIMEOUT_S, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not app_id or not app_secret:
            raise ValueError("app_id and app_secret are required")
        self._app_id, self._app_secret = app_id, app_secret
        # trust_env (httpx's default): an egress proxy in HTTPS_PROXY / NO_PROXY is honoured
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        #: messages sent and sends that failed since start (for /healthz)
        self.sent = self.failed = 0

    async def send_text(self, openid: str, content: str) -> None:
        """Send ``content`` (at most 2048 UTF-8 bytes, as for passive replies) to ``openid``.

        Raises:
            PushError: the API answered a non-zero errcode (after one token refresh for a stale
                token), a non-2xx status or non-JSON, or could not be reached.
        """
        try:
            await self._send(text_message_body(openid, content))
        except PushError:
            self.failed += 1
            raise
        self.sent += 1

    async def _send(self, body: bytes) -> None:
        stale: str | None = None
        for attempt in range(2):
            token = await self._access_token(stale=stale)
            result = await self._call("POST", "/cgi-bin/message/custom/send", params={"access_token": token},
                                      content=body, headers={"Content-Type": "application/json; charset=utf-8"})
            errcode = _errcode(result)
            if errcode == 0:
                return
            if errcode in STALE_TOKEN_ERRCODES and attempt == 0:
                log.info("wechat push: access token refused (errcode %d); fetching a new one", errcode)
                stale = token
                continue
            raise PushError(f"message/custom/send refused: errcode {errcode}", errcode)

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one when there is none, it expired, or it is ``stale``
        (refused by the API; a token another send fetched meanwhile is used as it is)."""
        async with self._lock:
            if self._token is not None and self._token != stale and time.monotonic() < self._expires_at:
                return self._token
            result = await self._call("GET", "/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret})
            token = result.get("access_token")
            if _errcode(result) != 0 or not isinstance(token, str) or not token:
                raise PushError(f"cgi-bin/token refused: errcode {_errcode(result)}", _errcode(result))
            expires_in = result.get("expires_in", 7200)
            expires_in = expires_in if isinstance(expires_in, int) and expires_in > 0 else 7200
            self._token = token
            self._expires_at = time.monotonic() + max(expires_in - EXPIRY_MARGIN_S, 0)
            return token

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # the message of some httpx errors holds the URL: not kept
            raise PushError(f"{path}: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise PushError(f"{path}: HTTP {response.status_code}")
        try:
            result = json.loads(response.content.decode("utf-8", "replace"))
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise PushError(f"{path}: the answer is not a JSON object")
        return result

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()


def _errcode(result: dict) -> int:
    try:
        return int(result.get("errcode", 0))
    except (TypeError, ValueError):
        return -1


#: How long, after the last delivery replied ``success``, a late answer is awaited to be pushed.
PUSH_WAIT_S = 60.0


class LatePush:
    """Pushes answers that missed the window of the last delivery, once they are ready.

    Args:
        client: a :class:`CustomerServicePush`.
        wait_s: seconds a late answer is awaited before it is given up (logged).

    Use from the event loop of the endpoint; :meth:`drain` at shutdown.
    """

    def __init__(self, client: CustomerServicePush, *, wait_s: float = PUSH_WAIT_S) -> None:
        self.client, self.wait_s = client, wait_s
        self._tasks: set[asyncio.Task] = set()

    def when_ready(self, answer: asyncio.Future, openid: str) -> None:
        """Send the text ``answer`` resolves to (a reply, at most 2048 bytes) to ``openid``
        when it is ready; returns at once. Failures are logged, never raised."""
        task = asyncio.get_running_loop().create_task(self._push(answer, openid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, answer: asyncio.Future, openid: str) -> None:
        try:
            text = await asyncio.wait_for(asyncio.shield(answer), self.wait_s)
        except Exception:  # failed (the endpoint logs that) or still not ready
            log.error("wechat push: the late answer was not ready within %.0f s more; not pushed", self.wait_s)
            return
        if not isinstance(text, str) or not text:
            return
        try:
            await self.client.send_text(openid, text)
            log.info("wechat push: late answer pushed")
        except PushError as exc:  # its message carries no secret, token or OpenID
            log.error("wechat push: late answer not pushed: %s", exc)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait at most ``timeout`` seconds for pushes in flight, then close the client."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        await self.client.aclose()
