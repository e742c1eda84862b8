"""Article files -> cleaned :class:`~qa.document.Document` with sentence offsets.

Articles are ``.txt`` or ``.md`` files, optionally starting with front matter::

    ---
    title: 脱贫攻坚 宛城区交出满意答卷
    source: ...
    date: 2020-12-01
    url: https://...
    ---

Most real articles come out of a print/PDF pipeline. Cleaning repairs what that pipeline
does to them, each rule taken from the seed article (``data/articles``):

* paragraphs broken mid-sentence or mid-word are rejoined (…范围的通 / 知》…; “六类对象” / 的基础上);
* the lede line before the title, the title, the byline (□本报记者 …), section headings
  and photo captions are recognised as such;
* a trailing editor's mark (③2) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qa import doc_meta
from qa.document import ANSWERABLE_ROLES, Document, Paragraph
from qa.sentences import CLOSERS as _CLOSERS
from qa.sentences import SENTENCE_END as _SENTENCE_END
from qa.sentences import split_sentences
from qa.structure import SectionTracker

#: A heading or title is short; the seed's longest heading has 15 characters.
HEADING_MAX_CHARS = 30
#: A caption is one short sentence; the seed's caption has 40 characters.
CAPTION_MAX_CHARS = 100
_TERMINAL = "。！？!?；;…"
# Characters that cannot start a paragraph: particles, closing marks, mid-sentence punctuation.
_CONTINUATION_START = set("的地得之了着过和与及等或、，,。.；;：:）)》」』”’】") | set(_CLOSERS)
_OPENERS_AT_END = set("《「『“‘（(【")
_NONTERMINAL_END = set("，,、：:") | _OPENERS_AT_END
_BYLINE = re.compile(r"^[□■◇◆●○]?\s*(本报记者|本报讯|记者|通讯员|特约记者|文/|文／|作者[:：])")
_BYLINE_ANY = re.compile(r"(记者|通讯员)\s*\S+")
_CAPTION_HINT = re.compile(r"(^图为)|(^图[:：])|([（(]?(记者\s*\S+\s*)?摄[）)]?$)|(供图[）)]?$)")
# Editor's mark at the very end: a circled number optionally followed by digits (③2), or a
# bracketed note such as （完） or （责任编辑：…）.
_EDITOR_MARK = re.compile(r"\s*(?:[\u2460-\u2473\u3251-\u325f\u32b1-\u32bf]\s*\d{0,3}|[（(](?:完|责任编辑[:：][^）)]*|编辑[:：][^）)]*)[）)])\s*$")


class ArticleError(ValueError):
    """The file cannot be read as an article (empty, not text). The message names the file."""


@dataclass
class _Block:
    text: str
    gap: int  # blank lines before this block in the source


def decode_bytes(raw: bytes, path: Path) -> str:
    """``raw`` as UTF-8 (BOM allowed) or GB18030; ArticleError naming ``path`` otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ArticleError(f"{path}: not UTF-8 or GB18030 text")


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i in range(1, min(len(lines), 60)):
        if lines[i].strip() == "---":
            meta = {}
            for line in lines[1:i]:
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, "\n".join(lines[i + 1:])
    return {}, text


_MD_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),           # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),        # links -> their text
    (re.compile(r"(\*\*|__|`)"), ""),                    # bold, code ticks
)


def _markdown_lines(text: str) -> list[str]:
    out = []
    for line in text.split("\n"):
        stripped = line.strip()
        if re.match(r"^(-{3,}|\*{3,}|_{3,})$", stripped):
            out.append("")
            continue
        stripped = re.sub(r"^#{1,6}\s+", "\x00", stripped)  # mark markdown headings
        stripped = re.sub(r"^(>\s*|[-*+]\s+)", "", stripped)
        for pattern, repl in _MD_INLINE:
            stripped = pattern.sub(repl, stripped)
        out.append(stripped)
    return out


# Bidi overrides and isolates, zero-width and other format controls: invisible in print, but
# they reorder or hide text in a reply (a quote could look like something it is not).
_FORMAT_CONTROLS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _blocks(lines: list[str]) -> list[_Block]:
    blocks, gap, current = [], 0, []
    for line in lines + [""]:
        line = line.strip()
        if line:
            current.append(line)
            continue
        if current:
            blocks.append(_Block("\n".join(current), gap))
            current, gap = [], 0
        gap += 1
    return blocks


_TRAILING_NOTE = re.compile(r"[（(][^（）()]{0,30}[）)]$")


def _ends_sentence(text: str) -> bool:
    """True when ``text`` ends a sentence, looking past closing quotes and a trailing
    parenthetical note such as （记者 李四 摄）."""
    text = _TRAILING_NOTE.sub("", text) or text
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINAL


def _heading_like(text: str) -> bool:
    return (
        len(text) <= HEADING_MAX_CHARS
        and not _ends_sentence(text)
        and text[-1] not in _NONTERMINAL_END
        and not any(p in text for p in "。！？!?；;，,")
    )


def _continues(prev: str, nxt: str) -> bool:
    """True when ``nxt`` is the rest of ``prev`` split by a print break."""
    if _ends_sentence(prev) or prev.startswith("\x00"):
        return False
    if prev[-1] in _NONTERMINAL_END or nxt[0] in _CONTINUATION_START:
        return True
    return not _heading_like(prev)


def _join(prev: str, nxt: str) -> str:
    """Rejoin a broken line: no space between CJK characters (骨干工 + 业企业), one space where two
    Latin words or numbers would otherwise run together (…11户 + 002… keeps its boundary)."""
    ascii_both = prev[-1].isascii() and prev[-1].isalnum() and nxt[0].isascii() and nxt[0].isalnum()
    number_next = nxt[0].isdigit() and not _ends_sentence(prev) and prev[-1].isalnum()
    return prev + (" " if ascii_both or number_next else "") + nxt


def _merge_lines(blocks: list[_Block]) -> list[_Block]:
    """Split blocks into lines, then rejoin lines and blocks that continue each other."""
    pieces: list[_Block] = []
    for block in blocks:
        for i, line in enumerate(block.text.split("\n")):
            pieces.append(_Block(line, block.gap if i == 0 else 0))
    merged: list[_Block] = []
    for piece in pieces:
        if merged and not _BYLINE.match(piece.text) and not piece.text.startswith("\x00") \
                and _continues(merged[-1].text, piece.text):
            merged[-1] = _Block(_join(merged[-1].text, piece.text), merged[-1].gap)
        else:
            merged.append(piece)
    return merged


def _split_lines(blocks: list[_Block]) -> list[_Block]:
    """Every line its own paragraph (formats whose paragraphs are real: docx, html)."""
    return [_Block(line, block.gap if i == 0 else 0)
            for block in blocks for i, line in enumerate(block.text.split("\n"))]


def _classify(blocks: list[_Block], meta_title: str | None) -> list[tuple[str, str]]:
    texts = [b.text for b in blocks]
    roles = ["body"] * len(blocks)
    title_at = None
    for i, text in enumerate(texts[:4]):
        if text.startswith("\x00") or (_heading_like(text) and not _BYLINE.match(text) and not doc_meta.is_metadata_line(text)):
            title_at = i
            break
    if meta_title and title_at is not None and texts[title_at].lstrip("\x00") != meta_title:
        title_at = None if not texts[title_at].startswith("\x00") else title_at
    if title_at is not None:
        roles[title_at] = "title"
        for i in range(title_at):
            roles[i] = "lede"
    for i, text in enumerate(texts):
        if roles[i] != "body":
            continue
        bare = text.lstrip("\x00")
        if len(bare) <= 60 and (_BYLINE.match(bare) or (i <= 3 and _BYLINE_ANY.search(bare) and not _ends_sentence(bare))):
            roles[i] = "byline"
        elif text.startswith("\x00") or (_heading_like(text) and i + 1 < len(texts) and not doc_meta.is_metadata_line(text)
                                          and not _heading_like(texts[i + 1])):
            roles[i] = "heading"  # a run of short lines is a table or list, not headings
        elif len(text) <= CAPTION_MAX_CHARS and (
            _CAPTION_HINT.search(text) or (blocks[i].gap >= 2 and len(_SENTENCE_END.findall(text)) <= 1)
        ) and i > (title_at or 0):
            roles[i] = "caption"
    return [(role, text.lstrip("\x00")) for role, text in zip(roles, texts)]


def parse_article(raw: bytes, *, doc_id: str, path: str | None = None, markdown: bool = False) -> Document:
    """Clean one ``.txt``/``.md`` article and compute its structure.

    Args:
        raw: file bytes (UTF-8 with or without BOM, or GB18030). Text that is really an
            HTML page (saved with the wrong suffix) is read as HTML (:mod:`qa.ingest_html`).
        doc_id: the id to give the document.
        path: for error messages and the stored record.
        markdown: treat ``#`` lines as headings and strip inline markup.

    Returns:
        The cleaned :class:`Document`.

    Raises:
        ArticleError: undecodable or no text at all.
    """
    text = decode_bytes(raw, Path(path or doc_id)).replace("\r\n", "\n").replace("\r", "\n")
    from qa.ingest_html import looks_like_html, parse_html    # ingest_html builds on this module

    if looks_like_html(text):
        return parse_html(raw, doc_id=doc_id, path=path)
    meta, body = _front_matter(text)
    body = _FORMAT_CONTROLS.sub("", body)
    lines = _markdown_lines(body) if markdown else [line.strip() for line in body.split("\n")]
    return build_document(meta, lines, doc_id=doc_id, path=path)


def build_document(meta: dict[str, str], lines: list[str], *, doc_id: str, path: str | None = None,
                   merge: bool = True, found: dict[str, str] | None = None, content_hash: str = "") -> Document:
    """The shared back half of every format: lines -> cleaned, structured :class:`Document`.

    Args:
        meta: raw front matter / format metadata (keys of :data:`qa.doc_meta.FRONT_KEYS`);
            it wins over what the text says.
        lines: text lines in reading order; "" separates blocks, a leading "\x00" marks an
            explicit heading (Markdown #, Word heading styles, HTML h1-h6).
        merge: rejoin lines broken by print layout (txt, md, pdf); False when every line is
            a real paragraph (docx, html).
        found: metadata the format parser found (HTML meta tags), below ``meta``.
        content_hash: sha256 hex of the source bytes, stored for ``check``.

    Raises:
        ArticleError: no text at all.
    """
    lines = [_FORMAT_CONTROLS.sub("", line) for line in lines]
    blocks = _blocks(lines)
    if not blocks:
        raise ArticleError(f"{path or doc_id}: no text")
    last = blocks[-1]
    last.text = _EDITOR_MARK.sub("", last.text)
    if not last.text:
        blocks.pop()
    if not blocks:
        raise ArticleError(f"{path or doc_id}: no text")
    fields, other = doc_meta.from_front_matter(meta)
    pieces = _merge_lines(blocks) if merge else _split_lines(blocks)
    classified = _classify(pieces, fields.get("title"))
    texts = [t for _, t in classified]
    fields = {**doc_meta.from_text(texts), **(found or {}), **fields}
    title = fields.get("title") or next((t for r, t in classified if r == "title"), None) \
        or Path(path or doc_id).stem
    paragraphs, parts, pos, section, number = [], [], 0, None, 0
    tracker = SectionTracker()
    for seq, (role, ptext) in enumerate(classified):
        if role == "heading":
            section, number = tracker.heading(ptext), 0
        elif role == "body":
            if tracker.body(ptext):
                number = 0
            section = tracker.label
            number += 1
        sentences = tuple(split_sentences(ptext, pos)) if role in ANSWERABLE_ROLES else ()
        paragraphs.append(Paragraph(seq, role, section, number if role == "body" else 0,
                                    pos, pos + len(ptext), ptext, sentences))
        parts.append(ptext)
        pos += len(ptext) + 2
    cleaned = "\n\n".join(parts)
    return Document(doc_id=doc_id, title=title, cleaned_text=cleaned, paragraphs=tuple(paragraphs),
                    source=fields.get("source"), date=fields.get("date"), url=fields.get("url"), path=path,
                    meta=other, doc_number=fields.get("doc_number"), valid_from=fields.get("valid_from"),
                    valid_until=fields.get("valid_until"), status=fields.get("status"),
                    supersedes=fields.get("supersedes"), content_hash=content_hash)
