"""Dry run of an FAQ import: what importing a file would do, line by line, writing nothing.

Rows are compared with the stored entries exactly as :meth:`qa.store.faq_rows.FaqRows.write_many`
would apply them (by id, and rows without id by question).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faq.io import check_entries
from qa.store import Store

_COMPARED = ("question", "alternates", "answer", "source", "tags", "status")


@dataclass
class PreviewRow:
    """One data line: ``state`` is "new", "changed" or "unchanged"; ``fields`` names the
    changed fields; ``faq_id`` is the entry it updates ("" for a new one)."""

    line: int
    state: str
    question: str
    faq_id: str = ""
    fields: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    """Result of :func:`preview_import`. ``errors`` are messages naming their line; an import
    of a file with errors is refused as a whole."""

    rows: list[PreviewRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r.state == state)

    def summary(self) -> str:
        """One line in Chinese: counts per state and errors."""
        text = (f"预览：新增 {self.count('new')} 条，修改 {self.count('changed')} 条，"
                f"未变 {self.count('unchanged')} 条，错误 {len(self.errors)} 行。")
        return text + ("有错误时不会导入，请改好文件后重新上传。" if self.errors else "")


def preview_import(store: Store, path: Path) -> ImportPreview:
    """Classify every line of ``path`` against ``store`` without writing.

    Raises:
        faq.io.FaqFileError: the file as a whole is unusable (encoding, header, empty).
        OSError: the file cannot be read.
    """
    entries, errors = check_entries(path)
    preview = ImportPreview(errors=errors)
    for line, entry in entries:
        current = store.faq.existing(entry)
        if current is None:
            preview.rows.append(PreviewRow(line, "new", entry["question"], entry["id"]))
        else:
            changed = [k for k in _COMPARED if k in entry and entry[k] != getattr(current, k)]
            preview.rows.append(PreviewRow(line, "changed" if changed else "unchanged", entry["question"],
                                           current.id, changed))
    return preview
