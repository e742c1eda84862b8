"""The one zip-bomb check, for .docx articles (qa/article_limits.py) and .xlsx FAQ files
(faq/file_limits.py).

An Office file is a zip archive whose central directory declares every member's compressed and
uncompressed size, and :mod:`zipfile` never returns more than the declared size of a member (one
that inflates further fails its CRC check), so checking the declared sizes bounds what a parser
can read.
"""

from __future__ import annotations

import zipfile

#: A member bigger than this (bytes) must not be compressed more than ``max_ratio`` times.
RATIO_CHECKED_FROM = 1024 * 1024


def archive_problem(members: list[zipfile.ZipInfo], *, kind: str, max_members: int, max_unpacked: int,
                    max_ratio: int) -> str | None:
    """What is wrong with an archive of ``members`` (a Chinese phrase without the file name),
    or None: too many members, too much declared data, or one large member compressed more than
    ``max_ratio`` times (zip bombs compress about 1000x; Office XML 5-20x).

    Args:
        kind: the file type for the message (".docx", "XLSX").
        max_members, max_unpacked, max_ratio: the limits (members, bytes, ratio).
    """
    if len(members) > max_members:
        return f"不是正常的 {kind} 文件（包含 {len(members)} 个部件）"
    total = sum(m.file_size for m in members)
    if total > max_unpacked:
        return f"解压后太大（约 {total / 1048576:.0f} MB，上限 {max_unpacked // 1048576} MB），可能是压缩炸弹"
    for member in members:
        ratio = member.file_size // max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM and ratio > max_ratio:
            return f"其中 {member.filename} 的压缩比异常（{ratio} 倍），可能是压缩炸弹"
    return None
