"""`bot.py eval` on conversations: rows with ``turns`` are one resident's messages in order,
answered through :class:`conversation.dialogue.Dialogue` with the frame kept in memory (the same
rules every channel uses; nothing is logged or stored).

Row: ``{"id", "split": "dev"|"holdout", "turns": [turn, ...]}``; a turn is
``{"text", "role", "expect", "expect_any", "expect_all"}``:

* ``role``: "setup" (not scored), "followup" (needs the earlier turns), "switch" (a complete
  new question after another topic), "fragment" (a fragment with no usable context), "pick"
  (a numbered pick of a listed suggestion).
* ``expect``: "answer" (default: kind faq/passage and the reply contains the expected
  strings), "clarify" (a clarifying reply) or "none" (no answer: a refusal or a clarifying
  reply).

A pick answered right has ``understood_as`` set; a switch has none (the frame was ignored); a
follow-up is right when its answer is (rewritten or, when it stands alone, as typed). A
fragment is right when the reply is a refusal or a clarifying reply and never 「没能看懂」.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.replies import TEXT_NOT_TEXT, Replies
from app.evaluate import expected_in
from conversation.dialogue import Dialogue

ROLES = ("followup", "switch", "fragment", "pick")
#: Report labels of the four rates.
RATE_NAMES = {"followup": "follow-ups right", "switch": "topic switches right",
              "fragment": "no-context fragments refused or clarified", "pick": "numbered picks right"}


def is_conversation(row: dict) -> bool:
    return isinstance(row.get("turns"), list)


def check_conversation(row: dict) -> str | None:
    """None when a conversation row is well formed, else what is wrong."""
    turns = row["turns"]
    if not turns:
        return "turns is empty"
    for i, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            return f"turn {i} needs text"
        if turn.get("role", "setup") not in ("setup", *ROLES):
            return f"turn {i}: role must be setup, {', '.join(ROLES)}"
        if turn.get("expect", "answer") not in ("answer", "clarify", "none"):
            return f"turn {i}: expect must be answer, clarify or none"
    return None


@dataclass
class ConversationReport:
    """Right/total per (split, role); ``failures`` lists missed turns."""

    counts: dict = field(default_factory=dict)
    conversations: dict = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)

    def add(self, split: str, role: str, ok: bool) -> None:
        right, total = self.counts.get((split, role), (0, 0))
        self.counts[(split, role)] = (right + ok, total + 1)

    def summary(self) -> dict:
        """``{split: {"conversations": n, role: {"rate", "right", "total"}}}`` with an "all" split."""
        out: dict = {}
        for split in sorted({s for s, _ in self.counts}) + ["all"]:
            data: dict = {"conversations": self.conversations.get(split, 0)}
            for role in ROLES:
                pairs = [v for (s, r), v in self.counts.items() if r == role and (split == "all" or s == split)]
                right, total = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
                data[role] = {"rate": round(right / total, 4) if total else None, "right": right, "total": total}
            out[split] = data
        return out


def score_turn(turn: dict, answer, text: str, offered: list[str] | None = None) -> bool:
    """True when ``answer`` (rendered as ``text``) is right for ``turn``; ``offered`` are the
    suggestions of the previous reply (a pick without expected strings is right when it
    answers the suggestion its number names)."""
    role, expect = turn.get("role", "setup"), turn.get("expect", "answer")
    if TEXT_NOT_TEXT in text:
        return False
    if expect == "clarify":
        return answer.reason == "clarify"
    if expect == "none":
        return answer.kind == "none"
    ok = answer.kind in ("faq", "passage") and expected_in(turn, text)
    if role == "pick":
        ok = ok and answer.understood_as is not None
    if role == "switch":
        ok = ok and answer.understood_as is None
    if role == "pick" and not (turn.get("expect_any") or turn.get("expect_all")):
        from qa.frame import parse_pick

        number = parse_pick(turn["text"])
        wanted = offered[number - 1] if offered and number and number <= len(offered) else None
        ok = ok and wanted is not None and answer.understood_as == wanted.rstrip("？?")
    return ok


def evaluate_conversations(dialogue: Dialogue, rows: list[dict], replies: Replies) -> ConversationReport:
    """Run every conversation row from an empty context and score its turns."""
    report = ConversationReport()
    for row in rows:
        split = row.get("split", "dev")
        report.conversations[split] = report.conversations.get(split, 0) + 1
        report.conversations["all"] = report.conversations.get("all", 0) + 1
        frame, offered = None, []
        for turn in row["turns"]:
            answer, frame = dialogue.respond(turn["text"], frame)
            role = turn.get("role", "setup")
            previous, offered = offered, list(answer.suggestions)
            if role == "setup":
                continue
            text = replies.text(answer)
            ok = score_turn(turn, answer, text, previous)
            report.add(split, role, ok)
            if not ok:
                report.failures.append({"id": row.get("id"), "split": split, "role": role, "text": turn["text"],
                                        "expected": turn.get("expect", "answer") if turn.get("expect") != "answer"
                                        else (turn.get("expect_any") or turn.get("expect_all") or "answer"),
                                        "understood_as": answer.understood_as, "kind": answer.kind,
                                        "answer": text[:120]})
    return report
