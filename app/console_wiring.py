"""Wiring of the web console and the resident chat page into the server (issue 15).

Hands the runtime's one :class:`ops.operations.Operations` object to the console channel, builds
the chat callable the resident page gets (through the conversation, like every channel), and
derives the signing keys from the deployment's hash key (sessions survive a restart and no new
setting is needed).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.routing import BaseRoute

from app.runtime import Runtime
from app.settings import Settings
from channels.admin.routes import admin_routes
from channels.web.chat import chat_routes
from app.runtime import hash_key

#: The resident page's channel name in the question log and the rate limiter.
WEB_CHANNEL = "web"


def _key(runtime: Runtime, purpose: str) -> bytes:
    """A key for one purpose, HMAC-derived from the deployment secret (BOT_HASH_KEY or <db>.key)."""
    secret = hash_key(runtime.settings, runtime.store.path)
    return hmac.new(secret, f"wancheng:{purpose}".encode(), hashlib.sha256).digest()


def web_chat(runtime: Runtime):
    """The ``chat(message, session) -> dict`` of the resident page: the conversation's answer as
    the JSON contract plus ``question_id`` (for 👍/👎) and ``body`` (the answer without the
    suggestion list). The page rate-limits per session and per IP itself."""
    conversation, replies = runtime.conversation, runtime.replies

    def chat(message: str, session: str) -> dict:
        turn = conversation.ask(WEB_CHANNEL, session, message, render=replies.text, rate_limit=False)
        if turn.answer is None:  # a kept reply (never for the web page) or a notice
            return {"question": message[:200], "answer": turn.reply, "kind": "none", "confidence": 0.0,
                    "citations": [], "suggestions": [], "latency_ms": 0.0, "question_id": None, "body": turn.reply}
        return {**replies.to_json(turn.answer, with_understood=True), "question_id": turn.question_id,
                "body": replies.body(turn.answer)}

    return chat


def web_feedback(runtime: Runtime):
    """``feedback(question_id, helpful, session) -> bool``: 👍/👎 bound to the session that asked."""
    def feedback(question_id: int, helpful: bool, session: str) -> bool:
        return runtime.conversation.feedback(question_id, helpful, channel=WEB_CHANNEL, user=session)
    return feedback


def console_routes(runtime: Runtime, settings: Settings, *, chat=None) -> list[BaseRoute]:
    """``/`` and ``/api/*`` (resident chat) and ``/admin/*`` (staff console) for the app.

    Args:
        chat: replaces the default answer callable (e.g. a Conversation's), same signature.
    """
    return [*chat_routes(chat or web_chat(runtime), web_feedback(runtime), secret=_key(runtime, "feedback"),
                         per_minute=settings.rate_limit_per_minute),
            *admin_routes(runtime.operations, runtime.replies, secret=_key(runtime, "console-session"))]
