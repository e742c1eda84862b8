"""The seed FAQ shipped in ``data/faq/*.csv``: loaded on first run and on every reindex.

Loading upserts by id without overwriting what staff changed through the tool: an entry is
updated from the seed file only while it still holds seed content (see
:meth:`qa.store.faq_rows.FaqRows.sync_seed`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from faq.io import read_entries
from qa.store import Store


def seed_entries(seed_dir: Path) -> list[tuple[dict, str]]:
    """(entry, content hash) for every row of every ``*.csv``/``*.xlsx`` in ``seed_dir``.

    Raises:
        faq.io.FaqFileError: a seed file is invalid (the message names file and line).
    """
    out = []
    if not seed_dir.is_dir():
        return out
    for path in sorted(p for p in seed_dir.iterdir() if p.suffix.lower() in (".csv", ".xlsx")):
        for entry in read_entries(path):
            if not entry["id"]:
                continue  # seed rows must carry ids so later loads can find them again
            digest = hashlib.sha256(json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
            out.append((entry, digest))
    return out


def sync_seed(store: Store, seed_dir: Path) -> tuple[int, int, int]:
    """Load the seed FAQ into ``store``. Returns (added, updated, kept)."""
    result = store.faq.sync_seed(seed_entries(seed_dir))
    store.set_meta("faq_seeded", "1")
    return result
