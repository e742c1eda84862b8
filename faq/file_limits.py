"""Size limits for FAQ import files, checked before a file is parsed (issue 14).

A 399 KB workbook that expanded to 400 MB once took ``faq import`` to 966 MB. An XLSX file
is a zip archive; its central directory declares every member's compressed and uncompressed
size, and Python's :mod:`zipfile` never returns more than the declared size of a member (a
member that inflates further fails its CRC check), so checking the declared sizes bounds
what openpyxl can read. Rows are bounded while reading (see :mod:`faq.io`).

The limits are far above a real FAQ (the seed FAQ is a few KB; 5,000 entries with 500-
character answers make about 8 MB of worksheet XML) and far below what hurts a 2-core box.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from qa.zip_limits import archive_problem

#: Largest CSV or XLSX file accepted, in bytes.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Largest total declared uncompressed size of an XLSX archive, in bytes.
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
#: Largest declared compression ratio of one member over 1 MB (qa.zip_limits).
#: Spreadsheet XML compresses about 5-20x; zip bombs compress 1000x.
MAX_RATIO = 100
#: Most members an XLSX archive may have (a workbook has a dozen or so).
MAX_MEMBERS = 1000
#: Most data rows a file may have (the header not counted).
MAX_ROWS = 50_000


class FileTooLarge(ValueError):
    """The file exceeds a limit; the message is a Chinese sentence for staff."""


def check_file_size(path: Path) -> None:
    """Refuse a file over :data:`MAX_FILE_BYTES` before reading it.

    Raises:
        FileTooLarge: the file is too large.
        OSError: the file cannot be stat-ed.
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(f"{path.name}：文件太大（{size / 1048576:.1f} MB，上限 {MAX_FILE_BYTES // 1048576} MB），"
                           f"请分成几个文件导入")


def check_xlsx_archive(path: Path) -> None:
    """Refuse an XLSX file whose zip members declare too much data, before openpyxl opens it.

    Checks: file size, member count, total declared uncompressed size and the compression
    ratio of each large member (limits above).

    Raises:
        FileTooLarge: a limit is exceeded (the message says which, in Chinese).
        zipfile.BadZipFile: not a zip archive (the caller reports an invalid XLSX).
        OSError: the file cannot be read.
    """
    check_file_size(path)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    problem = archive_problem(members, kind="XLSX", max_members=MAX_MEMBERS, max_unpacked=MAX_UNPACKED_BYTES,
                              max_ratio=MAX_RATIO)
    if problem:
        raise FileTooLarge(f"{path.name}：{problem}，已拒绝导入")
