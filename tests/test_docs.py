"""The README against the code (in the style of sqlite-utils' and datasette's test_docs.py):
every command and subcommand is documented with its options and has a working ``--help``;
the configuration table is exactly the settings declared in :mod:`app.settings`."""

from __future__ import annotations

import argparse
import re

import pytest

from app.cli import build_parser
from app.settings import DECLARATIONS, markdown_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The README text under ``## title`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(path, parser) of every command, nested ones included: ("faq", "add") etc."""
    for action in parser._actions:  # argparse has no public API to walk subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subcommands(sub, (*prefix, name))


def _leaves():
    """Commands that run something (``faq`` itself only dispatches)."""
    commands = list(_subcommands(build_parser()))
    parents = {path[:-1] for path, _ in commands}
    return [(path, sub) for path, sub in commands if path not in parents]


COMMANDS = _section("Commands")
LEAVES = _leaves()
ALL_PATHS = [" ".join(path) for path, _ in _subcommands(build_parser())]


def test_the_walk_finds_nested_commands():
    assert {"ask", "faq", "faq add", "faq list", "faq promote", "check", "serve", "telegram"} <= set(ALL_PATHS)


@pytest.mark.parametrize("path", [" ".join(path) for path, _ in LEAVES])
def test_every_command_is_documented(path):
    assert re.search(rf"`(bot\.py )?{re.escape(path)}( [^`]*)?`", COMMANDS), \
        f"`bot.py {path}` is missing from README's Commands section"


@pytest.mark.parametrize("path, option", [(" ".join(path), option) for path, sub in LEAVES
                                          for action in sub._actions for option in action.option_strings
                                          if option.startswith("--") and option not in ("--help", "--db")])
def test_every_option_is_documented(path, option):
    rows = [line for line in COMMANDS.splitlines() if re.search(rf"`(bot\.py )?{re.escape(path)}[ `]", line)]
    assert any(re.search(rf"{re.escape(option)}\b", row) for row in rows), \
        f"{option} of `bot.py {path}` is missing from its README row"


def test_every_documented_command_exists():
    documented = set(re.findall(r"`bot\.py ([a-z-]+(?: [a-z]+)?)", COMMANDS))
    for text in documented:
        words = text.split()
        assert " ".join(words[:2]) in ALL_PATHS or words[0] in ALL_PATHS, f"README documents unknown `bot.py {text}`"


def test_every_command_takes_db_as_the_readme_says():
    assert "Every command except `settings` takes `--db PATH`" in COMMANDS
    for path, sub in LEAVES:
        if path != ("settings",):
            assert any("--db" in action.option_strings for action in sub._actions), path


@pytest.mark.parametrize("path", ["", *ALL_PATHS])
def test_help_exits_zero(path, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*path.split(), "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: bot.py {path}".rstrip())


def test_configuration_table_is_the_declared_settings():
    table = [line for line in _section("Configuration").splitlines() if line.startswith("|")]
    assert table == markdown_table()  # regenerate with: python3 bot.py settings --markdown


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.variable)
def test_every_setting_is_documented_with_its_default(declaration):
    rows = [line for line in _section("Configuration").splitlines() if line.startswith(f"| `{declaration.variable}` |")]
    assert len(rows) == 1, f"{declaration.variable} needs exactly one row in README's configuration table"
    assert rows[0].rstrip().endswith(f"| {declaration.shown_default} |")
    if isinstance(declaration.default, (int, float)) and not isinstance(declaration.default, bool):
        assert declaration.shown_default == str(declaration.default)
