"""The core (api, tracking) must stay free of Textual so the CLI and the TUI share it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nbtui"
CORE = [
    "api",
    "tracking",
    "sim",
    "config",
    "credentials.py",
    "textsafe.py",
    "media",
    "notify.py",
    "usercommands.py",
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        target = PACKAGE / entry
        files.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return [path for path in files if path.exists()]


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_textual_or_the_tui(path: Path) -> None:
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "textual" or name.startswith("nbtui.tui")
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_api_layer_knows_nothing_of_storage() -> None:
    for path in (PACKAGE / "api").rglob("*.py"):
        assert not {
            n for n in imported_modules(path) if n.startswith(("nbtui.tracking", "sqlite3"))
        }, path
