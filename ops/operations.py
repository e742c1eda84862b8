"""The staff operations the web console needs, as one object the wiring hands to the channel.

Channels never import the store; they call this object (typed by duck typing). ``actor``
arguments are the audit names of the staff member (``web:alice``); every change lands in the
FAQ history and/or the audit trail with it.
"""

from __future__ import annotations

import calendar
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faq.import_preview import ImportPreview, preview_import
from faq.io import FaqFileError, clean
from faq.seed import sync_seed
from faq.staff import NEAR_DUPLICATE_AT, FaqStaff
from faq.unanswered import Group
from ops.accounts import StaffAccounts
from ops.cache import StaleCache
from ops.documents import Documents
from ops.synonyms import Synonyms
from qa.indexer import reindex
from qa.store import ReindexBusy, Store
from qa.store.faq_rows import FaqRecord
from qa.text import Segmenter

#: Unanswered questions read for the queue page (newest first). Grouping is quadratic in the
#: number of groups; the newest 3,000 keep the page well under 100 ms (bench/console_bench.py).
QUEUE_QUESTIONS = 3000
UNANSWERED_OUTCOMES = ("unanswered", "suggested", "hedged")
#: The queue and the stats may be this many seconds old (recomputed in the background after
#: that): both scan the question log, 0.2-0.6 s with 100,000 logged questions.
FIGURES_TTL_S = 60.0
#: What ``reindex`` says when another reindex holds the lock.
TEXT_REINDEX_BUSY = "另一个重建索引任务正在运行，请稍后再试。"


def days_ago(days: int, *, now: float | None = None) -> str:
    """UTC date ``days`` days before ``now`` as YYYY-MM-DD."""
    return time.strftime("%Y-%m-%d", time.gmtime((now or time.time()) - days * 86400))


@dataclass(frozen=True)
class FaqPage:
    """One page of the FAQ list: ``records`` after filtering, ``total`` matches, and the
    sources and tags present (for the filter menus)."""

    records: list[FaqRecord]
    total: int
    sources: list[str]
    tags: list[str]


class Operations:
    """Every staff and admin operation, on one store: the one object the wiring hands to the
    channels that serve staff (the web console, Telegram staff commands) and to the CLI.

    Args:
        store: the open store.
        segmenter: the process's segmenter (FAQ matching, unanswered grouping, reindex).
        service: the answering service (hit testing: the pure ``answer(question)``; its cached
            FAQ matcher serves the near-duplicate checks).
        pseudonym: ``pseudonym(channel, user) -> str``: keyed hash of a channel user id (audit
            lines name unlisted users by pseudonym only).
        articles_dir: returns the articles directory a plain reindex uses.
        faq_seed_dir: the seed FAQ directory re-loaded after a reindex.
        synonyms_path: the editable synonym file (data/text/synonyms.txt).
    """

    def __init__(self, store: Store, segmenter: Segmenter, service, *, pseudonym: Callable[[str, object], str],
                 articles_dir: Callable[[], Path], faq_seed_dir: Path, synonyms_path: Path) -> None:
        self.store, self.segmenter, self.service, self.pseudonym = store, segmenter, service, pseudonym
        self._articles_dir, self._faq_seed_dir = articles_dir, faq_seed_dir
        self.faq = FaqStaff(store, segmenter, matcher=lambda: service.faq_matcher)
        self._figures = StaleCache(FIGURES_TTL_S)
        self._records: tuple[int, list[FaqRecord], list[str], list[str]] | None = None
        self.accounts = StaffAccounts(store)
        self.documents = Documents(store, articles_dir, self._rebuild)
        self.synonyms = Synonyms(synonyms_path, store)

    # ---------------------------------------------------------------- reindex
    def _rebuild(self, progress=None, *, articles_dir: Path | None = None, wait_s: float = 5.0,
                 replace: bool = False):
        report = reindex(self.store, Path(articles_dir or self._articles_dir()), self.segmenter, wait_s=wait_s,
                         replace=replace, progress=progress)
        sync_seed(self.store, self._faq_seed_dir)
        return report

    def reindex(self, articles_dir: Path | None = None, *, wait_s: float = 0.0,
                replace: bool = False) -> tuple[bool, str]:
        """Rebuild the passage index and re-load the seed FAQ (staff edits are kept);
        ``replace`` allows a folder that drops documents indexed before (see
        :func:`qa.indexer.reindex`). Blocking; the console runs it in the background through
        ``documents.start_reindex``.

        Returns ``(True, summary)`` or ``(False, reason)`` when another reindex is running.

        Raises:
            OSError, ValueError: the articles directory is missing, empty or unreadable, or it
                would drop documents without ``replace`` (:class:`qa.indexer.ReplaceRefused`).
        """
        try:
            report = self._rebuild(articles_dir=articles_dir, wait_s=wait_s, replace=replace)
        except ReindexBusy:
            return False, TEXT_REINDEX_BUSY
        return True, report.summary()

    def purge_log(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete log rows older than ``retention_days`` days. Returns rows deleted."""
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now or time.time()) - retention_days * 86400))
        return self.store.log.purge_before(cutoff)

    def usage(self, *, now: float | None = None) -> dict:
        """Short usage figures (Telegram /stats): questions today (UTC) and over 7 days, answer
        rate, top questions and top unanswered questions of the 7 days."""
        now = now or time.time()
        today = time.strftime("%Y-%m-%d", time.gmtime(now))
        week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 7 * 86400))
        n_today, answered_today = self.store.log.count_since(today)
        n_week, answered_week = self.store.log.count_since(week)
        return {"today": n_today, "today_answered": answered_today, "week": n_week, "week_answered": answered_week,
                "answer_rate_week": (answered_week / n_week) if n_week else None,
                "top_questions": self.store.log.top_texts(week),
                "top_unanswered": self.store.log.top_texts(week, outcomes=UNANSWERED_OUTCOMES)}

    # ------------------------------------------------------------------ FAQ
    def faq_page(self, *, q: str = "", status: str = "", source: str = "", tag: str = "", offset: int = 0,
                 limit: int = 50) -> FaqPage:
        """Entries whose question or alternates contain ``q`` (case-insensitive), filtered by
        status ("active"/"disabled"), exact source and tag; ``limit`` from ``offset``."""
        version = self.store.faq.version()
        if self._records is None or self._records[0] != version:
            records = self.store.faq.all()
            self._records = (version, records, sorted({r.source for r in records if r.source}),
                             sorted({t for r in records for t in r.tags}))
        _, records, sources, tags = self._records
        needle = clean(q).lower()
        out = [r for r in records
               if (not status or r.status == status) and (not source or r.source == source)
               and (not tag or tag in r.tags)
               and (not needle or needle in r.question.lower() or any(needle in a.lower() for a in r.alternates))]
        return FaqPage(out[offset:offset + limit], len(out), sources, tags)

    def faq_history(self, faq_id: str) -> list[dict]:
        return self.store.faq.history(faq_id)

    def near_duplicates(self, question: str, *, exclude: str = "") -> list[tuple[FaqRecord, float]]:
        """Active entries at least :data:`faq.staff.NEAR_DUPLICATE_AT` similar to ``question``."""
        return [(e, s) for e, s in self.faq.search(question, limit=5) if s >= NEAR_DUPLICATE_AT and e.id != exclude]

    # --------------------------------------------------------------- import
    def import_preview(self, filename: str, data: bytes) -> ImportPreview:
        """Dry run of importing ``data`` (a .csv or .xlsx file named ``filename``).

        Raises:
            faq.io.FaqFileError: unusable file (suffix, encoding, header).
        """
        with _as_file(filename, data) as path:
            return preview_import(self.store, path)

    def import_file(self, filename: str, data: bytes, *, actor: str) -> str:
        """Import all-or-nothing; returns the Chinese summary. Raises FaqFileError."""
        with _as_file(filename, data) as path:
            report = self.faq.import_file(path, actor=actor)
        self.store.log.audit(actor, "faq import", f"{filename}: {report.summary()}")
        return report.summary()

    def export(self, suffix: str) -> bytes:
        """Every entry as a .csv (UTF-8 with BOM) or .xlsx file's bytes."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"faq{suffix}"
            self.faq.export_file(path)
            return path.read_bytes()

    # ----------------------------------------------------------- unanswered
    def unanswered(self, since: str) -> list[Group]:
        """Groups of unanswered or low-confidence questions since ``since`` (newest
        :data:`QUEUE_QUESTIONS` questions), largest first; cached up to :data:`FIGURES_TTL_S`
        seconds and recomputed when the FAQ changes."""
        from faq.unanswered import group_questions

        def compute() -> list[Group]:
            questions = self.store.log.questions_since(since, outcomes=UNANSWERED_OUTCOMES, limit=QUEUE_QUESTIONS)
            return group_questions(questions, self.segmenter)

        # keyed by the FAQ version: a promote (or any FAQ change) shows at once
        return self._figures.get(("queue", since, self.store.faq.version()), compute)

    def promote(self, group_id: str, *, actor: str, since: str, to: str | None = None,
                answer: str | None = None, source: str | None = None) -> FaqRecord:
        """See :meth:`faq.staff.FaqStaff.promote`. Raises faq.staff.FaqError."""
        record = self.faq.promote(group_id, actor=actor, since=since, to=to, answer=answer, source=source)
        self.store.log.audit(actor, "faq promote", f"{group_id} -> {record.id}")
        return record

    # ------------------------------------------------------- hit test, stats
    def hit_test(self, question: str):
        """The :class:`qa.answer.Answer` a resident would get (not logged), with its
        ``explain`` data; the channel renders it exactly as residents see it."""
        return self.service.answer(question)

    def feedback(self, *, days: int = 90) -> list[dict]:
        """👎 answers of the last ``days`` days with the cited source: dicts of the
        :class:`qa.store.reports.FeedbackRow` fields plus ``source`` and ``quote``."""
        out = []
        titles: dict[str, str] = {}
        for row in self.store.reports.feedback(value=-1, since=days_ago(days)):
            source, quote = "", ""
            if row.faq_id:
                entry = self.store.faq.get(row.faq_id)
                source = f"常见问题 {row.faq_id}" + (f"「{entry.question}」" if entry else "（已删除）")
                quote = entry.answer if entry else ""
            elif row.doc_id:
                if row.doc_id not in titles:
                    doc = self.store.passages.document(row.doc_id)
                    titles[row.doc_id] = f"《{doc['title']}》" if doc else row.doc_id
                source, quote = titles[row.doc_id], self.store.reports.quote_of(row.id)
            out.append({**row.__dict__, "source": source, "quote": quote})
        return out

    def stats(self, *, days: int = 30, now: float | None = None) -> dict:
        """Figures for the stats page over the last ``days`` days (cached up to
        :data:`FIGURES_TTL_S` seconds): ``per_day`` [(day, asked, answered)] with every day of
        the window (zero days included), ``kinds`` {faq, passage, none}, ``total``,
        ``answered``, ``answer_rate`` (0..1 or None), ``top_unanswered`` [(text, n)],
        ``top_faq`` [(id, question, n)]."""
        since = days_ago(days, now=now)
        return self._figures.get(("stats", since, days), lambda: self._stats(since, days))

    def _stats(self, since: str, days: int) -> dict:
        logged = {day: (n, a, kinds) for day, n, a, kinds in self.store.reports.per_day(since)}
        start = calendar.timegm(time.strptime(since, "%Y-%m-%d"))
        per_day = [(d, *logged.get(d, (0, 0))[:2]) for d in
                   (time.strftime("%Y-%m-%d", time.gmtime(start + i * 86400)) for i in range(days + 1))]
        kinds: dict[str, int] = {}
        for _, _, day_kinds in logged.values():
            for kind, n in day_kinds.items():
                kinds[kind] = kinds.get(kind, 0) + n
        total = sum(n for _, n, _ in per_day)
        answered = sum(a for _, _, a in per_day)
        top_faq = []
        for faq_id, n in self.store.reports.top_faq_hits(since, 10):
            entry = self.store.faq.get(faq_id)
            top_faq.append((faq_id, entry.question if entry else "（已删除）", n))
        return {"days": days, "since": since, "per_day": per_day, "kinds": kinds, "total": total,
                "answered": answered, "answer_rate": answered / total if total else None,
                "top_unanswered": self.store.log.top_texts(since, outcomes=UNANSWERED_OUTCOMES, limit=10),
                "top_faq": top_faq}

    def audit_log(self, limit: int = 100) -> list[dict]:
        return self.store.reports.audit(limit=limit)

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        self.store.log.audit(actor, action, detail)


class _as_file:
    """A context manager giving uploaded bytes a temporary path with the upload's suffix."""

    def __init__(self, filename: str, data: bytes) -> None:
        suffix = Path(filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise FaqFileError("只支持 .csv 或 .xlsx 文件")
        self.suffix, self.data, self.name = suffix, data, Path(filename).name

    def __enter__(self) -> Path:
        self.tmp = tempfile.TemporaryDirectory()
        path = Path(self.tmp.name) / (self.name if self.name else f"upload{self.suffix}")
        path.write_bytes(self.data)
        return path

    def __exit__(self, *exc) -> None:
        self.tmp.cleanup()
