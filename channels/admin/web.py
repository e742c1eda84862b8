"""The console's request plumbing: login and role checks, CSRF on every POST, form and upload
parsing, the template environment, and running the (blocking) view functions in a thread.

A view is a plain function ``view(ctx) -> Response`` run in Starlette's thread pool, so store
and ranking work never blocks the event loop that also serves WeChat and Telegram.
"""

from __future__ import annotations

import datetime as dt

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from channels.admin.session import CSRF_FIELD, CSRF_HEADER, Session, Sessions

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
LOGIN_PATH = "/admin/login"
#: Upload limit of one request (FAQ files, articles), bytes.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
ROLE_LABEL = {"staff": "工作人员", "admin": "管理员"}
#: Defence in depth behind autoescaping: scripts only from this server (htmx), no plugins, no
#: framing; inline style attributes are used by the templates and htmx.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")

#: Navigation: (path, label, role needed).
NAV = [("/admin/faq", "常见问题", "staff"), ("/admin/unanswered", "未答问题", "staff"),
       ("/admin/test", "命中测试", "staff"), ("/admin/feedback", "反馈", "staff"),
       ("/admin/stats", "统计", "staff"), ("/admin/synonyms", "同义词", "staff"),
       ("/admin/documents", "文档", "admin"), ("/admin/staff", "账号", "admin")]


#: China Standard Time (UTC+8, no daylight saving): staff read times as the district does.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


def local_time(value) -> str:
    """``2026-12-01T15:33:47Z`` (the log's UTC) as ``2026-12-01 23:33`` Beijing time; other
    values unchanged (empty stays empty)."""
    if not isinstance(value, str) or not value.endswith("Z"):
        return value or ""
    try:
        moment = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return value
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def template_env() -> Environment:
    """Jinja2 with autoescaping on for every template (residents' text is untrusted)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["ROLE_LABEL"] = ROLE_LABEL
    env.filters["when"] = local_time
    return env


@dataclass
class Ctx:
    """What a view gets: the request, its session, the logged-in account (None on public
    views), the parsed form (strings) and uploads ``{field: (filename, bytes)}``."""

    request: Request
    session: Session
    user: object | None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        """The audit name of the staff member: ``web:<name>``."""
        return f"web:{self.user.name}" if self.user is not None else "web:anonymous"

    @property
    def query(self):
        return self.request.query_params

    def flash(self, message: str) -> None:
        """Show ``message`` on the next page rendered for this session."""
        self.session.flash, self.session.changed = message, True


class Console:
    """Holds the operations object, the sessions and the templates; makes views.

    Args:
        ops: an :class:`ops.operations.Operations` (duck-typed: ``accounts``, ``faq`` ...).
        sessions: the cookie codec.
        replies: the plain-text renderer of answers (hit testing).
    """

    def __init__(self, ops, sessions: Sessions, replies=None) -> None:
        self.ops, self.sessions, self.env, self.replies = ops, sessions, template_env(), replies

    # ----------------------------------------------------------- responses
    def render(self, ctx: Ctx, template: str, status: int = 200, **values) -> HTMLResponse:
        """A page (or an htmx fragment) with the common values: user, nav, csrf, flash."""
        flash, ctx.session.flash = ctx.session.flash, ""
        if flash:
            ctx.session.changed = True
        role = getattr(ctx.user, "role", None)
        nav = [(p, label) for p, label, need in NAV if role == "admin" or (role == "staff" and need == "staff")]
        html = self.env.get_template(template).render(
            user=ctx.user, nav=nav, csrf=ctx.session.csrf, csrf_field=CSRF_FIELD, flash=flash,
            path=ctx.request.url.path, **values)
        return HTMLResponse(html, status_code=status)

    def redirect(self, ctx: Ctx, url: str) -> Response:
        """303 to ``url`` (or, for an htmx request, an HX-Redirect)."""
        if ctx.request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    def error(self, ctx: Ctx, status: int, message: str) -> HTMLResponse:
        return self.render(ctx, "error.html", status=status, message=message)

    # ------------------------------------------------------------- views
    def view(self, fn: Callable[[Ctx], Response], *, role: str | None = "staff") -> Callable:
        """Wrap ``fn`` as a Starlette endpoint.

        ``role`` None: public (the login page); "staff": any logged-in account; "admin": admins
        only (others get 403). Not logged in: redirect to the login page. A POST without the
        session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``) gets 403
        before ``fn`` runs.
        """

        async def endpoint(request: Request) -> Response:
            session = self.sessions.load(request.cookies)
            ctx = Ctx(request, session, None)
            response = await self._dispatch(ctx, fn, role)
            if session.changed or session.user:
                self.sessions.save(response, session, https=request.url.scheme == "https")
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Content-Security-Policy", CSP)
            return response

        return endpoint

    async def _dispatch(self, ctx: Ctx, fn, role: str | None) -> Response:
        request = ctx.request
        if role is not None:
            ctx.user = await run_in_threadpool(self._account, ctx.session)
            if ctx.user is None:
                ctx.session.user, ctx.session.changed = None, True
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return self.redirect(ctx, f"{LOGIN_PATH}?next={quote(target, safe='')}")
            if role == "admin" and ctx.user.role != "admin":
                return self.error(ctx, 403, "这个页面只对管理员开放。")
        if request.method == "POST":
            length = int(request.headers.get("content-length") or 0)
            if length > MAX_UPLOAD_BYTES + 64 * 1024:
                return self.error(ctx, 413, f"上传内容太大（上限 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）。")
            try:
                await self._read_form(ctx)
            except ValueError:
                return self.error(ctx, 400, "表单内容无法读取。")
            token = ctx.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not self.sessions.csrf_ok(ctx.session, token):
                return self.error(ctx, 403, "表单已过期或来源不明（缺少安全令牌），请刷新页面后重试。")
        try:
            return await run_in_threadpool(fn, ctx)
        except Exception:  # a console page never shows a traceback
            log.exception("console view %s failed", request.url.path)
            return self.error(ctx, 500, "出错了，请稍后重试；问题已记录在服务器日志中。")

    def _account(self, session: Session):
        if not session.user:
            return None
        account = self.ops.accounts.get(session.user)
        if account is None or account.status != "active" or account.password_version != session.pv:
            return None
        return account

    @staticmethod
    async def _read_form(ctx: Ctx) -> None:
        try:
            form = await ctx.request.form(max_files=4, max_fields=200)
        except Exception as exc:  # multipart parse errors come in several classes
            raise ValueError(str(exc)) from exc
        for key, value in form.multi_items():
            if isinstance(value, str):
                ctx.form.setdefault(key, value)
            elif getattr(value, "filename", None):
                data = await value.read(MAX_UPLOAD_BYTES + 1)
                if len(data) > MAX_UPLOAD_BYTES:
                    raise ValueError("upload too large")
                ctx.files[key] = (value.filename, data)
        await form.close()
