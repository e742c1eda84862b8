"""Placeholder while the command group is written."""


def add_commands(sub, add_db) -> None:
    return None
