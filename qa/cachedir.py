"""Where the segmenter keeps its caches, and keeping jieba quiet when it cannot write one.

jieba pickles its prefix dictionary into a cache file and, when that write fails (a
read-only install, a full disk), prints ``Dump cache file failed.`` with a traceback on
stderr through its own logger (jieba 0.42.1, ``Tokenizer.initialize``). A resident or staff
member running a command must never see that (issue 14): the cache is an optimisation, so
a failed write only costs ~1 s of rebuilding at the next start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jieba

log = logging.getLogger(__name__)


def usable_cache_dir(*candidates: Path | None) -> Path | None:
    """The first candidate directory that exists or can be created and accepts a new file.

    Args:
        candidates: directories in order of preference (None entries are skipped), e.g. the
            project's ``data/cache`` and then ``<db>.cache`` beside the database.

    Returns:
        that directory, or None when none is writable (caching is then off). Never raises.
    """
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=candidate, prefix=".probe-")
            os.close(handle)
            os.unlink(probe)
            return candidate
        except OSError as exc:
            log.info("cache directory %s is not writable (%s)", candidate, type(exc).__name__)
    return None


@contextlib.contextmanager
def quiet_jieba() -> Iterator[None]:
    """Silence jieba's logger (its failed cache dump logs a traceback at ERROR level)."""
    logger = jieba.default_logger
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
