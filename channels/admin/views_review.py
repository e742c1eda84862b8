"""Review pages: unanswered queue with promote, hit testing, feedback, stats (with SVG charts
and a CSV export for admins), synonyms."""

from __future__ import annotations

import csv
import io
import re
import time

from starlette.responses import Response
from starlette.routing import Route

from channels.admin import charts
from channels.admin.web import Console, Ctx
from channels.console import KIND_LABEL, render_explain

QUEUE_GROUPS = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _since(ctx: Ctx, days: int = 30) -> str:
    value = ctx.query.get("since") or ctx.form.get("since") or ""
    if _DATE.match(value):
        return value
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))


def routes(console: Console) -> list[Route]:
    ops = console.ops

    def unanswered(ctx: Ctx):
        from faq.staff import FaqError

        since, error = _since(ctx), ""
        if ctx.request.method == "POST":
            group = ctx.request.path_params.get("group", "")
            to = ctx.form.get("to", "").strip() or None
            try:
                record = ops.promote(group, actor=ctx.actor, since=since, to=to,
                                     answer=ctx.form.get("answer", "").strip() or None,
                                     source=ctx.form.get("source", "").strip() or None)
                if to:
                    ctx.flash(f"已把问题组 {group} 并入 {record.id}")
                elif record.status == "active":
                    ctx.flash(f"已新建 {record.id}：{record.question}")
                else:
                    ctx.flash(f"已新建 {record.id}（停用中）：请补充答案后启用")
                return console.redirect(ctx, f"/admin/faq/{record.id}")
            except FaqError as exc:
                error = str(exc)
        groups = ops.unanswered(since)
        return console.render(ctx, "unanswered.html", status=400 if error else 200, groups=groups[:QUEUE_GROUPS],
                              total=len(groups), since=since, error=error)

    def hit_test(ctx: Ctx):
        question = ctx.query.get("q", "").strip()
        answer = ops.hit_test(question) if question else None
        return console.render(ctx, "test.html", question=question, answer=answer,
                              shown=console.replies.text(answer) if answer else "",
                              explain_text=render_explain(answer) if answer else "",
                              kind_label=KIND_LABEL.get(answer.kind, "") if answer else "")

    def feedback(ctx: Ctx):
        return console.render(ctx, "feedback.html", rows=ops.feedback())

    def stats(ctx: Ctx):
        raw_days = ctx.query.get("days", "30")
        days = int(raw_days) if raw_days.isascii() and raw_days.isdigit() and len(raw_days) <= 4 else 30
        days = min(max(days, 1), 365)
        data = ops.stats(days=days)
        kinds = data["kinds"]
        return console.render(
            ctx, "stats.html", data=data,
            chart_days=charts.bar_chart([(d[5:], n) for d, n, _ in data["per_day"]], title="每天的提问数"),
            chart_rate=charts.line_chart([(d[5:], a / n) for d, n, a in data["per_day"] if n],
                                         title="每天的回答率", percent=True),
            chart_kinds=charts.share_bar([("常见问题", kinds.get("faq", 0)), ("原文", kinds.get("passage", 0)),
                                          ("未回答", kinds.get("none", 0))], title="回答来源"))

    def stats_export(ctx: Ctx):
        data = ops.stats(days=365)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["day", "questions", "answered"])
        writer.writerows(data["per_day"])
        ops.audit(ctx.actor, "stats export")
        return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="stats.csv"'})

    def synonyms(ctx: Ctx):
        from ops.synonyms import SynonymError

        error, text = "", None
        if ctx.request.method == "POST":
            text = ctx.form.get("text", "")
            try:
                groups = ops.synonyms.save(text, actor=ctx.actor)
                ctx.flash(f"已保存 {groups} 组同义词（重启服务后生效）")
                return console.redirect(ctx, "/admin/synonyms")
            except SynonymError as exc:
                error = str(exc)
        return console.render(ctx, "synonyms.html", status=400 if error else 200,
                              text=ops.synonyms.text() if text is None else text, error=error)

    return [Route("/admin/unanswered", console.view(unanswered)),
            Route("/admin/unanswered/{group:str}/promote", console.view(unanswered), methods=["POST"]),
            Route("/admin/test", console.view(hit_test)),
            Route("/admin/feedback", console.view(feedback)),
            Route("/admin/stats", console.view(stats)),
            Route("/admin/stats/export.csv", console.view(stats_export, role="admin")),
            Route("/admin/synonyms", console.view(synonyms), methods=["GET", "POST"])]
