"""Resident chat page and API.

``POST /api/chat`` takes ``{"message": str, "session": str}`` and returns the JSON answer
contract (question, answer, kind, confidence, citations, suggestions, latency_ms) plus
``feedback``: a token for ``POST /api/feedback`` ``{"token": str, "helpful": bool}`` that is
bound to the session, so one resident cannot rate another's answers. Requests are limited per
session and per client IP (sliding one-minute windows); over the limit the reply is 429 with
the usual rate-limit sentence as ``answer``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from qa.ratelimit import TEXT_RATE_LIMITED, RateLimiter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
#: Requests per minute from one IP address: several residents may share one (a village
#: service centre, a carrier NAT), so it is a multiple of the per-session limit.
IP_FACTOR = 5
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
TEXT_BAD_REQUEST = "请求格式不正确"
TEXT_ERROR = "抱歉，系统暂时出了点问题，请稍后再试。"


def _reply(question: str, answer: str, status: int) -> JSONResponse:
    return JSONResponse({"question": question, "answer": answer, "kind": "none", "confidence": 0.0,
                         "citations": [], "suggestions": [], "latency_ms": 0.0}, status_code=status)


#: The question id of a feedback token: ASCII digits that fit SQLite's 64-bit integers.
_TOKEN_ID = re.compile(r"[0-9]{1,19}")


def chat_routes(chat: Callable[[str, str], dict], feedback: Callable[[int, bool, str], bool], *, secret: bytes,
                per_minute: int = 20) -> list[BaseRoute]:
    """Routes ``/``, ``/api/chat`` and ``/api/feedback``.

    Args:
        chat: ``chat(message, session) -> dict``: the answer contract, optionally with
            ``question_id`` (the logged question, for feedback) and ``body`` (the answer text
            without the suggestion list, shown above the suggestion buttons). Blocking; run
            in a thread.
        feedback: ``feedback(question_id, helpful, session) -> bool`` (False: no such question,
            or not asked in this session).
        secret: key that signs feedback tokens (>= 16 bytes).
        per_minute: questions per session per minute (BOT_RATE_LIMIT); per IP it is
            ``IP_FACTOR`` times that.
    """
    by_session, by_ip = RateLimiter(per_minute), RateLimiter(per_minute * IP_FACTOR)
    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(default=True))
    page = env.get_template("chat.html")

    def sign(question_id: int, session: str) -> str:
        mac = hmac.new(secret, f"{question_id}:{session}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"{question_id}.{mac}"

    async def index(request: Request) -> Response:
        return HTMLResponse(page.render(), headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def read_json(request: Request) -> dict | None:
        """The JSON object of the body, or None for anything else (too large, not UTF-8, not
        JSON, nested too deep, the client gone). Never raises."""
        length = request.headers.get("content-length") or "0"
        if not length.isascii() or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return None
        try:
            body = await request.body()
        except ClientDisconnect:  # the client left mid-body: nothing to answer, nothing to log
            return None
        if len(body) > MAX_BODY_BYTES:
            return None
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

    async def api_chat(request: Request) -> Response:
        data = await read_json(request)
        if data is None or not isinstance(data.get("message"), str):
            return JSONResponse({"error": TEXT_BAD_REQUEST}, status_code=400)
        message = data["message"].encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
        session = data.get("session") if isinstance(data.get("session"), str) else ""
        if not _SESSION.match(session or ""):
            session = secrets.token_urlsafe(16)
        ip = request.client.host if request.client else "unknown"
        if not by_ip.allow(f"ip:{ip}") or not by_session.allow(f"s:{session}"):
            return _reply(message[:200], TEXT_RATE_LIMITED, 429)
        try:
            result = dict(await run_in_threadpool(chat, message, session))
        except Exception:  # a resident never sees a traceback or a 500
            log.exception("web chat: answer failed")
            return _reply(message[:200], TEXT_ERROR, 200)
        question_id = result.pop("question_id", None)
        result["feedback"] = sign(question_id, session) if question_id else None
        result["session"] = session
        return JSONResponse(result)

    async def api_feedback(request: Request) -> Response:
        data = await read_json(request)
        if data is None or not isinstance(data.get("token"), str) or not isinstance(data.get("helpful"), bool):
            return JSONResponse({"ok": False, "error": TEXT_BAD_REQUEST}, status_code=400)
        session = data.get("session") if isinstance(data.get("session"), str) else ""
        qid, _, _ = data["token"].partition(".")
        if not _SESSION.match(session) or not _TOKEN_ID.fullmatch(qid) or not hmac.compare_digest(
                sign(int(qid), session).encode(), data["token"].encode("utf-8", "replace")):
            return JSONResponse({"ok": False, "error": TEXT_BAD_REQUEST}, status_code=403)
        ok = await run_in_threadpool(feedback, int(qid), data["helpful"], session)
        return JSONResponse({"ok": bool(ok)})

    return [Route("/", index, methods=["GET"]), Route("/api/chat", api_chat, methods=["POST"]),
            Route("/api/feedback", api_feedback, methods=["POST"])]
