"""One turn of a conversation: a message and the previous turn's frame -> an answer and the
frame this turn leaves.

:meth:`Dialogue.respond` applies :mod:`qa.followup` (pick, follow-up, new question, clarify),
calls :meth:`qa.service.Service.answer` (or ``answer_entry`` for a picked FAQ suggestion) once,
and never touches storage: :class:`conversation.core.Conversation` keeps the frames
(:mod:`conversation.context`), and ``bot.py eval`` runs conversations through this class with
frames held in memory.

Outcomes it adds to the service's: reason "clarify" (kind "none") for a fragment without a usable
frame (outcome "clarify") and for a follow-up whose rewrite found nothing that answers what the
message added (outcome "unanswered", ``understood_as`` set, so staff see the rewrite).
"""

from __future__ import annotations

import dataclasses
import re

from qa.answer import Answer
from qa.followup import FollowUps
from qa.frame import Frame, Resolution
from qa.query import MAX_QUESTION_CHARS
from qa.service import Service

#: Typed text that has letters or digits (a bare 「3」 with nothing to pick is a fragment, not
#: an unreadable message).
#: Outcomes of a question on its own that are worth a second reading in context.
_WEAK = frozenset({"hedged", "unanswered", "suggested"})
_TYPED = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uff10-\uff19\u2460-\u2473]")


class Dialogue:
    """Answers one message in the context of a frame.

    Args:
        service: the pure answering core.
        followups: follow-up rules with the process's segmenter.
    """

    def __init__(self, service: Service, followups: FollowUps) -> None:
        self.service, self.followups = service, followups

    def respond(self, text: str | None, frame: Frame | None) -> tuple[Answer, Frame | None]:
        """Answer ``text`` given the previous turn's ``frame`` (None: none, or expired).

        Returns:
            (answer, the frame to keep for the next message; None keeps nothing). The answer is
            a copy when it came from the service's cache, so ``question`` and ``understood_as``
            can be set on it. Never raises for any text.
        """
        raw = text if isinstance(text, str) else ""
        # a message past the service's cap is a question on its own (and not worth analysing twice)
        resolution = self.followups.resolve(raw, frame) if len(raw) <= MAX_QUESTION_CHARS else Resolution("new")
        if resolution.action == "pick":
            return self._pick(raw, frame, resolution.pick)
        if resolution.action == "clarify":
            return self._clarify(raw, None, outcome="clarify"), frame
        if resolution.action == "followup":
            return self._followup(raw, frame, resolution)
        answer = self.service.answer(raw)
        if answer.reason == "not_text" and _TYPED.search(raw):
            return self._clarify(raw, None, outcome="clarify"), frame
        if answer.outcome in _WEAK and answer.kind != "smalltalk":
            # a short question with no confident answer of its own: read it in the previous context
            second = self.followups.in_context(raw, frame)
            if second is not None:
                found = self.service.answer(second.question)
                quote = "\n".join(c.quote for c in found.citations)
                if found.outcome == "answered" and self.followups.supported(second, quote):
                    answer = dataclasses.replace(found, question=_shown(raw), understood_as=_strip(second.question),
                                                 latency_ms=answer.latency_ms + found.latency_ms)
                    return answer, self._next_frame(answer, second.question, frame, followup=True,
                                                    item=" ".join(second.added) or None)
        return answer, self._next_frame(answer, answer.question, frame, followup=False)

    def frame_after(self, answer: Answer, previous: Frame | None) -> Frame | None:
        """The frame left by an answer given outside :meth:`respond` (a suggestion button)."""
        return self._next_frame(answer, answer.question, previous, followup=False)

    # ---------------------------------------------------------------- actions
    def _pick(self, raw: str, frame: Frame, index: int) -> tuple[Answer, Frame | None]:
        chosen = frame.suggestions[index]
        answer = self.service.answer_entry(chosen["faq_id"]) if chosen.get("faq_id") else None
        if answer is None:
            answer = self.service.answer(chosen["text"])
        answer = dataclasses.replace(answer, question=_shown(raw) or answer.question,
                                     understood_as=_strip(chosen["text"]))
        return answer, self._next_frame(answer, chosen["text"], frame, followup=False)

    def _followup(self, raw: str, frame: Frame, resolution: Resolution) -> tuple[Answer, Frame | None]:
        answer = None
        spent = 0.0
        for question in (resolution.question, *resolution.fallbacks):
            found = self.service.answer(question)
            spent += found.latency_ms
            quote = "\n".join(c.quote for c in found.citations)
            if found.quoted and self.followups.supported(resolution, quote):
                answer = dataclasses.replace(found, question=_shown(raw), understood_as=_strip(question),
                                             latency_ms=spent)
                break
        if answer is None:
            answer = self._clarify(raw, _strip(resolution.question), outcome="unanswered", latency_ms=spent)
        return answer, self._next_frame(answer, resolution.question, frame, followup=True,
                                        item=" ".join(resolution.added) or None)

    @staticmethod
    def _clarify(raw: str, understood: str | None, *, outcome: str, latency_ms: float = 0.0) -> Answer:
        return Answer(_shown(raw), "none", 0.0, outcome=outcome, reason="clarify", understood_as=understood,
                      latency_ms=latency_ms)

    # ----------------------------------------------------------------- frames
    def _next_frame(self, answer: Answer, question: str, previous: Frame | None, *, followup: bool,
                    item: str | None = None) -> Frame | None:
        """The frame this turn leaves: small talk and bad input keep the previous topic (with
        this reply's suggestions); a question replaces it."""
        suggestions = [{"text": text, "faq_id": answer.suggestion_ids[i] if i < len(answer.suggestion_ids) else None}
                       for i, text in enumerate(answer.suggestions)]
        if answer.kind == "smalltalk" or answer.outcome == "invalid":
            if previous is None:
                return Frame(suggestions=suggestions) if suggestions else None
            return dataclasses.replace(previous, suggestions=suggestions)
        first = answer.citations[0] if answer.citations else None
        return self.followups.frame_of(question, answered=answer.quoted, quote=first.quote if first else "",
                                       faq_id=answer.faq_id, section=first.section if first else None,
                                       suggestions=suggestions, previous=previous if followup else None, item=item)


def _shown(raw: str) -> str:
    """The message as an answer displays it (cut like :meth:`qa.service.Service.answer` does)."""
    return raw[:MAX_QUESTION_CHARS].strip()


def _strip(text: str) -> str:
    return re.sub(r"[\s?？。！!]+$", "", (text or "").strip())
