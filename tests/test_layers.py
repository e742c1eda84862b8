"""The layers of DESIGN.md, checked by walking the imports of every module (static: the
``import`` and ``from`` statements in the source, including those inside functions).

- qa/ and faq/ import nothing from channels/, app/ or conversation/, no HTTP framework, no
  templates, and never read os.environ;
- conversation/ imports nothing from channels/ or app/;
- channels/ import nothing from app/ and never reach qa.store or qa.indexer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("starlette", "uvicorn", "telegram", "jinja2", "httpx")


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module name imported by ``path`` (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules(folder: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / folder).rglob("*.py"))


def _bad(folder: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in modules(folder, root):
        for name in imports_of(path, root):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return sorted(found)


@pytest.mark.parametrize("folder", ["qa", "faq"])
def test_core_imports_no_channel_app_or_framework(folder):
    assert _bad(folder, ("channels", "app", "conversation", *FRAMEWORKS)) == []


@pytest.mark.parametrize("folder", ["qa", "faq", "conversation"])
def test_core_never_reads_the_environment(folder):
    readers = [str(p.relative_to(ROOT)) for p in modules(folder) if "os.environ" in p.read_text(encoding="utf-8")
               or "getenv(" in p.read_text(encoding="utf-8")]
    assert readers == []


def test_conversation_imports_no_channel_or_app():
    assert _bad("conversation", ("channels", "app")) == []


def test_channels_import_no_app_and_never_reach_the_store():
    assert _bad("channels", ("app", "qa.store", "qa.indexer")) == []


def test_the_walker_sees_violations(tmp_path):
    """The check can fail: imports inside functions and relative imports are caught."""
    (tmp_path / "channels" / "sub").mkdir(parents=True)
    (tmp_path / "channels" / "probe.py").write_text(
        "def f():\n    from app.runtime import open_runtime\n    import qa.store.db\n", encoding="utf-8")
    (tmp_path / "channels" / "sub" / "rel.py").write_text("from ...app import cli\n", encoding="utf-8")
    assert _bad("channels", ("app", "qa.store"), tmp_path) == [
        "channels/probe.py imports app.runtime", "channels/probe.py imports app.runtime.open_runtime",
        "channels/probe.py imports qa.store.db", "channels/sub/rel.py imports app", "channels/sub/rel.py imports app.cli"]
