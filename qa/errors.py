"""The project's one configuration error, in a module with no dependencies so that every
layer (app/, channels/, qa/) can raise it and the CLI can catch it in one place."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing or malformed.

    Args:
        variable: the environment variable or command-line flag at fault (``BOT_RATE_LIMIT``,
            ``--port``); kept as :attr:`variable`.
        problem: what is wrong, in English, without the value of a secret.

    The message is ``"<variable>: <problem>"``, so it always starts with the variable's name.
    """

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class Refusal(Exception):
    """An expected refusal of a command, with a Chinese message that says what to do (e.g. a
    reindex that would drop documents without ``--replace``). The CLI prints the message as is,
    without the "出错了" wording of unexpected failures."""
