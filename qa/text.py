"""The one place where Chinese text rules live: normalisation, segmentation, synonyms.

Index time and query time both go through :func:`normalize` and :class:`Segmenter`, so a
question and a sentence produce comparable search keys. Original text is never changed
here: callers keep it for display and citation and only index the keys.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import marshal
import os

import jieba
import opencc

from qa.cachedir import quiet_jieba, usable_cache_dir
from qa.numerals import chinese_numerals_to_arabic

_T2S = opencc.OpenCC("t2s")
# Zero-width and formatting characters NFKC leaves alone (ZWSP, ZWNJ, ZWJ, word joiner, BOM,
# bidi marks) plus C0/C1 controls other than the whitespace handled below.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
# A comma between digit groups of exactly three: 1,432.86 -> 1432.86, 10,000 -> 10000.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (from undecodable bytes: invalid UTF-8 on stdin, broken
    clients) replaced by U+FFFD, so it can be encoded, logged and printed. Valid pairs stay."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def normalize(text: str) -> str:
    """Search key for ``text``: the form both questions and sentences are indexed under.

    Steps, in order: NFKC (full-width letters, digits and punctuation to half-width), drop
    zero-width and control characters, OpenCC ``t2s`` (traditional to simplified), lower-case,
    Chinese numerals to Arabic (see :mod:`qa.numerals`), thousands separators removed inside
    numbers, whitespace collapsed to single spaces and stripped.

    Args:
        text: any string, any length.

    Returns:
        The normalised string; idempotent (``normalize(normalize(x)) == normalize(x)``) and
        never raises. Lengths differ from the input, so offsets must come from the original.
    """
    text = unicodedata.normalize("NFKC", valid_unicode(text))
    text = _INVISIBLE.sub("", text)
    text = _T2S.convert(text).lower()
    text = unicodedata.normalize("NFKC", text)
    text = chinese_numerals_to_arabic(text)
    text = _THOUSANDS.sub("", text)
    return _SPACE.sub(" ", text).strip()


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORDLIKE = re.compile(r"[\w\u3400-\u9fff]")


def is_cjk(char: str) -> bool:
    """True for a CJK unified ideograph (basic block, extension A, compatibility)."""
    return bool(_CJK.match(char))


_PINYIN: dict[str, str] = {}


def _build_pinyin_table() -> dict[str, str]:
    """{CJK character: its first toneless reading}, from pypinyin's character dictionary.
    The first reading is used for every occurrence: homophone matching only needs both sides
    read the same way, and this keeps start-up free of pypinyin's 0.2 s phrase tables."""
    import unicodedata as ud

    from pypinyin.pinyin_dict import pinyin_dict

    table = {}
    for code, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        plain = "".join(c for c in ud.normalize("NFD", first) if not ud.combining(c)).replace("ü", "v")
        table[chr(code)] = plain
    return table


def _load_table(cache_dir: Path | None, name: str, version: str, build):
    """A marshal-cached table in ``cache_dir`` (rebuilt when missing, stale or unreadable)."""
    path = cache_dir / f"{name}.marshal" if cache_dir else None
    if path is not None and path.is_file():
        try:
            stored_version, table = marshal.loads(path.read_bytes())
            if stored_version == version:
                return table
        except (EOFError, ValueError, TypeError):
            pass
    table = build()
    if path is not None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(marshal.dumps((version, table)))
            os.replace(tmp, path)
        except OSError:  # a cache is an optimisation: rebuilt next time (issue 14)
            pass
    return table


def syllables(text: str) -> list[str]:
    """Toneless pinyin per CJK character; other characters pass through unchanged."""
    table = _PINYIN or _PINYIN.update(_build_pinyin_table()) or _PINYIN
    return [table.get(c, c) for c in text]


def pinyin(word: str) -> str | None:
    """Toneless pinyin of an all-CJK word of 2-8 characters (``低保户`` -> ``di bao hu``), else
    None. Used to match homophone typos (低包户, 民证局) to words the corpus uses."""
    if not 2 <= len(word) <= 8 or not all(is_cjk(c) for c in word):
        return None
    return " ".join(syllables(word))


def _keep(token: str) -> bool:
    return bool(token.strip()) and bool(_WORDLIKE.search(token))


#: Aspect particles glued to verbs by jieba (签了, 做过): stripped from question words.
_TRAILING_PARTICLES = "了着过"
#: Measure words and units that follow numbers (2020年, 多少人): never content on their own.
UNIT_WORDS = frozenset("个户人家元名位项次所条座亩天年月日岁台辆间张件批期类种号")
#: jieba POS tags of words that name things (nouns, places, people, organisations, other proper
#: nouns, English, abbreviations, idioms, user-dictionary terms 'x'). A question word of these
#: kinds that the corpus never uses is strong evidence the question is out of scope.
#: Tag set: jieba README (ICTCLAS-compatible).
NOUN_TAGS = frozenset({"n", "nr", "nr1", "nr2", "nrj", "nrf", "ns", "nsf", "nt", "nz", "nl", "ng", "eng", "j",
                       "x", "l", "i", "vn", "an", "s"})


@dataclass(frozen=True)
class TextResources:
    """Paths of the editable text data (all UTF-8, one entry per line, ``#`` comments).

    Attributes:
        userdict: jieba user dictionary (``word [freq] [tag]``), domain terms such as 四集中.
        synonyms: one group per line, members separated by spaces or commas; the first
            member is the canonical form (打工 务工 -> a question with 打工 also matches 务工).
        stopwords: function and question words that carry no content (的, 吗, 多少 ...).
        domain: optional domain lexicon, same format as ``synonyms``: colloquial <-> official
            groups whose members are weaker expansions (see :meth:`Segmenter.expansions`).
    """

    userdict: Path
    synonyms: Path
    stopwords: Path
    domain: Path | None = None

    @classmethod
    def in_dir(cls, directory: Path) -> "TextResources":
        """The standard file names inside ``directory`` (``data/text`` in this repo); the domain
        lexicon ``domain_synonyms.txt`` is optional."""
        domain = directory / "domain_synonyms.txt"
        return cls(directory / "userdict.txt", directory / "synonyms.txt", directory / "stopwords.txt",
                   domain if domain.is_file() else None)


def _data_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


#: Words kept per synonym line (a longer line is cut): a staff-edited file must not make start-up
#: slow or huge (a 40,000-word line once took a restart to 20 GB). The longest group in
#: data/text/synonyms.txt has far fewer.
MAX_SYNONYM_GROUP = 50


class Segmenter:
    """jieba segmentation with the domain dictionary, loaded once at start-up.

    Construct one per process before serving (jieba's dictionary takes ~0.7 s to load from
    its cache; measured on this project's 2-core machine) and share it: segmentation is
    thread-safe once initialised. Input must already be :func:`normalize`-d.

    Raises:
        FileNotFoundError: a resource file is missing.
    """

    def __init__(self, resources: TextResources, *, cache_dir: Path | None = None) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:  # an unwritable directory only turns caching off, quietly
            self._jieba.tmp_dir = str(cache_dir)
            cache_dir = usable_cache_dir(cache_dir)
        with quiet_jieba():
            self._jieba.initialize()
            self._jieba.load_userdict(str(resources.userdict))
        dictionary = Path(jieba.__file__).parent / "dict.txt"
        stamp = (f"v3:{dictionary.stat().st_size}:{resources.userdict.stat().st_mtime_ns}:"
                 f"{resources.userdict.stat().st_size}")
        self._not_nouns, self._names, self.persons, self.places = _load_table(
            cache_dir, "word_classes", stamp, lambda: _word_classes(dictionary, resources.userdict))
        _PINYIN.update(_load_table(cache_dir, "pinyin", "1", _build_pinyin_table))
        self.stopwords = frozenset(normalize(w) for line in _data_lines(resources.stopwords) for w in line.split())
        groups: dict[str, frozenset[str]] = {}
        for line in _data_lines(resources.synonyms):
            members = [normalize(m) for m in re.split(r"[\s,，=]+", line) if m][:MAX_SYNONYM_GROUP]
            group = frozenset(members)
            for member in members:  # members of one group share its set: memory grows linearly
                previous = groups.get(member)
                groups[member] = group if previous is None else previous | group
        self.synonyms = groups
        self.domain = _groups(resources.domain) if resources.domain is not None else {}

    def search_tokens(self, norm: str) -> list[str]:
        """Index keys of ``norm``: jieba search-mode tokens (whole words and the sub-words
        jieba knows) plus every character bigram inside CJK words of three or more characters,
        so a question's 农险 finds 中原农险 even though jieba keeps that name whole. Whitespace
        and punctuation-only tokens are dropped; order as produced, duplicates kept."""
        out = []
        for token in self._jieba.cut_for_search(norm):
            if not _keep(token):
                continue
            out.append(token)
            if len(token) >= 3 and all(is_cjk(c) for c in token):
                out.extend(token[i:i + 2] for i in range(len(token) - 1))
        return out

    def subwords(self, word: str) -> list[str]:
        """Dictionary words of two or more characters inside ``word`` (jieba search mode,
        no bigram padding): 复工复产 -> 复工, 复产. Empty for short or unknown words."""
        return [t for t in dict.fromkeys(self._jieba.cut_for_search(word)) if t != word and len(t) >= 2 and _keep(t)]

    def is_word(self, word: str) -> bool:
        """True when jieba's dictionary (with the user dictionary) knows ``word``."""
        return self._jieba.FREQ.get(word, 0) > 0

    def words(self, norm: str) -> list[str]:
        """jieba precise-mode words of ``norm`` (no overlaps), punctuation dropped."""
        return [t for t in self._jieba.cut(norm) if _keep(t)]

    def is_noun(self, word: str) -> bool:
        """True for nouns and names (jieba tags in :data:`NOUN_TAGS`), English words and words
        jieba's dictionary does not know (new words are mostly names)."""
        return word not in self._not_nouns

    def tagged_content_words(self, norm: str) -> list[tuple[str, str]]:
        """(word, "n" or "v") of the content words of a question, in order, de-duplicated:
        stopwords, lone units (年, 人 ...) and punctuation dropped, trailing aspect particles
        stripped (签了 -> 签). The tag is "ns" for names of places, people and organisations,
        "n" for other nouns (see :meth:`is_noun`), "v" for the rest."""
        seen: dict[str, str] = {}
        for word in self._jieba.cut(norm):
            flag = "ns" if word in self._names else "n" if self.is_noun(word) else "v"
            if len(word) >= 2 and word[-1] in _TRAILING_PARTICLES and word not in self.stopwords:
                word = word[:-1]
            if not _keep(word) or word in self.stopwords or word in UNIT_WORDS:
                continue
            if len(word) == 2 and word[0] in "多余几" and word[1] in UNIT_WORDS:
                continue  # 4000多户, 几个: part of a number, not a content word
            seen.setdefault(word, flag)
        return list(seen.items())

    def content_words(self, norm: str) -> list[str]:
        """Content words of ``norm`` (see :meth:`tagged_content_words`), tags dropped."""
        return [w for w, _ in self.tagged_content_words(norm)]

    pinyin = staticmethod(lambda word: pinyin(word))

    def expansions(self, word: str) -> frozenset[str]:
        """Members of ``word``'s groups in the domain lexicon (empty when it has none); they are
        matched with less credit than the word itself (:class:`qa.query.Term` ``weak``)."""
        return self.domain.get(word, frozenset())

    def variants(self, word: str) -> frozenset[str]:
        """``word`` and its synonyms from the synonym file (always contains ``word``)."""
        return self.synonyms.get(word, frozenset()) | {word}

    def general_idf(self, word: str) -> float:
        """``ln(total / (count + 1))`` of ``word`` in jieba's dictionary (about 8 for everyday
        words such as 东西 or 拿, 14 for rare terms such as 低保, 18 for words it lacks): how much
        a word says in general Chinese, whatever corpus is indexed."""
        return math.log(self._jieba.total / (self._jieba.FREQ.get(word, 0) + 1))


def _groups(path: Path) -> dict[str, frozenset[str]]:
    """{member: every member of its groups} of a synonym-format file (one group per line)."""
    groups: dict[str, frozenset[str]] = {}
    for line in _data_lines(path):
        members = [normalize(m) for m in re.split(r"[\s,，=]+", line) if m]
        group = frozenset(members)
        for member in members:
            groups[member] = groups.get(member, frozenset()) | group
    return groups


#: jieba tags of proper names: places, people, organisations (jieba README tag set).
NAME_TAGS = frozenset({"ns", "nr", "nt", "nrt", "nrfg", "nsf", "nr1", "nr2", "nrj", "nrf"})


def _word_classes(dictionary: Path, userdict: Path) -> tuple[frozenset[str], ...]:
    """(words tagged as something other than a noun or name, proper names, person names,
    place names), read from jieba's dictionary and the user dictionary (a later entry wins).
    Built once and cached: jieba.posseg would re-read the 350,000-line dictionary (0.5 s) at
    every start."""
    tags: dict[str, str] = {}
    for path in (dictionary, userdict):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("#", 1)[0].split()
            if parts:  # "word [freq] [tag]" (jieba's dictionary format; freq and tag optional)
                rest = [p for p in parts[1:] if not p.isdigit()]
                tags[parts[0]] = rest[0] if rest else "n"
    not_nouns = frozenset(w for w, t in tags.items() if t not in NOUN_TAGS)
    names = frozenset(w for w, t in tags.items() if t in NAME_TAGS)
    persons = frozenset(w for w, t in tags.items() if t.startswith("nr") and len(w) >= 2)
    places = frozenset(w for w, t in tags.items() if t.startswith("ns") and len(w) >= 2)
    return not_nouns, names, persons, places
