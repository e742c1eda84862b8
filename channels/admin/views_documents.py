"""Admin pages: documents (list, upload), reindex with progress (htmx polling), check."""

from __future__ import annotations

from starlette.routing import Route

from channels.admin.web import Console, Ctx


def routes(console: Console) -> list[Route]:
    ops = console.ops

    def documents(ctx: Ctx):
        from ops.documents import DocumentError

        error = ""
        if ctx.request.method == "POST":
            upload = ctx.files.get("file")
            try:
                if upload is None:
                    raise DocumentError("请选择要上传的文章文件")
                ctx.flash(ops.documents.upload(upload[0], upload[1], actor=ctx.actor))
                return console.redirect(ctx, "/admin/documents")
            except DocumentError as exc:
                error = str(exc)
        return console.render(ctx, "documents.html", status=400 if error else 200, documents=ops.documents.list(),
                              job=ops.documents.job, error=error, articles_dir=ops.documents.articles_dir)

    def reindex(ctx: Ctx):
        started = ops.documents.start_reindex(actor=ctx.actor)
        if not started:
            ctx.flash("已有重建任务在运行。")
        return console.render(ctx, "reindex_status.html", job=ops.documents.job)

    def reindex_status(ctx: Ctx):
        return console.render(ctx, "reindex_status.html", job=ops.documents.job)

    def check(ctx: Ctx):
        return console.render(ctx, "check.html", report=ops.documents.check())

    return [Route("/admin/documents", console.view(documents, role="admin"), methods=["GET", "POST"]),
            Route("/admin/reindex", console.view(reindex, role="admin"), methods=["POST"]),
            Route("/admin/reindex/status", console.view(reindex_status, role="admin")),
            Route("/admin/check", console.view(check, role="admin"))]
