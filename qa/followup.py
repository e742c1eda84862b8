"""Deterministic follow-up resolution: a message plus the frame of the previous turn -> the
question to answer.

Residents ask in threads: 「2020年脱贫多少人？」 then 「那去年呢？」, 「其中签了协议的有多少？」,
「她是哪个单位的？」, 「资金呢？」. :func:`resolve` decides, without any model, whether a message
stands alone (answered as typed, the frame is ignored), continues the previous turn (rewritten
from the frame, and the rewrite is shown to the resident), picks a listed suggestion (「1」,
「第一个」, 「①」), or is a fragment that cannot be understood (a clarifying reply).

Rules (all on the normalised text, :func:`qa.text.normalize`):

* A **pick** is a bare number 1..N (「1」, 「１」, 「第一个」, 「①」, 「选2」) while the frame lists N
  suggestions; otherwise a bare number is an ordinary message.
* A message is a **follow-up** when it has an ellipsis cue (那…, 那么…, 还有…, 其中…, …呢), a
  pronoun (他/她/它/他们/她们/这个/这些/该; not 该区), or is too short to stand alone (see
  :func:`stands_alone`). A message that stands alone after its cue is removed and has no
  pronoun is a new question (「那四集中是什么意思」): a topic switch ignores the frame.
* The rewrite overrides only the slots the message gives: a year (「那2018年呢」; 去年/前年/今年/
  明年 are relative to the frame's year: 去年 of 2020 is 2019, and with no year in the frame
  they are left as typed), a place, a person; 其中… appends the subset to the previous
  question; a pronoun is replaced by the previous answer's person (他/她/他们) or organisation
  (它/该/这个/这些, else the previous topic); any other words are the new item and are put on
  the previous question's topic, with the previous question's question word when the message
  has none.
* A follow-up counts as answered only when the answer quotes what the message added (the new
  year, the item or one of its synonyms, the referent of the pronoun): otherwise the caller
  gives a clarifying reply that shows the understood question (:meth:`FollowUps.supported`).

The frame is plain JSON data (:class:`qa.frame.Frame`) so the conversation layer can keep it in SQLite.
"""

from __future__ import annotations

import re

from qa.frame import Frame, Resolution, parse_pick
from qa.query import YEAR
from qa.text import Segmenter, normalize

#: Relative years, as offsets from the frame's year (decision: 「那去年呢」 after a question
#: about 2020 means 2019, the year before the one being discussed).
RELATIVE_YEARS = {"前年": -2, "去年": -1, "今年": 0, "当年": 0, "同年": 0, "明年": 1}
_CUE_HEAD = re.compile(r"^(?:那么|那要是|那如果|那还有|那(?![个些里边样])|还有|另外|再就是)")
_CUE_TAIL = re.compile(r"(?:呢|嘞|哩|咧|呐)$")
_SUBSET = re.compile(r"^(?:那)?其中")
#: Pronouns, not inside ordinary words (其他/其它, 他人, 这个月); 该 only before a noun (该政策, not 应该/该找).
_PERSON_PRONOUN = re.compile(r"他们|她们|(?<!其)他(?!人)|她")
_THING_PRONOUN = re.compile(r"这个(?![月星礼])|这些|那个(?![月星礼])|那些|它们|(?<!其)它|该(?=政策|项目|公司|单位|机构|企业|文件|补贴|平台|车间|基地|村|镇)")
_QUESTION_WORD = re.compile(r"什么|啥|怎么|咋|如何|哪|谁|多少|几|是否|有没有|是不是|能不能|吗|么|不$|\?|？")
_NOISE = re.compile(r"[\s,.;:!?，。；：！？、~～…\"'“”‘’()（）【】]+")
_RELATIVE = re.compile("|".join(RELATIVE_YEARS))
#: A span of years in a question (「2014年至2019年」, 「2014-2019年」): a relative year has no base.
_YEAR_RANGE = re.compile(r"(?:19|20)\d{2}年?\s*(?:至|到|—|-|~|～)\s*(?:19|20)\d{2}")
_YEAR_WORD = re.compile(r"(?<![\d.])((?:19|20)\d{2})年?(?![\d.])")
#: A person named in an answer: a title, then a two- or three-character name (董事长付中华荣获,
#: 记者 刘玲瑜). jieba's person tags are too noisy for this (it tags 荣获 as a name).
_PERSON = re.compile(r"(?:董事长|总经理|经理|局长|书记|主任|区长|县长|镇长|乡长|村长|主席|院长|校长|记者|通讯员)\s*"
                     r"([\u4e00-\u9fff]{2,3}?)(?=荣获|获得|获|说|表示|介绍|带领|\s|,|，|、|。|;|；|$)")
_PRONOUN_WORDS = frozenset({"其中", "他", "她", "它", "他们", "她们", "它们", "这个", "这些", "那个", "那些", "该"})
#: Organisations named in an answer (凌宝珠光颜料公司, 区民政局, 区人社局).
_ORG = re.compile(r"([\u4e00-\u9fff]{2,12}?(?:公司|集团|局|医院|精神病院|康复中心|银行|委员会|办公室|扶贫办|学校|合作社))")
#: Words that say what is asked about without saying about what: alone they are fragments
#: (「资金呢」, 「人数有多少」, 「补贴咋申请」), never a topic of their own.
GENERIC_ITEMS = frozenset("""资金 经费 金额 钱数 人数 户数 数量 数字 时间 地方 地址 地点 标准 条件 办法 情况 东西 事情
    补贴 补助 政策 项目 措施 材料 手续 流程 结果 效果 规定 要求 范围 对象 单位 部门 人员 名单 比例 规模 收入 年份 今年 去年
    前年 明年 当年 总数 总共 一共 具体 详细""".split())
#: A question this long (characters, punctuation dropped) stands alone whatever its words:
#: residents' fragments are short (the longest in data/eval/conversations.jsonl without a cue has 9).
LONG_QUESTION_CHARS = 12
#: Longest complete question that is also tried in the previous turn's context when it finds no
#: confident answer on its own (residents' elliptical questions are short; the dev set's are <= 12).
IN_CONTEXT_MAX_CHARS = 15
#: Units a count can be asked in (「人呢」 after 「脱贫几户」) and the count of the previous question.
_COUNT_UNITS = frozenset("人户个家元亩名")
_COUNTED = re.compile(r"(多少|几)(人|户|个|家|元|亩|名)")
#: Question words put back on a rewritten item, by the previous question's wording.
_TAILS = (("多少", "多少"), ("几", "多少"),
          ("哪些", "有哪些"), ("什么时候", "什么时候"), ("怎么", "怎么样"), ("咋", "怎么样"), ("谁", "是谁"),
          ("哪里", "在哪里"), ("什么", "是什么"), ("啥", "是什么"))


class FollowUps:
    """Frames and resolution with one segmenter (content words, names, synonyms).

    Args:
        segmenter: the process's :class:`~qa.text.Segmenter`.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter

    # ----------------------------------------------------------------- slots
    def _slots(self, norm: str) -> tuple[str | None, str | None, str | None, list[str]]:
        """(year, place, person, other content words) of a normalised text."""
        year = next((m.group(1) for m in _YEAR_WORD.finditer(norm)), None)
        place = person = None
        rest = []
        for word in self.segmenter.content_words(norm):
            if YEAR.fullmatch(word) or word.isdigit():
                continue
            if word in self.segmenter.places and place is None:
                place = word
            elif word in _PRONOUN_WORDS:
                continue
            elif not _RELATIVE.fullmatch(word):
                rest.append(word)
        return year, place, person, rest

    def stands_alone(self, norm: str) -> bool:
        """True when a normalised message is a complete question: with a question word, two
        things (content words, a year, a place, a person; a word of three or more characters
        counts two, a one-character word half: 「投了多少钱」 is a fragment); without one, three."""
        year, place, person, words = self._slots(norm)
        weight = sum(2 if len(w) >= 3 else 1 if len(w) == 2 else 0.5 for w in words) + (year is not None) + (place is not None) \
            + (person is not None)
        if len(norm) >= LONG_QUESTION_CHARS and _QUESTION_WORD.search(norm):
            return True  # 「请问三个落实是指哪三个落实」: long enough to say what it asks
        if not _QUESTION_WORD.search(norm):
            # a lone term of three or more characters (四集中, 建档立卡) asks what it is
            return weight >= 3 or (len(words) == 1 and len(words[0]) >= 3 and weight == 2)
        return weight >= 2

    # ------------------------------------------------------------ resolution
    def resolve(self, text: str, frame: Frame | None) -> Resolution:
        """Decide what ``text`` asks given the previous turn's ``frame`` (None: no context).

        Never raises. A bare number picks only when ``frame`` lists that many suggestions.
        """
        norm = normalize(text or "")
        bare = _NOISE.sub("", norm)
        pick = parse_pick(bare)
        if pick is not None:
            if frame is not None and 1 <= pick <= len(frame.suggestions):
                return Resolution("pick", pick=pick - 1)
            return Resolution("new", question=text)
        if not bare:
            return Resolution("new", question=text)
        subset = _SUBSET.match(bare)
        core = bare[subset.end():] if subset else _CUE_TAIL.sub("", _CUE_HEAD.sub("", bare))
        cued = bool(subset) or core != bare
        if len(core) >= 2 * LONG_QUESTION_CHARS and _QUESTION_WORD.search(core) and not cued:
            return Resolution("new", question=text)  # a long message says what it asks (那个 is no pronoun there)
        person_pronoun = _PERSON_PRONOUN.search(core)
        thing_pronoun = _THING_PRONOUN.search(core)
        if not (person_pronoun or thing_pronoun or subset) and self.stands_alone(core):
            return Resolution("new", question=text)
        if not (cued or person_pronoun or thing_pronoun) and (not self._fragment(core) or self.names_a_topic(core)):
            return Resolution("new", question=text)
        if frame is None or not frame.usable or not core:
            return Resolution("clarify")
        if person_pronoun or thing_pronoun:
            return self._pronoun(core, frame, person_pronoun, thing_pronoun)
        if subset:
            year, place, person, words = self._slots(core)
            subject = _subject(frame)
            return Resolution("followup", question=f"{_strip_end(frame.question)}，其中{core}",
                              added=tuple(words) or tuple(filter(None, (year, place, person))),
                              fallbacks=(f"{subject}{core}",) if subject else ())
        return self._ellipsis(core, frame)

    def in_context(self, text: str, frame: Frame | None) -> Resolution | None:
        """A second reading of a short complete question that the sources could not answer
        well on its own: the previous topic put in front (「建档立卡的有多少户」 after a question
        about 脱贫村). None when there is no answered frame, the message is long
        (> :data:`IN_CONTEXT_MAX_CHARS`) or already names the previous topic."""
        if frame is None or not frame.usable or not frame.answered:
            return None
        core = _NOISE.sub("", normalize(text or ""))
        subject = _subject(frame)
        if not core or len(core) > IN_CONTEXT_MAX_CHARS or not subject or subject in core:
            return None
        year, place, person, words = self._slots(core)
        if not words:
            return None
        head = "".join(filter(None, (None if year or not frame.year else f"{frame.year}年",
                                     None if place or not frame.place else frame.place)))
        return Resolution("followup", question=head + subject + core, added=tuple(words))

    def names_a_topic(self, norm: str) -> bool:
        """True when a short message without a cue names something specific (危房, 农险, 结队帮扶,
        床位): a keyword query, answered on its own. Generic items (资金, 人数, 补贴, 条件 …, see
        :data:`GENERIC_ITEMS`), verbs and one-character words name nothing."""
        return any(len(w) >= 2 and w not in GENERIC_ITEMS and self.segmenter.is_noun(w)
                   for w in self._slots(norm)[3])

    def _fragment(self, core: str) -> bool:
        """A message without a cue that cannot stand alone but has something to add (a
        word, a year): "资金", "床位有多少", "2018年的"."""
        year, place, person, words = self._slots(core)
        return bool(words or year or place or person or _RELATIVE.search(core))

    def _pronoun(self, core: str, frame: Frame, person_pronoun, thing_pronoun) -> Resolution:
        referent = None
        if person_pronoun:
            referent = frame.person or frame.org
            pattern = _PERSON_PRONOUN
        else:
            referent = frame.org if frame.org and not frame.topic else (_subject(frame) or frame.org)
            pattern = _THING_PRONOUN
        if not referent:
            return Resolution("clarify")
        rewritten = pattern.sub(referent, core, count=1)
        if not person_pronoun:
            rewritten = self._with_slots(rewritten, frame)
        return Resolution("followup", question=rewritten, added=(referent,))

    def _ellipsis(self, core: str, frame: Frame) -> Resolution:
        year, place, person, words = self._slots(core)
        relative = _RELATIVE.search(core)
        if relative and year is None and frame.year:
            if _YEAR_RANGE.search(frame.question):
                return Resolution("clarify")  # 去年 of 「2014年至2019年」 is no one year: ask which
            year = str(int(frame.year) + RELATIVE_YEARS[relative.group(0)])
        base = _strip_end(frame.question)
        unit = core if not (words or year or place or person or relative) and core in _COUNT_UNITS else None
        if unit:  # 「人呢」 after 「…脱贫几户」: the same count in another unit
            counted = _COUNTED.search(base)
            rewritten = (base[:counted.start(2)] + unit + base[counted.end(2):] if counted
                         else f"{base}多少{unit}")
            return Resolution("followup", question=rewritten, added=(unit,))
        if not words:  # only slots change: substitute them in the previous question
            rewritten, added = base, []
            for new, old in ((year, frame.year), (place, frame.place), (person, frame.person)):
                if new is None:
                    continue
                added.append(new)
                span = _YEAR_RANGE.search(rewritten) if new == year else None
                if span:  # 「那2020年呢」 after 「2014年至2019年…」: the one year replaces the span
                    end = span.end() + (rewritten[span.end():span.end() + 1] == "年")
                    rewritten = rewritten[:span.start()] + f"{new}年" + rewritten[end:]
                elif old and old in rewritten:
                    rewritten = rewritten.replace(f"{old}年" if new == year and f"{old}年" in rewritten else old,
                                                  f"{new}年" if new == year else new, 1)
                else:
                    rewritten = (f"{new}年" if new == year else new) + rewritten
            if not added:
                return Resolution("clarify")
            return Resolution("followup", question=rewritten, added=tuple(added))
        # a new item on the previous topic, with the previous question word unless it has one
        head = "".join(filter(None, (f"{year or frame.year}年" if (year or frame.year) else None,
                                     place or frame.place, person)))
        topic = [w for w in frame.topic if w not in words and w != frame.item]
        item = core
        for value in (f"{year}年" if year else None, year, place, person, relative.group(0) if relative else None):
            if value:
                item = item.replace(value, "")
        tail = "" if _QUESTION_WORD.search(item) else _tail(base)
        rewritten = head + "".join(topic[:3]) + item + tail
        subject = _subject(frame)
        shorter = head + (subject or "") + item + tail
        return Resolution("followup", question=rewritten, added=tuple(words),
                          fallbacks=(shorter,) if shorter != rewritten else ())

    def _with_slots(self, text: str, frame: Frame) -> str:
        """``text`` with the frame's year and place put in front when it names none."""
        year, place, _, _ = self._slots(text)
        prefix = ("" if year or not frame.year else f"{frame.year}年") + ("" if place or not frame.place else frame.place)
        return prefix + text

    # ------------------------------------------------------------------ frames
    def frame_of(self, question: str, *, answered: bool, quote: str = "", faq_id: str | None = None,
                 section: str | None = None, suggestions: list[dict] | None = None,
                 previous: Frame | None = None, item: str | None = None) -> Frame:
        """The frame a turn leaves: slots of ``question`` (the question answered), the person
        and organisation of the answer's ``quote`` (falling back to ``previous`` ones for a
        follow-up that did not name new ones)."""
        norm = normalize(question or "")
        year, place, person, words = self._slots(norm)
        quote_norm = normalize(quote or "")
        if person is None and quote_norm:
            match = _PERSON.search(quote_norm)
            person = match.group(1) if match else None
        org = None
        if quote_norm:
            match = _ORG.search(quote_norm)
            org = re.sub(r"^(?:该区|全区|本区|区里|宛城区)", "", match.group(1)) if match else None
        if previous is not None:
            person = person or previous.person
            org = org or previous.org
        return Frame(question=_strip_end(question or ""), topic=words, year=year, place=place, person=person,
                     org=org, item=item, faq_id=faq_id, section=section, suggestions=list(suggestions or []),
                     answered=answered)

    def supported(self, resolution: Resolution, quote: str) -> bool:
        """True when ``quote`` contains something the follow-up added (or one of its synonyms);
        True for resolutions that added nothing checkable."""
        if not resolution.added:
            return True
        text = normalize(quote or "")
        for added in resolution.added:
            variants = self.segmenter.variants(added) | {added}
            for sub in self.segmenter.subwords(added):
                variants |= self.segmenter.variants(sub)
            if any(v and v in text for v in variants):
                return True
            unit = added[0] if len(added) == 2 and added[1] == "数" else added if added in _COUNT_UNITS else None
            if unit and re.search(rf"\d(?:余|多)?万?{unit}", text):
                return True  # 户数, 人数, 人: a count of that unit (1475户, 2652人)
        return False


def _subject(frame: Frame) -> str | None:
    """The previous topic's head: its first word of three or more characters, else its first
    two words joined."""
    long_words = [w for w in frame.topic if len(w) >= 3]
    if long_words:
        return long_words[0]
    return "".join(frame.topic[:2]) or None


def _strip_end(text: str) -> str:
    return re.sub(r"[\s?？。！!，,~～]+$", "", text.strip())


def _tail(base: str) -> str:
    """The question word of the previous question, for an item without one (「资金呢」)."""
    for cue, tail in _TAILS:
        if cue in base:
            return tail
    return "是什么"
