"""qa/text.py and qa/numerals.py: the one normaliser and the segmenter."""

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from qa.numerals import chinese_numerals_to_arabic
from qa.text import normalize, pinyin


@pytest.mark.parametrize("raw, key", [
    ("宛城區２０２０年脫貧多少人？", "宛城区2020年脱贫多少人?"),   # full-width + traditional
    ("ＡＢＣ　Ｄｅｆ", "abc def"),                               # NFKC, lower-case, space
    ("金额1,432.86万元", "金额1432.86万元"),                      # thousands separator
    ("10,000人", "10000人"),
    ("1,2,3", "1,2,3"),                                          # not a thousands group
    ("二〇二〇年", "2020年"),
    ("二零二一年", "2021年"),
    ("两千六百五十二人", "2652人"),
    ("九千九百三十九万元", "9939万元"),                           # the article writes 9939万元
    ("一千四百三十二点八六万元", "1432.86万元"),
    ("十三个扶贫车间", "13个扶贫车间"),
    ("二十一个脱贫村", "21个脱贫村"),
    ("三月十九日", "3月19日"),
    ("一九九八年", "1998年"),
    ("百分之三十", "30%"),
    ("两户", "2户"),
])
def test_normalize_converts(raw, key):
    assert normalize(raw) == key


@pytest.mark.parametrize("text", [
    "一个不漏", "两不愁三保障", "四议两公开", "一有二同四保障", "三有一可", "七改一增", "第一书记",
    "三三两两", "千万不要", "万一", "几十万", "数百人", "五一",
])
def test_normalize_keeps_words_with_numerals(text):
    assert normalize(text) == text


def test_normalize_strips_invisible_and_control_characters():
    assert normalize("四\u200b集\u200d中\x00\x07\ufeff") == "四集中"
    assert normalize("  \t\n ") == ""


@given(st.text(max_size=200))
@hsettings(max_examples=400, deadline=None)
def test_normalize_is_idempotent_and_total(text):
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet="〇零一二两三四五六七八九十百千万亿点个户人年月日几数百分之不漏愁", max_size=30))
@hsettings(max_examples=400, deadline=None)
def test_numeral_conversion_never_raises_and_is_stable(text):
    once = chinese_numerals_to_arabic(text)
    assert chinese_numerals_to_arabic(once) == once


def test_search_tokens_include_domain_terms_and_inner_bigrams(segmenter):
    tokens = segmenter.search_tokens(normalize("中原农险合作，建成“四集中”保障机构"))
    assert "中原农险" in tokens and "农险" in tokens          # bigram inside a userdict name
    assert "四集中" in tokens
    assert all(t.strip() and t not in ",“”" for t in tokens)


def test_content_words_drop_question_words_units_and_particles(segmenter):
    words = segmenter.content_words(normalize("代养协议签了多少人？"))
    assert words == ["代养协议", "签"]
    assert segmenter.content_words(normalize("建档立卡贫困户是四千多户吗")) == ["建档立卡贫困户", "4000"]


def test_synonyms_apply_both_ways(segmenter):
    assert "务工" in segmenter.variants("打工")
    assert "就医" in segmenter.variants("看病")
    assert segmenter.variants("宛城区") == frozenset({"宛城区"})


def test_pinyin_keys_for_homophone_typos():
    assert pinyin("低包户") == pinyin("低保户") == "di bao hu"
    assert pinyin("玉露计划") == pinyin("雨露计划")
    assert pinyin("a") is None and pinyin("2020年") is None
