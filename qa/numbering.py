"""Word list numbering: counters per list and the number formats of ``w:numFmt``.

Formats follow ECMA-376 Part 1 §17.18.59 (ST_NumberFormat). The Chinese ones are what
district offices use for 第一条, （一）, 壹, 甲: ``chineseCounting`` / ``chineseCountingThousand``
(一 .. 十一 .. 一百零一), ``ideographTraditional`` (甲乙丙丁戊己庚辛壬癸), ``ideographZodiac``
(子丑寅卯…), ``chineseLegalSimplified`` (壹贰叁), ``ideographDigital`` (digit by digit, 一〇),
and the enclosed forms (①). Unknown formats fall back to decimal, never to a placeholder.
"""

from __future__ import annotations

_DIGITS = "〇一二三四五六七八九"
_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_TRADITIONAL = "甲乙丙丁戊己庚辛壬癸"
_ZODIAC = "子丑寅卯辰巳午未申酉戌亥"
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def chinese_counting(value: int, digits: str = _DIGITS, units: str = "十百千") -> str:
    """1 -> 一, 10 -> 十, 11 -> 十一, 20 -> 二十, 101 -> 一百零一 (value 0..9999)."""
    if value == 0:
        return digits[0]
    if value >= 10000:
        return str(value)
    out, zero = "", False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        d = value // power % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"                     # the filler inside a number is 零 in both styles
            zero = False
        if not (power == 10 and d == 1 and not out and units[0] == "十"):
            out += digits[d]
        out += unit
    return out


def _letters(value: int, base: str) -> str:
    # Word repeats the letter: 27 -> aa, 28 -> bb (ST_NumberFormat lowerLetter)
    return base[(value - 1) % 26] * ((value - 1) // 26 + 1)


def _roman(value: int) -> str:
    out = ""
    for number, text in _ROMAN:
        while value >= number:
            out += text
            value -= number
    return out


def format_number(value: int, fmt: str) -> str:
    """Render list counter ``value`` (>= 0) in Word number format ``fmt``.

    Unknown or unsupported formats render as decimal; ``bullet`` and ``none`` render "".
    """
    if fmt in ("bullet", "none"):
        return ""
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "taiwaneseCountingThousand",
               "japaneseCounting"):
        return chinese_counting(value)
    if fmt == "chineseLegalSimplified":
        return chinese_counting(value, _LEGAL, "拾佰仟")
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_DIGITS[int(d)] for d in str(value))
    if fmt == "ideographTraditional" and 1 <= value <= 10:
        return _TRADITIONAL[value - 1]
    if fmt == "ideographZodiac" and 1 <= value <= 12:
        return _ZODIAC[value - 1]
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese", "ideographEnclosedCircle") and 1 <= value <= 20:
        return chr(0x2460 + value - 1)
    if fmt == "decimalEnclosedParen" and 1 <= value <= 20:
        return chr(0x2474 + value - 1)
    if fmt == "decimalFullWidth" or fmt == "decimalFullWidth2":
        return "".join(chr(0xFF10 + int(d)) for d in str(value))
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt == "lowerLetter":
        return _letters(value, "abcdefghijklmnopqrstuvwxyz")
    if fmt == "upperLetter":
        return _letters(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if fmt == "lowerRoman":
        return _roman(value)
    if fmt == "upperRoman":
        return _roman(value).upper()
    return str(value)


class NumberingCounters:
    """Counters of every list (``w:numId``) in a document, advanced paragraph by paragraph."""

    def __init__(self) -> None:
        self._counters: dict[str, list[int | None]] = {}

    def step(self, num_id: str, ilvl: int, levels: dict[int, dict]) -> list[int]:
        """Advance level ``ilvl`` of list ``num_id`` and return the counters of levels
        0..ilvl. Deeper levels restart; a level never seen starts at its ``start`` value.
        ``levels``: {ilvl: {"start": int, ...}} of the list."""
        counters = self._counters.setdefault(num_id, [None] * 9)
        ilvl = max(0, min(ilvl, 8))
        current = counters[ilvl]
        counters[ilvl] = levels.get(ilvl, {}).get("start", 1) if current is None else current + 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = None
        return [c if c is not None else levels.get(i, {}).get("start", 1) for i, c in enumerate(counters[:ilvl + 1])]
