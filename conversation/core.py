"""One conversation object for every channel: answer, then the side effects around it.

A channel calls :meth:`Conversation.ask` once per message. It checks the rate limit, serves a
retried delivery from the reply it already produced, calls :meth:`qa.service.Service.answer`
exactly once, renders the reply with the channel's renderer, keeps the unsent rest of a long
reply for 「更多」, and queues the question log row (with the reply for retries) on the
:class:`~conversation.log_writer.LogWriter`: the reply never waits for the database writer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from conversation.context import ContextKeeper
from conversation.dialogue import Dialogue
from conversation.identity import UserHasher
from conversation.log_writer import LogWriter
from qa.answer import Answer
from qa.cache import Lru
from qa.followup import FollowUps
from qa.ratelimit import RateLimiter
from qa.service import Service
from qa.store import Store
from qa.text import normalize

#: Replies kept in memory for retried deliveries until their log row is surely written
#: (WeChat retries within about 15 s; the writer usually lands a row within milliseconds).
RECENT_REPLIES = 20_000
#: Unsent rest of long replies kept in memory (the database keeps them too).
RECENT_PAGES = 20_000


def new_question_id() -> int:
    """A question id allocated before the log row exists, so a reply (a 👍/👎 button) can carry
    it: milliseconds since 1970 shifted left 16 bits plus 16 random bits — time-ordered, fits
    SQLite's 64-bit integers and 18 decimal digits until the year 2094."""
    return (int(time.time() * 1000) << 16) | secrets.randbits(16)


@dataclass
class Turn:
    """One message and what was said back.

    Attributes:
        answer: the service's answer (None when the reply did not come from a question: a
            rate-limit notice, a cached retry, a page of 「更多」).
        reply: the text sent (for paged channels: the first page).
        question_id: the log id of the question (None when nothing is logged).
        limited: True when the user was over the rate limit.
    """

    answer: Answer | None
    reply: str
    question_id: int | None = None
    limited: bool = False


class Conversation:
    """Answers messages for every channel and records them.

    Args:
        service: the pure answering core.
        store: the store whose question log, replies and pages this object writes.
        hasher: pseudonymous user ids.
        rate_limiter: questions per user per minute (keys ``"<channel>:<user id>"``).
        writer: the background log writer (owned: :meth:`close` stops it).
        text_limit_message: the reply to a user over the rate limit.
        followups: follow-up rules (:class:`qa.followup.FollowUps`) for :attr:`dialogue`.
        contexts: where each conversation's frame is kept (:mod:`conversation.context`); None
            answers every message on its own.
    """

    def __init__(self, service: Service, store: Store, *, hasher: UserHasher, rate_limiter: RateLimiter,
                 writer: LogWriter, text_limit_message: str, followups: FollowUps,
                 contexts: ContextKeeper | None = None) -> None:
        self.service, self.store, self.user_id = service, store, hasher
        self.rate_limiter, self.writer = rate_limiter, writer
        self.followups, self.contexts = followups, contexts
        self.text_limit_message = text_limit_message
        self._replies = Lru(RECENT_REPLIES)
        self._pages = Lru(RECENT_PAGES)

    @property
    def dialogue(self) -> Dialogue:
        """Follow-ups, numbered picks and clarifying replies over :attr:`service`."""
        return Dialogue(self.service, self.followups)

    # ------------------------------------------------------------------ asking
    def ask(self, channel: str, user: str | int | None, text: str | None, *,
            render: Callable[[Answer], str], paginate: Callable[[str], tuple[str, str]] | None = None,
            dedupe_key: str | None = None, rate_limit: bool = True, log: bool = True,
            scope: str | None = None) -> Turn:
        """Answer one message from ``user`` on ``channel``.

        Args:
            render: the channel's text of an answer (e.g. :meth:`channels.replies.Replies.text`).
            paginate: ``text -> (page, rest)`` for channels with a size limit; ``rest`` is kept
                for :meth:`next_page`.
            dedupe_key: a retried delivery with the same key gets the same reply, unanswered
                again and unlogged (WeChat MsgId).
            rate_limit: False for messages already counted (a button press in the same turn).
            log: False keeps the question out of the log (``bot.py eval``).
            scope: where the conversation happens, for its context (default: ``channel``;
                Telegram passes ``"telegram:<chat id>"`` so each group member has their own).
                A message without a user (``bot.py ask``) has no context.

        Returns:
            A :class:`Turn`. Never raises for any text.
        """
        if dedupe_key is not None:
            cached = self.cached_reply(channel, dedupe_key)
            if cached is not None:
                return Turn(None, cached)
        if rate_limit and user is not None and not self.rate_limiter.allow(f"{channel}:{user}"):
            return Turn(None, self.text_limit_message, limited=True)
        user_hash = self.user_id(channel, user) if self.contexts is not None else None
        scope = scope or channel
        frame = self.contexts.load(scope, user_hash) if user_hash is not None else None
        answer, next_frame = self.dialogue.respond(text, frame)
        turn = self.finish(channel, user, answer, render=render, paginate=paginate, dedupe_key=dedupe_key, log=log)
        if user_hash is not None:  # after the question's log row, which a reply's buttons may name
            self.contexts.save(scope, user_hash, next_frame)
        return turn

    def ask_entry(self, channel: str, user: str | int | None, faq_id: str, *,
                  render: Callable[[Answer], str], scope: str | None = None) -> Turn | None:
        """The answer of FAQ entry ``faq_id`` (a suggestion button), logged like a question and
        kept as the conversation's topic; None when the entry is gone or disabled."""
        answer = self.service.answer_entry(faq_id)
        if answer is None:
            return None
        turn = self.finish(channel, user, answer, render=render)
        user_hash = self.user_id(channel, user) if self.contexts is not None else None
        if user_hash is not None:
            scope = scope or channel
            self.contexts.save(scope, user_hash, self.dialogue.frame_after(answer, self.contexts.load(scope, user_hash)))
        return turn

    def finish(self, channel: str, user: str | int | None, answer: Answer, *, render: Callable[[Answer], str],
               paginate: Callable[[str], tuple[str, str]] | None = None, dedupe_key: str | None = None,
               log: bool = True) -> Turn:
        """Render ``answer``, keep its paging state, queue its log row. Returns the turn."""
        reply = render(answer)
        user_hash = self.user_id(channel, user)
        if paginate is not None:
            reply, rest = paginate(reply)
            if user_hash is not None:
                self._set_page(channel, user_hash, rest or None)
        question_id = None
        if answer.outcome != "invalid" and log:
            question_id = new_question_id()
            self._queue_question(channel, user_hash, answer, question_id, dedupe_key, reply)
        elif dedupe_key is not None:
            self.remember_reply(channel, dedupe_key, user, reply)
        if dedupe_key is not None:
            self._replies.put((channel, dedupe_key), reply)
        return Turn(answer, reply, question_id)

    def _queue_question(self, channel: str, user_hash: str | None, answer: Answer, question_id: int,
                        dedupe_key: str | None, reply: str) -> None:
        first = answer.citations[0] if answer.citations else None
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        row = dict(channel=channel, user_hash=user_hash, text_norm=normalize(answer.question), kind=answer.kind,
                   outcome=answer.outcome, confidence=answer.confidence, faq_id=answer.faq_id,
                   doc_id=first.doc_id if first else None, candidates=answer.candidates, dedupe_key=dedupe_key,
                   reply=reply, question_id=question_id, at=at,
                   understood=normalize(answer.understood_as) if answer.understood_as else None)
        self.writer.submit(lambda question_log: question_log.record(**row))

    # --------------------------------------------------------- retries, paging
    def cached_reply(self, channel: str, dedupe_key: str) -> str | None:
        """The reply already produced for a retried delivery, or None."""
        found = self._replies.get((channel, dedupe_key))
        return found if found is not None else self.store.log.cached_reply(channel, dedupe_key)

    def remember_reply(self, channel: str, dedupe_key: str, user: str | int | None, reply: str) -> None:
        """Keep the reply to a message that is not a logged question (an event, a page)."""
        self._replies.put((channel, dedupe_key), reply)
        user_hash = self.user_id(channel, user)
        self.writer.submit(lambda question_log: question_log.remember_reply(channel, dedupe_key, user_hash, reply))

    def next_page(self, channel: str, user: str | int, paginate: Callable[[str], tuple[str, str]]) -> str | None:
        """The next page of the last long reply to ``user`` (None when there is none)."""
        user_hash = self.user_id(channel, user)
        if user_hash is None:
            return None
        rest = self._pages.get((channel, user_hash))
        if rest is None:
            rest = self.store.log.page(channel, user_hash) or ""
        if not rest:
            return None
        page, remaining = paginate(rest)
        self._set_page(channel, user_hash, remaining or None)
        return page

    def _set_page(self, channel: str, user_hash: str, rest: str | None) -> None:
        previous = self._pages.get((channel, user_hash))
        self._pages.put((channel, user_hash), rest or "")
        if rest is None and previous == "":
            return  # nothing was pending: spare the write
        self.writer.submit(lambda question_log: question_log.set_page(channel, user_hash, rest))

    # ------------------------------------------------------ feedback, privacy
    def feedback(self, question_id: int, helpful: bool, *, channel: str, user: str | int) -> bool:
        """Record 👍/👎 on a question ``user`` asked; False when it is gone or someone else's."""
        self.writer.flush(5.0)  # the question's own row may still be queued
        return self.store.log.set_feedback(question_id, 1 if helpful else -1,
                                           user_hash=self.user_id(channel, user))

    def forget_user(self, channel: str, user: str | int) -> int:
        """Delete every logged question, cached reply and page of one user (unsubscribe)."""
        user_hash = self.user_id(channel, user)
        if user_hash is None:
            return 0
        self.writer.flush(5.0)
        self._pages.pop((channel, user_hash))
        if self.contexts is not None:
            self.contexts.forget_user(user_hash)
        return self.store.log.delete_user(user_hash)

    # --------------------------------------------------------------- lifecycle
    def health(self) -> dict:
        """The log writer's backlog and failures (for ``/healthz``)."""
        return self.writer.health().to_json()

    def close(self, timeout: float = 30.0) -> bool:
        """Write everything queued; False when some writes could not be saved in time."""
        return self.writer.close(timeout)
