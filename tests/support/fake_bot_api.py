"""A local stand-in for the Telegram Bot API, for end-to-end tests of the real PTB stack.

How a test uses it::

    with FakeBotApi() as fake:                     # HTTP server on 127.0.0.1:<ephemeral port>
        app = (ApplicationBuilder().token(fake.token).base_url(fake.base_url)
               .base_file_url(fake.base_file_url).build())
        ...  # add handlers; app.initialize(); app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.push_update(fake.private_text(42, "你好"))
        [call] = await fake.wait_for_async("sendMessage")  # fake.wait_for(...) from other threads
        assert call.params == {"chat_id": 42, "text": "...", "parse_mode": "HTML"}
        assert call.result["text"] == "..."                    # the Message Telegram would return

Protocol facts this mirrors (checked against python-telegram-bot 22.8 and the Bot API docs,
https://core.telegram.org/bots/api#making-requests):

* URL: PTB builds ``base_url + token + "/" + method`` (``telegram/_bot.py: _parse_base_url`` and
  ``_do_post``), so ``base_url`` is ``http://127.0.0.1:PORT/bot``; files are fetched from
  ``base_file_url + token + "/" + file_path`` (``.../file/bot``). Every call is an HTTP POST.
* Body: ``HTTPXRequest.do_request`` passes ``data=RequestData.json_parameters`` to httpx, i.e.
  ``application/x-www-form-urlencoded`` where str values are sent as-is and every other value
  (int, bool, list, dict: reply_markup, entities, reply_parameters, allowed_updates...) is
  ``json.dumps``-ed; ``None`` values are dropped. With uploads it is ``multipart/form-data``
  (same fields, plus file parts). Telegram also accepts JSON bodies and query strings: so does
  this fake.
* Replies: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
  "...", "parameters": {...}}`` with HTTP status N; PTB maps 400 -> BadRequest, 401/404 ->
  InvalidToken, 403 -> Forbidden, 409 -> Conflict, ``parameters.retry_after`` -> RetryAfter.

Text validation lives in ``telegram_html.py`` (see its docstring for sources and the one
deliberate strictness deviation). Other documented limits enforced here: text 1-4096 and caption
0-1024 UTF-16 units after entity parsing (sendMessage/sendPhoto docs), callback_data 1-64 bytes
(InlineKeyboardButton docs), command names ``[a-z0-9_]{1,32}`` and at most 100 commands
(BotCommand/setMyCommands docs), HTTPS-only webhooks (setWebhook docs), getUpdates semantics
(getUpdates docs: offset confirms, negative offset, limit 1-100, long polling, allowed_updates
persisting and only filtering updates created afterwards, 409 while a webhook is set or when a
newer getUpdates call supersedes a pending one).
"""

from __future__ import annotations

import asyncio
import copy
import email.message
import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from .telegram_html import (
    TelegramHtmlError,
    UnsupportedParseMode,
    detect_entities,
    format_text,
    telegram_html_to_text,
    utf16_len,
)

__all__ = ["Call", "FakeBotApi", "GROUP_ANONYMOUS_BOT", "UploadedFile", "telegram_html_to_text"]

# The user Telegram shows as the sender of anonymous group admins' messages.
GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                       "username": "GroupAnonymousBot"}
# Update types only delivered when explicitly listed in allowed_updates (getUpdates docs).
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                 "upload_voice", "upload_document", "choose_sticker", "find_location",
                 "record_video_note", "upload_video_note"}
_NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                 "exactly the same as a current content and reply markup of the message")
# Form fields that stay strings even if they look like JSON ("123", "true", "[1]").
_STRING_PARAMS = frozenset(
    "text caption parse_mode callback_query_id inline_message_id url secret_token title "
    "description short_description name emoji question explanation phone_number first_name "
    "last_name vcard address payload provider_token currency start_parameter custom_emoji_id "
    "language_code action business_connection_id message_effect_id file_id photo document "
    "audio video voice animation sticker video_note thumbnail ip_address query_id result_id "
    "web_app_query_id shipping_query_id pre_checkout_query_id error_message next_offset "
    "invite_link gift_id".split())
# kind of media object each send method creates: (field, extra fields of the object)
_MEDIA = {
    "sendPhoto": ("photo", {}), "sendDocument": ("document", {"mime_type": "application/pdf"}),
    "sendVoice": ("voice", {"duration": 1, "mime_type": "audio/ogg"}),
    "sendAudio": ("audio", {"duration": 1, "mime_type": "audio/mpeg"}),
    "sendVideo": ("video", {"width": 640, "height": 360, "duration": 1}),
    "sendAnimation": ("animation", {"width": 320, "height": 240, "duration": 1}),
    "sendSticker": ("sticker", {"width": 512, "height": 512, "is_animated": False,
                                "is_video": False, "type": "regular"}),
    "sendVideoNote": ("video_note", {"length": 240, "duration": 1}),
}
_KNOWN_METHODS = [
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "sendMessage", "editMessageText",
    "editMessageReplyMarkup", "deleteMessage", "sendChatAction", "answerCallbackQuery",
    "getFile", "close", "logOut", *_MEDIA,
]
_CANONICAL = {name.lower(): name for name in _KNOWN_METHODS}


@dataclass
class UploadedFile:
    """One multipart file part: field filename, declared content type, raw bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(eq=False)
class Call:
    """One HTTP request to ``/bot<token>/<method>``, recorded on arrival.

    ``params`` has JSON-looking form values decoded (ints, bools, reply_markup dicts...), except
    the free-text fields in ``_STRING_PARAMS``; ``raw_params`` holds the strings as sent.
    ``status``/``response`` are None while the request is still being answered.
    ``time`` is ``time.monotonic()`` at arrival (seconds).
    """

    method: str
    token: str
    http_method: str
    path: str
    body: bytes
    headers: dict[str, str]
    time: float = field(default_factory=time.monotonic)
    params: dict[str, Any] = field(default_factory=dict)
    raw_params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        """``response["result"]`` of a successful call (KeyError/TypeError otherwise)."""
        return self.response["result"]

    def __repr__(self) -> str:
        return f"Call({self.method}, status={self.status}, params={self.params!r})"


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.payload = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.payload["parameters"] = parameters
        self.status = status


def _bad(description: str) -> _ApiError:
    return _ApiError(400, "Bad Request: " + description)


@dataclass
class _Fault:
    status: int | None  # None: only delay, then answer normally
    description: str = ""
    parameters: dict | None = None
    delay: float = 0.0


class FakeBotApi:
    """Threaded HTTP server speaking the Bot API; all public methods are thread-safe."""

    def __init__(self, *, token: str = "123:ABC", bot_username: str = "PolicyTestBot",
                 bot_first_name: str = "Policy Test Bot", bot_id: int | None = None,
                 strict_html: bool = True, first_update_id: int = 100_000):
        self.token = token
        self.bot_user = {"id": bot_id or int(token.split(":")[0]), "is_bot": True,
                         "first_name": bot_first_name, "username": bot_username}
        self.strict_html = strict_html
        self.internal_errors: list[BaseException] = []  # bugs of the fake itself (HTTP 500)
        self.dropped_updates: list[dict] = []  # pushed but filtered out by allowed_updates
        self.answered_callbacks: dict[str, dict] = {}  # callback_query_id -> params
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._updates: deque[dict] = deque()
        self._next_update_id = first_update_id
        self._allowed_updates: set[str] | None = None
        self._poll_generation, self._poll_terminator = 0, ""
        self._webhook: dict[str, Any] = {"url": ""}
        self._messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> Message
        self._bot_sent: set[tuple[int, int]] = set()  # keys of messages the bot sent
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, dict] = {}
        self._users: dict[int, dict] = {}
        self._pending_callbacks: set[str] = set()
        self._commands: dict[tuple[str, str], list] = {}
        self._files: dict[str, dict] = {}  # file_id -> {"file": File dict, "content": bytes}
        self._faults: dict[str, deque[_Fault]] = {}
        self._serial = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeBotApi:
        self._server = _HttpServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake long polls, close every connection, join all server threads. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._cond:
            self._stopping.set()
            self._cond.notify_all()
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the (non-daemon) per-connection threads
        self._thread.join(5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)`` / TELEGRAM_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)`` (File.download_* use it)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---- test API: recorded calls --------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        """Snapshot of recorded calls (arrival order), optionally of one method (any case)."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        with self._cond:
            self._calls.clear()

    def _matching(self, method, predicate, completed) -> list[Call]:
        return [c for c in self.calls(method)
                if (not completed or c.status is not None) and (predicate is None or predicate(c))]

    def wait_for(self, method: str | None, count: int = 1, timeout: float = 10.0,
                 predicate: Callable[[Call], bool] | None = None, *,
                 completed: bool = True) -> list[Call]:
        """Block until ``count`` matching (by default: answered) calls exist; return all matches.

        Do not call this from the event loop running the bot (it would block it): use
        :meth:`wait_for_async` there. Raises AssertionError on timeout (seconds).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := self._matching(method, predicate, completed)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(method, count, timeout, found))
                self._cond.wait(remaining)
            return found

    async def wait_for_async(self, method: str | None, count: int = 1, timeout: float = 10.0,
                             predicate: Callable[[Call], bool] | None = None, *,
                             completed: bool = True) -> list[Call]:
        """:meth:`wait_for` for coroutines running on the bot's event loop (polls every 5 ms)."""
        deadline = time.monotonic() + timeout
        while len(found := self._matching(method, predicate, completed)) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(method, count, timeout, found))
            await asyncio.sleep(0.005)
        return found

    def _timeout_message(self, method, count, timeout, found) -> str:
        seen = [f"{c.method}:{c.status}" for c in self.calls() if c.method != "getUpdates"]
        return (f"expected {count} answered {method} call(s) within {timeout}s, got "
                f"{len(found)}; other calls: {seen}")

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1, *,
                  description: str | None = None, times: int = 1, delay: float = 0.0) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``.

        429 gets Telegram's flood-wait reply: "Too Many Requests: retry after N" with
        ``parameters.retry_after = N`` (seconds). ``delay`` (seconds) stalls the reply first.
        """
        if status == 429:
            fault = _Fault(429, description or f"Too Many Requests: retry after {retry_after}",
                           {"retry_after": retry_after}, delay)
        else:
            defaults = {400: "Bad Request", 401: "Unauthorized",
                        403: "Forbidden: bot was blocked by the user", 404: "Not Found",
                        409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway"}
            fault = _Fault(status, description or defaults.get(status, "Error"), None, delay)
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).extend([fault] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Stall the next ``times`` replies to ``method`` by ``seconds``, then answer normally."""
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).extend(
                [_Fault(None, delay=seconds)] * times)

    # ---- test API: state -----------------------------------------------------------------------
    def message(self, chat_id: int, message_id: int) -> dict | None:
        """Current state (after edits) of a known message, or None."""
        with self._cond:
            return copy.deepcopy(self._messages.get((chat_id, message_id)))

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Current state of the messages the bot sent and has not deleted, oldest first."""
        with self._cond:
            return [copy.deepcopy(m) for key, m in sorted(self._messages.items())
                    if self._is_bot_message(key) and chat_id in (None, key[0])]

    def pending_updates(self) -> list[dict]:
        with self._cond:
            return copy.deepcopy(list(self._updates))

    def add_file(self, content: bytes, *, kind: str = "document", ext: str = "bin") -> dict:
        """Register downloadable content; returns the File dict (file_id, file_path, ...)."""
        n = next(self._serial)
        file = {"file_id": f"{kind.upper()}-{n:06d}-FAKEFILEID", "file_unique_id": f"UQ{n:06d}",
                "file_size": len(content), "file_path": f"{kind}s/file_{n}.{ext}"}
        with self._cond:
            self._files[file["file_id"]] = {"file": file, "content": content}
        return dict(file)

    # ---- test API: updates ---------------------------------------------------------------------
    def push_update(self, update: dict) -> dict:
        """Queue an update for getUpdates; returns it with its ``update_id`` assigned.

        Like Telegram, the current allowed_updates setting (last sent with getUpdates or
        setWebhook) filters updates when they are created: filtered ones go to
        ``dropped_updates``. Messages, chats, users and callback query ids it contains become
        known to the fake (replies, edits and answerCallbackQuery are checked against them).
        """
        update = copy.deepcopy(update)
        if not set(update) - {"update_id"}:
            raise ValueError("an update needs a payload such as 'message' or 'callback_query'")
        with self._cond:
            if "update_id" in update:
                if update["update_id"] < self._next_update_id:
                    raise ValueError("update_id must increase")
                self._next_update_id = update["update_id"]
            update = {"update_id": self._next_update_id,
                      **{k: v for k, v in update.items() if k != "update_id"}}
            self._next_update_id += 1
            kind = next(k for k in update if k != "update_id")
            self._register_update(update, kind)
            allowed = self._allowed_updates
            if kind in _OPT_IN_UPDATES if allowed is None else kind not in allowed:
                self.dropped_updates.append(update)
            else:
                self._updates.append(update)
                self._cond.notify_all()
        return copy.deepcopy(update)

    def user(self, user_id: int, *, first_name: str = "测试用户", username: str | None = None,
             last_name: str | None = None, language_code: str | None = "zh-hans") -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username),
                           ("language_code", language_code)):
            if value:
                user[key] = value
        return user

    def private_text(self, user_id: int, text: str, *, first_name: str = "测试用户",
                     username: str | None = None, entities: list | None = None) -> dict:
        """Update with a private text message; bot_command/mention/url entities computed."""
        sender = self.user(user_id, first_name=first_name, username=username)
        return {"message": self._incoming(self._private_chat(sender), sender,
                                          self._text_content(text, entities))}

    def private_command(self, user_id: int, command: str, **kw: Any) -> dict:
        """Private message such as "/start" or "/ask 问题" (bot_command entity at offset 0)."""
        if not command.startswith("/"):
            raise ValueError("a command starts with '/'")
        return self.private_text(user_id, command, **kw)

    def edited_private_text(self, user_id: int, text: str, *, message_id: int | None = None,
                            first_name: str = "测试用户", username: str | None = None) -> dict:
        """edited_message update; defaults to the user's latest message in the private chat."""
        sender = self.user(user_id, first_name=first_name, username=username)
        with self._cond:
            if message_id is None:
                mine = [mid for (cid, mid), m in self._messages.items()
                        if cid == user_id and m.get("from", {}).get("id") == user_id]
                message_id = max(mine) if mine else self._alloc_message_id(user_id)
            original = self._messages.get((user_id, message_id), {})
        now = int(time.time())
        msg = {"message_id": message_id, "from": sender, "chat": self._private_chat(sender),
               "date": original.get("date", now - 1), "edit_date": now,
               **self._text_content(text, None)}
        return {"edited_message": msg}

    def private_sticker(self, user_id: int, *, emoji: str = "👍", set_name: str = "FakeStickers",
                        first_name: str = "测试用户", username: str | None = None) -> dict:
        sender = self.user(user_id, first_name=first_name, username=username)
        file = self.add_file(b"RIFF\x00\x00\x00\x00WEBP", kind="sticker", ext="webp")
        sticker = {**self._media_fields(file), **_MEDIA["sendSticker"][1], "emoji": emoji,
                   "set_name": set_name}
        return {"message": self._incoming(self._private_chat(sender), sender,
                                          {"sticker": sticker})}

    def private_photo(self, user_id: int, *, caption: str | None = None,
                      first_name: str = "测试用户", username: str | None = None) -> dict:
        sender = self.user(user_id, first_name=first_name, username=username)
        file = self.add_file(b"\xff\xd8\xff\xe0FAKEJPEG", kind="photo", ext="jpg")
        content: dict[str, Any] = {"photo": self._photo_sizes(file)}
        if caption is not None:
            content["caption"] = caption
            if entities := detect_entities(caption):
                content["caption_entities"] = entities
        return {"message": self._incoming(self._private_chat(sender), sender, content)}

    def private_voice(self, user_id: int, *, duration: int = 3, content: bytes = b"OggS\x00FAKE",
                      first_name: str = "测试用户", username: str | None = None) -> dict:
        """Voice message (duration in seconds); ``content`` is served by getFile + download."""
        sender = self.user(user_id, first_name=first_name, username=username)
        file = self.add_file(content, kind="voice", ext="oga")
        voice = {**self._media_fields(file), "duration": duration, "mime_type": "audio/ogg"}
        return {"message": self._incoming(self._private_chat(sender), sender, {"voice": voice})}

    def group_text(self, chat_id: int, user_id: int, text: str, *, entities: list | None = None,
                   reply_to_bot: bool = False, title: str = "政策咨询群",
                   first_name: str = "测试用户", username: str | None = None) -> dict:
        """Group message (supergroup if chat_id <= -10**12, else basic group).

        ``reply_to_bot`` makes it a reply to the bot's latest message in the chat (one is
        created if the bot has not sent any).
        """
        sender = self.user(user_id, first_name=first_name, username=username)
        chat = self._group_chat(chat_id, title)
        reply = self._latest_bot_message(chat) if reply_to_bot else None
        return {"message": self._incoming(chat, sender, self._text_content(text, entities),
                                          reply_to=reply)}

    def anonymous_admin_group_text(self, chat_id: int, text: str, *, title: str = "政策咨询群",
                                   author_signature: str | None = None,
                                   entities: list | None = None,
                                   reply_to_bot: bool = False) -> dict:
        """Message of an anonymous admin: from=GroupAnonymousBot, sender_chat=the group."""
        chat = self._group_chat(chat_id, title)
        content = self._text_content(text, entities)
        if author_signature:
            content["author_signature"] = author_signature
        reply = self._latest_bot_message(chat) if reply_to_bot else None
        return {"message": self._incoming(chat, dict(GROUP_ANONYMOUS_BOT), content,
                                          sender_chat=chat, reply_to=reply)}

    def channel_post(self, chat_id: int, text: str, *, title: str = "政策频道",
                     username: str | None = None, author_signature: str | None = None) -> dict:
        """channel_post update: no ``from``, sender_chat = the channel."""
        chat = {"id": chat_id, "title": title, "type": "channel"}
        if username:
            chat["username"] = username
        content = self._text_content(text, None)
        if author_signature:
            content["author_signature"] = author_signature
        return {"channel_post": self._incoming(chat, None, content, sender_chat=chat)}

    def callback_query(self, user_id: int, data: str, message: dict | int | None = None, *,
                       chat_id: int | None = None, first_name: str = "测试用户",
                       username: str | None = None) -> dict:
        """A button press. ``message``: a Message dict, a message_id in ``chat_id`` (default:
        the user's private chat), or None for the bot's latest message there. The current
        (edited) state of a known message is used, as Telegram does."""
        sender = self.user(user_id, first_name=first_name, username=username)
        if isinstance(message, dict):
            chat_id = message["chat"]["id"]
            message = self.message(chat_id, message["message_id"]) or message
        else:
            chat_id = user_id if chat_id is None else chat_id
            with self._cond:
                chat = self._chats.get(chat_id) or (self._private_chat(sender) if chat_id == user_id
                                                    else self._group_chat(chat_id))
            found = self.message(chat_id, message) if isinstance(message, int) else None
            message = found or self._latest_bot_message(chat, message_id=message)
        query = {"id": str(4_000_000_000_000_000_000 + next(self._serial)), "from": sender,
                 "message": message, "chat_instance": str(abs(chat_id) * 7919 % 10**19),
                 "data": data}
        return {"callback_query": query}

    # ---- builders' helpers ---------------------------------------------------------------------
    @staticmethod
    def _private_chat(user: dict) -> dict:
        chat = {"id": user["id"], "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        chat["type"] = "private"
        return chat

    def _group_chat(self, chat_id: int, title: str = "政策咨询群") -> dict:
        known = self._chats.get(chat_id)
        if known and known["type"] in {"group", "supergroup"}:
            return dict(known)
        return {"id": chat_id, "title": title,
                "type": "supergroup" if chat_id <= -10**12 else "group"}

    @staticmethod
    def _text_content(text: str, entities: list | None) -> dict:
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text) if entities is None else entities
        if entities:
            content["entities"] = entities
        return content

    def _incoming(self, chat: dict, sender: dict | None, content: dict, *,
                  sender_chat: dict | None = None, reply_to: dict | None = None) -> dict:
        with self._cond:
            msg: dict[str, Any] = {"message_id": self._alloc_message_id(chat["id"])}
        if sender is not None:
            msg["from"] = sender
        if sender_chat is not None:
            msg["sender_chat"] = sender_chat
        msg.update(chat=chat, date=int(time.time()))
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        msg.update(content)
        return msg

    def _latest_bot_message(self, chat: dict, message_id: int | None = None) -> dict:
        """The bot's latest message in ``chat`` (or ``message_id``), created if missing."""
        with self._cond:
            mine = [m for (cid, mid), m in self._messages.items()
                    if cid == chat["id"] and self._is_bot_message((cid, mid))
                    and message_id in (None, mid)]
            if mine:
                found = copy.deepcopy(max(mine, key=lambda m: m["message_id"]))
                found.pop("reply_to_message", None)
                return found
            self._chats.setdefault(chat["id"], chat)
            return self._store_bot_message(chat, {"text": "(earlier bot message)"}, None, None,
                                           message_id=message_id)

    @staticmethod
    def _media_fields(file: dict) -> dict:
        return {k: file[k] for k in ("file_id", "file_unique_id", "file_size")}

    def _photo_sizes(self, file: dict) -> list[dict]:
        small = {**self._media_fields(file), "file_id": file["file_id"] + "-S",
                 "file_unique_id": file["file_unique_id"] + "S", "width": 90, "height": 90}
        return [small, {**self._media_fields(file), "width": 800, "height": 800}]

    # ---- state helpers (call with the lock held) -----------------------------------------------
    def _alloc_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _is_bot_message(self, key: tuple[int, int]) -> bool:
        msg = self._messages.get(key)
        return msg is not None and (key in self._bot_sent
                                    or msg.get("from", {}).get("id") == self.bot_user["id"])

    def _register_message(self, msg: dict, *, overwrite: bool = True) -> None:
        chat_id, message_id = msg["chat"]["id"], msg["message_id"]
        self._chats[chat_id] = dict(msg["chat"])
        if "from" in msg:
            self._users[msg["from"]["id"]] = dict(msg["from"])
        if overwrite or (chat_id, message_id) not in self._messages:
            self._messages[(chat_id, message_id)] = copy.deepcopy(msg)
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1),
                                             message_id + 1)
        if isinstance(msg.get("reply_to_message"), dict):
            self._register_message(msg["reply_to_message"], overwrite=False)

    def _register_update(self, update: dict, kind: str) -> None:
        body = update[kind]
        if kind == "callback_query":
            self._pending_callbacks.add(str(body["id"]))
            self._users[body["from"]["id"]] = dict(body["from"])
            if isinstance(body.get("message"), dict) and body["message"].get("date"):
                self._register_message(body["message"], overwrite=False)
        elif isinstance(body, dict) and "message_id" in body and "chat" in body:
            self._register_message(body)

    def _store_bot_message(self, chat: dict, content: dict, markup: dict | None,
                           reply_to: dict | None, *, message_id: int | None = None) -> dict:
        with self._cond:
            msg: dict[str, Any] = {"message_id": message_id or self._alloc_message_id(chat["id"])}
            if chat["type"] == "channel":
                msg["sender_chat"] = dict(chat)
            else:
                msg["from"] = dict(self.bot_user)
            msg.update(chat=dict(chat), date=int(time.time()))
            if reply_to is not None:
                msg["reply_to_message"] = reply_to
            msg.update(content)
            if markup and "inline_keyboard" in markup:  # only inline keyboards are echoed
                msg["reply_markup"] = markup
            self._register_message(msg)
            self._bot_sent.add((chat["id"], msg["message_id"]))
            return msg

    # ---- HTTP entry point (runs on a server thread) --------------------------------------------
    def _serve(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        path = urllib.parse.unquote(path)  # PTB downloads from /file/bot123%3AABC/<file_path>
        body = handler.read_body()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if match := re.fullmatch(r"/file/bot([^/]+)/(.+)", path):
            with self._cond:
                found = [f for f in self._files.values()
                         if f["file"]["file_path"] == match.group(2)]
            if match.group(1) == self.token and found:
                return _write(handler, 200, found[0]["content"], "application/octet-stream")
            return _write_json(handler, 404, _ApiError(404, "Not Found").payload)
        if not (match := re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]+)/?", path)):
            return _write_json(handler, 404, _ApiError(404, "Not Found").payload)
        token, method = match.group(1), _CANONICAL.get(match.group(2).lower(), match.group(2))
        call = Call(method, token, handler.command, handler.path, body, headers)
        with self._cond:
            self._calls.append(call)
        try:
            call.raw_params, call.files = _parse_request(headers, body, query)
            call.params = _decode_params(call.raw_params)
            if token != self.token:
                raise (_ApiError(401, "Unauthorized") if re.fullmatch(r"\d+:[\w-]+", token)
                       else _ApiError(404, "Not Found"))
            status, payload = 200, {"ok": True, "result": self._dispatch(call)}
        except _ApiError as exc:
            status, payload = exc.status, exc.payload
        except Exception as exc:  # a bug in the fake: make it loud, never silently 200
            self.internal_errors.append(exc)
            status, payload = 500, {"ok": False, "error_code": 500,
                                    "description": f"Internal Server Error: fake bug {exc!r}"}
        with self._cond:
            call.status, call.response = status, payload
            self._cond.notify_all()
        _write_json(handler, status, payload)

    def _dispatch(self, call: Call) -> Any:
        with self._cond:
            faults = self._faults.get(call.method.lower())
            fault = faults.popleft() if faults else None
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.status is not None:
                raise _ApiError(fault.status, fault.description, fault.parameters)
        if call.method in _MEDIA:
            return self._send_media(call)
        if call.method not in _KNOWN_METHODS:
            return True  # generic fallback: recorded, answered with true
        return getattr(self, "_api_" + call.method)(call.params)

    # ---- validation helpers --------------------------------------------------------------------
    def _resolve_chat(self, chat_id: Any) -> dict:
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        with self._cond:
            if isinstance(chat_id, str) and chat_id.startswith("@"):
                for chat in self._chats.values():
                    if chat.get("username", "").lower() == chat_id[1:].lower():
                        return dict(chat)
                raise _bad("chat not found")
            try:
                chat_id = int(chat_id)
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
            if chat_id in self._chats:
                return dict(self._chats[chat_id])
        if chat_id > 0:  # never seen: synthesize, Telegram would know the chat
            return {"id": chat_id, "first_name": f"User{chat_id}", "type": "private"}
        return self._group_chat(chat_id, f"Chat {chat_id}")

    def _formatted(self, text: Any, parse_mode: Any, entities: Any, *, limit: int,
                   too_long: str) -> dict:
        try:
            formatted = format_text(str(text), parse_mode,
                                    entities if isinstance(entities, list) else None,
                                    strict=self.strict_html)
        except TelegramHtmlError as exc:
            raise _bad("can't parse entities: " + exc.description) from None
        except UnsupportedParseMode:
            raise _bad("unsupported parse_mode") from None
        if utf16_len(formatted.text) > limit:
            raise _bad(too_long)
        with self._cond:
            for entity in formatted.entities:
                if entity["type"] == "text_mention":
                    entity["user"] = self._users.get(entity["user"]["id"], entity["user"])
        return {"text": formatted.text, "entities": formatted.entities}

    def _text(self, p: dict) -> dict:
        if p.get("text") in (None, ""):
            raise _bad("message text is empty")
        formatted = self._formatted(p["text"], p.get("parse_mode"), p.get("entities"),
                                    limit=4096, too_long="message is too long")
        if not formatted["text"]:
            raise _bad("message text is empty")
        if not formatted["entities"]:
            del formatted["entities"]
        return formatted

    def _caption(self, p: dict) -> dict:
        if p.get("caption") in (None, ""):
            return {}
        formatted = self._formatted(p["caption"], p.get("parse_mode"), p.get("caption_entities"),
                                    limit=1024, too_long="message caption is too long")
        content = {"caption": formatted["text"]} if formatted["text"] else {}
        if formatted["entities"]:
            content["caption_entities"] = formatted["entities"]
        return content

    @staticmethod
    def _reply_markup(markup: Any) -> dict | None:
        """Validate reply_markup (InlineKeyboardButton docs: exactly one action field,
        callback_data 1-64 bytes); returns the dict or None."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array "
                       "of Arrays")
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: Field \"text\" must be of type "
                           "String")
            if len(set(button) - {"text", "style", "icon_custom_emoji_id"}) != 1:
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in "
                           "the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(?i)(https?|tg)://\S+$", str(url)):
                raise _bad("BUTTON_URL_INVALID")
        return markup

    def _reply_to(self, p: dict, chat: dict) -> dict | None:
        params = p.get("reply_parameters")
        if params is None and p.get("reply_to_message_id") is not None:
            params = {"message_id": p["reply_to_message_id"],
                      "allow_sending_without_reply": p.get("allow_sending_without_reply")}
        if params is None:
            return None
        if not isinstance(params, dict) or "message_id" not in params:
            raise _bad("can't parse reply parameters JSON object")
        target = chat if params.get("chat_id") is None else self._resolve_chat(params["chat_id"])
        found = self.message(target["id"], int(params["message_id"]))
        if found is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        found.pop("reply_to_message", None)
        return found

    def _edit_target(self, p: dict) -> dict | None:
        """The stored bot message an edit refers to (None for inline messages)."""
        if p.get("inline_message_id"):
            return None
        chat = self._resolve_chat(p.get("chat_id"))
        if p.get("message_id") in (None, ""):
            raise _bad("message identifier is not specified")
        key = (chat["id"], int(p["message_id"]))
        with self._cond:
            msg = self._messages.get(key)
            if msg is None:
                raise _bad("message to edit not found")
            if not self._is_bot_message(key) and chat["type"] != "channel":
                raise _bad("message can't be edited")  # channel admins may edit any post
        return msg

    def _apply_edit(self, msg: dict, changes: dict, markup: dict | None) -> dict:
        """Edit a stored message in place; ``changes`` values of None delete the field."""
        new_markup = markup if markup and "inline_keyboard" in markup else None
        with self._cond:
            if (all((msg.get(k) or None) == (v or None) for k, v in changes.items())
                    and msg.get("reply_markup") == new_markup):
                raise _bad(_NOT_MODIFIED)
            for key, value in changes.items():
                if value is None:
                    msg.pop(key, None)
                else:
                    msg[key] = value
            if new_markup is None:
                msg.pop("reply_markup", None)
            else:
                msg["reply_markup"] = new_markup
            msg["edit_date"] = int(time.time())
            return copy.deepcopy(msg)

    # ---- Bot API methods (name after "_api_" = canonical method name) --------------------------
    def _api_getMe(self, p: dict) -> dict:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    def _api_getUpdates(self, p: dict) -> list[dict]:
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        limit, timeout = min(max(limit, 1), 100), max(float(p.get("timeout") or 0), 0.0)
        with self._cond:
            if self._webhook["url"]:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                     "active; use deleteWebhook to delete the webhook first")
            if isinstance(p.get("allowed_updates"), list):
                self._allowed_updates = set(p["allowed_updates"]) or None
            self._poll_generation += 1
            generation = self._poll_generation
            self._poll_terminator = ("other getUpdates request; make sure that only one bot "
                                     "instance is running")
            self._cond.notify_all()  # a pending long poll is now superseded
            if offset > 0:  # confirm everything below offset
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            elif offset < 0:  # keep the last -offset updates, forget the rest
                while len(self._updates) > -offset:
                    self._updates.popleft()
            deadline = time.monotonic() + timeout
            while True:
                if generation != self._poll_generation:
                    raise _ApiError(409, "Conflict: terminated by " + self._poll_terminator)
                batch = list(itertools.islice(self._updates, limit))
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._stopping.is_set():
                    return copy.deepcopy(batch)
                self._cond.wait(remaining)

    def _api_setWebhook(self, p: dict) -> bool:
        url = str(p.get("url") or "")
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        with self._cond:
            self._webhook = {"url": url, "max_connections": int(p.get("max_connections") or 40),
                             "secret_token": p.get("secret_token")}
            if isinstance(p.get("allowed_updates"), list):
                self._allowed_updates = set(p["allowed_updates"]) or None
            if p.get("drop_pending_updates"):
                self._updates.clear()
            if url:
                self._poll_generation += 1
                self._poll_terminator = "setWebhook request"
                self._cond.notify_all()
        return True

    def _api_deleteWebhook(self, p: dict) -> bool:
        return self._api_setWebhook({"drop_pending_updates": p.get("drop_pending_updates")})

    def _api_getWebhookInfo(self, p: dict) -> dict:
        with self._cond:
            info: dict[str, Any] = {"url": self._webhook["url"], "has_custom_certificate": False,
                                    "pending_update_count": len(self._updates)}
            if self._webhook["url"]:
                info["max_connections"] = self._webhook["max_connections"]
                if self._allowed_updates:
                    info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(p: dict) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    def _api_setMyCommands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            name, text = str(command.get("command", "")), str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name.removeprefix("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(text) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.removeprefix("/"), "description": text})
        with self._cond:
            self._commands[self._commands_key(p)] = cleaned
        return True

    def _api_getMyCommands(self, p: dict) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(p), []))

    def _api_deleteMyCommands(self, p: dict) -> bool:
        with self._cond:
            self._commands.pop(self._commands_key(p), None)
        return True

    def _api_sendMessage(self, p: dict) -> dict:
        chat = self._resolve_chat(p.get("chat_id"))
        content = self._text(p)
        markup = self._reply_markup(p.get("reply_markup"))
        return self._store_bot_message(chat, content, markup, self._reply_to(p, chat))

    def _send_media(self, call: Call) -> dict:
        p = call.params
        chat = self._resolve_chat(p.get("chat_id"))
        kind, extra = _MEDIA[call.method]
        upload, ref = call.files.get(kind), p.get(kind)
        if upload is None and ref in (None, ""):
            raise _bad(f"there is no {kind} in the request")
        with self._cond:
            known = self._files.get(ref) if isinstance(ref, str) else None
        file = known["file"] if known else self.add_file(upload.data if upload else b"",
                                                         kind=kind)
        media: Any = {**self._media_fields(file), **extra}
        if kind == "photo":
            media = self._photo_sizes(file)
        elif kind == "document":
            media["file_name"] = upload.filename if upload else "document"
        content = {kind: media, **self._caption(p)}
        markup = self._reply_markup(p.get("reply_markup"))
        return self._store_bot_message(chat, content, markup, self._reply_to(p, chat))

    def _api_editMessageText(self, p: dict) -> dict | bool:
        msg = self._edit_target(p)
        content = self._text(p)
        markup = self._reply_markup(p.get("reply_markup"))
        if msg is None:
            return True
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        return self._apply_edit(msg, {"text": content["text"],
                                      "entities": content.get("entities")}, markup)

    def _api_editMessageReplyMarkup(self, p: dict) -> dict | bool:
        msg = self._edit_target(p)
        markup = self._reply_markup(p.get("reply_markup"))
        return True if msg is None else self._apply_edit(msg, {}, markup)

    def _api_deleteMessage(self, p: dict) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        with self._cond:
            if self._messages.pop((chat["id"], int(p.get("message_id") or 0)), None) is None:
                raise _bad("message to delete not found")
        return True

    def _api_sendChatAction(self, p: dict) -> bool:
        self._resolve_chat(p.get("chat_id"))
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_answerCallbackQuery(self, p: dict) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._pending_callbacks:
                raise _bad("query is too old and response timeout expired or query ID is "
                           "invalid")
            self._pending_callbacks.discard(query_id)
            self.answered_callbacks[query_id] = dict(p)
        return True

    def _api_getFile(self, p: dict) -> dict:
        with self._cond:
            known = self._files.get(str(p.get("file_id") or ""))
        if known is None:
            raise _bad("invalid file_id")
        return dict(known["file"])

    def _api_close(self, p: dict) -> bool:
        return True

    def _api_logOut(self, p: dict) -> bool:
        return True


# ---- HTTP plumbing ---------------------------------------------------------------------------
def _parse_request(headers: dict[str, str], body: bytes,
                   query: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Form/multipart/JSON body (+ query string) -> (raw params, uploaded files)."""
    raw: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    content_type = headers.get("content-type", "")
    mime = content_type.partition(";")[0].strip().lower()
    try:
        raw.update(urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict"))
        if not body:
            pass
        elif mime == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(data, dict):
                raise _bad("can't parse JSON object")
            raw.update(data)
        elif mime == "multipart/form-data":
            header = email.message.Message()
            header["content-type"] = content_type
            boundary = (header.get_param("boundary") or "").encode("latin-1")
            for part in body.split(b"--" + boundary)[1:]:
                if part.startswith(b"--"):
                    break
                head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
                data = data.removesuffix(b"\r\n")
                part_headers = email.message.Message()
                for line in head.decode("utf-8").split("\r\n"):
                    name, _, value = line.partition(":")
                    part_headers[name.strip()] = value.strip()
                name = part_headers.get_param("name", header="content-disposition")
                filename = part_headers.get_param("filename", header="content-disposition")
                if filename is None:
                    raw[name] = data.decode("utf-8")
                else:
                    files[name] = UploadedFile(filename, part_headers.get_content_type(), data)
        else:
            raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                              errors="strict"))
    except UnicodeDecodeError:
        raise _bad("strings must be encoded in UTF-8") from None
    return raw, files


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in _STRING_PARAMS:
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value
            decoded[key] = value if isinstance(parsed, str) else parsed
        else:
            decoded[key] = value
    return decoded


def _write(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:  # the client went away (e.g. PTB cancelled a long poll)
        handler.close_connection = True


def _write_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    _write(handler, status, data, "application/json")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.telegram.org
    server_version, sys_version = "FakeBotAPI/1.0", ""
    disable_nagle_algorithm = True
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailer section
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every connection thread
    block_on_close = True

    def __init__(self, fake: FakeBotApi):
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Unblock threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
