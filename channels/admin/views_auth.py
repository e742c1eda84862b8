"""Login, logout and accounts (``/admin/login``, ``/admin/logout``, ``/admin/staff``)."""

from __future__ import annotations

from starlette.routing import Route

from channels.admin.session import Session
from channels.admin.web import Console, Ctx


def _safe_next(target: str | None) -> str:
    """Only local console paths are followed after login (no open redirect)."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/faq"


def routes(console: Console) -> list[Route]:
    ops = console.ops

    def login(ctx: Ctx):
        if ctx.request.method == "GET":
            if console._account(ctx.session) is not None:
                return console.redirect(ctx, _safe_next(ctx.query.get("next")))
            return console.render(ctx, "login.html", next=ctx.query.get("next", ""), username="", message="")
        username = ctx.form.get("username", "")
        result = ops.accounts.login(username, ctx.form.get("password", ""))
        if result.account is None:
            return console.render(ctx, "login.html", status=429 if result.locked_until else 401,
                                  next=ctx.form.get("next", ""), username=username, message=result.message)
        fresh = Session(user=result.account.name, pv=result.account.password_version)  # new CSRF token
        ctx.session.csrf, ctx.session.user, ctx.session.pv, ctx.session.changed = fresh.csrf, fresh.user, fresh.pv, True
        return console.redirect(ctx, _safe_next(ctx.form.get("next")))

    def logout(ctx: Ctx):
        ops.audit(ctx.actor, "logout")
        if ctx.user is not None:
            ops.accounts.end_sessions(ctx.user.name)  # a copy of the cookie stops working too
        fresh = Session()
        ctx.session.csrf, ctx.session.user, ctx.session.pv, ctx.session.changed = fresh.csrf, None, 0, True
        ctx.flash("已退出登录。")
        return console.redirect(ctx, "/admin/login")

    def staff_page(ctx: Ctx):
        from ops.accounts import AccountError

        error = ""
        if ctx.request.method == "POST":
            action, name = ctx.form.get("action", ""), ctx.form.get("name", "")
            try:
                if action == "add":
                    ops.accounts.add(name, ctx.form.get("role", ""), ctx.form.get("password", ""), actor=ctx.actor)
                    ctx.flash(f"已创建账号 {name}")
                elif action == "disable":
                    if name == ctx.user.name:
                        raise AccountError("不能停用自己的账号")
                    ops.accounts.disable(name, actor=ctx.actor)
                    ctx.flash(f"已停用账号 {name}")
                elif action == "enable":
                    ops.accounts.enable(name, actor=ctx.actor)
                    ctx.flash(f"已启用账号 {name}")
                elif action == "passwd":
                    ops.accounts.set_password(name, ctx.form.get("password", ""), actor=ctx.actor)
                    ctx.flash(f"已修改 {name} 的密码")
                else:
                    raise AccountError("未知操作")
                return console.redirect(ctx, "/admin/staff")
            except AccountError as exc:
                error = str(exc)
        return console.render(ctx, "staff.html", status=400 if error else 200, accounts=ops.accounts.list(),
                              audit=ops.audit_log(50), error=error)

    return [Route("/admin/login", console.view(login, role=None), methods=["GET", "POST"]),
            Route("/admin/logout", console.view(logout), methods=["POST"]),
            Route("/admin/staff", console.view(staff_page, role="admin"), methods=["GET", "POST"])]
