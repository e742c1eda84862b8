"""Article files in a folder: which files are articles, their doc_ids, and reading one file
in its format (``.txt``/``.md`` by :mod:`qa.ingest`, ``.docx``, ``.pdf``, ``.html``/``.htm`` by
:mod:`qa.ingest_docx`, :mod:`qa.ingest_pdf`, :mod:`qa.ingest_html`) into a cleaned Document.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

from qa import article_limits
from qa.document import Document
from qa.ingest import ArticleError, parse_article

log = logging.getLogger(__name__)

#: Suffixes read as articles; other files in the folder are reported as skipped.
SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
_UNSUPPORTED_HINT = {".doc": "旧版 Word 格式 .doc 不支持，请另存为 .docx",
                     ".wps": "WPS 格式不支持，请另存为 .docx", ".rtf": "RTF 格式不支持，请另存为 .docx"}


def _visible(path: Path, directory: Path) -> bool:
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(directory).parts)


def article_paths(directory: Path) -> list[Path]:
    """Article files (:data:`SUFFIXES`) under ``directory``: recursive, sorted, hidden files
    and folders skipped."""
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in SUFFIXES and _visible(p, directory))


def unsupported_paths(directory: Path) -> list[tuple[str, str]]:
    """(relative path, reason in Chinese) for visible files that are not articles, so that a
    reindex can say why each was skipped instead of ignoring it."""
    out = []
    for p in sorted(directory.rglob("*")):
        if p.suffix.lower() in SUFFIXES or not _visible(p, directory):
            continue
        reason = _UNSUPPORTED_HINT.get(p.suffix.lower(), f"不支持的文件类型（{p.suffix or '无扩展名'}）")
        out.append((p.relative_to(directory).as_posix(), reason))
    return out


def doc_id_for(path: Path, root: Path) -> str:
    """The doc_id of the file at ``path``: its path relative to ``root`` without suffix
    (``2020/seed``)."""
    return path.relative_to(root).with_suffix("").as_posix()


def load_article(path: Path, root: Path) -> Document:
    """Read and clean the article at ``path`` (any of :data:`SUFFIXES`); its doc_id is
    :func:`doc_id_for`. The document carries the sha256 of the file's bytes.

    A parser of any format that fails in any other way (broken XML inside a .docx, pypdf's
    decompression limit, a bug in a third-party parser) is reported as an ArticleError too, so
    one bad file is skipped instead of stopping a reindex.

    Raises:
        ArticleError: unreadable as its format, no text, a PDF without a text layer, or over
            a limit of :mod:`qa.article_limits`; the message starts with the relative path.
        OSError: the file cannot be read.
    """
    rel = path.relative_to(root)
    doc_id, name, suffix = doc_id_for(path, root), rel.as_posix(), path.suffix.lower()
    article_limits.check_file_bytes(path.stat().st_size, name)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        doc = _parse(raw, suffix, doc_id=doc_id, name=name)
    except ArticleError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure makes the file unreadable, not the reindex
        log.warning("parser failed on %s", name, exc_info=True)
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ArticleError(f"{name}: 无法读取的文件（{type(exc).__name__}: {detail}）") from exc
    return dataclasses.replace(doc, content_hash=digest)


def _parse(raw: bytes, suffix: str, *, doc_id: str, name: str) -> Document:
    """Parse ``raw`` by its lower-case ``suffix``; raises whatever the parser raises."""
    if suffix == ".docx":
        from qa.ingest_docx import parse_docx

        return parse_docx(raw, doc_id=doc_id, path=name)
    if suffix == ".pdf":
        from qa.ingest_pdf import parse_pdf

        return parse_pdf(raw, doc_id=doc_id, path=name)
    if suffix in (".html", ".htm"):
        from qa.ingest_html import parse_html

        return parse_html(raw, doc_id=doc_id, path=name)
    return parse_article(raw, doc_id=doc_id, path=name, markdown=suffix == ".md")
