"""FAQ files: CSV (UTF-8 with or without BOM, or GB18030 as Excel in China writes) and XLSX.

Header, exactly: ``id,question,alternates,answer,source`` (optional ``tags``, ``status`` and
``negatives`` columns are accepted after them, in any order; export writes all three, so export
-> import round-trips the enabled/disabled state and the negative questions). Alternates, tags
and negatives (negative questions: phrasings the entry must not answer) are separated by ``|``;
a negative question may not repeat the question or an alternate. Reading validates every
row and raises :class:`FaqFileError` naming the line; nothing is returned unless the whole
file is valid, so imports are all-or-nothing. Files are bounded before parsing
(:mod:`faq.file_limits`: file size, an XLSX archive's declared sizes, rows).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from faq.file_limits import MAX_ROWS, FileTooLarge, check_file_size, check_xlsx_archive

HEADER = ["id", "question", "alternates", "answer", "source"]
OPTIONAL = ["tags", "status", "negatives"]
#: ``status`` cells: active/disabled, also 启用/停用 as staff may type them in Excel.
_STATUS = {"active": "active", "disabled": "disabled", "启用": "active", "停用": "disabled"}
MAX_FIELD_CHARS = {"id": 40, "question": 200, "alternates": 4000, "answer": 4000, "source": 500, "tags": 500,
                   "status": 20, "negatives": 4000}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# C0/C1 controls (tab and newline are kept: answers may have line breaks), zero-width and bidi
# formatting characters: invisible in a cell, harmful in a reply or a worksheet.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
# A leading = + - @ makes a cell a formula in Excel and LibreOffice (CSV injection, OWASP);
# CSV export writes such cells with a leading apostrophe, which import removes again. A value
# that is apostrophes followed by a formula character ('=x) gets one more, so the round trip
# is exact. XLSX cells are written as text cells and read back unchanged.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Columns read from an XLSX row: the seven of the format plus one to detect extra columns.
_XLSX_COLUMNS = len(HEADER) + len(OPTIONAL) + 1


def clean(text: str | None) -> str:
    """A staff field without control, zero-width and bidi characters, stripped."""
    return _CONTROL.sub("", text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _needs_escape(value: str) -> bool:
    """True when ``value`` starts a formula, possibly after apostrophes (``=x``, ``'=x``)."""
    return value.lstrip("'").startswith(_FORMULA_START)


def _unescape_formula(value: str) -> str:
    """Inverse of :func:`_escape_formula`: ``'=x`` -> ``=x``, ``''=x`` -> ``'=x``, ``'x`` kept."""
    return value[1:] if value.startswith("'") and _needs_escape(value[1:]) else value


def _escape_formula(value: str) -> str:
    return "'" + value if _needs_escape(value) else value


class FaqFileError(ValueError):
    """The file cannot be imported; the message names the file line (1-based, header = 1)."""


def split_list(value: str) -> list[str]:
    """``"甲|乙| 丙 "`` -> ``["甲", "乙", "丙"]`` (cleaned, blanks dropped, duplicates kept once)."""
    return list(dict.fromkeys(clean(part) for part in (value or "").split("|") if clean(part)))


#: Byte-order marks: UTF-8 and GB18030 (U+FEFF encoded in GB18030 is 84 31 95 33, which some
#: Chinese editors write; decoded as GB18030 it would leave an invisible U+FEFF in the header).
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_GB18030 = b"\x84\x31\x95\x33"


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(_BOM_UTF8):
        raw = raw[3:]
    elif raw.startswith(_BOM_GB18030):
        try:
            return raw[4:].decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FaqFileError(f"{name}: 文件开头标明是 GB18030 编码，但内容无法按 GB18030 读取") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole. GB18030 decodes almost any bytes, so first make sure the file is
    # not UTF-8 lines mixed with GB18030 lines (pasted from two sources): that would import
    # as mojibake.
    for number, line in enumerate(raw.split(b"\n"), 1):
        if max(line, default=0) >= 0x80:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            raise FaqFileError(f"{name} 第{number}行：文件里混用了 UTF-8 和 GB18030 两种编码，请整份另存为同一种编码")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FaqFileError(f"{name}: 文件编码无法识别（请保存为 UTF-8 或 GB18030 的 CSV）") from exc


def _rows_from_csv(raw: bytes, name: str) -> list[tuple[int, list[str]]]:
    text = _decode(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    try:
        for row in reader:
            out.append((reader.line_num, row))
            if len(out) > MAX_ROWS + 1:
                raise FaqFileError(f"{name}：行数太多（上限 {MAX_ROWS} 行），请分成几个文件导入")
    except csv.Error as exc:
        raise FaqFileError(f"{name} 第{reader.line_num}行：CSV 格式错误（{exc}）") from exc
    return out


def _rows_from_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        check_xlsx_archive(path)
    except FileTooLarge as exc:
        raise FaqFileError(str(exc)) from None
    except zipfile.BadZipFile as exc:
        raise FaqFileError(f"{path.name}：不是有效的 XLSX 文件（{exc.__class__.__name__}）") from exc
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError variants for bad files
        raise FaqFileError(f"{path.name}：不是有效的 XLSX 文件（{exc.__class__.__name__}）") from exc
    sheet = workbook.worksheets[0]
    out = []
    for number, row in enumerate(sheet.iter_rows(max_col=_XLSX_COLUMNS, values_only=True), 1):
        if number > MAX_ROWS + 1:
            workbook.close()
            raise FaqFileError(f"{path.name}：行数太多（上限 {MAX_ROWS} 行），请分成几个文件导入")
        cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append((number, cells))
    workbook.close()
    return out


def _entry(name: str, line: int, header: list[str], row: list[str], seen: dict[str, int], *, xlsx: bool) -> dict:
    """One validated entry from a data row (XLSX cells are typed, so only CSV cells carry the
    formula escape). Raises FaqFileError naming the line."""
    if len(row) > len(header):
        raise FaqFileError(f"{name} 第{line}行：列数多于表头（{len(row)} > {len(header)}），请检查是否有未加引号的逗号")
    cells = [clean(c.strip() if xlsx else _unescape_formula(c.strip())) for c in row]
    values = dict(zip(header, cells + [""] * (len(header) - len(row))))
    for field_name, limit in MAX_FIELD_CHARS.items():
        if len(values.get(field_name, "")) > limit:
            raise FaqFileError(f"{name} 第{line}行：{field_name} 超过 {limit} 字")
    if values["id"] and not _ID.match(values["id"]):
        raise FaqFileError(f"{name} 第{line}行：id 只能包含字母、数字、-和_（实际：{values['id']!r}）")
    if values["id"] in seen:
        raise FaqFileError(f"{name} 第{line}行：id {values['id']} 与第{seen[values['id']]}行重复")
    if not values["question"]:
        raise FaqFileError(f"{name} 第{line}行：question 不能为空")
    if not values["answer"]:
        raise FaqFileError(f"{name} 第{line}行：answer 不能为空")
    status = values.get("status", "").lower()
    if status and status not in _STATUS:
        raise FaqFileError(f"{name} 第{line}行：status 只能是 active（启用）或 disabled（停用），实际是 {status!r}")
    if values["id"]:
        seen[values["id"]] = line
    alternates, negatives = split_list(values["alternates"]), split_list(values.get("negatives", ""))
    clash = negative_clash(values["question"], alternates, negatives)
    if clash:
        raise FaqFileError(f"{name} 第{line}行：反例问题「{clash}」与本条的问题或其他问法相同")
    entry = {"id": values["id"], "question": values["question"], "alternates": alternates, "answer": values["answer"],
             "source": values["source"], "tags": split_list(values.get("tags", ""))}
    if "negatives" in header:  # a file without the column keeps the entries' negative questions
        entry["negatives"] = negatives
    if status:
        entry["status"] = _STATUS[status]
    return entry


def check_entries(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """Every valid entry with its file line, and one message per invalid line (for a dry run).

    Returns:
        ``([(line, entry), ...], [error message, ...])``; entries as in :func:`read_entries`.

    Raises:
        FaqFileError: the file as a whole is unusable (encoding, header, not XLSX, empty).
        OSError: the file cannot be read.
    """
    name = path.name
    xlsx = path.suffix.lower() == ".xlsx"
    if not xlsx:
        try:
            check_file_size(path)
        except FileTooLarge as exc:
            raise FaqFileError(str(exc)) from None
    rows = _rows_from_xlsx(path) if xlsx else _rows_from_csv(path.read_bytes(), name)
    rows = [(n, r) for n, r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise FaqFileError(f"{name}：文件是空的")
    line, header = rows[0]
    header = [h.strip().lower() for h in header]
    if header[:5] != HEADER or any(h not in OPTIONAL for h in header[5:]) or len(set(header)) != len(header):
        raise FaqFileError(f"{name} 第{line}行：表头必须是 {','.join(HEADER)}（可选列 {','.join(OPTIONAL)}），"
                           f"实际是 {','.join(header)}")
    entries, errors, seen = [], [], {}
    for line, row in rows[1:]:
        try:
            entries.append((line, _entry(name, line, header, row, seen, xlsx=xlsx)))
        except FaqFileError as exc:
            errors.append(str(exc))
    return entries, errors


def read_entries(path: Path) -> list[dict]:
    """Validated entries of a CSV or XLSX file, in file order.

    Returns:
        dicts with id ("" for new entries), question, alternates (list), answer, source, tags,
        and ``status`` ("active"/"disabled") only when the file has a non-blank status cell.

    Raises:
        FaqFileError: wrong header, blank question or answer, bad id, duplicate id, overlong
            field, bad status (the first error; the message names the line).
        OSError: the file cannot be read.
    """
    entries, errors = check_entries(path)
    if errors:
        raise FaqFileError(errors[0])
    return [entry for _, entry in entries]


def negative_clash(question: str, alternates: list[str], negatives: list[str]) -> str | None:
    """The first negative question equal to the question or an alternate (after removing
    spaces), else None: a phrasing cannot be both a positive and a negative of one entry
    (WeKnora refuses the same, internal/application/service/knowledge_faq.go)."""
    positives = {"".join(q.split()) for q in [question, *alternates]}
    return next((n for n in negatives if "".join(n.split()) in positives), None)


def _export_rows(records) -> list[list[str]]:
    rows = [HEADER + OPTIONAL]
    for r in records:
        rows.append([r.id, r.question, "|".join(r.alternates), r.answer, r.source, "|".join(r.tags), r.status,
                     "|".join(r.negatives)])
    return rows


def _csv_rows(records) -> list[list[str]]:
    return [[_escape_formula(cell) for cell in row] for row in _export_rows(records)]


def write_entries(path: Path, records) -> int:
    """Write entries to ``path`` (.csv as UTF-8 with BOM so Excel opens it, or .xlsx).
    Importing the file back reproduces the same entries. Cells that would start a formula are
    written as text (a leading ' in CSV, a text cell in XLSX). Returns the number written.

    Raises:
        FaqFileError: the directory does not exist or cannot be written.
    """
    if not path.parent.exists():
        raise FaqFileError(f"目录不存在：{path.parent}")
    rows = _export_rows(records)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "FAQ"
        for row in rows:
            sheet.append([_CONTROL.sub("", cell) for cell in row])  # XML forbids control characters
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
        for cell in sheet[1]:
            cell.number_format = "@"
        workbook.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(_csv_rows(records))
    return len(rows) - 1
