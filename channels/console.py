"""Console rendering for `bot.py ask` and `bot.py chat`: plain text, JSON Lines, explanations."""

from __future__ import annotations

import json

from channels.replies import Replies
from qa.answer import Answer

KIND_LABEL = {"faq": "常见问题", "passage": "原文", "smalltalk": "闲聊", "none": "未找到"}


def render_json(answer: Answer, replies: Replies, *, with_understood: bool = False) -> str:
    """One line of the answer contract (DESIGN.md), UTF-8, no ASCII escapes."""
    return json.dumps(replies.to_json(answer, with_understood=with_understood), ensure_ascii=False)


def render_explain(answer: Answer) -> str:
    """Why this answer won: FAQ match (phrasing, score, margin, runner-up) and/or the passage
    ranking (terms with weights, features, top candidates)."""
    lines = [f"—— 解释 ——  类型：{KIND_LABEL.get(answer.kind, answer.kind)}  置信度：{answer.confidence:.2f}  "
             f"用时：{answer.latency_ms:.1f} ms"]
    faq = answer.explain.get("faq")
    if faq:
        runner = faq.get("runner_up")
        lines.append(f"FAQ：决定={faq['decision']}  条目={faq['entry']}  匹配问法=「{faq['matched']}」  "
                     f"得分={faq['score']}  领先={faq['margin']}"
                     + (f"  第二名={runner['entry']}（{runner['score']}）" if runner else ""))
    passage = answer.explain.get("passage")
    if passage:
        terms = "，".join(f"{t['term']}({t['weight']}{'' if t['known'] else '，资料中没有'})" for t in passage["terms"])
        lines.append(f"原文：置信度={passage['confidence']}  得分={passage['score']}  关键词：{terms}")
        lines.append("特征：" + "  ".join(f"{k}={v}" for k, v in passage["features"].items()))
        for i, top in enumerate(passage["top"], 1):
            lines.append(f"  {i}. [{top['score']}] {top['text'][:80]}")
    return "\n".join(lines)
