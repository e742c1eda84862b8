"""The frame of a conversation's last turn, what to do with the next message, and numbered
picks (「1」「１」「第一个」「①」「选2」). Plain data: :mod:`qa.followup` builds and reads frames; the
conversation layer keeps them in SQLite as JSON.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

_NOISE = re.compile(r"[\s,.;:!?，。；：！？、~～…\"'“”‘’()（）【】]+")
#: Circled and Chinese ordinals of a pick (「①」, 「第一个」).
_CIRCLED = "①②③④⑤⑥⑦⑧⑨"
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PICK = re.compile(r"^(?:(?:选|选择|要|看)?第?([1-9])|(?:选|选择|要|看)?第([一二两三四五六七八九])|(?:选|选择)([一二两三四五六七八九]))"
                   r"(?:个|条|项|号)?(?:问题)?$")


@dataclass
class Frame:
    """What the previous turn was about (JSON-serialisable; :meth:`to_json`/:meth:`from_json`).

    Attributes:
        question: the question that was answered (the rewrite when there was one).
        topic: its content words, without year, place and person.
        year: a calendar year ("2020") or None.
        place: a place name (宛城区, 瓦店镇) or None.
        person: the person the answer named, or None.
        org: the organisation the answer named, or None.
        item: the new item of the last rewrite (资金), or None.
        faq_id: the FAQ entry answered, or None.
        section: the document section answered, or None.
        suggestions: the listed suggestions, in order: ``{"text": str, "faq_id": str | None}``.
        answered: False when the previous turn found nothing (its words still help a rewrite).
    """

    question: str = ""
    topic: list[str] = field(default_factory=list)
    year: str | None = None
    place: str | None = None
    person: str | None = None
    org: str | None = None
    item: str | None = None
    faq_id: str | None = None
    section: str | None = None
    suggestions: list[dict] = field(default_factory=list)
    answered: bool = True

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> "Frame | None":
        """The frame in ``data`` (unknown keys ignored); None for no data."""
        if not data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def usable(self) -> bool:
        """True when a follow-up can be resolved against this frame."""
        return bool(self.question and (self.topic or self.person or self.org))


@dataclass(frozen=True)
class Resolution:
    """What to do with one message.

    Attributes:
        action: "new" (answer ``question`` as typed), "followup" (answer the rewrite
            ``question``), "pick" (answer suggestion ``pick``, 0-based), "clarify" (a fragment
            without a usable frame).
        question: the question to answer ("" for picks and clarify).
        pick: index into ``Frame.suggestions`` for "pick".
        added: what the message added (the new year, item words, the pronoun's referent):
            a follow-up's answer must quote one of them (:meth:`FollowUps.supported`).
        fallbacks: shorter rewrites to try, in order, when ``question`` finds nothing that
            quotes what was added.
    """

    action: str
    question: str = ""
    pick: int | None = None
    added: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()


def parse_pick(text: str) -> int | None:
    """The 1-based number a message picks (「1」「１」「第一个」「①」「选2」), or None."""
    # NFKC only (１ -> 1, ① -> 1): the full normaliser would also turn 一个 into 1个
    norm = _NOISE.sub("", unicodedata.normalize("NFKC", text or ""))
    if len(norm) == 1 and norm in _CIRCLED:
        return _CIRCLED.index(norm) + 1
    match = _PICK.match(norm)
    if not match:
        return None
    digit = next(g for g in match.groups() if g)
    return int(digit) if digit.isdigit() else _CHINESE_DIGITS[digit]
