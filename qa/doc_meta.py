"""Document metadata: front-matter keys and what a policy text says about itself.

Front matter (``.md``/``.txt``) may use English or Chinese keys (``title``/标题,
``doc_number``/发文字号, ``date``/发布日期, ``source``/来源, ``url``/链接, ``valid_from``/施行日期,
``valid_until``/失效日期, ``status``/状态, ``supersedes``/替代). From the text itself, following
the wording of GB/T 9704-2012 documents and of 办法/通知 as published by district governments:

* 发文字号: 宛政办〔2023〕12号 (brackets 〔〕[]（） accepted);
* 施行: 「本办法自2023年6月1日起施行」, 「自发布之日起施行」 (= the 发布日期);
* 有效期: 「有效期至2025年12月31日」, 「有效期为3年」 (counted from 施行);
* supersedes: 「《宛城区…办法》（宛政〔2019〕3号）同时废止」;
* status: 「有效性：已废止」 (information tables of 政府信息公开 pages).

All functions are pure; dates come out as ISO ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

import datetime as dt
import re

#: Statuses a document can have (DESIGN.md "Documents").
STATUS_CURRENT, STATUS_REPEALED, STATUS_AMENDED = "现行有效", "已废止", "已修订"
STATUSES = (STATUS_CURRENT, STATUS_REPEALED, STATUS_AMENDED)
_STATUS_WORDS = {"现行有效": STATUS_CURRENT, "有效": STATUS_CURRENT, "现行": STATUS_CURRENT,
                 "已废止": STATUS_REPEALED, "废止": STATUS_REPEALED, "失效": STATUS_REPEALED,
                 "已失效": STATUS_REPEALED, "已修订": STATUS_AMENDED, "已修改": STATUS_AMENDED,
                 "修订": STATUS_AMENDED, "current": STATUS_CURRENT, "repealed": STATUS_REPEALED,
                 "expired": STATUS_REPEALED, "amended": STATUS_AMENDED}
#: Front-matter key -> field name.
FRONT_KEYS = {
    "title": "title", "标题": "title", "source": "source", "来源": "source", "date": "date",
    "发布日期": "date", "发布时间": "date", "成文日期": "date", "url": "url", "链接": "url",
    "doc_number": "doc_number", "发文字号": "doc_number", "文号": "doc_number",
    "valid_from": "valid_from", "施行日期": "valid_from", "生效日期": "valid_from",
    "valid_until": "valid_until", "失效日期": "valid_until", "有效期至": "valid_until",
    "status": "status", "状态": "status", "有效性": "status", "supersedes": "supersedes", "替代": "supersedes",
}
FIELDS = ("title", "source", "date", "url", "doc_number", "valid_from", "valid_until", "status", "supersedes")

_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "О": 0, "0": 0}
DOC_NUMBER = re.compile(r"[\u4e00-\u9fa5]{1,12}\s*[〔\[［(（【]\s*(?:19|20)\d{2}\s*[〕\]］)）】]\s*\d{1,4}\s*号")
_DATE = (r"(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}"
         r"|[〇零○一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月\s*[一二三四五六七八九十]{1,3}\s*日)")
DATE = re.compile(_DATE)
_VALID_FROM = re.compile(rf"自\s*({_DATE}|(?:印发|发布|公布|下发)之日)\s*起\s*(?:施行|执行|实施|生效)")
_VALID_UNTIL = re.compile(rf"有效期(?:至|到|截至)\s*({_DATE})")
_VALID_YEARS = re.compile(r"有效期(?:为|是)?\s*([一二三四五两\d]{1,2})\s*年")
_SUPERSEDES = re.compile(r"《([^《》]{4,80})》\s*(?:[（(]([^（）()]{0,30})[）)])?\s*(?:同时|即行|予以|自行)?\s*(?:废止|失效)")
_STATUS_LABEL = re.compile(r"(?:有效性|效力状态|时效性|效力)\s*[:：]\s*(现行有效|有效|已废止|废止|已失效|失效|已修订|已修改)")
_LABELLED = {"date": re.compile(rf"(?:发布日期|发布时间|成文日期|印发日期)\s*[:：]\s*({_DATE})"),
             "source": re.compile(r"(?:来源|信息来源|发布机构|发文机关)\s*[:：]\s*([^\s|｜]{2,30})")}


def _cn_small(text: str) -> int:
    """一 .. 三十一 -> int (month and day numerals)."""
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(text, 0)


def parse_date(text: str | None) -> str | None:
    """An ISO date from 2023年5月12日, 2023-05-12, 2023/5/12, 2023.5.12 or 二〇二三年五月十二日;
    None when ``text`` is empty or not a valid calendar date."""
    if not text:
        return None
    text = re.sub(r"\s+", "", text)
    match = re.match(r"^((?:19|20)\d{2})[年\-/.](\d{1,2})[月\-/.](\d{1,2})日?", text)
    if match:
        y, m, d = (int(g) for g in match.groups())
    else:
        match = re.match(r"^([〇零○一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日", text)
        if not match:
            return None
        y = int("".join(str(_CN_DIGITS[c]) for c in match.group(1)))
        m, d = _cn_small(match.group(2)), _cn_small(match.group(3))
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def normalize_status(text: str | None) -> str | None:
    """One of :data:`STATUSES` for 有效/废止/失效/修订 and English current/repealed/amended;
    None for anything else."""
    return _STATUS_WORDS.get((text or "").strip().lower())


def from_front_matter(meta: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split raw front matter into (known fields, other keys). Dates are made ISO and the
    status normalised; a value that does not parse is kept under its raw key in "other"."""
    fields: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, value in meta.items():
        name = FRONT_KEYS.get(key.strip().lower()) or FRONT_KEYS.get(key.strip())
        if name is None or not value:
            other[key] = value
            continue
        if name in ("date", "valid_from", "valid_until"):
            parsed = parse_date(value)
            if parsed is None:
                other[key] = value
                continue
            value = parsed
        elif name == "status":
            status = normalize_status(value)
            if status is None:
                other[key] = value
                continue
            value = status
        fields[name] = value
    return fields, other


def _add_years(iso: str, years: int) -> str:
    day = dt.date.fromisoformat(iso)
    try:
        end = day.replace(year=day.year + years)
    except ValueError:  # 29 February
        end = day.replace(year=day.year + years, day=28)
    return (end - dt.timedelta(days=1)).isoformat()


def from_text(paragraphs: list[str]) -> dict[str, str]:
    """What the document says about itself (fields of :data:`FIELDS` except title and url).

    ``paragraphs`` in reading order. The 发文字号 and labelled 发布日期/来源 are looked for in
    the first ten paragraphs; the signature date (a paragraph that is only a date) near the
    end is the 发布日期 when no label gave one; 施行/有效期/废止 sentences anywhere.
    """
    found: dict[str, str] = {}
    head = "\n".join(paragraphs[:10])
    match = DOC_NUMBER.search(head)
    if match:
        found["doc_number"] = re.sub(r"\s+", "", match.group(0))
    for name, pattern in _LABELLED.items():
        match = pattern.search(head)
        if match:
            value = parse_date(match.group(1)) if name == "date" else match.group(1)
            if value:
                found[name] = value
    if "date" not in found:
        for text in reversed(paragraphs[-6:]):
            stripped = text.strip()
            if len(stripped) <= 18 and DATE.fullmatch(stripped) and parse_date(stripped):
                found["date"] = parse_date(stripped)
                break
    body = "\n".join(paragraphs)
    match = _VALID_FROM.search(body)
    if match:
        value = parse_date(match.group(1))
        value = value or found.get("date")          # 自发布之日起施行
        if value:
            found["valid_from"] = value
    match = _VALID_UNTIL.search(body)
    if match and parse_date(match.group(1)):
        found["valid_until"] = parse_date(match.group(1))
    else:
        match = _VALID_YEARS.search(body)
        start = found.get("valid_from") or found.get("date")
        if match and start:
            raw = match.group(1)
            years = int(raw) if raw.isdigit() else _cn_small(raw.replace("两", "二"))
            if years:
                found["valid_until"] = _add_years(start, years)
    match = _SUPERSEDES.search(body)
    if match:
        found["supersedes"] = match.group(1).strip()
    match = _STATUS_LABEL.search(head)
    if match:
        found["status"] = normalize_status(match.group(1)) or STATUS_CURRENT
    return found


#: The issuing authority's mark on an official document's first page (GB/T 9704-2012 §7.2.2,
#: 发文机关标志): 「宛城区人民政府文件」, 「宛城区人民政府办公室文件」.
_ISSUER_MARK = re.compile(r"^[\u4e00-\u9fa5（）()]{2,30}(?:文件|公报|简报|通报)$")


def is_metadata_line(text: str) -> bool:
    """A 发文字号, a date or an issuer mark standing alone: short, but neither title nor heading."""
    bare = text.strip().lstrip("\x00")
    return bool(DOC_NUMBER.fullmatch(bare) or DATE.fullmatch(bare) or _ISSUER_MARK.match(bare))
