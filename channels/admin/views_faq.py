"""FAQ pages: list with search and filters, add/edit/disable with alternates and a near-duplicate
warning, per-entry history, import with a dry-run preview, export as CSV or XLSX."""

from __future__ import annotations

import secrets
import threading
import time

from starlette.responses import Response
from starlette.routing import Route

from channels.admin.web import Console, Ctx

PAGE_SIZE = 50
PENDING_TTL_S = 30 * 60


def _alternates(text: str) -> list[str]:
    """One alternate question per line (a ``|`` also separates, as in the CSV files)."""
    return [part.strip() for line in (text or "").splitlines() for part in line.split("|") if part.strip()]


def _int(value: str | None, default: int = 0) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 9 else default


class PendingImports:
    """Files previewed without errors, kept in memory until confirmed (one per staff member,
    at most :data:`PENDING_TTL_S` seconds), so confirming does not need a second upload."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[str, str, bytes, float]] = {}
        self._lock = threading.Lock()

    def put(self, user: str, filename: str, data: bytes) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            now = time.monotonic()
            self._files = {k: v for k, v in self._files.items() if v[0] != user and now - v[3] < PENDING_TTL_S}
            self._files[token] = (user, filename, data, now)
        return token

    def pop(self, token: str, user: str) -> tuple[str, bytes] | None:
        with self._lock:
            item = self._files.get(token)
            if item is None or item[0] != user or time.monotonic() - item[3] >= PENDING_TTL_S:
                return None
            del self._files[token]
            return item[1], item[2]


def routes(console: Console) -> list[Route]:
    ops = console.ops
    pending = PendingImports()

    def faq_list(ctx: Ctx):
        q = ctx.query
        offset = _int(q.get("offset"))
        page = ops.faq_page(q=q.get("q", ""), status=q.get("status", ""), source=q.get("source", ""),
                            tag=q.get("tag", ""), offset=offset, limit=PAGE_SIZE)
        filters = {k: q.get(k, "") for k in ("q", "status", "source", "tag")}
        return console.render(ctx, "faq_list.html", page=page, filters=filters, offset=offset, size=PAGE_SIZE)

    def faq_new(ctx: Ctx):
        from faq.staff import FaqError, NearDuplicate

        values = {"question": "", "answer": "", "alternates": "", "source": "", "tags": ""}
        warning, duplicates, error = "", [], ""
        if ctx.request.method == "POST":
            values = {k: ctx.form.get(k, "") for k in values}
            try:
                record = ops.faq.add(question=values["question"], answer=values["answer"],
                                     alternates=_alternates(values["alternates"]), source=values["source"],
                                     tags=_alternates(values["tags"].replace(",", "|").replace("，", "|")),
                                     actor=ctx.actor, force=ctx.form.get("force") == "1")
                ops.audit(ctx.actor, "faq add", record.id)
                ctx.flash(f"已添加 {record.id}：{record.question}")
                return console.redirect(ctx, f"/admin/faq/{record.id}")
            except NearDuplicate:
                warning = "与已有条目非常相似。若确实是不同的问题，请勾选“仍然新增”后再保存；否则请把它加为已有条目的其他问法。"
                duplicates = ops.near_duplicates(values["question"])
            except FaqError as exc:
                error = str(exc)
        return console.render(ctx, "faq_form.html", status=409 if warning else 400 if error else 200,
                              record=None, values=values, warning=warning, duplicates=duplicates, error=error,
                              history=[])

    def faq_edit(ctx: Ctx):
        from faq.staff import FaqError

        faq_id = ctx.request.path_params["faq_id"]
        try:
            record = ops.faq.get(faq_id)
        except FaqError as exc:
            return console.error(ctx, 404, str(exc))
        error = ""
        if ctx.request.method == "POST":
            action = ctx.form.get("action", "save")
            try:
                if action == "disable":
                    ops.faq.disable(faq_id, actor=ctx.actor)
                    ctx.flash(f"已停用 {faq_id}")
                elif action == "enable":
                    ops.faq.edit(faq_id, actor=ctx.actor, enable=True)
                    ctx.flash(f"已启用 {faq_id}")
                else:
                    ops.faq.edit(faq_id, actor=ctx.actor, question=ctx.form.get("question", ""),
                                 answer=ctx.form.get("answer", ""),
                                 alternates=_alternates(ctx.form.get("alternates", "")),
                                 source=ctx.form.get("source", ""))
                    ctx.flash(f"已保存 {faq_id}")
                ops.audit(ctx.actor, f"faq {action}", faq_id)
                return console.redirect(ctx, f"/admin/faq/{faq_id}")
            except FaqError as exc:
                error = str(exc)
        values = {"question": record.question, "answer": record.answer, "alternates": "\n".join(record.alternates),
                  "source": record.source, "tags": ", ".join(record.tags)}
        if error:
            values.update({k: ctx.form.get(k, values[k]) for k in ("question", "answer", "alternates", "source")})
        # No near-duplicate lookup here: it needs the FAQ matcher, which is rebuilt after every
        # FAQ change (~1 ms per entry); adding an entry checks for near-duplicates anyway.
        return console.render(ctx, "faq_form.html", status=400 if error else 200, record=record, values=values,
                              warning="", duplicates=[], error=error, history=ops.faq_history(faq_id))

    def faq_import(ctx: Ctx):
        from faq.io import FaqFileError

        preview, error, done, filename, token = None, "", "", "", ""
        if ctx.request.method == "POST":
            mode = ctx.form.get("mode", "preview")
            upload = ctx.files.get("file")
            if mode == "confirm":
                upload = pending.pop(ctx.form.get("token", ""), ctx.user.name)
                if upload is None:
                    error = "预览已过期，请重新上传文件"
            elif upload is None:
                error = "请选择要导入的 .csv 或 .xlsx 文件"
            if upload is not None:
                filename, data = upload
                try:
                    if mode in ("import", "confirm"):
                        done = ops.import_file(filename, data, actor=ctx.actor)
                    else:
                        preview = ops.import_preview(filename, data)
                        if not preview.errors:
                            token = pending.put(ctx.user.name, filename, data)
                except FaqFileError as exc:
                    error = str(exc)
        return console.render(ctx, "faq_import.html", status=400 if error else 200, preview=preview, error=error,
                              done=done, filename=filename, token=token)

    def faq_export(ctx: Ctx):
        suffix = ".xlsx" if ctx.request.path_params["fmt"] == "xlsx" else ".csv"
        data = ops.export(suffix)
        ops.audit(ctx.actor, "faq export", suffix)
        media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if suffix == ".xlsx"
                 else "text/csv; charset=utf-8")
        name = f"faq-{time.strftime('%Y%m%d', time.gmtime())}{suffix}"
        return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return [Route("/admin/faq", console.view(faq_list)),
            Route("/admin/faq/new", console.view(faq_new), methods=["GET", "POST"]),
            Route("/admin/faq/import", console.view(faq_import), methods=["GET", "POST"]),
            Route("/admin/faq/export.{fmt:str}", console.view(faq_export)),
            Route("/admin/faq/{faq_id:str}", console.view(faq_edit), methods=["GET", "POST"])]
