"""Colloquial and dialect wording to the wording of official text, from ``data/text/colloquial.txt``.

Residents write 俺娃念大学想贷款 where the article writes 生源地助学贷款 ... 就读; this layer
rewrites the question's *search key* (never the text shown or logged) before analysis, so the
ranker and the FAQ matcher see 我孩子上大学想贷款. The rules are data (one ``口语 => 书面语`` per
line, ``!词`` protects a word; the file header documents the format); two rules are code because
they depend on position: a clause-final 不 or 没 after a predicate is a question tail
(能办不 = 能办吗, 检测没 = 检测了吗).

:func:`normalize_colloquial` is the entry point for callers holding a normalised string (the
service and the FAQ matcher); it loads the default file once. Pure and thread-safe after the
first call.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from qa.text import normalize

#: The committed rule file.
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "text" / "colloquial.txt"

#: A clause-final 不/没(有) after a CJK predicate character, before the end or punctuation.
#: Characters after which 不 is part of a fixed form rather than a question tail (对不 is
#: rewritten by the rule file; 要不, 得不, 了不 are not questions).
_TAIL = re.compile(r"(?<=[\u4e00-\u9fff])(不|没有|没)(?=[啊呀哇嘛呢吧]?(?:[\s,.;:!?，。；：！？]|$))")
_NOT_A_TAIL_BEFORE = frozenset("对要得了是还也都就并绝决差")
_MARK = "\ue000"  # private-use character wrapping protected words while rules run


class ColloquialFileError(ValueError):
    """A malformed line in a colloquial rule file; the message names the file and line."""


@dataclass(frozen=True)
class Rules:
    """Parsed rules: ``replace`` {colloquial: official} and ``protected`` words."""

    replace: dict[str, str]
    protected: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> "Rules":
        """Read a rule file (format: see the file's header).

        Raises:
            ColloquialFileError: a line is neither ``a => b`` nor ``!word``.
            FileNotFoundError: the file is missing.
        """
        replace: dict[str, str] = {}
        protected: set[str] = set()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("!"):
                word = normalize(line[1:])
                if not word:
                    raise ColloquialFileError(f"{path.name} line {number}: '!' needs a word")
                protected.add(word)
                continue
            if "=>" not in line:
                raise ColloquialFileError(f"{path.name} line {number}: expected '口语 => 书面语' or '!词'")
            left, right = (normalize(part) for part in line.split("=>", 1))
            if not left:
                raise ColloquialFileError(f"{path.name} line {number}: empty left side")
            replace[left] = right
        return cls(replace, frozenset(protected))


class Colloquial:
    """Applies one :class:`Rules` set to normalised text."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        keys = sorted(rules.replace, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, keys))) if keys else None
        shields = sorted(rules.protected, key=len, reverse=True)
        self._shield = re.compile("|".join(map(re.escape, shields))) if shields else None

    def apply(self, norm: str) -> str:
        """The official-wording search key of a :func:`qa.text.normalize`-d string (any length;
        returns it unchanged when no rule applies). Never raises."""
        kept: list[str] = []
        if self._shield is not None:
            def hide(match: re.Match) -> str:
                kept.append(match.group(0))
                return f"{_MARK}{len(kept) - 1}{_MARK}"
            norm = self._shield.sub(hide, norm)
        if self._pattern is not None:
            norm = self._pattern.sub(lambda m: self.rules.replace[m.group(0)], norm)
        norm = _TAIL.sub(_tail, norm)
        if kept:
            norm = re.sub(f"{_MARK}(\\d+){_MARK}", lambda m: kept[int(m.group(1))], norm)
        return re.sub(r"\s+", " ", norm).strip()


def _tail(match: re.Match) -> str:
    before = match.string[match.start() - 1]
    if before in _NOT_A_TAIL_BEFORE:
        return match.group(0)
    return "吗" if match.group(1) == "不" else "了吗"


_DEFAULT: Colloquial | None = None
_LOCK = threading.Lock()


def default() -> Colloquial:
    """The rules of :data:`DEFAULT_PATH`, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = Colloquial(Rules.load(DEFAULT_PATH))
    return _DEFAULT


def normalize_colloquial(text: str) -> str:
    """Normalise ``text`` (:func:`qa.text.normalize`) and rewrite colloquial and dialect
    wording to official wording with the committed rules (``data/text/colloquial.txt``).

    Args:
        text: a question or an FAQ key, raw or already normalised (normalisation is idempotent).

    Returns:
        The search key (simplified, Arabic digits, official words); the caller keeps the
        original for display. Never raises for any string.
    """
    return default().apply(normalize(text))
