"""Approximate numbers and confirmation questions: numbers as hints, not keys.

「两千多人」「上千户」「大几千万」「百十个」「快一个亿」「九十来万」 name a range, and 「……四千万对不对」
states a value to be confirmed. Such a number must not pull up whichever sentence happens to
hold the same digits, and must not be excluded as "the question's own number" when the answer
is exactly that number. :func:`hints` rewrites each approximate or confirmed number to 多少
(so the question asks for a count of the same unit) and returns its range; :func:`in_range`
tells whether a sentence holds a number in one of the ranges, which :mod:`qa.retrieve` uses as
a tie-breaking bonus (``residents.approx_bonus`` in qa/params.json).

Works on :func:`qa.text.normalize`-d text (Arabic digits; runs such as 五六百 stay as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_BIG = {"万": 10_000, "亿": 100_000_000}

#: A question that asks to confirm a stated number (…对不对, …是不是, …对吧, …吧, …吗).
CONFIRM = re.compile(r"(对不对|对吧|对吗|是不是|是吧|是吗|没错吧|吧|吗)[\W]*$")


@dataclass(frozen=True)
class Range:
    """An inclusive range of values (absolute, in units of one) a number hint stands for."""

    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def _scale(unit: str | None) -> int:
    return _BIG.get(unit or "", 1)


def _step(number: str) -> int:
    """The place value of a number's last non-zero digit: 2000 -> 1000, 1400 -> 100, 21 -> 1."""
    digits = number.split(".")[0]
    zeros = len(digits) - len(digits.rstrip("0"))
    return 10 ** zeros if digits.strip("0") else 1


def _adjacent(match: re.Match) -> Range:
    """一千五六百 -> 1500..1699, 六七十 -> 60..79: two adjacent digits before a unit."""
    base = _CN[match.group(1)] * 1000 if match.group(1) else 0
    unit = _UNIT[match.group(4)]
    scale = _scale(match.group(5))
    return Range((base + _CN[match.group(2)] * unit) * scale, (base + (_CN[match.group(3)] + 1) * unit - 1) * scale)


_PATTERNS: tuple[tuple[re.Pattern[str], object], ...] = (
    # 1000五六百 (一千五六百 after numeral conversion stays 一千五六百; both forms handled)
    (re.compile(r"(?:([一二两三四五六七八九])千)?([一二三四五六七八九])([二三四五六七八九])([十百千])(万|亿)?"),
     lambda m: _adjacent(m)),
    (re.compile(r"百十"), lambda m: Range(80, 150)),
    (re.compile(r"(大)?几([十百千万])(万|亿)?"),
     lambda m: Range((5 if m.group(1) else 2) * _UNIT[m.group(2)] * _scale(m.group(3)),
                     10 * _UNIT[m.group(2)] * _scale(m.group(3)))),
    (re.compile(r"[上成]([百千万])(万|亿)?"),
     lambda m: Range(_UNIT[m.group(1)] * _scale(m.group(2)), 10 * _UNIT[m.group(1)] * _scale(m.group(2)))),
    (re.compile(r"(?:快|将近|接近|近|差不多|大约|大概|约)(\d+(?:\.\d+)?)个?(万|亿)?"),
     lambda m: Range(0.85 * float(m.group(1)) * _scale(m.group(2)), 1.05 * float(m.group(1)) * _scale(m.group(2)))),
    (re.compile(r"(\d+(?:\.\d+)?)(多|余)(万|亿)?"),
     lambda m: Range(float(m.group(1)) * _scale(m.group(3)),
                     (float(m.group(1)) + _step(m.group(1))) * _scale(m.group(3)))),
    (re.compile(r"(\d+(?:\.\d+)?)(来|左右)(万|亿)?"),
     lambda m: Range(0.85 * float(m.group(1)) * _scale(m.group(3)), 1.15 * float(m.group(1)) * _scale(m.group(3)))),
)
#: An exact number stated in a confirmation question (not a year, month or day).
_STATED = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?|[一二两三四五六七八九]千)(万|亿)?(?=[个户人家元名位张亩所项块床])")
_MEASURES = frozenset("个户人家元名位张亩所项块床次")
#: What may follow an approximate number without a measure word (…两千多对不对, …百十个吗).
_ENDINGS = frozenset(["", "对", "是", "吧", "吗", "啊", "呀", "呢", " ", ",", "?"])
_YEARISH = re.compile(r"(?:19|20)\d{2}")


def hints(norm: str) -> tuple[str, tuple[Range, ...]]:
    """Rewrite approximate numbers (and, in a confirmation question, stated numbers) of a
    normalised question to 多少 and return (rewritten text, their ranges). Unit characters after
    the number (人, 户, 万, 个) are kept, so 两千多人 -> 多少人 still asks for a count of people.
    Text without such numbers is returned unchanged with no ranges."""
    ranges: list[Range] = []

    def take(builder):
        def sub(match: re.Match) -> str:
            big = [g for g in match.groups() if g in ("万", "亿")]
            after = match.string[match.end():match.end() + 1]
            if after not in _MEASURES and after not in _ENDINGS and not big:
                return match.group(0)  # 七十多了, 七十多岁: an age or a story, not a count asked about
            ranges.append(builder(match))
            return "多少" + (big[-1] if big and after not in _MEASURES else "")
        return sub

    for pattern, builder in _PATTERNS:
        norm = pattern.sub(take(builder), norm)
    if CONFIRM.search(norm):
        def stated(match: re.Match) -> str:
            if _YEARISH.fullmatch(match.group(1)):
                return match.group(0)
            number = match.group(1)
            value = (_CN[number[0]] * 1000 if number.endswith("千") else float(number)) * _scale(match.group(2))
            ranges.append(Range(0.95 * value, 1.05 * value))
            return "多少" + (match.group(2) or "")
        norm = _STATED.sub(stated, re.sub(r"([一二两三四五六七八九]千万)(?![个户人家元名位张亩所项块床])", r"\1元", norm))
    return norm, tuple(ranges)


_VALUE = re.compile(r"(\d+(?:\.\d+)?)(?:余|多)?(万|亿)?")


def in_range(norm_sentence: str, ranges: tuple[Range, ...]) -> bool:
    """True when the normalised sentence holds a number (times 万/亿 when written after it)
    inside one of ``ranges``."""
    if not ranges:
        return False
    for match in _VALUE.finditer(norm_sentence):
        value = float(match.group(1)) * _scale(match.group(2))
        if any(value in r for r in ranges):
            return True
    return False
