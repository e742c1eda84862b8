"""Placeholder while the Telegram command is written."""


def add_commands(sub, add_db) -> None:
    return None
