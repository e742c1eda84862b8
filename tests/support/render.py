"""Render answers in tests exactly as a resident reads them (the default contact line)."""

from __future__ import annotations

from app.settings import DEFAULT_CONTACT
from channels.replies import Replies

REPLIES = Replies(DEFAULT_CONTACT)


def text(answer) -> str:
    """What a resident sees on a text channel for ``answer``."""
    return REPLIES.text(answer)
