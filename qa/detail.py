"""Detail gating: does a chosen answer actually carry the detail the question asks for?

「凌宝珠光颜料公司在哪」 matches the one sentence naming that company with high confidence, but
the sentence says nothing about where it is; quoting it would be a confident false accept.
:func:`asked_detail` reads which detail a question asks for (a phone number, opening hours, an
address, a place of a given granularity, a person, a list of a kind of thing, what was
planted/sold ..., a month the text must name) and :func:`carries` checks an answer text for
it. :class:`qa.service.Service` refuses (offering the nearest FAQ entries) when the best
answer lacks the detail. Pure functions over normalised strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.query import ANSWER_TYPE_PREDICATES

_GRANULAR = re.compile(r"哪(?:个|一个|些|几个)?(乡镇|街道|社区|村|镇|乡|县|区|市|省)(?![落民委庄域级长])")
_PHONE_ASK = re.compile(r"电话(?:号码)?(?:是)?多少|号码|联系方式|怎么联系|热线(?:电话)?(?:是)?多少|电话是")
_PLACE_ASK = re.compile(r"在哪(?!1|一|个方面|方面|场|次|年|天|届|期|种|个时|段)|哪里|哪儿|什么地方|什么位置|哪个位置|位置|地址|"
                        r"在什么地方|何处")
_PERSON_ASK = re.compile(r"是谁|哪位|叫什么名|什么名字|哪个记者|哪个人")
_LIST_ASK = re.compile(r"(?:哪些|哪几(?:家|个|种|类|所)?|还有什么|都有什么)(单位|部门|企业|公司|厂|供应商|村|乡镇|镇|学校|医院|文件|机构)?")
_WHAT_VERB = re.compile(r"(?<![一这那各多某几每哪\d])(种|养|卖|生产|建|修|买)(?:的|了)?(?:是)?(?:什么)")
_PROCEDURE_ASK = re.compile(r"(?:办|申请|办理|领|报名|带|准备)[^,，。?？]{0,6}(?<!为)(?:什么|哪些)(?:手续|材料|证件|证明|东西)|"
                            r"要带什么|需要带什么|办理流程|申请条件")
_PROCEDURE = re.compile(r"手续|材料|证件|证明|申请|流程|程序|条件|身份证|户口")
_MONTH = re.compile(r"(?<!\d)(1[0-2]|[1-9])月")
#: A month a resident asks about (3月份又拨了多少): written with 份, the spoken form.
_MONTH_ASKED = re.compile(r"(?<!\d)(1[0-2]|[1-9])月份")
_PLACE_SUFFIX = ("乡镇", "街道", "社区", "村", "镇", "乡", "县", "区", "市", "省")
#: Place words that name no specific place (该区 "this district", 行政村 "administrative village").
GENERIC_PLACES = frozenset({"该区", "全区", "本区", "我区", "辖区", "城区", "市区", "全市", "我市", "本市", "该市", "全县",
                            "该县", "全省", "我省", "行政村", "贫困村", "脱贫村", "农村", "村级", "乡镇", "各乡镇", "社区",
                            "街道", "乡村", "新农村", "本村", "该村", "全村", "各村", "区级", "市级", "县级", "省级", "镇村",
                            "中心城区", "新建", "区", "河南省", "河南", "南阳市", "南阳", "宛城区", "宛城",
                            "美丽乡村"})
#: Generic two-character pieces that do not identify an entity (公司 in 凌宝珠光颜料公司 vs 乐凯华光公司).
_GENERIC_BIGRAMS = frozenset({"公司", "该区", "企业", "宛城", "全区", "单位", "集团", "中心"})
_HEAD_SUFFIXES = {
    "单位": ("局", "委", "办", "院", "中心", "公司", "部", "所", "站", "校", "银行", "单位", "政府", "医院", "学校"),
    "部门": ("局", "委", "办", "中心", "部", "所", "站", "政府", "部门"),
    "企业": ("公司", "厂", "集团", "基地", "企业", "合作社"),
    "公司": ("公司", "厂", "集团", "基地", "企业", "合作社"),
    "厂": ("公司", "厂", "集团", "基地", "企业"),
    "供应商": ("公司", "厂", "集团", "基地", "企业", "合作社"),
    "村": ("村",), "乡镇": ("镇", "乡", "街道"), "镇": ("镇", "乡", "街道"),
    "学校": ("学校", "小学", "中学", "大学", "学院"), "医院": ("医院", "院", "中心"),
    "文件": ("《",), "机构": ("院", "中心", "所", "站"),
}
_TITLES = ("董事长", "总经理", "经理", "局长", "书记", "主任", "区长", "县长", "镇长", "乡长", "村长", "主席", "院长", "校长",
           "组长", "负责人", "记者", "通讯员")
_NAME_AFTER_TITLE = re.compile(r"(董事长|总经理|经理|局长|书记|主任|区长|县长|镇长|乡长|村长|主席|院长|校长|组长|负责人|记者|通讯员)"
                               r"\s?([\u4e00-\u9fff]{2,3})")
_NOT_NAME_START = frozenset("荣表介带等和在对是的也都说获为被向从与及主将已")


@dataclass(frozen=True)
class Detail:
    """The detail a question asks for: ``kind`` (phone, hours, address, place, person, list,
    procedure, date, what, month) and an argument (the place suffix, the list's head noun, the verb, the months)."""

    kind: str
    arg: tuple[str, ...] = ()


def asked_detail(norm: str, answer_type: str | None) -> list[Detail]:
    """The details a normalised question asks for (empty: none that gating checks)."""
    out: list[Detail] = []
    if answer_type in ("hours", "address") or (answer_type == "phone" and _PHONE_ASK.search(norm)):
        out.append(Detail(answer_type))
    granular = _GRANULAR.search(norm)
    if granular and not re.search(r"哪(?:个|一个|些|几个)?(?:乡镇|街道|社区|村|镇|乡|县|区|市|省)(?:的)?(?:人|村民|群众)?(?:多少|有多少|有几)", norm):
        if not re.search(r"几个(?:乡镇|村|镇|乡)", norm):
            out.append(Detail("place", (granular.group(1),)))
    elif answer_type == "place" and _PLACE_ASK.search(norm):
        out.append(Detail("place", ()))
    if answer_type == "date" and _date_grain(norm) != "any":
        out.append(Detail("date", (_date_grain(norm),)))
    if answer_type == "person" and _PERSON_ASK.search(norm):
        out.append(Detail("person"))
    listed = _LIST_ASK.search(norm)
    if listed and listed.group(1):
        out.append(Detail("list", (listed.group(1),)))
    if _PROCEDURE_ASK.search(norm):
        out.append(Detail("procedure"))
    what = _WHAT_VERB.search(norm)
    if what:
        out.append(Detail("what", (what.group(1),)))
    months = tuple(sorted(set(_MONTH_ASKED.findall(norm))))
    if months and answer_type in ("money", "count", "count_person", "count_household", "number"):
        out.append(Detail("month", months))
    return out


_DAY_ASK = re.compile(r"哪天|哪一天|几号|几日|哪日|具体日期")
_YEAR_ASK = re.compile(r"哪年|哪一年|什么年|几几年")
_DATE_VALUE = {
    "day": re.compile(r"\d{1,2}(?:日|号)|月[初十廿卅一二三四五六七八九\d]{1,3}"),
    "year": re.compile(r"[\d〇零一二三四五六七八九十百千甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥]{1,6}\s?年|去年|今年|前年"),
    "any": re.compile(r"(?:19|20)\d{2}年|\d{1,2}月|\d{1,2}(?:日|号)|去年|今年|前年|上半年|下半年|年初|年底|年末|月份"),
}


def _date_grain(norm: str) -> str:
    """What a date question asks for: a day (哪天), a year (哪年) or any date (什么时候)."""
    return "day" if _DAY_ASK.search(norm) else "year" if _YEAR_ASK.search(norm) else "any"


#: Place-name endings outside the administrative ones (岛, 州, 山 ...), for "where" questions.
_WIDE_SUFFIX = ("岛", "州", "国", "城", "山", "河", "湖", "海", "湾", "洲", "港", "盆地", "平原", "郡")
#: Provinces, cities and counties jieba splits (黑龙江|省): found by pattern in the text.
_BIG_UNIT = re.compile(r"([\u4e00-\u9fff]{2,4})(省|市|县)")


def _places(text: str, words) -> list[str]:
    return [w for w in words if len(w) >= 2 and w not in GENERIC_PLACES and not w.endswith("乡村") and
            (w.endswith(_PLACE_SUFFIX + _WIDE_SUFFIX) or w.endswith("街道"))]


#: Words of local government prose (该区, 全市): a sentence written about "this district" that
#: names no place does not say where something is.
_LOCAL = re.compile(r"该区|全区|我区|本区|该市|全市|我市|本市|该县|全县|该镇|全镇|该村|全村|辖区")
_LOCATED = re.compile(r"位于|坐落|地处|设在|设于|出身于|来自|出生于|生于|发源于|源自|总部在|发表于|刊登|"
                      r"(?:于|在)[^,，。;；]{1,12}(?<!之)(?:《|中|上|里)|"
                      r"(?:于|在)[\u4e00-\u9fff]{1,10}(?:工厂|厂|港|机场|车站|站|大学|学院|医院|学校|中心|大厅|局)")


def carries(detail: Detail, text: str, words: list[str], question: str, title: str = "", *,
            places: frozenset[str] = frozenset(), strict: bool = False) -> bool:
    """True when a normalised answer ``text`` (segmented into ``words``) carries ``detail``
    beyond what the ``question`` and the document ``title`` already say. ``places``: place
    names the dictionary knows; ``strict`` (FAQ answers): a person question needs a name after
    a title in the text. A person is otherwise missing only when the question names a title (院长,
    董事长) the text lacks or gives to another entity; otherwise the ranker's type check decides."""
    if detail.kind in ("phone", "hours", "address"):
        return bool(ANSWER_TYPE_PREDICATES[detail.kind].search(text))
    if detail.kind == "place":
        if not strict and detail.arg[:1] not in (("村",), ("镇",), ("乡",), ("乡镇",), ("街道",), ("社区",)) \
                and not _LOCAL.search(text):
            return True  # not local news prose (no 该区/全市 ...): general text names places too freely to judge
        if not detail.arg and re.search(r"在[\u4e00-\u9fff]{1,10}(?:召开|举行|设立|举办)|"
                                        r"[\u4e00-\u9fff]{1,8}(?:局|服务中心|大厅|窗口|政府|村委会|居委会|办事处|医院|学校)", text):
            return True  # an event's venue, or an office to go to (去哪办 -> 区住建局)
        if not detail.arg and (_LOCATED.search(text) or any(w in places for w in words if w not in question
                                                               and w not in GENERIC_PLACES and w not in title)):
            return True  # 位于胶东半岛, 出身于北京国安, or a place name the dictionary knows
        admin = ("区", "县", "市", "省", "州", "郡")
        suffixes = {"乡镇": ("镇", "乡", "街道"), "镇": ("镇", "乡"), "乡": ("乡", "镇"), "区": admin, "县": admin,
                    "市": admin, "省": admin}.get(detail.arg[0], detail.arg) if detail.arg else _PLACE_SUFFIX + ("路", "街", "号") + _WIDE_SUFFIX
        for match in _BIG_UNIT.finditer(text) if detail.arg else ():
            name = match.group(0)
            if match.group(2) in suffixes and name not in question and name not in title and \
                    not any(name.endswith(g) for g in GENERIC_PLACES) and not re.search(r"[的该全本我各个和与在]", name):
                return True
        return any(w.endswith(tuple(suffixes)) and w not in question and w not in title
                   for w in _places(text, words) + [w for w in words if w.endswith(("路", "街", "号")) and len(w) >= 3])
    if detail.kind == "person":
        asked_titles = [t for t in _TITLES if t in question]
        if asked_titles and not any(t in text for t in asked_titles):
            return False  # 院长 asked, the sentence names no 院长
        named = [m for m in _NAME_AFTER_TITLE.finditer(text) if m.group(1) in question
                 and m.group(2)[0] not in _NOT_NAME_START and m.group(2) not in question]
        if not named:
            return not strict  # a curated FAQ answer must name the person; for passages the ranker's type check decides
        return any(_same_entity(question, m.group(1), text[max(0, m.start() - 12):m.start()]) for m in named)
    if detail.kind == "procedure":
        return bool(_PROCEDURE.search(text))
    if detail.kind == "list":
        suffixes = _HEAD_SUFFIXES.get(detail.arg[0])
        if suffixes is None:
            return bool(re.search(r"[、;；]", text))
        if detail.arg[0] == "文件":
            return text.count("《") >= 2
        pieces = re.split(r"[、;；]", text)
        if len(pieces) < 2:
            return False
        return any(any(s in piece for s in suffixes) and piece not in question for piece in pieces)
    if detail.kind == "date":
        return any(m.group(0) not in question for m in _DATE_VALUE[detail.arg[0]].finditer(text))
    if detail.kind == "what":
        return detail.arg[0] in text
    if detail.kind == "month":
        found = set(_MONTH.findall(text))
        return not found or all(m in found for m in detail.arg)
    return True


def _same_entity(question: str, title: str, before: str) -> bool:
    """Whether the words before ``title`` in the answer (``before``) name the entity the
    question puts before its own title word (凌宝 in 凌宝珠光颜料公司董事长是谁); True when the
    question names none (哪个记者写的)."""
    at = question.find(title)
    head = re.sub(r"(的|那个|这个)$", "", question[:at]) if at > 0 else ""
    head = head[-6:]
    if len(head) < 2 or re.search(r"哪|什么|是$", head):
        return True
    pieces = {head[i:i + 2] for i in range(len(head) - 1)} - _GENERIC_BIGRAMS
    return any(p in before for p in pieces)


def missing(details: list[Detail], text: str, words: list[str], question: str, title: str = "", *,
            places: frozenset[str] = frozenset(), strict: bool = False) -> Detail | None:
    """The first of ``details`` the answer text lacks, or None when it carries them all
    (arguments as :func:`carries`)."""
    for detail in details:
        if not carries(detail, text, words, question, title, places=places, strict=strict):
            return detail
    return None
