"""The WeChat Official Account (``/wechat``) and WeCom (``/wecom``) callback endpoint.

Framework-light: :meth:`WeChatEndpoint.handle` takes the method, the query parameters, the
Content-Length header and the body as an async iterator of byte chunks, and returns an
:class:`HttpReply` (status, body, media type) that any ASGI framework can send. What to say
to a message is :class:`channels.wechat_messages.MessageHandler`'s job; signatures and AES
are :mod:`channels.wechat_crypto`; XML is :mod:`channels.wechat_xml`.

Protocol rules and their sources:

* URL verification (GET ``signature``/``timestamp``/``nonce``/``echostr``; SHA-1 of the
  sorted token, timestamp and nonce; ``echostr`` returned verbatim):
  https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
* POST modes: plaintext (``signature`` only), compatible and safe (``encrypt_type=aes`` and
  ``msg_signature`` over the ``Encrypt`` element; the body of compatible mode also carries
  the plaintext fields, and "公众号回复明文或密文均可", so we decrypt and reply encrypted, as
  wechatpy's examples/echo does for any non-raw mode); the encrypted reply envelope
  (Encrypt, MsgSignature, TimeStamp, Nonce) is signed with a fresh timestamp and nonce:
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
* Passive replies and ``success``:
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
* WeCom: always encrypted; URL verification signs and encrypts ``echostr`` (``msg_signature``
  over token, timestamp, nonce, echostr) and expects the decrypted message back, plain, with no
  quotes, BOM or newline: https://developer.work.weixin.qq.com/document/path/90930 and
  https://developer.work.weixin.qq.com/document/path/90968 (the receive id is the CorpID).

Project rules (issue 5): a timestamp more than 300 s from now gets 403 (a replay guard; the
platform documents no window); bodies over 64 KiB get 413; malformed or hostile XML gets 400;
(issue 14) a query value over 128 characters (``echostr``: 1024) gets 403 before any work;
the signature is checked before anything is remembered; in safe mode an unencrypted POST
gets 403 (its signature does not cover the body);
anything unexpected is logged and answered ``success`` (WeCom: an empty 200), so the platform
never sees a 500.
Log lines carry no token, key, signature, OpenID or message text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass

from channels.wechat_crypto import (
    AppIdMismatch, DecryptError, InvalidSignature, MessageCrypto, check_timestamp, plain_signature, signatures_equal,
)
from channels.wechat_messages import MessageHandler
from channels.wechat_replay import ReplayCache
from channels.wechat_xml import BadXml, parse_message, render_encrypted_envelope, render_text_reply

log = logging.getLogger(__name__)

#: Largest request body accepted, in bytes (issue 5); larger ones get 413.
MAX_BODY_BYTES = 64 * 1024
#: Largest distance between the ``timestamp`` parameter and our clock, in seconds (issue 5).
TIMESTAMP_WINDOW_S = 300
#: The platform posts a few hundred bytes at once; a body still arriving after this many
#: seconds is a slow-loris client holding a connection (refused with 408).
BODY_TIMEOUT_S = 10.0
#: Longest query value accepted, in characters (issue 14). The platform sends a 40-hex
#: signature, a 10-digit timestamp, a numeric nonce and a 28-character OpenID.
MAX_PARAM_CHARS = 128
#: Longest ``echostr`` accepted (WeCom's is a base64 ciphertext of a short random string).
MAX_ECHOSTR_CHARS = 1024
#: POST modes of an Official Account (WECHAT_MODE); WeCom is always "safe".
MODES = ("plain", "compatible", "safe")
TEXT_PLAIN = "text/plain; charset=utf-8"
XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class HttpReply:
    """What to send back: HTTP status, body text (sent as UTF-8) and Content-Type."""

    status: int
    body: str
    media_type: str = TEXT_PLAIN


#: "success": the platform shows nothing and does not retry (Passive_user_reply_message).
SUCCESS = HttpReply(200, "success")
#: WeCom's "no reply": 200 with an empty body ("直接返回200（即以空串为返回包）", WeCom's
#: passive-reply docs; "success" is an Official Account convention).
EMPTY = HttpReply(200, "")
FORBIDDEN = HttpReply(403, "forbidden")
BAD_REQUEST = HttpReply(400, "bad request")
TOO_LARGE = HttpReply(413, "request body too large")
TIMEOUT = HttpReply(408, "request body too slow")


class BodyTooLarge(Exception):
    """The request body is larger than the limit (the caller answers 413)."""


async def read_body(chunks: AsyncIterable[bytes], content_length: str | None, *,
                    limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a request body of at most ``limit`` bytes.

    ``content_length`` is the raw header (or None). A declared length over ``limit`` is
    refused before reading; a chunked body is counted as it streams, so a missing or false
    header cannot get more than ``limit + one chunk`` into memory.
    Raises :class:`BodyTooLarge`; errors of the stream itself (client gone) propagate.
    """
    if content_length is not None:
        declared = content_length.strip()
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(declared)
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(str(size))
        parts.append(chunk)
    return b"".join(parts)


def _fresh_nonce() -> str:
    """A new 10-digit nonce for an encrypted reply (the request's nonce is never reused)."""
    return f"{secrets.randbelow(10**10):010d}"


class WeChatEndpoint:
    """One callback URL: verification (GET) and messages (POST) for one account.

    Args:
        handler: decides the reply text for a parsed message.
        token: the Token configured on the platform (WECHAT_TOKEN / WECOM_TOKEN).
        crypto: the account's :class:`MessageCrypto` (EncodingAESKey and AppID / CorpID);
            None in plaintext-only mode (Official Account without WECHAT_ENCODING_AES_KEY).
        wecom: WeCom semantics: every request is encrypted and signed with ``msg_signature``,
            URL verification decrypts ``echostr``. Requires ``crypto``.
        mode: which POST bodies are accepted (WECHAT_MODE): ``plain`` (unencrypted; no
            crypto), ``compatible`` (unencrypted and ``encrypt_type=aes``) or ``safe``
            (``encrypt_type=aes`` only). Default: ``safe`` with crypto, else ``plain``.
        clock: Unix time in seconds (tests pass a fake clock).

    Raises ``ValueError`` when ``wecom`` is set without ``crypto`` or another mode than safe,
    or when ``mode`` is unknown or disagrees with ``crypto`` (plain with a key, or
    compatible/safe without one).
    """

    def __init__(self, handler: MessageHandler, *, token: str, crypto: MessageCrypto | None, wecom: bool = False,
                 mode: str | None = None, clock: Callable[[], float] = time.time) -> None:
        if wecom and crypto is None:
            raise ValueError("WeCom callbacks are always encrypted: crypto is required")
        if not token:
            raise ValueError("token must be non-empty")
        mode = mode or ("safe" if crypto is not None else "plain")
        if mode not in MODES or (wecom and mode != "safe") or (mode == "plain") != (crypto is None):
            raise ValueError(f"mode {mode!r} does not fit this endpoint (plain needs no AES key, "
                             "compatible and safe need one, WeCom is always safe)")
        self.handler, self.token, self.crypto, self.wecom, self.clock = handler, token, crypto, wecom, clock
        self.mode = mode
        self.name = "wecom" if wecom else "wechat"
        self.no_reply = EMPTY if wecom else SUCCESS
        self.replay_cache = ReplayCache(2 * TIMESTAMP_WINDOW_S)

    async def handle(self, method: str, query: Mapping[str, str], content_length: str | None,
                     body: AsyncIterable[bytes]) -> HttpReply:
        """Answer one HTTP request; never raises (anything unexpected gives ``success``)."""
        started = time.monotonic()
        try:
            if method in ("GET", "HEAD"):
                return self.verify(query)
            raw = await asyncio.wait_for(read_body(body, content_length), BODY_TIMEOUT_S)
            return await self.receive(query, raw, started=started)
        except BodyTooLarge:
            log.info("%s: refused a body over %d bytes (413)", self.name, MAX_BODY_BYTES)
            return TOO_LARGE
        except asyncio.TimeoutError:
            log.info("%s: request body not received within %.0f s (408)", self.name, BODY_TIMEOUT_S)
            return TIMEOUT
        except Exception as exc:  # the last line of defence: never a 500 to the platform
            if type(exc).__name__ == "ClientDisconnect":  # the sender went away; nothing to answer
                log.info("%s: client disconnected before the body was read", self.name)
                return self.no_reply
            log.error("%s: unexpected %s; replied success", self.name, type(exc).__name__, exc_info=True)
            return self.no_reply

    # ---------------------------------------------------------------- verification
    def verify(self, query: Mapping[str, str]) -> HttpReply:
        """URL verification: 200 with ``echostr`` (WeCom: decrypted) as text/plain, else 403/400."""
        if _oversized(query):
            return self._refuse(FORBIDDEN, "a query value is too long")
        timestamp, nonce = query.get("timestamp") or "", query.get("nonce") or ""
        echostr = query.get("echostr")
        if not check_timestamp(timestamp, self.clock(), max_skew=TIMESTAMP_WINDOW_S):
            return self._refuse(FORBIDDEN, "verification timestamp missing or outside the window")
        if self.wecom:
            if echostr is None:
                return self._refuse(FORBIDDEN, "verification without echostr")
            try:
                plain = self.crypto.decrypt(_b64_param(echostr), msg_signature=query.get("msg_signature") or "",
                                            timestamp=timestamp, nonce=nonce)
            except (InvalidSignature, AppIdMismatch):
                return self._refuse(FORBIDDEN, "verification msg_signature or CorpID mismatch")
            except DecryptError:
                return self._refuse(BAD_REQUEST, "verification echostr does not decrypt")
            return HttpReply(200, plain)
        if not signatures_equal(plain_signature(self.token, timestamp, nonce), query.get("signature")):
            return self._refuse(FORBIDDEN, "verification signature mismatch")
        if echostr is None:
            return self._refuse(BAD_REQUEST, "verification without echostr")
        return HttpReply(200, echostr)

    # -------------------------------------------------------------------- messages
    async def receive(self, query: Mapping[str, str], raw: bytes, *, started: float) -> HttpReply:
        """A pushed message: check, decrypt, parse, reply (encrypted when it came encrypted)."""
        if _oversized(query):
            return self._refuse(FORBIDDEN, "a query value is too long")
        timestamp, nonce = query.get("timestamp") or "", query.get("nonce") or ""
        if not check_timestamp(timestamp, self.clock(), max_skew=TIMESTAMP_WINDOW_S):
            return self._refuse(FORBIDDEN, "timestamp missing or outside the window")
        encrypted = self.wecom or (query.get("encrypt_type") or "raw").strip().lower() == "aes"
        if not encrypted and self.mode == "safe":
            return self._refuse(FORBIDDEN, "unencrypted POST in safe mode (WECHAT_MODE=safe)")
        signature = query.get("signature")
        # Official Accounts sign every POST with ``signature`` (also in safe mode, where
        # msg_signature additionally covers the body): check it whenever it is sent, and
        # require it when nothing else authenticates the request.
        if not self.wecom and (signature is not None or not encrypted or self.crypto is None):
            if not signatures_equal(plain_signature(self.token, timestamp, nonce), signature):
                return self._refuse(FORBIDDEN, "signature mismatch or missing")
        if encrypted and self.crypto is not None and not query.get("msg_signature"):
            return self._refuse(FORBIDDEN, "msg_signature missing")
        # A plaintext-mode signature covers no body: a signed (timestamp, nonce) seen before
        # with another body may be a captured signature carrying a forged message. Logged for
        # the admin, not refused: the protocol allows it and some senders reuse nonces.
        if not encrypted and not self.replay_cache.check(timestamp, nonce, raw, self.clock()):
            log.warning("%s: a timestamp/nonce pair was reused with a different body (possible replay)", self.name)
        try:
            fields = parse_message(raw)
        except BadXml as exc:
            return self._refuse(BAD_REQUEST, f"malformed or forbidden XML ({_xml_reason(exc)})")
        if encrypted and self.crypto is None:
            if not fields.get("MsgType"):  # safe mode without a key: nothing we can read
                log.warning("wechat: an encrypted message arrived but WECHAT_ENCODING_AES_KEY is not set; "
                            "replied success")
                return SUCCESS
            encrypted = False  # compatible mode without a key: use the plaintext copy
        if encrypted:
            encrypt = fields.get("Encrypt")
            if not encrypt:
                return self._refuse(BAD_REQUEST, "encrypted mode without an Encrypt element")
            try:
                inner = self.crypto.decrypt(encrypt, msg_signature=query.get("msg_signature") or "",
                                            timestamp=timestamp, nonce=nonce)
            except (InvalidSignature, AppIdMismatch) as exc:
                return self._refuse(FORBIDDEN, f"{type(exc).__name__}")
            except DecryptError:
                return self._refuse(BAD_REQUEST, "Encrypt does not decrypt")
            try:
                fields = parse_message(inner)
            except BadXml as exc:
                return self._refuse(BAD_REQUEST, f"malformed decrypted XML ({_xml_reason(exc)})")
        text = await self.handler.reply_for(fields, started=started)
        if text is None:
            return self.no_reply
        now = int(self.clock())
        reply = render_text_reply(fields.get("FromUserName") or "", fields.get("ToUserName") or "", text, now)
        if not encrypted:
            return HttpReply(200, reply, XML)
        reply_nonce = _fresh_nonce()
        encrypt_b64, reply_signature = self.crypto.encrypt(reply, nonce=reply_nonce, timestamp=str(now))
        return HttpReply(200, render_encrypted_envelope(encrypt_b64, reply_signature, now, reply_nonce), XML)

    def _refuse(self, reply: HttpReply, reason: str) -> HttpReply:
        log.info("%s: refused with %d: %s", self.name, reply.status, reason)
        return reply


def _oversized(query: Mapping[str, str]) -> bool:
    """True when a query value is longer than the platform ever sends (MAX_PARAM_CHARS,
    ``echostr`` MAX_ECHOSTR_CHARS) or there are more than 16 parameters."""
    items = query.multi_items() if hasattr(query, "multi_items") else list(query.items())  # repeated keys count
    if len(items) > 16:
        return True
    return any(len(value) > (MAX_ECHOSTR_CHARS if name == "echostr" else MAX_PARAM_CHARS) for name, value in items)


def _b64_param(value: str) -> str:
    """Undo form decoding of a base64 query value: WeCom URL-encodes ``echostr``, but a raw
    ``+`` decodes to a space, and base64 never contains spaces (path/90930: "需要先urldecode")."""
    return value.replace(" ", "+")


def _xml_reason(exc: BadXml) -> str:
    """The parser's error class (e.g. ``EntitiesForbidden``), never text from the body."""
    head = str(exc).split(":", 1)[0]
    return head if head.isidentifier() else "not rooted at <xml>"
