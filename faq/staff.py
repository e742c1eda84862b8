"""Staff operations on the FAQ, shared by the CLI and the Telegram staff commands.

Every change goes through :class:`~qa.store.faq_rows.FaqRows` (one transaction, a history
row with who/when/old/new, a version bump that makes every process reload its matcher).
Errors are small named exceptions whose messages are Chinese sentences staff can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faq.io import FaqFileError, clean, negative_clash, read_entries, split_list, write_entries
from qa.store import Store
from qa.store.faq_rows import FaqNotFound, FaqRecord

if TYPE_CHECKING:  # jieba and OpenCC load only when matching: `faq list/show/export` stay fast
    from faq.matcher import FaqMatcher
    from faq.unanswered import Group
    from qa.text import Segmenter

#: An added question this similar (matcher score) to an existing entry is a near-duplicate.
NEAR_DUPLICATE_AT = 80.0
MAX_QUESTION_CHARS = 200
MAX_ANSWER_CHARS = 4000
#: Placeholder answer of entries created from an unanswered group without an answer; such
#: entries stay disabled until staff write the answer (faq edit ID --answer ... --enable).
PENDING_ANSWER = "（待工作人员补充答案）"


class FaqError(ValueError):
    """A staff request that cannot be carried out; the message says why (in Chinese)."""


class NearDuplicate(FaqError):
    """The new question is close to an existing entry. ``entry`` and ``score`` say which."""

    def __init__(self, entry: FaqRecord, score: float) -> None:
        super().__init__(f"与已有条目 {entry.id}「{entry.question}」非常相似（相似度 {score:.0f}）。"
                         f"如确需新增，请加 --force；或用 faq edit {entry.id} --add-alternates 把它加为该条目的问法。")
        self.entry, self.score = entry, score


def _listed(value: list[str] | str | None) -> list[str]:
    """``"甲|乙"`` or ``["甲", "乙"]`` -> cleaned list without blanks or repeats."""
    return split_list(value if isinstance(value, str) else "|".join(value or []))


def _check_negatives(question: str, alternates: list[str], negatives: list[str]) -> None:
    clash = negative_clash(question, alternates, negatives)
    if clash:
        raise FaqError(f"反例问题「{clash}」与本条的问题或其他问法相同，不能既是正例又是反例")


def _required(name: str, value: str | None, limit: int) -> str:
    value = clean(value)
    if not value:
        raise FaqError(f"{name}不能为空")
    if len(value) > limit:
        raise FaqError(f"{name}太长（{len(value)} 字，上限 {limit} 字）")
    return value


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    unchanged: int

    def summary(self) -> str:
        return f"导入完成：新增 {self.added} 条，更新 {self.updated} 条，未变 {self.unchanged} 条。"


class FaqStaff:
    """FAQ operations for one store. ``actor`` strings name who acted (``cli:alice``,
    ``telegram:12345``) and land in the change history."""

    def __init__(self, store: Store, segmenter: Segmenter | None, *,
                 matcher: Callable[[], FaqMatcher] | None = None) -> None:
        """``segmenter`` may be None for reading and exporting (get, export_file); the other
        operations match questions and need it. ``matcher`` returns the current matcher of the
        active entries (a long-running process passes the service's cached one); without it
        each check builds a new one (~0.5 s per 1,000 entries)."""
        self.store, self.segmenter = store, segmenter
        self._current = matcher
        self._faq_matcher: FaqMatcher | None = None

    def _matcher(self) -> FaqMatcher:
        """The matcher for near-duplicate checks and searches: the one ``matcher`` provides, or
        the staff's own, brought up to date with the rows written since its last use (built
        once, then updated in place)."""
        if self._current is not None:
            return self._current()
        from faq.matcher import FaqMatcher

        if self._faq_matcher is None:
            self._faq_matcher = FaqMatcher([], self.segmenter)
        self._faq_matcher.sync(self.store.faq)
        return self._faq_matcher

    def get(self, faq_id: str) -> FaqRecord:
        record = self.store.faq.get(faq_id.strip())
        if record is None:
            raise FaqError(f"没有编号为 {faq_id} 的常见问题")
        return record

    def add(self, *, question: str, answer: str, actor: str, alternates: list[str] | str | None = None,
            source: str | None = None, tags: list[str] | None = None, force: bool = False,
            negatives: list[str] | str | None = None) -> FaqRecord:
        """Add an active entry. ``alternates`` and ``negatives`` (negative questions: phrasings
        this entry must never answer) are lists or ``|``-separated strings.

        Raises:
            FaqError: a blank or overlong field, or a negative question equal to a positive one.
            NearDuplicate: the question is close to an existing entry and ``force`` is False.
        """
        question = _required("问题", question, MAX_QUESTION_CHARS)
        answer = _required("答案", answer, MAX_ANSWER_CHARS)
        alts = _listed(alternates)
        negs = _listed(negatives)
        _check_negatives(question, alts, negs)
        if not force:
            matcher = self._matcher()
            for text in [question, *alts]:
                match = matcher.match(text)
                if match.entry is not None and match.score >= NEAR_DUPLICATE_AT:
                    raise NearDuplicate(match.entry, match.score)
        return self.store.faq.add({"question": question, "answer": answer, "alternates": alts,
                                   "source": clean(source), "tags": tags or [], "negatives": negs}, actor=actor)

    def edit(self, faq_id: str, *, actor: str, question: str | None = None, answer: str | None = None,
             alternates: list[str] | str | None = None, add_alternates: list[str] | str | None = None,
             source: str | None = None, enable: bool = False, negatives: list[str] | str | None = None,
             add_negatives: list[str] | str | None = None) -> FaqRecord:
        """Change the given fields of an entry; ``enable`` re-activates a disabled one. A changed
        question keeps the old wording as an alternate (also when ``alternates`` replaces them).
        ``negatives`` replaces the negative questions, ``add_negatives`` appends to them.

        The entry is read and written back in one ``BEGIN IMMEDIATE`` transaction, so
        concurrent edits (``--add-alternates`` from several processes) never lose each
        other's alternates (issue 14: 4 processes once lost 6 of 20).

        Raises:
            FaqError: unknown id, a field set to blank, or a negative question equal to the
                question or an alternate.
            qa.store.StoreError: the database stayed locked.
        """
        with self.store.db.write():
            return self._edit(faq_id, actor=actor, question=question, answer=answer, alternates=alternates,
                              add_alternates=add_alternates, source=source, enable=enable,
                              negatives=negatives, add_negatives=add_negatives)

    def _edit(self, faq_id: str, *, actor: str, question: str | None, answer: str | None,
              alternates: list[str] | str | None, add_alternates: list[str] | str | None, source: str | None,
              enable: bool, negatives: list[str] | str | None = None,
              add_negatives: list[str] | str | None = None) -> FaqRecord:
        """:meth:`edit`'s read-modify-write; the caller holds the write transaction."""
        current = self.get(faq_id)
        changes: dict = {}
        if question is not None:
            changes["question"] = _required("问题", question, MAX_QUESTION_CHARS)
            if changes["question"] != current.question and current.question not in current.alternates:
                # The old wording (often residents' own phrasing, from `faq promote --new`) keeps
                # matching: it becomes an alternate question.
                changes["alternates"] = [current.question, *current.alternates]
        if answer is not None:
            changes["answer"] = _required("答案", answer, MAX_ANSWER_CHARS)
        if alternates is not None:
            kept = [current.question] if "question" in changes and changes["question"] != current.question else []
            changes["alternates"] = split_list("|".join(
                [*kept, *([alternates] if isinstance(alternates, str) else alternates)]))
        if add_alternates:
            extra = split_list(add_alternates if isinstance(add_alternates, str) else "|".join(add_alternates))
            base = changes.get("alternates", current.alternates)
            changes["alternates"] = list(dict.fromkeys([*base, *extra]))
        if "question" in changes and "alternates" in changes:
            changes["alternates"] = [a for a in changes["alternates"] if a != changes["question"]]
        if negatives is not None:
            changes["negatives"] = _listed(negatives)
        if add_negatives:
            base = changes.get("negatives", current.negatives)
            changes["negatives"] = list(dict.fromkeys([*base, *_listed(add_negatives)]))
        _check_negatives(changes.get("question", current.question), changes.get("alternates", current.alternates),
                         changes.get("negatives", current.negatives))
        if source is not None:
            changes["source"] = clean(source)
        if enable:
            if (changes.get("answer") or current.answer) == PENDING_ANSWER:
                raise FaqError(f"{current.id} 还没有答案，请先用 --answer 写好答案再启用")
            changes["status"] = "active"
        try:
            return self.store.faq.update(current.id, changes, actor=actor)
        except FaqNotFound:
            raise FaqError(f"没有编号为 {faq_id} 的常见问题") from None

    def disable(self, faq_id: str, *, actor: str) -> FaqRecord:
        """Stop answering with an entry (kept with its history; ``edit --enable`` restores it)."""
        with self.store.db.write():
            current = self.get(faq_id)
            return self.store.faq.update(current.id, {"status": "disabled"}, actor=actor, action="disable")

    def search(self, text: str, limit: int = 5) -> list[tuple[FaqRecord, float]]:
        """Entries matching ``text`` best first, with matcher scores (0..100)."""
        text = clean(text)
        if not text:
            return []
        return [(e, s) for e, s in self._matcher().match(text).top[:limit] if s > 0]

    def import_file(self, path: Path, *, actor: str) -> ImportReport:
        """Import a CSV/XLSX file all-or-nothing (upsert by id; rows without id are added).

        Raises:
            faq.io.FaqFileError: the file is invalid (the message names the line); nothing changed.
        """
        entries = read_entries(path)  # fields arrive cleaned and validated
        added, updated, unchanged = self.store.faq.write_many(entries, actor=actor, origin="import")
        return ImportReport(added, updated, unchanged)

    def export_file(self, path: Path) -> int:
        """Write every entry (active and disabled) to CSV or XLSX; returns the count."""
        if path.suffix.lower() not in (".csv", ".xlsx"):
            raise FaqFileError(f"{path.name}：只支持 .csv 或 .xlsx")
        return write_entries(path, self.store.faq.all())

    def unanswered(self, since: str) -> list[Group]:
        """Groups of similar unanswered or low-confidence questions since ``since`` (ISO date)."""
        from faq.unanswered import group_questions

        return group_questions(self.store.log.questions_since(
            since, outcomes=("unanswered", "suggested", "hedged")), self.segmenter)

    def promote(self, group_id: str, *, actor: str, since: str, to: str | None = None,
                answer: str | None = None, source: str | None = None) -> FaqRecord:
        """Turn an unanswered group into alternates of entry ``to``, or into a new entry.

        A new entry without ``answer`` is created disabled with a placeholder answer, for staff
        to complete with ``faq edit ID --answer ... --enable``.

        Raises:
            FaqError: unknown group or entry.
        """
        group = next((g for g in self.unanswered(since) if g.id == group_id.strip().upper()), None)
        if group is None:
            raise FaqError(f"找不到问题组 {group_id}（请先运行 unanswered 查看当前的组号）")
        with self.store.db.write():  # the entry and the log outcome change together
            if to:
                record = self.edit(to, actor=actor, add_alternates=group.texts)
            else:
                question, *rest = group.texts
                if answer:
                    record = self.add(question=question, answer=answer, alternates=rest, source=source, actor=actor,
                                      force=True)
                else:
                    record = self.store.faq.add({"question": question, "answer": PENDING_ANSWER, "alternates": rest,
                                                 "source": clean(source), "status": "disabled"}, actor=actor)
            self.store.log.set_outcome(group.question_ids, "promoted")
        return record


__all__ = ["FaqStaff", "FaqError", "NearDuplicate", "ImportReport", "FaqFileError", "PENDING_ANSWER"]
