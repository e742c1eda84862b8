"""Hostile and broken article files: each is built here, reported as unreadable with a Chinese
reason, and never stops a reindex, a `docs add` of other files, or the console upload."""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from qa import article_limits
from qa.article_files import load_article
from qa.ingest import ArticleError
from tests.conftest import SEED_ARTICLE
from tests.console_support import add_account, csrf, login, make_client

GOOD_MD = "---\ntitle: 宛城区高龄津贴发放办法\ndate: 2024-03-01\n---\n宛城区对80周岁以上老人每人每月发放高龄津贴100元。\n"


def _docx_bytes(text: str = "宛城区对80周岁以上老人每月发放高龄津贴100元。") -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rezip(raw: bytes, replace: dict[str, bytes]) -> bytes:
    """The same .docx archive with some members' contents replaced (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
    return out.getvalue()


def broken_docx() -> bytes:
    """A valid zip whose word/document.xml is cut in half (lxml: Premature end of data)."""
    raw = _docx_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = archive.read("word/document.xml")
    return _rezip(raw, {"word/document.xml": xml[: len(xml) // 2]})


def docx_bomb(megabytes: int = 20) -> bytes:
    """A small .docx whose document.xml holds ``megabytes`` MB of empty paragraphs."""
    raw = _docx_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = archive.read("word/document.xml")
    head, tail = xml.split(b"<w:sectPr", 1)
    filler = b"<w:p/>" * (megabytes * 1024 * 1024 // 6)
    return _rezip(raw, {"word/document.xml": head + filler + b"<w:sectPr" + tail})


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of the given numbered objects (1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_over_pypdf_limit() -> bytes:
    """A PDF whose xref table declares 99,999,999 entries in a file of a few hundred bytes:
    pypdf raises LimitReachedError (not a PdfReadError) while opening it."""
    raw = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    return raw.replace(b"xref\n0 3\n", b"xref\n0 99999999\n")


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_broken_docx_is_an_article_error_with_a_reason(tmp_path):
    path = _write(tmp_path, "broken.docx", broken_docx())
    with pytest.raises(ArticleError, match=r"^broken\.docx: 不是有效的 \.docx 文件（.+line.+）$"):
        load_article(path, tmp_path)


def test_unexpected_parser_exception_becomes_an_article_error(tmp_path):
    """A numbering level that is not a number makes python-docx's caller raise ValueError
    outside the guarded open; load_article still reports it as unreadable."""
    raw = _docx_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        numbering = archive.read("word/numbering.xml")
    bad = numbering.replace(b"</w:numbering>", b'<w:abstractNum w:abstractNumId="7"><w:lvl w:ilvl="x"/>'
                                                 b"</w:abstractNum></w:numbering>")
    path = _write(tmp_path, "odd.docx", _rezip(raw, {"word/numbering.xml": bad}))
    with pytest.raises(ArticleError, match=r"^odd\.docx: 无法读取的文件（ValueError: "):
        load_article(path, tmp_path)


def test_pdf_over_pypdf_limit_and_truncated_pdf_are_article_errors(tmp_path):
    from tests.support.documents import write_pdf

    limited = _write(tmp_path, "limit.pdf", pdf_over_pypdf_limit())
    with pytest.raises(ArticleError, match=r"^limit\.pdf: 不是可读取的 PDF 文件（Declared size 99999999 exceeds allowed limit"):
        load_article(limited, tmp_path)
    whole = write_pdf(tmp_path / "whole.pdf", [["第一条 为做好城乡居民临时救助工作，制定本办法。"]])
    cut = _write(tmp_path, "cut.pdf", whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ArticleError, match=r"^cut\.pdf: 不是可读取的 PDF 文件"):
        load_article(cut, tmp_path)


def test_docx_bomb_is_refused_before_parsing(tmp_path):
    raw = docx_bomb(20)
    assert len(raw) < 200_000                       # tiny on disk, 20 MB inflated
    path = _write(tmp_path, "bomb.docx", raw)
    started = time.process_time()
    with pytest.raises(ArticleError, match=r"^bomb\.docx: .*压缩比异常.*可能是压缩炸弹"):
        load_article(path, tmp_path)
    assert time.process_time() - started < 2.0      # was 67 s of CPU


def test_docx_with_too_many_paragraphs_at_a_normal_ratio_is_refused(tmp_path, monkeypatch):
    """Paragraphs are counted before python-docx parses; the limit is lowered here so the
    file stays small, the check is the same."""
    monkeypatch.setattr(article_limits, "MAX_PARAGRAPHS", 500)
    raw = _docx_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = archive.read("word/document.xml")
    head, tail = xml.split(b"<w:sectPr", 1)
    filler = b"".join(b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % i for i in range(600))
    path = _write(tmp_path, "long.docx", _rezip(raw, {"word/document.xml": head + filler + b"<w:sectPr" + tail}))
    with pytest.raises(ArticleError, match=r"^long\.docx: 段落太多（超过 500 段）"):
        load_article(path, tmp_path)
    monkeypatch.setattr(article_limits, "MAX_PARAGRAPHS", 1000)
    monkeypatch.setattr(article_limits, "MAX_CHARS", 1000)
    with pytest.raises(ArticleError, match=r"^long\.docx: 文字太多"):
        load_article(path, tmp_path)


def test_oversized_html_is_refused_by_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(article_limits, "MAX_HTML_BYTES", 1024 * 1024)
    page = "<html><body><div id=zoom>" + "<p>宛城区高龄津贴。</p>" * 60_000 + "</div></body></html>"
    path = _write(tmp_path, "big.html", page.encode("utf-8"))
    with pytest.raises(ArticleError, match=r"^big\.html: 文件太大（.* MB，上限 1 MB）"):
        load_article(path, tmp_path)


def test_docs_add_reports_a_broken_docx_adds_the_good_file_and_reindex_skips_it(bot, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED_ARTICLE, articles / SEED_ARTICLE.name)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    broken = _write(incoming, "broken.docx", broken_docx())
    good = _write(incoming, "good.md", GOOD_MD.encode("utf-8"))
    db = tmp_path / "index.db"
    added = bot("docs", "add", str(broken), str(good), "--articles", str(articles), db=db)
    assert added.code == 1
    assert "跳过 broken.docx：不是有效的 .docx 文件" in added.err and "出错了" not in added.err
    assert "已添加 good《宛城区高龄津贴发放办法》" in added.out
    assert not (articles / "broken.docx").exists() and (articles / "good.md").exists()
    listing = bot("docs", "list", db=db).out
    assert "good\t《宛城区高龄津贴发放办法》" in listing and "broken" not in listing
    # the broken file dropped into the folder by hand: reindex skips it with its reason
    shutil.copy(broken, articles / "broken.docx")
    report = bot("reindex", "--articles", str(articles), db=db)
    assert report.code == 0, report.err
    assert "跳过 broken.docx：不是有效的 .docx 文件" in report.out and "出错了" not in report.out + report.err
    assert "good\t" in bot("docs", "list", db=db).out


@pytest.fixture
def client(runtime, settings):
    add_account(runtime, "alice", "admin")
    with make_client(runtime, settings) as c:
        login(c, "alice")
        yield c


@pytest.mark.parametrize("name, data", [("broken.docx", broken_docx), ("limit.pdf", pdf_over_pypdf_limit),
                                        ("bomb.docx", lambda: docx_bomb(8))])
def test_console_upload_of_an_unreadable_file_is_a_400_and_saves_nothing(client, runtime, tmp_path, name, data):
    articles = tmp_path / "articles"
    articles.mkdir()
    runtime.store.set_meta("articles_dir", str(articles))
    token = csrf(client, "/admin/documents")
    response = client.post("/admin/documents", data={"csrf_token": token},
                           files={"file": (name, data(), "application/octet-stream")})
    assert response.status_code == 400 and "无法读取这篇文章" in response.text
    assert list(articles.iterdir()) == []
