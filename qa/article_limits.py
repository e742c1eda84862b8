"""Size limits for article files, checked before and while a file is parsed.

A 31 KB ``.docx`` holding 20 MB of empty paragraphs once took ``load_article`` 67 s of CPU
and 473 MB. A ``.docx`` is a zip archive whose central directory declares every member's
compressed and uncompressed size, and :mod:`zipfile` never returns more than the declared
size of a member (one that inflates further fails its CRC check), so checking the declared
sizes bounds what python-docx can read (:mod:`qa.zip_limits`, shared with the FAQ files). Paragraphs and characters are bounded while reading; PDF pages and
extracted characters likewise; HTML by its byte size.

The limits are far above a real policy article (the longest 公文 in the eval set is a few
hundred KB of text; a 300-page PDF law is about 600,000 characters) and far below what hurts
a 2-core box.
"""

from __future__ import annotations

import io
import re
import zipfile

from qa.ingest import ArticleError
from qa.zip_limits import archive_problem

#: Largest article file of any format, in bytes (the console accepts 5 MB uploads).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Largest HTML page, in bytes (a page saved with inline images is a few MB).
MAX_HTML_BYTES = 16 * 1024 * 1024
#: Largest total declared uncompressed size of a .docx archive, in bytes.
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
#: Largest declared compression ratio of one member over 1 MB (qa.zip_limits).
#: WordprocessingML compresses about 5-20x; zip bombs compress 1000x.
MAX_RATIO = 100
#: Most members a .docx archive may have (a document has a dozen or so, plus its images).
MAX_MEMBERS = 2000
#: Most paragraphs and table rows of one Word document (empty ones included).
MAX_PARAGRAPHS = 100_000
#: Most characters of text extracted from one .docx or .pdf.
MAX_CHARS = 5_000_000
#: Most pages of one PDF.
MAX_PDF_PAGES = 3000

_DOCX_PARAGRAPH = re.compile(rb"<(?:\w+:)?p[\s>/]")


def check_file_bytes(size: int, name: str, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file of ``size`` bytes over ``limit`` (default :data:`MAX_FILE_BYTES`).

    Raises:
        ArticleError: too large; the message starts with ``name`` and says the limit.
    """
    if size > limit:
        raise ArticleError(f"{name}: 文件太大（{size / 1048576:.1f} MB，上限 {limit // 1048576} MB），已跳过；"
                           f"请分成几个文件")


def check_docx_archive(raw: bytes, name: str) -> None:
    """Refuse a .docx whose zip members declare too much data, before python-docx opens it.

    Checks the member count, the total declared uncompressed size, the compression ratio of
    each large member, and the number of paragraphs in ``word/document.xml`` (counted on the
    raw XML, at most :data:`MAX_UNPACKED_BYTES` read).

    Args:
        raw: the .docx bytes.
        name: the file's name for the message.

    Raises:
        ArticleError: not a zip archive, or a limit is exceeded (the message says which, in
            Chinese).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            problem = archive_problem(members, kind=".docx", max_members=MAX_MEMBERS,
                                      max_unpacked=MAX_UNPACKED_BYTES, max_ratio=MAX_RATIO)
            if problem:
                raise ArticleError(f"{name}: {problem}，已跳过")
            try:
                body = archive.read("word/document.xml")
            except KeyError:
                return                  # python-docx finds the main part by its relationship
    except zipfile.BadZipFile as exc:
        raise ArticleError(f"{name}: 不是有效的 .docx 文件（{exc}）") from exc
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        raise ArticleError(f"{name}: 无法解压的 .docx 文件（{exc}）") from exc
    count = 0
    for count, _ in enumerate(_DOCX_PARAGRAPH.finditer(body), 1):
        if count > MAX_PARAGRAPHS:
            break
    check_paragraphs(count, name)


def check_paragraphs(count: int, name: str) -> None:
    """Refuse a Word document with more than :data:`MAX_PARAGRAPHS` paragraphs.

    Raises:
        ArticleError: too many paragraphs.
    """
    if count > MAX_PARAGRAPHS:
        raise ArticleError(f"{name}: 段落太多（超过 {MAX_PARAGRAPHS} 段），不像正常的文章，已跳过；请分成几个文件")


def check_chars(count: int, name: str) -> None:
    """Refuse extracted text longer than :data:`MAX_CHARS` characters.

    Raises:
        ArticleError: too much text.
    """
    if count > MAX_CHARS:
        raise ArticleError(f"{name}: 文字太多（超过 {MAX_CHARS // 10000} 万字），已跳过；请分成几个文件")


def check_pdf_pages(count: int, name: str) -> None:
    """Refuse a PDF with more than :data:`MAX_PDF_PAGES` pages.

    Raises:
        ArticleError: too many pages.
    """
    if count > MAX_PDF_PAGES:
        raise ArticleError(f"{name}: 页数太多（{count} 页，上限 {MAX_PDF_PAGES} 页），已跳过；请分成几个文件")
