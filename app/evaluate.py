"""`bot.py eval`: score a question set (format of ../shared/eval/README.md) through the Service.
Rows with ``turns`` are conversations, scored by :mod:`app.evaluate_conversations`.

Rows: ``{"id", "question", "scope": "in"|"out", "expect_any": [...], "expect_all": [...],
"expect_faq": "F001"}``. An in-scope row is right when kind is faq/passage and the answer
contains the expected strings (and, with ``expect_faq``, the FAQ entry is that one); an
out-of-scope row is right when kind is none. FAQ metrics: top-1 accuracy over rows with
``expect_faq``; false-accept rate = out-of-scope rows answered from the FAQ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from channels.replies import Replies
from qa.service import Service


class EvalFileError(ValueError):
    """The question set is malformed; the message names the line."""


def load_questions(path: Path) -> list[dict]:
    """Rows of a JSON Lines question set. Raises :class:`EvalFileError` naming the line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        if isinstance(row, dict) and isinstance(row.get("turns"), list):
            from app.evaluate_conversations import check_conversation

            problem = check_conversation(row)
            if problem:
                raise EvalFileError(f"{path.name} line {number}: {problem}")
        elif not isinstance(row, dict) or "question" not in row or row.get("scope") not in ("in", "out"):
            raise EvalFileError(f"{path.name} line {number}: needs question and scope in/out (or turns)")
        rows.append(row)
    return rows


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list; 0.0 for an empty one."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class EvalReport:
    in_total: int = 0
    in_right: int = 0
    out_total: int = 0
    out_right: int = 0
    citations: int = 0
    citations_valid: int = 0
    faq_total: int = 0
    faq_right: int = 0
    faq_false_accepts: int = 0
    faq_rows_answered: int = 0  # rows with expect_faq answered right by the FAQ or a passage
    latencies: list[float] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    #: {("split", "tune") or ("class", "colloquial"): [in_right, in_total, out_right, out_total]}
    groups: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def count(self, row: dict, ok: bool) -> None:
        """Add one scored row to its ``split`` and ``class`` groups (rows without them: none)."""
        for key in ("split", "class"):
            if row.get(key):
                tally = self.groups.setdefault((key, str(row[key])), [0, 0, 0, 0])
                offset = 0 if row["scope"] == "in" else 2
                tally[offset] += ok
                tally[offset + 1] += 1

    def breakdown(self) -> list[dict]:
        """Per split, then per class (sorted by name): {"group": "split=tune", "in": "40/45",
        "in_accuracy": 0.89 or None, "out": "20/21", "out_abstention": 0.95 or None}."""
        out = []
        for (key, name), (ir, it, orr, ot) in sorted(self.groups.items(), key=lambda kv: (kv[0][0] != "split", kv[0])):
            out.append({"group": f"{key}={name}", "in": f"{ir}/{it}", "in_accuracy": round(ir / it, 4) if it else None,
                        "out": f"{orr}/{ot}", "out_abstention": round(orr / ot, 4) if ot else None})
        return out

    def summary(self) -> dict:
        def rate(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        data = {
            "in_scope_accuracy": rate(self.in_right, self.in_total), "in_scope": f"{self.in_right}/{self.in_total}",
            "out_of_scope_abstention": rate(self.out_right, self.out_total),
            "out_of_scope": f"{self.out_right}/{self.out_total}",
            "citation_validity": rate(self.citations_valid, self.citations),
            "citations": f"{self.citations_valid}/{self.citations}",
            "latency_p50_ms": round(percentile(self.latencies, 50), 2),
            "latency_p95_ms": round(percentile(self.latencies, 95), 2),
        }
        if self.faq_total:
            data["faq_top1_accuracy"] = rate(self.faq_right, self.faq_total)
            data["faq_false_accept_rate"] = rate(self.faq_false_accepts, self.out_total)
            data["faq_rows_answered_any_source"] = rate(self.faq_rows_answered, self.faq_total)
        return data


def expected_in(row: dict, answer_text: str) -> bool:
    """True when ``answer_text`` holds every ``expect_all`` string and one ``expect_any`` string
    of ``row`` (a question or a conversation turn; format of ../shared/eval/README.md). The one
    rule of what counts as right, used by ``bot.py eval`` and bench/calibrate.py."""
    if row.get("expect_all") and not all(s in answer_text for s in row["expect_all"]):
        return False
    if row.get("expect_any") and not any(s in answer_text for s in row["expect_any"]):
        return False
    return True


def evaluate(service: Service, rows: list[dict], replies: Replies) -> EvalReport:
    """Answer every row (not logged) and score it on the text ``replies`` renders."""
    report = EvalReport()
    documents: dict[str, str] = {}
    for row in rows:
        if "turns" in row:
            continue  # conversations: app.evaluate_conversations
        answer = service.answer(row["question"])
        text = replies.text(answer)
        report.latencies.append(answer.latency_ms)
        for citation in answer.citations if answer.kind == "passage" else []:
            report.citations += 1
            if citation.doc_id not in documents:
                documents[citation.doc_id] = (service.store.passages.document(citation.doc_id) or {}).get("cleaned_text", "")
            report.citations_valid += documents[citation.doc_id][citation.start:citation.end] == citation.quote
        if row["scope"] == "in":
            report.in_total += 1
            ok = answer.kind in ("faq", "passage") and expected_in(row, text)
            if row.get("expect_faq"):
                report.faq_total += 1
                report.faq_rows_answered += ok
                faq_ok = answer.kind == "faq" and answer.faq_id == row["expect_faq"]
                report.faq_right += faq_ok
                ok = ok and faq_ok
            report.in_right += ok
        else:
            report.out_total += 1
            ok = answer.kind == "none"
            report.out_right += ok
            report.faq_false_accepts += answer.kind == "faq"
        report.count(row, bool(ok))
        if not ok:
            report.failures.append({"id": row.get("id"), "class": row.get("class"), "split": row.get("split"), "question": row["question"], "kind": answer.kind,
                                    "faq_id": answer.faq_id, "confidence": round(answer.confidence, 3),
                                    "expected": row.get("expect_faq") or row.get("expect_any") or row.get("expect_all")
                                    or "none", "answer": replies.body(answer)[:120]})
    return report
