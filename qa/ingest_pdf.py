"""PDF with a text layer -> cleaned :class:`~qa.document.Document`.

pypdf (BSD-3-Clause) extracts each page's text in layout order. Then:

* running headers and footers are dropped: a line within the first or last
  :data:`EDGE_LINES` lines of a page that recurs (digits ignored) on at least half of the pages;
* page numbers are dropped wherever a page starts or ends with one: 「第 1 页 共 2 页」,
  「- 3 -」, 「— 3 —」, 「3 / 12」, 「Page 3 of 12」, a bare 3;
* lines broken by the layout are rejoined by the same rules as print articles
  (:func:`qa.ingest.build_document` with ``merge=True``), also across page breaks.

A page-image PDF (a scan) has no text layer: :class:`~qa.ingest.ArticleError` says so
(「没有文字层」) and reindex reports the file as skipped. PyMuPDF is not used (AGPL).
"""

from __future__ import annotations

import io
import re
from collections import Counter

from qa import article_limits
from qa.document import Document
from qa.ingest import ArticleError, build_document

#: Lines at the top and bottom of a page that may be running headers or footers.
EDGE_LINES = 2
#: Fewer visible characters per page than this means the PDF is a scan without text.
MIN_CHARS_PER_PAGE = 10
TEXT_NO_TEXT_LAYER = "没有文字层（可能是扫描件），已跳过；no text layer. 请提供带文字的 PDF 或 Word 文件"
_PAGE_NUMBER = re.compile(
    r"^(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页\s*第\s*\d+\s*页|[-—–－]\s*\d+\s*[-—–－]"
    r"|\d+\s*/\s*\d+|page\s*\d+(?:\s*of\s*\d+)?|\d{1,4})$", re.I)


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _strip_edges(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers/footers and page numbers from each page's lines."""
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = set(_key(x) for x in lines[:EDGE_LINES] + lines[-EDGE_LINES:])
        counts.update(edge)
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, (len(pages) + 1) // 2)}
    out = []
    for lines in pages:
        lines = list(lines)
        for _ in range(EDGE_LINES + 1):
            if lines and (_PAGE_NUMBER.match(lines[0].strip()) or _key(lines[0]) in repeated):
                lines.pop(0)
            if lines and (_PAGE_NUMBER.match(lines[-1].strip()) or _key(lines[-1]) in repeated):
                lines.pop()
        out.append(lines)
    return out


#: A line at least this share of the usual full line length was wrapped by the layout.
FULL_LINE_SHARE = 0.9
_TERMINAL = "。！？!?；;：:"


def _join_full_lines(lines: list[str]) -> list[str]:
    """Join a line that fills the text width (and does not end a sentence) with the next:
    it was wrapped, whatever it looks like (a 28-character line of a 公文 without a comma
    would otherwise pass for a heading). The full width is the 80th percentile length of
    lines longer than 10 characters."""
    lengths = sorted(len(x) for x in lines if len(x) > 10)
    if len(lengths) < 3:
        return lines
    full = lengths[int(len(lengths) * 0.8)] * FULL_LINE_SHARE
    out: list[str] = []
    carry = False
    for line in lines:
        if carry and out:
            latin = out[-1][-1].isascii() and out[-1][-1].isalpha() and line[0].isascii() and line[0].isalpha()
            out[-1] += (" " if latin else "") + line
        else:
            out.append(line)
        carry = len(line) >= full and line[-1] not in _TERMINAL
    return out


def parse_pdf(raw: bytes, *, doc_id: str, path: str | None = None) -> Document:
    """Clean one PDF.

    Args:
        raw: the PDF bytes.
        doc_id, path: as for :func:`qa.ingest.parse_article`.

    Returns:
        The cleaned :class:`Document`; the PDF's Title property, when set, is its title.

    Raises:
        ArticleError: not a readable PDF (including pypdf's decompression limits), encrypted,
            no text layer (the message says 「没有文字层」), or over a limit of
            :mod:`qa.article_limits` (pages, extracted characters).
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    name = path or doc_id
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise ArticleError(f"{name}: PDF 已加密，无法读取")
        article_limits.check_pdf_pages(len(reader.pages), name)
        pages: list[str] = []
        chars = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            article_limits.check_chars(chars, name)
        title = (reader.metadata.title if reader.metadata else None) or ""
    except ArticleError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ArticleError(f"{name}: 不是可读取的 PDF 文件（{exc}）") from exc
    visible = sum(len(re.sub(r"\s", "", text)) for text in pages)
    if not pages or visible < MIN_CHARS_PER_PAGE * len(pages):
        raise ArticleError(f"{name}: {TEXT_NO_TEXT_LAYER}")
    page_lines = [[line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
                  for text in pages]
    lines: list[str] = []
    for page in _strip_edges(page_lines):
        lines.extend(page)
    lines = _join_full_lines(lines)
    meta = {"title": title.strip()} if title.strip() and not title.strip().lower().startswith(("microsoft", "untitled")) \
        else {}
    return build_document(meta, lines, doc_id=doc_id, path=path, merge=True)
