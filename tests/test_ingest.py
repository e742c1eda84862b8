"""qa/ingest.py: every print/PDF artifact of the seed article, and small made-up articles."""

import pytest

from tests.conftest import SEED_ARTICLE, TITLE
from qa.article_files import load_article
from qa.ingest import parse_article
from qa.sentences import split_sentences


@pytest.fixture(scope="module")
def seed():
    return load_article(SEED_ARTICLE, SEED_ARTICLE.parent)


def roles(doc):
    return [(p.role, p.text[:12]) for p in doc.paragraphs]


def test_seed_identity_and_no_invented_metadata(seed):
    assert seed.doc_id == "wancheng-poverty-alleviation-2020"
    assert seed.title == TITLE
    assert seed.source is None and seed.date is None and seed.url is None


def test_seed_lede_title_byline(seed):
    first = seed.paragraphs[:3]
    assert [p.role for p in first] == ["lede", "title", "byline"]
    assert first[0].text.startswith("2020年,全区脱贫2652人")
    assert first[2].text == "□本报记者 刘玲瑜 通讯员 吴双 田永正"


def test_seed_four_section_headings(seed):
    assert seed.sections == ["“两不愁三保障”提升群众满意度", "“四集中”兜底 保障特困群体",
                             "降低疫情影响 稳抓复工与扶贫", "技术培训促就业 电商销售助增收"]


def test_seed_photo_caption(seed):
    captions = [p for p in seed.paragraphs if p.role == "caption"]
    assert [c.text for c in captions] == ["宛城区瓦店镇通过采取“支部+公司+基地+农户”的形式,确保困难群众实现稳定就业。"]


@pytest.mark.parametrize("joined", [
    "纳入区级政策保障范围的通知》等文件",          # broken mid-word inside a book title
    "“六类对象”的基础上,将农村边缘监测户",         # a short line that looks like a heading
    "6家大型骨干工业企业实现复工生产",             # broken mid-word
    "组织技能培训,受益人数达300余人次",            # broken after a comma
])
def test_seed_broken_paragraphs_rejoined(seed, joined):
    holders = [p for p in seed.paragraphs if joined in p.text]
    assert len(holders) == 1 and holders[0].role == "body"


def test_seed_editor_mark_dropped(seed):
    assert seed.cleaned_text.endswith("日子越过越红火。")
    assert "③" not in seed.cleaned_text


def test_seed_offsets_point_into_cleaned_text(seed):
    assert len(seed.sentences) > 40
    for para in seed.paragraphs:
        assert seed.cleaned_text[para.start:para.end] == para.text
        for sentence in para.sentences:
            assert seed.cleaned_text[sentence.start:sentence.end] == sentence.text


def test_seed_paragraph_numbers_restart_per_section(seed):
    body = [p for p in seed.paragraphs if p.role == "body"]
    assert [(p.section is None, p.number) for p in body[:2]] == [(True, 1), (True, 2)]
    first_in_section = next(p for p in body if p.section == "“四集中”兜底 保障特困群体")
    assert first_in_section.number == 1


def test_made_up_article_with_front_matter_and_wrapped_lines():
    raw = ("---\ntitle: 测试文章\nsource: 区政府网站\ndate: 2021-03-01\nurl: https://example.gov.cn/a\n---\n"
           "第一段第一行,这里被排版\n断开了。\n\n小标题一\n\n正文说明有10个乡镇。④\n").encode()
    doc = parse_article(raw, doc_id="t")
    assert (doc.title, doc.source, doc.date, doc.url) == ("测试文章", "区政府网站", "2021-03-01", "https://example.gov.cn/a")
    assert roles(doc) == [("body", "第一段第一行,这里被排版"), ("heading", "小标题一"), ("body", "正文说明有10个乡镇。")]
    assert doc.paragraphs[0].text == "第一段第一行,这里被排版断开了。"


def test_made_up_article_gb18030_and_bom():
    text = "标题在这里\n\n□本报记者 张三\n\n内容一句话。"
    for raw in (text.encode("gb18030"), b"\xef\xbb\xbf" + text.encode()):
        doc = parse_article(raw, doc_id="g")
        assert doc.title == "标题在这里"
        assert [p.role for p in doc.paragraphs] == ["title", "byline", "body"]


def test_made_up_caption_by_hint_and_closing_mark():
    raw = "标题\n\n正文第一段。\n\n图为村民在扶贫车间工作。（记者 李四 摄）\n\n最后一段。（完）".encode()
    doc = parse_article(raw, doc_id="c")
    assert [p.role for p in doc.paragraphs] == ["title", "body", "caption", "body"]
    assert doc.cleaned_text.endswith("最后一段。")


def test_markdown_headings_and_inline_markup():
    raw = "# 政策解读\n\n## 一、申请条件\n\n需要**本人**到[便民服务中心](http://x)办理。\n".encode()
    doc = parse_article(raw, doc_id="m", markdown=True)
    assert doc.title == "政策解读"
    assert doc.sections == ["一、申请条件"]
    assert doc.paragraphs[-1].text == "需要本人到便民服务中心办理。"


def test_split_sentences_keeps_closing_quotes_and_offsets():
    text = "他说:“好。”然后走了!最后;还有……结束"
    parts = split_sentences(text, 10)
    assert [s.text for s in parts] == ["他说:“好。”", "然后走了!", "最后;", "还有……", "结束"]
    for s in parts:
        assert text[s.start - 10:s.end - 10] == s.text


def test_text_without_sentence_punctuation_is_cut_into_sentences():
    rows = "\n".join(f"{i:03d}号村光伏电站的年收益为{i}万元，带动周边贫困户共{i}户参与分红和务工增收" for i in range(1, 200))
    doc = parse_article(("表格\n\n" + rows).encode(), doc_id="t")
    longest = max(len(s.text) for s in doc.sentences)
    assert longest <= 160
    assert "务工增收 002号村" in doc.cleaned_text  # rejoined lines keep a boundary before a number


def test_a_run_of_short_lines_is_a_table_not_headings():
    rows = "\n\n".join(f"第{i}村 光伏电站 年收益{i}万元" for i in range(1, 6))
    doc = parse_article(("村级光伏收益\n\n" + rows).encode(), doc_id="t")
    assert [p.role for p in doc.paragraphs] == ["title"] + ["body"] * 5
    assert len(doc.sentences) == 5


def test_bidi_and_format_controls_are_removed_from_articles():
    doc = parse_article("标题\n\n正文\u202e说明\u2066有\u200b10个乡镇。".encode(), doc_id="b")
    assert doc.paragraphs[-1].text == "正文说明有10个乡镇。"
