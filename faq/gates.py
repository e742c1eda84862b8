"""Rules that keep an FAQ entry from answering a question it only resembles.

* :func:`missing_detail`: the question names a year or a month that the entry's text never
  gives, or asks for a detail (a date, a place, a count, a phone number ...;
  :func:`qa.query.answer_type`) that none of the entry's own phrasings asks for and its answer
  does not contain (an entry written for 「补助多少钱」 answers with whatever staff wrote; an
  entry about what 四集中 is does not answer 「四集中哪年开始的」): the entry may be suggested,
  never answered (issue 11: "an FAQ entry is
  accepted for a detail its answer does not contain").
* :func:`answers_too`: another entry that answers the question as well as the best one does
  not compete with it (near-ties of a staff entry and a seed entry on one topic).
* :func:`unknown_topics`: a topic noun that no FAQ phrasing uses and the best entry never
  mentions keeps it from answering.
"""

from __future__ import annotations

import re

from faq.scoring import TYPED_KINDS, MATCH, Entry, QueryWords, Scorer
from qa.query import YEAR, sentence_has_type
from qa.text import NOUN_TAGS, syllables

#: Answer types whose absence from the answer stops the entry from answering.
GATED_TYPES = frozenset({"count_household", "count_person", "money", "count", "date", "place", "phone",
                         "hours", "address", "person", "number"})
#: Answer types that ask for a figure: an entry all of whose phrasings ask one does not answer
#: a how-question.
FIGURE_TYPES = frozenset({"count_household", "count_person", "money", "count", "number", "date"})
_MONTH = re.compile(r"(?<!\d)(1[0-2]|[1-9])月")


def months(norm: str) -> frozenset[str]:
    """Months named in a normalised text: 「3月」 -> {"3"}."""
    return frozenset(_MONTH.findall(norm))


def years(norm: str) -> frozenset[str]:
    """Four-digit years 1900..2099 named in a normalised text."""
    return frozenset(YEAR.findall(norm))


def missing_detail(question_norm: str, kind: str | None, question_numbers: frozenset[str], entry_text: str,
                   answer_norm: str, asked: frozenset[str | None] = frozenset()) -> str | None:
    """Why the entry cannot answer (``"year"``, ``"month"``, ``"type:<kind>"``) or None.

    Args:
        question_norm: the normalised question.
        kind: its answer type (:func:`qa.query.answer_type`) or None.
        question_numbers: numbers the question states (2+ digits).
        entry_text: the normalised question, alternates and answer of the entry.
        answer_norm: the normalised answer.
        asked: answer types the entry's question and alternates ask for (a how-question is
            refused by an entry whose phrasings all ask for a figure).
    """
    if years(question_norm) - years(entry_text):
        return "year"
    if months(question_norm) - months(entry_text):
        return "month"
    if kind == "how" and asked and asked <= FIGURE_TYPES:
        return "type:how"  # 「怎么注册」 is not answered by an entry written for 「有多少家」
    if kind in GATED_TYPES and kind not in asked and not sentence_has_type(answer_norm, kind, question_numbers,
                                                     question_norm=question_norm):
        return f"type:{kind}"
    return None


def covered(query: QueryWords, entry: Entry) -> frozenset[str]:
    """The question's words that ``entry``'s question, alternates or answer contain (as a
    synonym, homophone or part of a longer word too)."""
    return frozenset(w for w, py, variants, _ in query.words
                     if Scorer.word_match(w, py, entry.bag, entry.bag_by_pinyin, variants)[1] is not None)


def gives_detail(query: QueryWords, entry: Entry) -> bool:
    """True unless the question asks a count, an amount, a date, a place ... that the
    entry neither asks for in a phrasing nor holds in its answer."""
    return query.kind not in TYPED_KINDS or query.kind in entry.asked or sentence_has_type(
        entry.answer_norm, query.kind, query.numbers, question_norm=query.key)


def answers_too(query: QueryWords, best: Entry, other: Entry) -> bool:
    """True when ``other`` answers the question as well as ``best``: it contains the question
    words ``best`` contains (all but ``faq_match.compatible_at`` of the question's word
    weight), both give the asked detail, and ``best`` itself contains the question's nouns
    (all but the same share) and ``faq_match.best_cover_at`` of its word weight: a best
    entry that leaves the asked thing open (漏掉 in 「兜底对象有没有漏掉的」) answers nothing for
    sure, so its runner-up still competes. Such entries do not compete (near-ties of a
    staff entry and a seed entry on one topic, issue 11)."""
    if not (gives_detail(query, best) and gives_detail(query, other)):
        return False
    weights = {w: weight for w, _, _, weight in query.words}
    best_words = covered(query, best)
    unaddressed = {w for w, *_ in query.nouns} - best_words  # 利率 asked, the best entry never says
    missing = best_words - covered(query, other)
    limit = MATCH.compatible_at * query.total
    return (sum(weights[w] for w in best_words) >= MATCH.best_cover_at * query.total
            and sum(weights[w] for w in unaddressed) <= limit and sum(weights[w] for w in missing) <= limit)


def unknown_topics(scorer: Scorer, norm: str, entry: Entry) -> list[str]:
    """Nouns of the question that name a topic (jieba knows them and they are not everyday
    words: general idf from ``faq_match.topic_idf``) which no phrasing of the FAQ uses and
    ``entry`` never mentions: 新能源 in 「新能源汽车补贴多少钱」. Words jieba lacks (dialect,
    typos) are left to the scores."""
    df, pinyins = scorer.index.word_df, scorer.index.word_pinyin
    out = []
    for word, flag in scorer.segmenter.tagged_content_words(norm):
        if flag not in NOUN_TAGS or len(word) < 2 or not scorer.segmenter.is_word(word):
            continue
        if scorer.segmenter.general_idf(word) < MATCH.topic_idf:
            continue
        variants = scorer.segmenter.variants(word)
        if any(v in df for v in variants) or " ".join(syllables(word)) in pinyins or any(word in w for w in df):
            continue
        if Scorer.word_match(word, " ".join(syllables(word)), entry.bag, entry.bag_by_pinyin, variants)[1] is None:
            out.append(word)
    return out
