"""The staff console's routes under ``/admin/`` (issue 15), for the app to mount.

Usage (wiring)::

    routes += admin_routes(operations, replies, secret=session_key)

Nothing but the login page and the static files (CSS, htmx) answers without a session.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from channels.admin import views_auth, views_documents, views_faq, views_review
from channels.admin.session import IDLE_TIMEOUT_S, Sessions
from channels.admin.web import Console, Ctx

STATIC = Path(__file__).parent / "static"


def admin_routes(ops, replies, *, secret: bytes, idle_timeout_s: int = IDLE_TIMEOUT_S) -> list[BaseRoute]:
    """Routes of the console.

    Args:
        ops: the operations object (:class:`ops.operations.Operations` or the same shape).
        replies: the plain-text renderer (:class:`channels.replies.Replies`): hit testing shows
            the answer exactly as a resident reads it.
        secret: session signing key, >= 16 bytes, stable across restarts (sessions survive).
        idle_timeout_s: a session unused this long ends (default 30 minutes).

    Raises:
        ValueError: the secret is too short.
    """
    console = Console(ops, Sessions(secret, idle_timeout_s=idle_timeout_s), replies)

    def home(ctx: Ctx):
        return console.redirect(ctx, "/admin/faq")

    return [Route("/admin", lambda request: RedirectResponse("/admin/", status_code=307)),
            Route("/admin/", console.view(home)),
            Mount("/admin/static", app=StaticFiles(directory=STATIC), name="admin-static"),
            *views_auth.routes(console), *views_faq.routes(console), *views_review.routes(console),
            *views_documents.routes(console)]
