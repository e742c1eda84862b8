"""What the WeChat / WeCom endpoint says to one incoming message, inside the 5-second rule.

:class:`MessageHandler` takes the fields of one decrypted, parsed message (``{tag: text}``
from :func:`channels.wechat_xml.parse_message`) and returns the reply text, or ``None`` when
the endpoint should answer ``success`` (nothing is shown to the user). It knows nothing about
HTTP, signatures or encryption (see :mod:`channels.wechat`), and nothing about ranking: every
answer comes from :meth:`conversation.core.Conversation.ask` (which calls the service once).

Protocol rules and their sources:

* Message types (text, image, voice with ``Recognition``, video, shortvideo, location, link):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
  ("file" is a WeCom type: https://developer.work.weixin.qq.com/document/path/90239).
* Events (subscribe, unsubscribe, SCAN, LOCATION, CLICK, VIEW):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
  Dedupe events by FromUserName + CreateTime (the doc's advice for events, which have no MsgId).
* The 5-second rule, retries and ``success``: the platform waits 5 s, retries three times,
  and retries carry the same MsgId; replying ``success`` (or an empty body) shows nothing:
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
  and https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
* Text content of a passive reply is limited to 2048 bytes (same page); we send at most
  :data:`MAX_REPLY_BYTES` and page the rest with 「更多」.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor

from channels.replies import Replies
from qa.sentences import utf8_truncate_at_sentence
from qa import smalltalk

log = logging.getLogger(__name__)

#: Bytes of reply text per message, hint included (the platform's limit is 2048; issue 5).
MAX_REPLY_BYTES = 2000
#: Appended to a page that has more after it.
TEXT_MORE_HINT = "回复「更多」查看全文"
#: What a resident types for the next page (compared after dropping spaces and end marks).
MORE_COMMANDS = frozenset({"更多", "查看更多", "更多内容", "查看全文", "more"})
TEXT_NO_MORE = "没有更多内容了。您可以直接输入新的问题。"
TEXT_WELCOME = ("感谢关注！我是宛城区政策问答助手，回答都摘自区里发布的文章和常见问题，并注明出处。"
                "您可以直接发文字或语音提问，比如：\n" + "\n".join(f"· {q}" for q in smalltalk.EXAMPLES))
_ASK_IN_TEXT = "请用文字（或语音）把您的问题发给我，例如：“宛城区2020年脱贫多少人？”"
TEXT_VOICE_UNRECOGNIZED = "抱歉，没有听清这段语音。请再说一遍，或直接输入文字问题。"
#: Short hints for messages the bot cannot read, by MsgType.
MEDIA_HINTS = {
    "image": "暂时看不懂图片。" + _ASK_IN_TEXT,
    "video": "暂时看不了视频。" + _ASK_IN_TEXT,
    "shortvideo": "暂时看不了视频。" + _ASK_IN_TEXT,
    "location": "收到您的位置。我只能回答宛城区政策方面的问题，" + _ASK_IN_TEXT,
    "link": "暂时打不开链接。" + _ASK_IN_TEXT,
    "file": "暂时读不了文件。" + _ASK_IN_TEXT,
}
_MORE_NOISE = re.compile(r"[\s。.!！?？~～]+")


def paginate(text: str, max_bytes: int = MAX_REPLY_BYTES) -> tuple[str, str]:
    """Split a reply into ``(page, rest)``; ``page`` is at most ``max_bytes`` UTF-8 bytes.

    A text that fits is returned whole with ``rest == ""``. Otherwise the page is cut at the
    last sentence end that fits (:func:`channels.wechat_xml.utf8_truncate_at_sentence`) and
    ends with a blank line and :data:`TEXT_MORE_HINT`; ``rest`` (leading whitespace dropped)
    is what 「更多」 shows next. Raises ``ValueError`` when ``max_bytes`` cannot hold the hint.
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return text, ""
    suffix = "\n\n" + TEXT_MORE_HINT
    room = max_bytes - len(suffix.encode("utf-8"))
    if room < 16:
        raise ValueError(f"max_bytes={max_bytes} leaves no room for the paging hint")
    head, rest = utf8_truncate_at_sentence(text, room)
    if not head.strip():  # a first "sentence" longer than a page: cut it anywhere safe
        data = text.encode("utf-8")[:room]
        head = data.decode("utf-8", "ignore")
        rest = text[len(head):]
    return head.rstrip() + suffix, rest.lstrip()


def is_more_command(text: str) -> bool:
    """True when ``text`` asks for the next page (「更多」, with any spaces or end marks)."""
    return _MORE_NOISE.sub("", text).lower() in MORE_COMMANDS


#: Deliveries of one message: the first and three retries, 5 s apart (Passive_user_reply_message:
#: 「微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次」).
DELIVERIES = 4
#: How long a delivery that is not the last waits past the deadline for its answer. Not
#: answering in time makes the platform retry (replying ``success`` would end the exchange
#: with nothing shown); the retry then gets the finished answer at once.
LATE_WAIT_S = 20.0


class MessageHandler:
    """Reply text for one parsed WeChat/WeCom message; shared by ``/wechat`` and ``/wecom``.

    Args:
        conversation: a :class:`conversation.core.Conversation`. Called only from
            ``executor`` threads, never on the event loop.
        replies: the plain-text renderer.
        channel: "wechat" or "wecom" (log channel, rate-limit and dedupe namespace).
        deadline_s: seconds from the request's arrival the endpoint waits for an answer
            (BOT_ANSWER_DEADLINE_S, 4.5 s: the platform waits 5 s). When the answer is not ready
            by then, a delivery that is not the last one is left unanswered so that the platform
            retries, and the retry gets the answer; the last delivery replies ``success``.
        executor: thread pool that runs the answer path (it blocks on SQLite and CPU).
        late_push: a :class:`channels.wechat_push.LatePush` (Official Account with
            WECHAT_APP_SECRET), or None. When set, an answer that misses the window of the last
            delivery is pushed once it is ready instead of being lost (issue 14 item 3);
            without it that answer is only logged.

    Concurrency: a retry that arrives while the first delivery is still being answered waits
    on the same job (an in-process map keyed by the dedupe key), so a message is answered
    once; a retry after that gets the reply the conversation kept for it.
    Must be used from one event loop.
    """

    def __init__(self, conversation, replies: Replies, *, channel: str, deadline_s: float,
                 executor: Executor, late_push=None) -> None:
        if deadline_s <= 0:
            raise ValueError("deadline_s must be > 0")
        self.conversation, self.replies, self.channel = conversation, replies, channel
        self.deadline_s, self.executor = deadline_s, executor
        self._inflight: dict[str, asyncio.Future] = {}
        self._deliveries: dict[str, int] = {}
        self.late_push = late_push

    # ------------------------------------------------------------------ dispatch
    async def reply_for(self, fields: Mapping[str, str], *, started: float) -> str | None:
        """The reply text for ``fields``, or None for ``success``.

        ``started`` is ``time.monotonic()`` when the request arrived; the deadline counts
        from it. Never raises for any field values (a failed job is logged, gives None).
        """
        user = (fields.get("FromUserName") or "").strip()
        msg_type = (fields.get("MsgType") or "").strip().lower()
        if not user:
            return None
        if msg_type == "event":
            return await self._event(fields, user, started)
        if msg_type == "text":
            text = fields.get("Content") or ""
        elif msg_type == "voice":
            text = (fields.get("Recognition") or "").strip()
            if not text:
                return TEXT_VOICE_UNRECOGNIZED
        else:
            return MEDIA_HINTS.get(msg_type)  # None (success) for unknown types
        key = self._dedupe_key("msg", user, fields.get("MsgId"))
        return await self._run(key, started, functools.partial(self._text_job, user, text, key), push_to=user)

    async def _event(self, fields: Mapping[str, str], user: str, started: float) -> str | None:
        event = (fields.get("Event") or "").strip().lower()
        if event == "subscribe":
            key = self._dedupe_key("event", user, fields.get("CreateTime"), event)
            return await self._run(key, started, functools.partial(self._welcome_job, user, key), push_to=user)
        if event == "unsubscribe":
            # The user's logged data is deleted (issue 5); idempotent, so retries need no dedupe.
            await self._run(None, started, functools.partial(self.conversation.forget_user, self.channel, user))
        return None  # every other event: nothing to say

    def _dedupe_key(self, kind: str, user: str, *parts: str | None) -> str | None:
        """``kind:<user hash>:<parts>``; None when a part is missing (no dedupe possible).
        The raw OpenID never reaches the database: the user is a keyed hash."""
        clean = [(p or "").strip() for p in parts]
        if not all(clean):
            return None
        return ":".join([kind, self.conversation.user_id(self.channel, user), *clean])

    # ------------------------------------------------------------ deadline + dedupe
    async def _run(self, key: str | None, started: float, job: Callable[[], str | int | None], *,
                   push_to: str | None = None):
        """Run ``job`` in the executor; wait for it until the deadline. A job already running
        under ``key`` is awaited instead of starting a second one. Returns the job's result,
        or None on failure or when the last delivery overran the deadline (then, with
        ``late_push`` and ``push_to`` (the OpenID), the result is pushed when it is ready)."""
        future = self._inflight.get(key) if key is not None else None
        if future is None:
            future = asyncio.get_running_loop().run_in_executor(self.executor, job)
            future.add_done_callback(_log_failure)
            if key is not None:
                self._inflight[key] = future
                self._deliveries[key] = 0
                future.add_done_callback(functools.partial(self._forget_inflight, key))
        delivery = 0
        if key is not None and key in self._deliveries:
            self._deliveries[key] += 1
            delivery = self._deliveries[key]
        remaining = self.deadline_s - (time.monotonic() - started)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(remaining, 0.0))
        except TimeoutError:
            if key is None or delivery >= DELIVERIES:
                pushing = self.late_push is not None and bool(push_to)
                log.warning("%s: answer not ready within %.1f s on the last delivery; replied success%s",
                            self.channel, self.deadline_s, "; pushing it when ready" if pushing else "")
                if pushing:
                    self.late_push.when_ready(future, push_to)
                return None
            log.warning("%s: answer not ready within %.1f s; leaving this delivery unanswered so the platform "
                        "retries", self.channel, self.deadline_s)
            try:
                return await asyncio.wait_for(asyncio.shield(future), LATE_WAIT_S)
            except Exception:
                return None
        except Exception:  # logged once by _log_failure
            pass
        return None

    def _forget_inflight(self, key: str, future: asyncio.Future) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
            # a retry arriving later is served from the kept reply; forget the count after the
            # retry window (4 deliveries x 5 s)
            asyncio.get_running_loop().call_later(DELIVERIES * 5 + 5, self._deliveries.pop, key, None)

    # -------------------------------------------------------- jobs (worker threads)
    def _text_job(self, user: str, text: str, key: str | None) -> str:
        """Answer a text (or recognised voice) message; runs in a worker thread."""
        if is_more_command(text):
            return self._next_page(user, key)
        turn = self.conversation.ask(self.channel, user, text, render=self.replies.text, paginate=paginate,
                                     dedupe_key=key)
        return turn.reply

    def _next_page(self, user: str, key: str | None) -> str:
        if key is not None:
            cached = self.conversation.cached_reply(self.channel, key)
            if cached is not None:
                return cached
        page = self.conversation.next_page(self.channel, user, paginate) or TEXT_NO_MORE
        if key is not None:
            self.conversation.remember_reply(self.channel, key, user, page)
        return page

    def _welcome_job(self, user: str, key: str | None) -> str:
        if key is not None:
            cached = self.conversation.cached_reply(self.channel, key)
            if cached is not None:
                return cached
            self.conversation.remember_reply(self.channel, key, user, TEXT_WELCOME)
        return TEXT_WELCOME


def _log_failure(future: asyncio.Future) -> None:
    """Log a failed job once (no message text: exceptions from the service carry none)."""
    if not future.cancelled() and future.exception() is not None:
        exc = future.exception()
        log.error("answer job failed: %s", type(exc).__name__, exc_info=exc)
