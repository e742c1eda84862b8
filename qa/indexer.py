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
from qa.ingest import ArticleError, article_paths, load_article
from qa.store import Store

__all__ = ["ReindexReport", "reindex", "document_rows"]
from qa.query import YEAR
from qa.text import Segmenter, normalize

log = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    """What a reindex did. ``seconds`` is wall time; ``skipped`` lists (path, reason)."""

    documents: int = 0
    paragraphs: int = 0
    sentences: int = 0
    seconds: float = 0.0
    generation: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line in Chinese for staff: counts and time."""
        text = (f"索引已重建：{self.documents} 篇文章，{self.paragraphs} 个段落，{self.sentences} 个句子，"
                f"用时 {self.seconds:.1f} 秒。")
        if self.skipped:
            text += f" 跳过 {len(self.skipped)} 个文件：" + "；".join(f"{p}（{r}）" for p, r in self.skipped[:5])
        return text


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
                "title_tokens": " ".join(title_tokens)}
    return document, paragraphs, sentences


def reindex(store: Store, articles_dir: Path, segmenter: Segmenter, *, wait_s: float = 0.0,
            progress: Callable[[int, int], None] | None = None) -> ReindexReport:
    """Rebuild the passage index from every article under ``articles_dir``.

    Idempotent: the same files give the same index. Files that cannot be read are skipped
    and reported, not fatal. FAQ entries and the question log are not touched.

    Args:
        store: the open store.
        articles_dir: directory of ``.txt`` / ``.md`` articles (searched recursively).
        segmenter: the process's segmenter.
        wait_s: how long to wait for another reindex to finish before giving up.
        progress: called with (files done, files total) after each file.

    Raises:
        qa.store.ReindexBusy: another reindex is running.
        FileNotFoundError: ``articles_dir`` does not exist or holds no article (an empty
            directory would silently empty the live index).
    """
    if not articles_dir.is_dir():
        raise FileNotFoundError(f"文章目录不存在：{articles_dir}")
    if not article_paths(articles_dir):
        raise FileNotFoundError(f"文章目录 {articles_dir} 里没有 .txt 或 .md 文章；为避免清空现有索引，未做重建。")
    started = time.perf_counter()
    token = store.acquire_reindex_lock(wait_s=wait_s)
    report = ReindexReport()
    try:
        build = store.passages.begin_build()
        paths = article_paths(articles_dir)
        pid = sid = 1
        last_beat = time.monotonic()
        seen: dict[str, str] = {}
        for done, path in enumerate(paths, 1):
            rel = str(path.relative_to(articles_dir))
            try:
                doc = load_article(path, articles_dir)
            except (ArticleError, OSError) as exc:
                report.skipped.append((rel, str(exc)))
                log.warning("skipped %s: %s", path, exc)
                continue
            if doc.doc_id in seen:
                report.skipped.append((rel, f"与 {seen[doc.doc_id]} 的文档编号相同（只差扩展名），已跳过"))
                continue
            seen[doc.doc_id] = rel
            document, paragraphs, sentences = document_rows(doc, segmenter, pid, sid)
            pid += len(paragraphs)
            sid += len(sentences)
            build.add(document, paragraphs, sentences)
            if time.monotonic() - last_beat > 5:
                store.refresh_reindex_lock(token)
                last_beat = time.monotonic()
            if progress:
                progress(done, len(paths))
        counts = build.commit(pinyin=segmenter.pinyin)
        store.set_meta("articles_dir", str(articles_dir.resolve()))
    finally:
        store.release_reindex_lock(token)
    report.documents, report.paragraphs, report.sentences = counts.documents, counts.paragraphs, counts.sentences
    report.generation = counts.generation
    report.seconds = time.perf_counter() - started
    return report
