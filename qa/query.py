"""Question analysis: content terms, synonyms, answer type and numbers of a question.

The answer-type cues are Chinese question forms (多少人, 哪天, 谁 ...) and the predicates say
what an answering sentence must contain (a count of 人 or 户, a date ...). Both are used by
:mod:`qa.rank` as features, never as hard filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa import approx, focus
from qa.text import NOUN_TAGS, Segmenter, is_cjk, normalize

#: Longest question analysed, in characters. Real questions are far shorter (the dev set's
#: longest has 21); longer pastes are cut and the reply says so.
MAX_QUESTION_CHARS = 200

# (type, cue pattern on the normalised question). First match wins, so specific cues first.
ANSWER_TYPE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"电话|联系方式|热线|号码|手机号|怎么联系|联系谁")),
    ("hours", re.compile(r"几点|上班时间|下班|办公时间|营业时间|开门|关门|工作时间")),
    ("address", re.compile(r"地址|在哪办|去哪办|在哪儿办|什么地方办|怎么走|具体位置|位置在哪")),
    ("date", re.compile(r"什么时候|啥时候|哪天|哪一天|何时|几月|几号|哪年|哪一年|什么时间|啥时间|日期|几时|多会儿")),
    ("person", re.compile(r"谁|哪位|什么人|何人|叫什么名字")),
    ("money", re.compile(r"多少钱|多少资金|多少元|多少块|多少万|金额|资金多少|多少经费|钱数|多少补贴|补贴多少|"
                         r"补助多少|标准是多少|什么标准|多少租金|租金|收入多少|多少收入|收益多少|销售额|多少投入|投入多少")),
    ("count_household", re.compile(r"多少户|几户|户数|多少家庭|多少贫困户")),
    ("count_person", re.compile(r"多少人|几人|多少名|人数|多少个人|多少位|几位|多少人次|多少劳动力")),
    ("count", re.compile(r"几个|多少个|多少家|几家|多少所|几所|多少项|几项|多少座|数量|多少条|多少处|几处|多少亩|多少张|多少床")),
    ("list", re.compile(r"哪些|有什么|都有啥|有啥|包括什么|包括哪|哪几")),
    ("place", re.compile(r"哪里|在哪|什么地方|哪个地方|哪儿|何地|何处|哪个(?:区|县|市|镇|乡|村|街道)")),
    ("number", re.compile(r"多少|几|规模|比例|多大")),
    ("how", re.compile(r"怎么|如何|怎样|咋|做法|措施|办法|什么原则|什么方式|什么形式|做了什么|干了什么")),
)

_NUM = r"\d+(?:\.\d+)?(?:余|多)?\s?"
ANSWER_TYPE_PREDICATES: dict[str, re.Pattern[str]] = {
    "phone": re.compile(r"(\d{3,4}[-－]?\d{7,8}|1[3-9]\d{9}|12345|\d{5,}热线)"),
    "hours": re.compile(r"(\d{1,2}[:：]\d{2}|\d{1,2}点|上午|下午|工作日|周[一二三四五六日]|星期[一二三四五六日])"),
    "address": re.compile(r"([\u4e00-\u9fff]{1,12}(?:路|街|大道|巷|号|楼|室|大厦|大楼|服务中心|便民服务中心))"),
    "count_household": re.compile(rf"({_NUM})(?:万)?户"),
    "count_person": re.compile(rf"({_NUM})(?:万)?(?:人|名|人次|位)"),
    "money": re.compile(rf"({_NUM})(?:万|亿)?元"),
    "count": re.compile(rf"({_NUM})(?:个|家|所|项|座|条|处|亩|张|台|间|类|种|批|队|届|册|部|本|集|场|层|枚|颗|只|头|匹|辆|"
                        r"艘|架|份|件|篇|首|位|名|支|座|门|栋|幢|级|期|季|卷|章|款|株|棵)"),
    "date": re.compile(r"(\d{4})年|(\d{1,2})月|(\d{1,2})日|(去年|今年|前年|上半年|下半年|年初|年底)"),
    "number": re.compile(r"(\d+(?:\.\d+)?)"),
    "person": re.compile(r"(董事长|总经理|经理|局长|书记|主任|区长|县长|镇长|乡长|村长|主席|院长|校长|组长|负责人|记者|通讯员|同志|先生|女士)"),
    "list": re.compile(r"([、《;；])"),
    "place": re.compile(r"([\u4e00-\u9fff]{1,8}(?:省|市|区|县|镇|乡|村|街道|社区)|在[\u4e00-\u9fff]{1,10}(?:召开|举行|设立))"),
}

_NUMBER_IN_QUESTION = re.compile(r"\d+(?:\.\d+)?")
#: A calendar year as written in Chinese text (2020年, 2014至2019年): 1900-2099 not inside a longer number.
YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?![\d.])")
_CLAUSE_SPLIT = re.compile(r"[,.;:!?，。；：！？、\s]+")
_ASKING = re.compile(r"吗|呢|\?|？|什么|啥|怎么|咋|如何|哪|谁|多少|几|是否|有没有|是不是|能不能|可不可以")
#: A message with at least this many content words and several clauses is "rambling": words
#: outside the clause that asks count FOCUS_OTHER of their weight (the dev set's questions have
#: at most 5 content words; the long ones in data/eval/own_questions.jsonl have 10-20).
FOCUS_MIN_TERMS = 6
FOCUS_OTHER = 0.35


def _focus_clauses(norm: str) -> list[str] | None:
    clauses = [c for c in _CLAUSE_SPLIT.split(norm) if c]
    if len(clauses) < 2:
        return None
    asking = [c for c in clauses if _ASKING.search(c)]
    return asking or None


@dataclass(frozen=True)
class Term:
    """One content word of a question.

    Attributes:
        text: the word (normalised).
        variants: the word and its synonyms.
        parts: search-mode sub-words of a long word (代养协议 -> 代养, 协议), for partial credit.
        numeric: the word is a number (2020, 1432.86); numbers are soft constraints.
        noun: jieba tags it as a name or noun (see :data:`qa.text.NOUN_TAGS`).
        cue: the word is also the answer-type cue (人数, 金额); it counts a quarter.
        focus: weight multiplier, < 1 for words outside the clause that asks the question
            in a long, rambling message.
        weak: expansions from the domain lexicon (data/text/domain_synonyms.txt): a match on
            one of them earns ``residents.expansion_credit`` (qa/params.json), less than the
            resident's own word.
    """

    text: str
    variants: frozenset[str]
    parts: tuple[str, ...] = ()
    numeric: bool = False
    noun: bool = True
    cue: bool = False
    focus: float = 1.0
    weak: frozenset[str] = frozenset()

    def with_variants(self, extra: frozenset[str]) -> "Term":
        """A copy with more variants (homophones found in the index)."""
        return Term(self.text, self.variants | extra, self.parts, self.numeric, self.noun, self.cue, self.focus,
                    self.weak)


@dataclass(frozen=True)
class Query:
    """An analysed question.

    Attributes:
        text: the question as analysed (capped at :data:`MAX_QUESTION_CHARS`).
        norm: its normalised search key.
        terms: content terms in order.
        answer_type: a key of :data:`ANSWER_TYPE_PREDICATES`, "how", or None.
        numbers: numbers written in the question (they do not count as answers).
        years: calendar years the question names (2021 in 「2021年销售额」).
        truncated: the input was longer than the cap.
    """

    text: str
    norm: str
    terms: tuple[Term, ...]
    answer_type: str | None
    numbers: frozenset[str]
    truncated: bool = False
    years: frozenset[str] = frozenset()
    tokens: tuple[str, ...] = field(default=())
    approx: tuple[approx.Range, ...] = ()

    def weak_tokens(self, known: set[str]) -> list[str]:
        """Domain-lexicon expansions of the terms none of whose own variants is in ``known``
        (index tokens): an expansion only widens the search for a word the corpus does not
        use; a word it uses finds its sentences itself (and expansions would crowd them out)."""
        return [w for t in self.terms if t.weak and not (t.variants & known) for w in sorted(t.weak)]

    def match_tokens(self) -> list[str]:
        """Every token worth looking up in FTS: terms, their synonyms and sub-words. Answer-type
        cue words (人数, 金额) are left out when other terms exist: a sentence that says 人数 is
        no likelier to give the number asked for."""
        out: list[str] = []
        terms = [t for t in self.terms if not t.cue] or list(self.terms)
        for term in terms:
            out.extend(sorted(term.variants))
            out.extend(term.parts)
        return out


_CLAIMED_COUNT = re.compile(r"\d+(?:\.\d+)?(?:余|多)?(户|人|名|个|家|元|万元|亿元)")
_YES_NO = re.compile(r"(吗|对吗|对不对|是不是|是吗|对不|有没有|没错吧|吧)\W*$")


def answer_type(norm: str) -> str | None:
    """The answer type a normalised question asks for (see :data:`ANSWER_TYPE_CUES`); a yes/no
    question that states a count (「建档立卡贫困户是4000多户吗」) asks for that count."""
    for name, cue in ANSWER_TYPE_CUES:
        if cue.search(norm):
            return name
    claimed = _CLAIMED_COUNT.search(norm)
    if claimed and _YES_NO.search(norm):
        unit = claimed.group(1)
        return {"户": "count_household", "人": "count_person", "名": "count_person"}.get(
            unit, "money" if unit.endswith("元") else "count")
    return None


def sentence_has_type(norm_sentence: str, kind: str | None, question_numbers: frozenset[str], *,
                      has_person: bool = False, has_place: bool = False, question_norm: str = "") -> bool:
    """True when a normalised sentence contains something of answer type ``kind`` that is not
    merely a number the question already states (2020 in 「2020年脱贫多少人」). ``has_person``
    / ``has_place``: the sentence holds a person's or place's name other than the question's
    own (from jieba's dictionary tags), which satisfies 谁 / 哪里."""
    if (kind == "person" and has_person) or (kind == "place" and has_place):
        return True
    pattern = ANSWER_TYPE_PREDICATES.get(kind or "")
    if pattern is None:
        return True
    for match in pattern.finditer(norm_sentence):
        value = next((g for g in match.groups() if g), match.group(0))
        if value.rstrip("余多") in question_numbers:
            continue
        if kind in ("person", "place") and value in question_norm:
            continue  # 书记 in 「第一书记叫什么名字」 is the question's own word, not an answer
        return True
    return False


def analyse(text: str, segmenter: Segmenter) -> Query:
    """Analyse a raw question (any length; capped) into a :class:`Query`. Never raises."""
    truncated = len(text) > MAX_QUESTION_CHARS
    text = text[:MAX_QUESTION_CHARS]
    norm, ranges = approx.hints(normalize(text))
    tagged = segmenter.tagged_content_words(norm)
    kind = answer_type(norm)
    focus_clauses = (focus.asking_clauses(norm) or _focus_clauses(norm)) if len(tagged) >= FOCUS_MIN_TERMS else None
    cue_pattern = dict(ANSWER_TYPE_CUES).get(kind or "")
    terms: list[Term] = []
    for word, flag in tagged:
        numeric = bool(_NUMBER_IN_QUESTION.fullmatch(word))
        if not numeric and len(word) == 1 and not is_cjk(word) and not word.isalnum():
            continue
        parts: tuple[str, ...] = ()
        if len(word) >= 3 and not numeric:
            parts = tuple(segmenter.subwords(word))
        cue = bool(cue_pattern and cue_pattern.fullmatch(word))
        weight = 1.0 if focus_clauses is None or any(word in c for c in focus_clauses) else FOCUS_OTHER
        variants = segmenter.variants(word)
        weak = segmenter.expansions(word) - variants
        terms.append(Term(word, variants, parts, numeric, flag in NOUN_TAGS, cue, weight, weak))
    numbers = frozenset(_NUMBER_IN_QUESTION.findall(norm))
    years = frozenset(m for m in YEAR.findall(norm) if re.search(m + "(年|度)", norm))
    return Query(text=text, norm=norm, terms=tuple(terms), answer_type=kind, numbers=numbers,
                 truncated=truncated, tokens=tuple(w for w, _ in tagged), years=years, approx=ranges)
