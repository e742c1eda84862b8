"""Wiring of the web console and the resident chat page into the server (issue 15).

Builds the one :class:`ops.operations.Operations` object the console channel gets, the chat
callable the resident page gets, and the signing keys (derived from the deployment's hash key,
so sessions survive a restart and no new setting is needed).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.routing import BaseRoute

from app.runtime import Runtime
from app.settings import Settings
from channels.admin.routes import admin_routes
from channels.web.chat import chat_routes
from faq.seed import sync_seed
from ops.operations import Operations
from qa.indexer import reindex


def _key(runtime: Runtime, purpose: str) -> bytes:
    """A key for one purpose, HMAC-derived from the deployment secret (BOT_HASH_KEY or <db>.key)."""
    return hmac.new(runtime.service.config.user_hash_key, f"wancheng:{purpose}".encode(), hashlib.sha256).digest()


def operations(runtime: Runtime, settings: Settings) -> Operations:
    """The staff operations on ``runtime``'s store, service and articles directory."""

    def rebuild(progress):
        report = reindex(runtime.store, runtime.articles_dir(), runtime.segmenter, wait_s=5, progress=progress)
        sync_seed(runtime.store, settings.faq_seed_dir)
        return report

    return Operations(runtime.store, runtime.segmenter, runtime.service, articles_dir=runtime.articles_dir,
                      reindex=rebuild, synonyms_path=settings.text_dir / "synonyms.txt")


def web_chat(runtime: Runtime):
    """The default ``chat(message, session) -> dict`` of the resident page: the answer contract
    plus ``question_id`` (for 👍/👎) and ``body`` (the answer without the suggestion list)."""

    def chat(message: str, session: str) -> dict:
        answer = runtime.service.answer(message, user=session, channel="web")
        return {**answer.to_json(), "question_id": answer.question_id, "body": answer.body_text or answer.answer}

    return chat


def console_routes(runtime: Runtime, settings: Settings, *, chat=None) -> list[BaseRoute]:
    """``/`` and ``/api/*`` (resident chat) and ``/admin/*`` (staff console) for the app.

    Args:
        chat: replaces the default answer callable (e.g. a Conversation's), same signature.
    """
    return [*chat_routes(chat or web_chat(runtime), runtime.service.feedback, secret=_key(runtime, "feedback"),
                         per_minute=settings.rate_limit_per_minute),
            *admin_routes(operations(runtime, settings), secret=_key(runtime, "console-session"))]
