"""Small talk: greetings, thanks, "who are you", goodbyes. Short, friendly, with usage hints.

Only a message that is *entirely* small talk gets a small-talk reply; a greeting in front of
a question (「你好，请问2020年脱贫多少人」) is stripped and the question answered.
"""

from __future__ import annotations

import re

EXAMPLES = ("宛城区2020年脱贫多少人？", "“四集中”是什么？", "生源地助学贷款办了多少？")

_PATTERNS = (
    ("greeting", r"(你好|您好|你们好|大家好|嗨|哈喽|哈啰|hi|hello|hey|早上好|上午好|中午好|下午好|晚上好|早安|晚安|"
                 r"在吗|在不在|有人吗|有人在吗|在么|喂|小助手|机器人)"),
    ("identity", r"(你是谁|您是谁|你叫什么|你叫啥|你是什么|你是机器人吗|你能做什么|你能干什么|你会什么|你会干啥|"
                 r"能问什么|可以问什么|问什么|怎么用|如何使用|怎么使用|使用说明|帮助|help|菜单)"),
    ("thanks", r"(谢谢|谢谢你|谢谢您|多谢|感谢|感谢你|感谢您|谢了|thanks|thank you|thx|辛苦了|太好了)"),
    ("bye", r"(再见|拜拜|bye|byebye|回见|下次见)"),
    ("ack", r"(好的|好|嗯|嗯嗯|哦|噢|ok|okay|知道了|明白了|收到|懂了|行|可以|了解)"),
)
_FILLER = r"[\s,.!?~，。！？～、…:：;；'\"“”‘’()（）啊呀呢吧哈啦哦嘛的了]*"
_WHOLE = [(kind, re.compile(rf"^{_FILLER}(?:{p}{_FILLER})+$")) for kind, p in _PATTERNS]
_LEADING_GREETING = re.compile(rf"^{_FILLER}(?:{_PATTERNS[0][1]}{_FILLER})+(?:请问{_FILLER}|我想问{_FILLER}|想问一下{_FILLER})?")


# Requests for work the bot does not do (写一首诗, 讲个笑话, 翻译一下): refused without a search,
# because words such as 诗 or 故事 occur in articles and would otherwise draw a random quote.
_TASK_REQUEST = re.compile(
    r"^(请|麻烦)?(你)?(帮我|给我|替我|帮忙)?(写|作|编|讲|唱|画|翻译|生成|创作|造|背|念|算)(一下|一|个|首|段|篇|点|几)*"
    r"(诗|诗歌|歌|笑话|故事|文章|作文|小说|代码|程序|图|画|对联|段子|祝福|情书|检讨|总结|报告|句子|英文|英语)")


def is_task_request(norm: str) -> bool:
    """True for requests to compose, translate or entertain (帮我写一首诗): not questions."""
    return bool(_TASK_REQUEST.match(norm.replace(" ", "")))


def classify(norm: str) -> str | None:
    """The small-talk kind of a whole normalised message ("greeting", "identity", "thanks",
    "bye", "ack"), or None when it is (or contains) a real question."""
    for kind, pattern in _WHOLE:
        if pattern.match(norm):
            return kind
    return None


def strip_greeting(text: str) -> str:
    """``text`` without a leading greeting (「你好，请问」), or unchanged."""
    stripped = _LEADING_GREETING.sub("", text, count=1)
    return stripped if stripped.strip() else text
