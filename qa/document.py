"""The document model: what ingest produces and the index stores.

Offsets are Python string indices (code points) into ``Document.cleaned_text``; every
``text`` field equals ``cleaned_text[start:end]``, which is what makes citations checkable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Paragraph roles. ``body``, ``lede``, ``caption`` and ``byline`` paragraphs carry answerable
#: sentences (「这篇报道是谁写的」 is answered from the byline); title and headings are structure.
ROLES = ("title", "lede", "byline", "heading", "caption", "body")
ANSWERABLE_ROLES = frozenset({"body", "lede", "caption", "byline"})


@dataclass(frozen=True)
class Sentence:
    """One sentence (or ；-separated clause) of a paragraph; ``text == cleaned_text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph after rejoining print breaks.

    Attributes:
        seq: 0-based position among all paragraphs of the document.
        role: one of :data:`ROLES`.
        section: heading of the section it belongs to, None before the first heading.
        number: 1-based number among the body paragraphs of its section (what a citation
            shows as 第N段); 0 for paragraphs that are not body text.
        start, end: offsets into the cleaned text.
        sentences: answerable sentences, empty for structural roles.
    """

    seq: int
    role: str
    section: str | None
    number: int
    start: int
    end: int
    text: str
    sentences: tuple[Sentence, ...] = ()


@dataclass(frozen=True)
class Document:
    """A cleaned article.

    Attributes:
        doc_id: stable id derived from the file path relative to the articles directory
            (``wancheng-poverty-alleviation-2020``).
        title: from front matter, else detected; never invented (falls back to the file stem).
        source, date, url: front matter values, None when the article does not carry them.
        doc_number: 发文字号 (宛政办〔2023〕12号) or None.
        valid_from, valid_until: ISO dates (YYYY-MM-DD) from front matter or the text
            (「自2023年6月1日起施行」, 「有效期至…」), None when not stated.
        status: 现行有效 / 已废止 / 已修订 when stated, else None (= current unless dates say
            otherwise; see :mod:`qa.validity`).
        supersedes: the title or 发文字号 of the document this one replaces (「…同时废止」).
        content_hash: sha256 hex of the source file's bytes ("" when built from text).
        cleaned_text: the text residents are quoted from: paragraphs joined by blank lines,
            print breaks rejoined, editor's marks removed.
        paragraphs: in reading order.
    """

    doc_id: str
    title: str
    cleaned_text: str
    paragraphs: tuple[Paragraph, ...]
    source: str | None = None
    date: str | None = None
    url: str | None = None
    path: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    doc_number: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    status: str | None = None
    supersedes: str | None = None
    content_hash: str = ""

    @property
    def sections(self) -> list[str]:
        """Section headings in order."""
        return [p.text for p in self.paragraphs if p.role == "heading"]

    @property
    def sentences(self) -> list[Sentence]:
        """All answerable sentences in reading order."""
        return [s for p in self.paragraphs for s in p.sentences]
