"""The editable synonym file (``data/text/synonyms.txt``): read, validate, write atomically.

Format (see :class:`qa.text.TextResources`): one group per line, members separated by
spaces or commas, ``#`` starts a comment. The running process loads synonyms at start-up, so a
saved file takes effect after a restart.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from qa.store import Store
from qa.text import MAX_SYNONYM_GROUP

MAX_LINES = 5000
MAX_MEMBER_CHARS = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPLIT = re.compile(r"[\s,，=]+")


class SynonymError(ValueError):
    """The submitted text is not a valid synonym file; the message names the line."""


class Synonyms:
    def __init__(self, path: Path, store: Store) -> None:
        self.path, self.store = Path(path), store

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.is_file() else ""

    @staticmethod
    def validate(text: str) -> str:
        """The text with normalised line ends, or SynonymError naming the first bad line."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) > MAX_LINES:
            raise SynonymError(f"最多 {MAX_LINES} 行")
        for number, line in enumerate(lines, 1):
            if _CONTROL.search(line):
                raise SynonymError(f"第{number}行含有不可见的控制字符")
            body = line.split("#", 1)[0].strip()
            if not body:
                continue
            members = [m for m in _SPLIT.split(body) if m]
            if len(members) < 2:
                raise SynonymError(f"第{number}行只有一个词：每行至少写两个同义词，用空格分开")
            if len(members) > MAX_SYNONYM_GROUP:
                raise SynonymError(f"第{number}行有 {len(members)} 个词（每行最多 {MAX_SYNONYM_GROUP} 个）：请拆成几组")
            long = [m for m in members if len(m) > MAX_MEMBER_CHARS]
            if long:
                raise SynonymError(f"第{number}行的「{long[0][:30]}」太长（上限 {MAX_MEMBER_CHARS} 字）")
        return text if text.endswith("\n") else text + "\n"

    def save(self, text: str, *, actor: str) -> int:
        """Validate and replace the file atomically; returns the number of groups.

        Raises:
            SynonymError: invalid text (nothing written).
        """
        text = self.validate(text)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".synonyms-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        groups = sum(1 for line in text.split("\n") if line.split("#", 1)[0].strip())
        self.store.log.audit(actor, "synonyms save", f"{groups} groups")
        return groups
