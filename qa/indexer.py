"""Reindex: article files -> cleaned documents -> search keys -> a new live index.

Segmentation (the slow part: jieba runs at roughly 0.5 M characters a second here) happens
outside any database transaction; rows are written in short chunks and swapped in at the
end (:class:`qa.store.IndexBuild`), so questions keep being answered throughout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.document import Document
from qa.article_files import SUFFIXES, article_paths, doc_id_for, load_article, unsupported_paths
from qa.ingest import ArticleError
from qa.errors import Refusal
from qa.store import Store

__all__ = ["ReindexReport", "ReplaceRefused", "reindex", "document_rows"]
from qa.query import YEAR
from qa.text import Segmenter, normalize

log = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    """What a reindex did. ``seconds`` is wall time; ``skipped`` lists (path, reason);
    ``added`` / ``changed`` / ``removed`` list doc_ids compared with the index before."""

    documents: int = 0
    paragraphs: int = 0
    sentences: int = 0
    seconds: float = 0.0
    generation: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Chinese lines for staff: counts and time, then added / changed / removed and every
        skipped file with its reason."""
        text = (f"索引已重建：{self.documents} 篇文章，{self.paragraphs} 个段落，{self.sentences} 个句子，"
                f"用时 {self.seconds:.1f} 秒。")
        text += f"\n新增 {len(self.added)} 篇，更新 {len(self.changed)} 篇，移除 {len(self.removed)} 篇，跳过 {len(self.skipped)} 个文件。"
        for label, ids in (("新增", self.added), ("更新", self.changed), ("移除", self.removed)):
            if ids:
                text += f"\n{label}：" + "、".join(ids[:10]) + (f" 等 {len(ids)} 篇" if len(ids) > 10 else "")
        for path, reason in self.skipped:
            text += f"\n跳过 {path}：{reason}"
        return text


class ReplaceRefused(ValueError, Refusal):
    """A reindex from another folder would drop documents indexed before; the message lists
    how many and names the flag (``reindex --replace``) that allows it."""


def document_rows(doc: Document, segmenter: Segmenter, next_paragraph_id: int,
                  next_sentence_id: int) -> tuple[dict, list[dict], list[dict]]:
    """Rows for one document with ids starting at the given counters.

    Sentence tokens are jieba search-mode tokens of the normalised sentence; a paragraph's
    tokens are its sentences' tokens; its heading tokens are those of the title and section.
    """
    title_norm = normalize(doc.title)
    title_tokens = segmenter.search_tokens(title_norm)
    paragraphs, sentences = [], []
    pid, sid = next_paragraph_id, next_sentence_id
    for para in doc.paragraphs:
        para_tokens: list[str] = []
        para_norms: list[str] = []
        for seq, sent in enumerate(para.sentences):
            norm = normalize(sent.text)
            tokens = segmenter.search_tokens(norm)
            para_tokens.extend(tokens)
            para_norms.append(norm)
            sentences.append({"id": sid, "paragraph_id": pid, "seq": seq, "start": sent.start, "end": sent.end,
                              "text": sent.text, "norm": norm, "tokens": " ".join(tokens)})
            sid += 1
        section_norm = normalize(para.section) if para.section else ""
        section_tokens = segmenter.search_tokens(section_norm) if section_norm else []
        context_norm = " ".join(filter(None, [*para_norms, section_norm, title_norm]))
        paragraphs.append({"id": pid, "seq": para.seq, "role": para.role, "section": para.section,
                           "number": para.number, "start": para.start, "end": para.end, "text": para.text,
                           "tokens": " ".join(para_tokens), "heading_tokens": " ".join(title_tokens + section_tokens),
                           "context_norm": context_norm})
        pid += 1
    years = sorted(set(YEAR.findall(" ".join(s["norm"] for s in sentences) + " " + title_norm)))
    document = {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "date": doc.date, "url": doc.url,
                "path": doc.path, "meta": doc.meta, "cleaned_text": doc.cleaned_text, "years": " ".join(years),
                "title_tokens": " ".join(title_tokens), "doc_number": doc.doc_number, "valid_from": doc.valid_from,
                "valid_until": doc.valid_until, "status": doc.status, "supersedes": doc.supersedes,
                "content_hash": doc.content_hash}
    return document, paragraphs, sentences


def reindex(store: Store, articles_dir: Path, segmenter: Segmenter, *, wait_s: float = 0.0, replace: bool = False,
            progress: Callable[[int, int], None] | None = None) -> ReindexReport:
    """Rebuild the passage index from every article under ``articles_dir``.

    Idempotent: the same files give the same index. Files that cannot be read, and files of
    other types, are skipped and reported with the reason, not fatal. FAQ entries, the
    question log and staff document settings are not touched.

    Args:
        store: the open store.
        articles_dir: directory of articles (:data:`qa.ingest.SUFFIXES`, searched recursively).
        segmenter: the process's segmenter.
        wait_s: how long to wait for another reindex to finish before giving up.
        replace: allow a folder other than the one the index was built from to drop
            documents that are not in it. Without it such a rebuild is refused. (Files deleted
            from the same folder are removed and reported either way.)
        progress: called with (files done, files total) after each file.

    Raises:
        qa.store.ReindexBusy: another reindex is running.
        ReplaceRefused: another folder without ``replace`` would drop indexed documents.
        FileNotFoundError: ``articles_dir`` does not exist, holds no article, or no file in it
            could be read (an empty index would silently replace the live one).
    """
    if not articles_dir.is_dir():
        raise FileNotFoundError(f"文章目录不存在：{articles_dir}")
    paths = article_paths(articles_dir)
    if not paths:
        raise FileNotFoundError(f"文章目录 {articles_dir} 里没有可读取的文章（{'、'.join(SUFFIXES)}）；为避免清空现有索引，未做重建。")
    before = store.documents.hashes() if store.passages.generation() else {}
    new_ids = {doc_id_for(p, articles_dir) for p in paths}
    recorded = store.meta("articles_dir")
    dropped = sorted(set(before) - new_ids)
    if dropped and not replace and recorded and Path(recorded) != articles_dir.resolve():
        raise ReplaceRefused(f"{articles_dir} 不是上次建索引的目录（{recorded}），重建会移除 {len(dropped)} 篇已索引的文章"
                             f"（如 {dropped[0]}）。确认要整体替换，请加 --replace；只想添加文件，请用 docs add。")
    started = time.perf_counter()
    token = store.acquire_reindex_lock(wait_s=wait_s)
    report = ReindexReport(skipped=list(unsupported_paths(articles_dir)))
    try:
        build = store.passages.begin_build()
        pid = sid = 1
        last_beat = time.monotonic()
        seen: dict[str, str] = {}
        for done, path in enumerate(paths, 1):
            rel = path.relative_to(articles_dir).as_posix()
            try:
                doc = load_article(path, articles_dir)
            except (ArticleError, OSError) as exc:
                report.skipped.append((rel, _reason(exc, rel)))
                log.warning("skipped %s: %s", path, exc)
                continue
            if doc.doc_id in seen:
                report.skipped.append((rel, f"与 {seen[doc.doc_id]} 的文档编号相同（只差扩展名），已跳过"))
                continue
            seen[doc.doc_id] = rel
            if doc.doc_id not in before:
                report.added.append(doc.doc_id)
            elif before[doc.doc_id][1] != doc.content_hash:
                report.changed.append(doc.doc_id)
            document, paragraphs, sentences = document_rows(doc, segmenter, pid, sid)
            pid += len(paragraphs)
            sid += len(sentences)
            build.add(document, paragraphs, sentences)
            if time.monotonic() - last_beat > 5:
                store.refresh_reindex_lock(token)
                last_beat = time.monotonic()
            if progress:
                progress(done, len(paths))
        if not seen:   # every file was skipped: swapping in an empty index would lose every answer
            reasons = "；".join(f"{p}：{r}" for p, r in report.skipped[:3])
            raise FileNotFoundError(f"文章目录 {articles_dir} 里没有一篇能读取的文章（{reasons}）；为避免清空现有索引，未做重建。")
        counts = build.commit(pinyin=segmenter.pinyin)
        store.set_meta("articles_dir", str(articles_dir.resolve()))
    finally:
        store.release_reindex_lock(token)
    report.removed = sorted(set(before) - set(seen))
    report.skipped.sort()
    report.documents, report.paragraphs, report.sentences = counts.documents, counts.paragraphs, counts.sentences
    report.generation = counts.generation
    report.seconds = time.perf_counter() - started
    return report


def _reason(exc: Exception, rel: str) -> str:
    """The reason of a skipped file without its repeated path prefix."""
    text = str(exc)
    return text[len(rel) + 2:] if text.startswith(rel + ": ") else text


def index_document(store: Store, path: Path, root: Path, segmenter: Segmenter, *, wait_s: float = 0.0) -> tuple[Document, str]:
    """Add or replace the one document read from ``path`` (doc_id relative to ``root``)
    without rebuilding anything else: only its rows and its terms' statistics change.

    Returns:
        (the document, "added" or "changed").

    Raises:
        ArticleError, OSError: the file cannot be read as an article (nothing changes).
        qa.store.ReindexBusy: a reindex is running.
        qa.store.StoreError: the index predates incremental updates (run reindex once).
    """
    doc = load_article(path, root)
    token = store.acquire_reindex_lock(wait_s=wait_s)
    try:
        pid, sid = store.documents.next_ids()
        document, paragraphs, sentences = document_rows(doc, segmenter, pid, sid)
        outcome = store.documents.put(document, paragraphs, sentences, pinyin=segmenter.pinyin)
    finally:
        store.release_reindex_lock(token)
    return doc, outcome


def unindex_document(store: Store, doc_id: str, *, wait_s: float = 0.0) -> bool:
    """Remove one document's rows; False when it is not indexed.

    Raises:
        qa.store.ReindexBusy: a reindex is running.
        qa.store.StoreError: the index predates incremental updates (run reindex once).
    """
    token = store.acquire_reindex_lock(wait_s=wait_s)
    try:
        return store.documents.remove(doc_id)
    finally:
        store.release_reindex_lock(token)
