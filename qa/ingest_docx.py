"""Word ``.docx`` -> cleaned :class:`~qa.document.Document`, with automatic numbering rendered.

python-docx (MIT) reads the package; it drops automatic numbers, and docx2python writes
'--' for the Chinese formats, so the numbers are rendered here from ``word/numbering.xml``
(ECMA-376 Part 1, §17.9 "Numbering"): a paragraph's ``w:numPr`` (or its style's) names a
``w:num`` and a level; the level's ``w:lvlText`` (第%1条, （%2）, %1、) is filled with the
counters of that level and its parents, each written in its ``w:numFmt``.

Word heading styles (Heading 1-9, 标题 1-9, Title) become headings; tables become one
paragraph per row (「表头：单元格，表头：单元格」 when the first row is a header).
"""

from __future__ import annotations

import io
import zipfile

from qa import article_limits
from qa.document import Document
from qa.ingest import ArticleError, build_document
from qa.numbering import NumberingCounters, format_number
from qa.tables import table_lines

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _val(element, tag: str) -> str | None:
    child = element.find(f"{_W}{tag}") if element is not None else None
    return child.get(f"{_W}val") if child is not None else None


def _read_numbering(document) -> dict[str, dict[int, dict]]:
    """{numId: {ilvl: {"fmt", "text", "start"}}} with level overrides applied."""
    try:
        part = document.part.numbering_part
    except (KeyError, NotImplementedError):
        return {}
    root = part.element
    abstract: dict[str, dict[int, dict]] = {}
    for node in root.findall(f"{_W}abstractNum"):
        levels = {}
        for lvl in node.findall(f"{_W}lvl"):
            levels[int(lvl.get(f"{_W}ilvl", "0"))] = {
                "fmt": _val(lvl, "numFmt") or "decimal", "text": _val(lvl, "lvlText") or "",
                "start": int(_val(lvl, "start") or 1)}
        abstract[node.get(f"{_W}abstractNumId")] = levels
    nums: dict[str, dict[int, dict]] = {}
    for num in root.findall(f"{_W}num"):
        levels = {k: dict(v) for k, v in abstract.get(_val(num, "abstractNumId") or "", {}).items()}
        for override in num.findall(f"{_W}lvlOverride"):
            ilvl = int(override.get(f"{_W}ilvl", "0"))
            start = _val(override, "startOverride")
            if start is not None and ilvl in levels:
                levels[ilvl]["start"] = int(start)
            lvl = override.find(f"{_W}lvl")
            if lvl is not None:
                levels[ilvl] = {"fmt": _val(lvl, "numFmt") or "decimal", "text": _val(lvl, "lvlText") or "",
                                "start": int(_val(lvl, "start") or 1)}
        nums[num.get(f"{_W}numId")] = levels
    return nums


def _style_numbering(document) -> dict[str, tuple[str, int]]:
    """{style id: (numId, ilvl)} for styles that carry numbering (linked heading lists)."""
    out: dict[str, tuple[str, int]] = {}
    for style in document.styles.element.findall(f"{_W}style"):
        ppr = style.find(f"{_W}pPr")
        numpr = ppr.find(f"{_W}numPr") if ppr is not None else None
        if numpr is not None and _val(numpr, "numId"):
            out[style.get(f"{_W}styleId")] = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0))
    return out


def _heading_style(paragraph) -> bool:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    lowered = name.lower()
    return lowered.startswith("heading") or lowered == "title" or name.startswith("标题")


def _table_rows(table) -> list[str]:
    """One line per row (:func:`qa.tables.table_lines`); merged cells, which python-docx
    repeats, appear once."""
    grid = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
        grid.append(cells)
    return table_lines(grid)


def parse_docx(raw: bytes, *, doc_id: str, path: str | None = None) -> Document:
    """Clean one Word document.

    Args:
        raw: the ``.docx`` bytes.
        doc_id, path: as for :func:`qa.ingest.parse_article`.

    Returns:
        The cleaned :class:`Document`; the core property title, when set, is its title.

    Raises:
        ArticleError: not a readable .docx (a renamed .doc, a damaged zip, broken XML), no
            text, or over a limit of :mod:`qa.article_limits` (a zip bomb, too many paragraphs
            or characters).
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph
    from lxml.etree import XMLSyntaxError

    name = path or doc_id
    article_limits.check_docx_archive(raw, name)
    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
        raise ArticleError(f"{name}: 不是有效的 .docx 文件（{exc}）") from exc
    numbering = _read_numbering(document)
    style_numbers = _style_numbering(document)
    counters = NumberingCounters()
    lines: list[str] = []
    chars = 0
    for n, child in enumerate(document.element.body.iterchildren()):
        article_limits.check_paragraphs(max(n, len(lines)), name)
        article_limits.check_chars(chars, name)
        if child.tag == f"{_W}tbl":
            rows = _table_rows(Table(child, document))
            chars += sum(len(row) for row in rows)
            lines.append("")
            lines.extend(rows)
            lines.append("")
            continue
        if child.tag != f"{_W}p":
            continue
        paragraph = DocxParagraph(child, document)
        text = paragraph.text.strip()
        ppr = child.find(f"{_W}pPr")
        numpr = ppr.find(f"{_W}numPr") if ppr is not None else None
        num_id, ilvl = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0)) if numpr is not None else (None, 0)
        if num_id is None and ppr is not None and _val(ppr, "pStyle") in style_numbers:
            num_id, ilvl = style_numbers[_val(ppr, "pStyle")]
        prefix = ""
        if num_id and num_id != "0" and num_id in numbering and text:
            levels = numbering[num_id]
            values = counters.step(num_id, ilvl, levels)
            level = levels.get(ilvl)
            if level and level["fmt"] not in ("bullet", "none"):
                prefix = level["text"]
                for i, value in enumerate(values):
                    fmt = levels.get(i, {}).get("fmt", "decimal")
                    prefix = prefix.replace(f"%{i + 1}", format_number(value, fmt))
        if prefix:
            joiner = "" if prefix[-1] in "、.．)）" or text[:1] in "、.．)） " else " "
            text = f"{prefix}{joiner}{text}"
        if not text:
            continue            # spacer paragraphs carry no structure in Word
        chars += len(text)
        lines.append(("\x00" if _heading_style(paragraph) else "") + text)
    article_limits.check_chars(chars, name)
    meta = {}
    if document.core_properties.title and document.core_properties.title.strip():
        meta["title"] = document.core_properties.title.strip()
    return build_document(meta, lines, doc_id=doc_id, path=path, merge=False)
