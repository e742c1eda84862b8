"""Small real documents written by the tests: Word with automatic numbering (python-docx plus
numbering.xml definitions), PDF with a Chinese text layer (fpdf2 and the WenQuanYi Micro Hei
font that .ci/setup-system.sh installs) and saved government web pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _lvl(ilvl: int, fmt: str, text: str) -> str:
    return (f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/></w:lvl>')


def add_list(document, abstract_id: int, num_id: int, levels: list[tuple[str, str]]) -> str:
    """Define a Word list with the given (numFmt, lvlText) levels; returns its numId."""
    from docx.oxml import parse_xml

    numbering = document.part.numbering_part.element
    xml = (f'<w:abstractNum xmlns:w="{_W_NS}" w:abstractNumId="{abstract_id}">'
           + "".join(_lvl(i, fmt, text) for i, (fmt, text) in enumerate(levels)) + "</w:abstractNum>")
    abstract = parse_xml(xml)
    first_num = numbering.find(f"{{{_W_NS}}}num")
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(f'<w:num xmlns:w="{_W_NS}" w:numId="{num_id}">'
                               f'<w:abstractNumId w:val="{abstract_id}"/></w:num>'))
    return str(num_id)


def numbered(paragraph, num_id: str, ilvl: int = 0):
    """Attach automatic numbering (list ``num_id``, level ``ilvl``) to a python-docx paragraph."""
    from docx.oxml import parse_xml

    ppr = paragraph._p.get_or_add_pPr()
    ppr.insert(0, parse_xml(f'<w:numPr xmlns:w="{_W_NS}"><w:ilvl w:val="{ilvl}"/>'
                            f'<w:numId w:val="{num_id}"/></w:numPr>'))
    return paragraph


def require_cjk_font() -> Path:
    """The CJK font path; in CI its absence fails, elsewhere the test is skipped."""
    if CJK_FONT.exists():
        return CJK_FONT
    if os.environ.get("CI"):
        pytest.fail(f"{CJK_FONT} missing: .ci/setup-system.sh installs fonts-wqy-microhei")
    pytest.skip("fonts-wqy-microhei not installed (run: bash .ci/setup-system.sh)")


def write_pdf(path: Path, pages: list[list[str]], *, header: str | None = None, title: str | None = None) -> Path:
    """A PDF with a real text layer: each page's lines, a running header and 「第 N 页 共 M 页」."""
    from fpdf import FPDF

    font = require_cjk_font()
    pdf = FPDF(format="A4")
    pdf.add_font("wqy", fname=str(font))
    if title:
        pdf.set_title(title)
    for n, lines in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_font("wqy", size=10)
        if header:
            pdf.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("wqy", size=14)
        for line in lines:
            pdf.cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(-20)
        pdf.set_font("wqy", size=10)
        pdf.cell(0, 8, f"第 {n} 页 共 {len(pages)} 页", align="C")
    pdf.output(str(path))
    return path


def write_blank_pdf(path: Path) -> Path:
    """A PDF whose page holds only a drawn shape (what a scan looks like to a text extractor)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


DISTRICT_PAGE = """<!DOCTYPE html>
<!-- saved from url=(0057)http://www.wancheng.gov.cn/zwgk/tzgg/2024/0301/12345.html -->
<html><head><meta charset="utf-8">
<title>{title}_宛城区人民政府</title>
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date} 09:30">
<meta name="ContentSource" content="{source}">
<script>var _hmt = [];</script>
</head><body>
<div class="header"><div class="nav"><a href="/">首页</a><a href="/zwgk">政务公开</a><a href="/hdjl">互动交流</a></div></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 通知公告</div>
<div class="main">
  <h1 class="title">{title}</h1>
  <div class="info">发布时间：{date} 来源：{source} 字号：[大 中 小] 浏览次数：328</div>
  <div id="zoom" class="TRS_Editor">
    {body}
  </div>
  <div class="bdshare"><span>分享到：</span><a>微信</a><a>微博</a></div>
  <div class="print"><a>【打印本页】</a><a>【关闭窗口】</a></div>
</div>
<div class="footer"><p>主办单位：宛城区人民政府办公室 地址：南阳市宛城区 电话：0377-12345678</p>
<p>豫ICP备12345678号 网站标识码：4113020001</p></div>
</body></html>
"""


def district_page(title: str, paragraphs: list[str], *, date: str = "2024-03-01",
                  source: str = "宛城区民政局") -> str:
    """A page laid out like a district government site (TRS container #zoom, nav,
    breadcrumbs, info bar, share and print bars, footer)."""
    body = "\n    ".join(f"<p style=\"text-indent:2em\">{p}</p>" for p in paragraphs)
    return DISTRICT_PAGE.format(title=title, date=date, source=source, body=body)
