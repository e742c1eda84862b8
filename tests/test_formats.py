"""Word, PDF and HTML articles written by the tests, read by qa.ingest_* into the same cleaned,
structured Document as .txt; Word numbering formats; sections from clause numbering."""

import pytest

from qa.doc_meta import from_text, parse_date
from qa.article_files import load_article
from qa.ingest import ArticleError
from qa.ingest_html import looks_like_html
from qa.numbering import chinese_counting, format_number
from qa.structure import SectionTracker, clause_label, heading_level
from tests.support.documents import add_list, district_page, numbered, write_blank_pdf, write_pdf

TITLE = "宛城区城乡居民临时救助实施办法"


def write_docx(path):
    """A 实施办法 as offices write it: chapters (Heading 1, 第%1章) and clauses (第%1条) with
    sub-items (（%2）), all automatic numbering in chineseCounting; a table; a signature date."""
    import docx

    document = docx.Document()
    document.add_paragraph(TITLE)
    document.add_paragraph("宛政办〔2023〕12号")
    chapters = add_list(document, 90, 90, [("chineseCounting", "第%1章")])
    clauses = add_list(document, 91, 91, [("chineseCounting", "第%1条"), ("chineseCounting", "（%2）")])
    numbered(document.add_paragraph("总则", style="Heading 1"), chapters)
    numbered(document.add_paragraph("为做好城乡居民临时救助工作，制定本办法。"), clauses)
    numbered(document.add_paragraph("本办法自2023年6月1日起施行，有效期3年。"), clauses)
    numbered(document.add_paragraph("申请条件", style="Heading 1"), chapters)
    numbered(document.add_paragraph("申请临时救助应当符合下列条件之一："), clauses)
    numbered(document.add_paragraph("因火灾、交通事故等意外事件导致基本生活暂时出现严重困难的家庭；"), clauses, 1)
    numbered(document.add_paragraph("因重大疾病导致基本生活暂时出现严重困难的家庭。"), clauses, 1)
    numbered(document.add_paragraph("救助标准", style="Heading 1"), chapters)
    numbered(document.add_paragraph("临时救助金由乡镇人民政府（街道办事处）审批后发放。"), clauses)
    table = document.add_table(rows=3, cols=2)
    for i, (kind, amount) in enumerate([("救助类型", "救助标准"), ("一般救助", "每户每次不超过1000元"),
                                        ("急难救助", "每户每次不超过3000元")]):
        table.cell(i, 0).text, table.cell(i, 1).text = kind, amount
    document.add_paragraph("《宛城区临时救助暂行办法》（宛政〔2019〕3号）同时废止。")
    document.add_paragraph("2023年5月12日")
    document.save(path)
    return path


@pytest.fixture
def docx_doc(tmp_path):
    return load_article(write_docx(tmp_path / "linshi.docx"), tmp_path)


def test_docx_renders_chinese_automatic_numbering_and_sections(docx_doc):
    texts = [p.text for p in docx_doc.paragraphs]
    assert "第一章 总则" in texts and "第三章 救助标准" in texts
    assert "第三条 申请临时救助应当符合下列条件之一：" in texts
    assert "（一）因火灾、交通事故等意外事件导致基本生活暂时出现严重困难的家庭；" in texts
    assert "第四条 临时救助金由乡镇人民政府（街道办事处）审批后发放。" in texts   # (二) restarts after 第三条
    item = next(p for p in docx_doc.paragraphs if p.text.startswith("（二）"))
    assert (item.section, item.number) == ("第三条", 3)
    assert docx_doc.sections == ["第一章 总则", "第二章 申请条件", "第三章 救助标准"]


def test_docx_tables_become_rows_and_metadata_is_read(docx_doc):
    texts = [p.text for p in docx_doc.paragraphs]
    assert "救助类型：急难救助，救助标准：每户每次不超过3000元" in texts
    assert docx_doc.title == TITLE
    assert docx_doc.doc_number == "宛政办〔2023〕12号"
    assert (docx_doc.date, docx_doc.valid_from, docx_doc.valid_until) == ("2023-05-12", "2023-06-01", "2026-05-31")
    assert docx_doc.supersedes == "宛城区临时救助暂行办法"
    for sentence in docx_doc.sentences:
        assert docx_doc.cleaned_text[sentence.start:sentence.end] == sentence.text


def test_pdf_text_layer_without_running_header_page_numbers_or_layout_breaks(tmp_path):
    pages = [["宛城区困难群众医疗救助办法",
              "第一条 为了保障困难群众基本医疗权益，根据有关规定，结合本区实际情况，制定本",
              "办法。",
              "第二条 医疗救助对象为最低生活保障对象和特困供养人员"],
             ["及防止返贫监测对象。",
              "第三条 住院费用经基本医保报销后，政策范围内个人自付部分按70%比例救助。"]]
    path = write_pdf(tmp_path / "yiliao.pdf", pages, header="宛城区人民政府文件")
    doc = load_article(path, tmp_path)
    texts = [p.text for p in doc.paragraphs]
    assert doc.title == "宛城区困难群众医疗救助办法"
    assert "第一条 为了保障困难群众基本医疗权益，根据有关规定，结合本区实际情况，制定本办法。" in texts
    assert "第二条 医疗救助对象为最低生活保障对象和特困供养人员及防止返贫监测对象。" in texts  # across pages
    assert not any("宛城区人民政府文件" in t or "页" in t for t in texts)
    third = next(p for p in doc.paragraphs if p.text.startswith("第三条"))
    assert (third.section, third.number) == ("第三条", 1)


def test_pdf_without_text_layer_is_reported_not_read(tmp_path):
    with pytest.raises(ArticleError, match="没有文字层"):
        load_article(write_blank_pdf(tmp_path / "scan.pdf"), tmp_path)


PAGE = district_page("关于开展2024年度城乡居民医保集中缴费工作的通知", [
    "各乡镇人民政府、街道办事处：",
    "一、缴费时间",
    "2024年度城乡居民医保集中缴费时间为2023年9月1日至12月31日。",
    "二、缴费标准",
    "个人缴费标准为每人每年380元。",
    "<table><tr><td>人员类别</td><td>资助标准</td></tr><tr><td>特困人员</td><td>全额资助</td></tr>"
    "<tr><td>低保对象</td><td>定额资助</td></tr></table>",
])


@pytest.mark.parametrize("name", ["tongzhi.html", "saved-as.txt"])
def test_government_page_body_title_date_source_without_page_furniture(tmp_path, name):
    path = tmp_path / name
    path.write_text(PAGE, encoding="utf-8")
    doc = load_article(path, tmp_path)
    assert doc.title == "关于开展2024年度城乡居民医保集中缴费工作的通知"
    assert (doc.date, doc.source) == ("2024-03-01", "宛城区民政局")
    assert doc.url == "http://www.wancheng.gov.cn/zwgk/tzgg/2024/0301/12345.html"
    assert "<" not in doc.cleaned_text and "hmt" not in doc.cleaned_text
    for furniture in ("首页", "当前位置", "分享到", "打印", "关闭窗口", "主办单位", "ICP", "浏览次数"):
        assert furniture not in doc.cleaned_text
    fee = next(p for p in doc.paragraphs if "380元" in p.text)
    assert (fee.section, fee.number) == ("二、缴费标准", 1)
    assert "人员类别：特困人员，资助标准：全额资助" in [p.text for p in doc.paragraphs]


def test_html_sniffing_keeps_plain_text_that_mentions_a_tag():
    assert looks_like_html(PAGE)
    assert not looks_like_html("网页里的 <div> 标签是什么意思？\n\n这是一篇普通文章。")


def test_unknown_page_layout_falls_back_to_main_text_extraction(tmp_path):
    body = "".join(f"<p>宛城区第{i}批公益性岗位开发工作已经完成，共安置脱贫劳动力{i * 10}人，岗位补贴按月发放到个人账户。</p>"
                   for i in range(1, 6))
    page = (f"<html><head><title>公益性岗位安置情况_宛城区</title></head><body><div class='menu'><a>首页</a>"
            f"<a>机构设置</a></div><div class='mainbox'>{body}</div><div class='foot'>版权所有 宛城区人民政府</div>"
            f"</body></html>")
    (tmp_path / "gangwei.html").write_text(page, encoding="utf-8")
    doc = load_article(tmp_path / "gangwei.html", tmp_path)
    assert doc.title == "公益性岗位安置情况"
    assert "共安置脱贫劳动力30人" in doc.cleaned_text and "版权所有" not in doc.cleaned_text


@pytest.mark.parametrize("value, fmt, expected", [
    (1, "chineseCounting", "一"), (10, "chineseCounting", "十"), (11, "chineseCounting", "十一"),
    (21, "chineseCountingThousand", "二十一"), (105, "chineseCounting", "一百零五"),
    (3, "ideographTraditional", "丙"), (2, "ideographZodiac", "丑"), (12, "chineseLegalSimplified", "壹拾贰"),
    (10, "ideographDigital", "一〇"), (3, "decimalEnclosedCircleChinese", "③"), (4, "upperRoman", "IV"),
    (28, "lowerLetter", "bb"), (7, "decimal", "7"), (5, "someFutureFormat", "5"), (1, "bullet", ""),
])
def test_word_number_formats(value, fmt, expected):
    assert format_number(value, fmt) == expected


def test_chinese_counting_round_numbers():
    assert [chinese_counting(n) for n in (20, 100, 110, 1001)] == ["二十", "一百", "一百一十", "一千零一"]


def test_structure_levels_and_labels():
    assert [heading_level(t) for t in ("第二章 申请", "一、总体要求", "（三）资金", "2. 材料", "工作成效")] == [1, 3, 4, 5, -1]
    assert clause_label("第 十二 条 本办法自发布之日起施行。") == "第十二条"
    assert clause_label("第十二条规定的情形") == "第十二条" and clause_label("第一章 总则") is None
    tracker = SectionTracker()
    tracker.heading("二、保障措施")
    assert tracker.heading("（一）资金保障") == "二、保障措施 · （一）资金保障"
    assert tracker.heading("三、工作要求") == "三、工作要求"
    tracker.heading("第一章 总则")
    assert tracker.body("第一条 为了……") and tracker.label == "第一条"
    assert not tracker.body("（一）……") and tracker.label == "第一条"


def test_metadata_from_text():
    found = from_text(["宛政〔2024〕7号", "各乡镇人民政府：", "本办法自发布之日起施行，有效期至2025年12月31日。",
                       "原《宛城区就业补贴办法》同时废止。", "二〇二四年三月五日"])
    assert found == {"doc_number": "宛政〔2024〕7号", "date": "2024-03-05", "valid_from": "2024-03-05",
                     "valid_until": "2025-12-31", "supersedes": "宛城区就业补贴办法"}
    assert parse_date("2024年2月30日") is None and parse_date("2024/2/29") == "2024-02-29"
