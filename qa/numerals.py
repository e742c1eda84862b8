"""Chinese numerals to Arabic digits inside free text, without breaking words.

This is one step of :func:`qa.text.normalize`; it lives in its own module only to keep
``text.py`` short. Conversion of a numeral run is delegated to ``cn2an`` (a maintained
library); this module decides *which* runs are numbers.

Rules (each one exists because of a phrase in policy text):

* A run of two or more numeral characters is a number when it is digit-by-digit with a
  zero (二〇二〇, 二零二一), followed by 年 (一九九八年), or written with units (两千六百五十二,
  十六). Other digit-by-digit runs are idioms far more often than numbers (三三两两, 一五一十).
* A run that starts with 百/千/万/亿 is not a number (千万 "must", 万一 "in case").
* A single numeral character is converted only before a measure word (一个 -> 1个, 两户 -> 2户)
  and never inside a protected term (一个不漏, 两不愁三保障, 四议两公开 ...).
* A trailing 万 or 亿 stays a unit so the key matches how articles write amounts:
  九千九百三十九万 -> 9939万 (the seed article writes 9939万元).
* 百分之三十 -> 30%.
* After 几 or 数 a run is an approximation, not a number (几十万, 数百人): left as written.
* 一 after 哪/这/那/每/同/某 ... is a determiner (哪一年, 这一天, 同一个): left as written.
"""

from __future__ import annotations

import re

import cn2an

_DIGITS = "〇零一二两三四五六七八九"
_UNITS = "十百千万亿"
_NUMERAL_CHARS = _DIGITS + _UNITS
_DIGIT_VALUE = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}
_DIGIT_VALUE.update({"零": "0", "两": "2"})

#: Measure words (量词) and units after which a lone numeral is a count: 一个, 两户, 三家.
MEASURE_WORDS = frozenset("个户人家元名位项次所条座亩天年月日岁台辆间张件批期类种")

#: Terms whose numerals are part of a name or slogan, never a count. Matching is by
#: substring on the NFKC/simplified text. Source: the seed article and common policy slogans.
PROTECTED_TERMS = (
    "一个不漏", "两不愁", "三保障", "四集中", "六类对象", "三类人员", "六种情形", "一有二同四保障",
    "四议两公开", "三有一可", "七改一增", "一户一策", "一村一品", "一对一", "一站式", "一次性",
    "一把手", "一线", "一网通办", "最多跑一次", "五保", "三无人员", "一卡通", "两委", "三会一课",
    "一老一小", "一事一议", "一人一档", "一刀切", "一揽子", "统一", "唯一", "万一", "千万",
    "一些", "一起", "一样", "一定", "一直", "一般", "一切", "一致", "一体", "一律", "一并",
    "第一书记", "一带一路", "三农", "两学一做", "四个全面", "十四五", "十三五", "十二五",
)

#: Characters before 一 that make it a determiner (哪一年 = which year), not a count.
_DETERMINERS = frozenset("哪这那每同某任另统唯第单")
_RUN = re.compile(f"[{_NUMERAL_CHARS}](?:[{_NUMERAL_CHARS}]|点(?=[{_DIGITS}]))*")
_PERCENT = re.compile(f"百分之([{_NUMERAL_CHARS}点]+|\\d+(?:\\.\\d+)?)")
_PROTECTED = re.compile("|".join(sorted(map(re.escape, PROTECTED_TERMS), key=len, reverse=True)))


def _convert_run(run: str, next_char: str) -> str | None:
    """Arabic form of one maximal numeral run, or None to leave it as written."""
    if run[0] in "百千万亿":
        return None
    if len(run) == 1:
        if next_char in MEASURE_WORDS:
            return "10" if run == "十" else _DIGIT_VALUE.get(run)
        return None
    unit = ""
    if run[-1] in "万亿":
        run, unit = run[:-1], run[-1]
    if "点" in run:
        head, _, tail = run.partition("点")
        whole = _convert_run(head, "") if len(head) > 1 else _DIGIT_VALUE.get(head, "10" if head == "十" else None)
        frac = "".join(_DIGIT_VALUE.get(c, "?") for c in tail)
        return None if whole is None or "?" in frac else f"{whole}.{frac}{unit}"
    if not any(c in _UNITS for c in run):
        if not unit and ("〇" in run or "零" in run or next_char == "年"):
            return "".join(_DIGIT_VALUE[c] for c in run)
        if not unit:
            return None
    try:
        value = cn2an.cn2an(run, "smart")
    except Exception:  # cn2an raises ValueError and friends on non-numbers; keep the text.
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def _convert_span(text: str) -> str:
    def percent(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner[0].isdigit():
            return f"{inner}%"
        converted = _convert_run(inner, "") if len(inner) > 1 else _convert_run(inner, "个")
        return f"{converted}%" if converted is not None else match.group(0)

    text = _PERCENT.sub(percent, text)

    def run(match: re.Match[str]) -> str:
        start, end = match.span()
        if start and text[start - 1] in "几数":  # 几十万, 数百人: approximate, not a number
            return match.group(0)
        if match.group(0) == "一" and start and text[start - 1] in _DETERMINERS:
            return match.group(0)  # 哪一年, 这一天, 同一个: "which/this/same", not the number 1
        converted = _convert_run(match.group(0), text[end] if end < len(text) else "")
        return match.group(0) if converted is None else converted

    return _RUN.sub(run, text)


def chinese_numerals_to_arabic(text: str) -> str:
    """Replace Chinese numerals that denote numbers with Arabic digits.

    Args:
        text: NFKC-normalised, simplified-script text of any length.

    Returns:
        The text with number runs converted (see the module docstring for the rules);
        protected terms and non-numeric uses are left untouched. Never raises.
    """
    if not any(c in _NUMERAL_CHARS for c in text):
        return text
    out, pos = [], 0
    for match in _PROTECTED.finditer(text):
        out.append(_convert_span(text[pos:match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_convert_span(text[pos:]))
    return "".join(out)
