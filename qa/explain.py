"""Why an answer won: the candidates logged with each question and the --explain data."""

from __future__ import annotations

from qa.retrieve import PassageResult


def candidates(faq_match, passage: PassageResult | None) -> list[dict]:
    """The top FAQ entries and passages with their scores, as stored in the question log."""
    out = []
    if faq_match is not None:
        out += [{"kind": "faq", "id": e.id, "score": round(s, 3)} for e, s in faq_match.top[:2]]
    if passage is not None:
        for cand in passage.ranked[:2]:
            row = passage.rows[cand.key]
            out.append({"kind": "passage", "id": row.id, "doc_id": row.doc_id, "score": round(cand.score, 3),
                        "text": row.text[:60]})
    return out


def explain(faq_match, passage: PassageResult | None) -> dict:
    """FAQ decision (matched phrasing, score, margin, runner-up) and passage ranking (terms with
    weights, features of the winner, the top three sentences with scores)."""
    data: dict = {}
    if faq_match is not None:
        data["faq"] = faq_match.explain()
    if passage is not None:
        best = passage.ranked[0]
        data["passage"] = {
            "confidence": round(passage.confidence, 3), "score": round(passage.score, 3),
            "terms": [{"term": t.term.text, "weight": round(t.weight, 2), "known": t.known,
                       "matched": t.term.text in passage.rows[best.key].norm} for t in passage.terms],
            "features": {k: round(v, 3) for k, v in passage.features.items()},
            "top": [{"text": passage.rows[c.key].text, "score": round(c.score, 3)} for c in passage.ranked[:3]],
        }
    return data
