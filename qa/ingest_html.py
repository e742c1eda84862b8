"""HTML pages saved from government websites -> cleaned :class:`~qa.document.Document`.

Chinese government sites run a few content systems (TRS WCM, the 集约化 platforms, 大汉) whose
article body sits in a known container; :data:`CONTAINERS` lists them (seen on gov.cn,
henan.gov.cn and Nanyang district sites). The body is taken from the first container found;
without one, trafilatura (Apache-2.0) extracts the main text; GNE is not used (GPL-3.0).
Navigation, breadcrumbs (当前位置), share bars, print/close links and footers are dropped.

Metadata: title from ``<meta name="ArticleTitle">``, og:title, the first ``<h1>`` or
``<title>`` (site name cut off); 发布时间 from ``<meta name="PubDate">`` or the info line
(「发布时间：2023-05-12」); 来源 from ``<meta name="ContentSource">`` or 「来源：…」; url from
``<link rel=canonical>``, og:url or the browser's 「saved from url=」 comment; 发文字号 and
有效性 from the 政府信息公开 table when the page has one.
"""

from __future__ import annotations

import re
from pathlib import Path

from qa import article_limits, doc_meta
from qa.document import Document
from qa.ingest import ArticleError, build_document, decode_bytes
from qa.tables import table_lines

#: (attribute, value) of article containers, most specific first.
CONTAINERS: tuple[tuple[str, str], ...] = (
    ("class", "TRS_Editor"), ("class", "TRS_UEDITOR"), ("id", "UCAP-CONTENT"), ("id", "zoom"), ("id", "Zoom"),
    ("class", "pages_content"), ("class", "article-content"), ("class", "article_content"),
    ("class", "news_content"), ("class", "detail-content"), ("class", "content-text"), ("class", "con_text"),
    ("class", "Custom_UnionStyle"), ("id", "article"), ("class", "zw"),
)
#: id/class fragments of page furniture inside or around the body.
_FURNITURE = re.compile(r"share|bdshare|fenxiang|breadcrumb|crumb|position|location|print|close|toolbar|related|"
                        r"footer|foot|nav|menu|sidebar|comment|qrcode|erweima", re.I)
_DROP_TAGS = ("script", "style", "noscript", "nav", "footer", "header", "form", "button", "iframe", "select",
              "input", "textarea", "object", "svg")
_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "dd", "dt", "dl", "blockquote", "pre", "center",
          "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "br", "hr", "figure", "figcaption"}
#: Short lines of an info or share bar, dropped from the body.
_INFO_LINE = re.compile(r"(发布时间|发布日期|信息来源|来源[:：]|浏览次数|阅读次数|访问量|点击数|字号|【打印】|打印本页|关闭窗口|"
                        r"分享到|扫一扫|当前位置|您现在的位置|【关闭】|【大】|\[大\])")
_SAVED_FROM = re.compile(r"saved from url=\(\d+\)(\S+?)\s*-->", re.I)
_TITLE_SPLIT = re.compile(r"\s*[_|｜—–-]{1,2}\s*")


_HTML_SNIFF = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|div|p|table|span)[\s>/]", re.I)


def looks_like_html(text: str) -> bool:
    """True when ``text`` is an HTML page rather than plain text: it starts (after blanks,
    a BOM or a 'saved from' comment) with a tag, or its first 2000 characters hold at least
    five HTML tags. A plain text that mentions <div> once stays text."""
    head = text[:2000]
    stripped = head.lstrip("\ufeff \t\n")
    if re.match(r"<(!doctype|html|!--)", stripped, re.I):
        return True
    return len(_HTML_SNIFF.findall(head)) >= 5


def _has_token(element, attr: str, value: str) -> bool:
    got = element.get(attr) or ""
    return value in got.split() if attr == "class" else got == value


def _find_container(root):
    for attr, value in CONTAINERS:
        for element in root.iter():
            if isinstance(element.tag, str) and _has_token(element, attr, value) \
                    and len(element.text_content().strip()) >= 20:
                return element
    for element in root.iter("article"):
        return element
    return None


def _strip_furniture(root) -> None:
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            if element.getparent() is not None:       # comments, processing instructions
                element.drop_tree()
            continue
        marks = f"{element.get('id') or ''} {element.get('class') or ''}"
        if element.tag in _DROP_TAGS or (marks.strip() and _FURNITURE.search(marks)
                                         and not any(_has_token(element, a, v) for a, v in CONTAINERS)):
            if element.getparent() is not None:
                element.drop_tree()


def _lines(element) -> list[str]:
    """Block-level text of ``element`` in reading order; tables one line per row, headings
    marked with a leading \\x00."""
    out: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = re.sub(r"[ \t\r\f\v\xa0]+", " ", "".join(buffer)).strip()
        buffer.clear()
        for line in text.split("\n"):
            if line.strip():
                out.append(line.strip())

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "table":
            flush()
            grid = [[re.sub(r"\s+", " ", cell.text_content()).strip() for cell in row.iter("td", "th")]
                    for row in node.iter("tr")]
            out.extend(table_lines(grid))
            if node.tail:
                buffer.append(node.tail)
            return
        block = tag in _BLOCK
        if block:
            flush()
        if tag == "br":
            buffer.append("\n")
        heading = tag in ("h1", "h2", "h3", "h4", "h5", "h6")
        if node.text and tag:
            buffer.append(node.text)
        for child in node:
            walk(child)
        if heading:
            text = re.sub(r"\s+", " ", "".join(buffer)).strip()
            buffer.clear()
            if text:
                out.append("\x00" + text)
        elif block:
            flush()
        if node.tail:
            buffer.append(node.tail)

    walk(element)
    flush()
    return out


def _meta(root, name: str) -> str | None:
    for element in root.iter("meta"):
        if (element.get("name") or element.get("property") or "").lower() == name.lower():
            value = (element.get("content") or "").strip()
            if value:
                return value
    return None


def _page_title(root) -> str | None:
    title = _meta(root, "ArticleTitle") or _meta(root, "og:title")
    if title:
        return title
    for h1 in root.iter("h1"):
        text = re.sub(r"\s+", " ", h1.text_content()).strip()
        if 4 <= len(text) <= 80:
            return text
    for element in root.iter("title"):
        text = re.sub(r"\s+", " ", element.text_content()).strip()
        parts = [p for p in _TITLE_SPLIT.split(text) if p]
        return max(parts[:1] or [text], key=len) if parts else None
    return None


def _trafilatura_lines(html: str) -> list[str]:
    import trafilatura

    text = trafilatura.extract(html, include_tables=True, include_comments=False, favor_precision=True) or ""
    return [line.strip() for line in text.split("\n") if line.strip()]


def parse_html(raw: bytes, *, doc_id: str, path: str | None = None) -> Document:
    """Clean one saved web page.

    Args:
        raw: the page bytes (UTF-8 or GB18030, as Chinese sites serve them).
        doc_id, path: as for :func:`qa.ingest.parse_article`.

    Returns:
        The cleaned :class:`Document` with title, 发布日期, 来源 and url when the page has them.

    Raises:
        ArticleError: undecodable, not HTML, no body text, or over
            :data:`qa.article_limits.MAX_HTML_BYTES`.
    """
    import lxml.html
    from lxml.etree import ParserError

    article_limits.check_file_bytes(len(raw), path or doc_id, article_limits.MAX_HTML_BYTES)
    html = decode_bytes(raw, Path(path or doc_id))
    try:
        root = lxml.html.document_fromstring(html)
    except (ParserError, ValueError) as exc:
        raise ArticleError(f"{path or doc_id}: 无法解析的 HTML（{exc}）") from exc
    page_text = re.sub(r"[ \t\xa0\u3000]+", " ", root.text_content())
    found = {k: v for k, v in doc_meta.from_text(page_text.split("\n")).items()
             if k in ("doc_number", "status", "date", "source")}
    date = doc_meta.parse_date(_meta(root, "PubDate") or _meta(root, "publishdate") or "")
    source = _meta(root, "ContentSource") or _meta(root, "source")
    url = None
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            url = link.get("href")
    url = url or _meta(root, "og:url")
    saved = _SAVED_FROM.search(html[:1000])
    url = url or (saved.group(1) if saved else None)
    title = _page_title(root)
    container = _find_container(root)
    if container is not None:
        _strip_furniture(container)
        lines = _lines(container)
    else:
        lines = _trafilatura_lines(html)
        if not lines:
            body = root.find("body")
            if body is not None:
                _strip_furniture(body)
                lines = _lines(body)
    lines = [line for line in lines if not (len(line) <= 80 and _INFO_LINE.search(line))]
    if title and lines and lines[0].lstrip("\x00") == title:
        lines = lines[1:]
    if not lines:
        raise ArticleError(f"{path or doc_id}: 网页里没有找到正文")
    meta = {"title": title} if title else {}
    meta.update({k: v for k, v in (("date", date), ("source", source), ("url", url)) if v})
    return build_document(meta, lines, doc_id=doc_id, path=path, merge=False, found=found)
