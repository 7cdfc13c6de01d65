"""`[views]` and `theme` in the config file: both forms, file order, profiles, and messages
that name the bad view and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nbtui.config import ConfigError, Settings, View, load_settings


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(env=env, config_path=path)


def test_compact_and_table_forms_in_file_order(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
        theme = "textual-light"
        [views]
        failed = "state:failed"
        "new cats" = { filter = "cat", sort = "created", descending = false }
        slowest = { sort = "duration" }
        """,
    )
    assert settings.views == (
        View("failed", "state:failed"),
        View("new cats", "cat", "created", False),
        View("slowest", "", "duration", None),
    )
    assert settings.theme == "textual-light"


def test_no_views_and_no_theme_by_default(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    assert (settings.views, settings.theme) == ((), None)


def test_a_profiles_views_replace_the_top_level_ones(tmp_path: Path) -> None:
    text = """
    theme = "nord"
    [views]
    mine = "x"
    [profiles.work]
    theme = "gruvbox"
    [profiles.work.views]
    theirs = "y"
    [profiles.home]
    batch_size = 3
    """
    work = load(tmp_path, text, NBTUI_PROFILE="work")
    assert (work.views, work.theme) == ((View("theirs", "y"),), "gruvbox")
    home = load(tmp_path, text, NBTUI_PROFILE="home")
    assert (home.views, home.theme) == ((View("mine", "x"),), "nord")


def test_every_bad_view_is_named_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(
            tmp_path,
            """
            [views]
            good = "fine"
            a = { fliter = "x" }
            b = { filter = "x", sort = "age" }
            c = { filter = "x", descending = "maybe" }
            d = { filter = "x", descending = true }
            e = 3
            f = "two\\nlines"
            "a very long name that goes on and on and on" = "x"
            """,
        )
    message = str(info.value)
    assert "views.a.fliter = 'x'" in message and "did you mean filter?" in message
    assert "views.b.sort = 'age'" in message and "created, state, id" in message
    assert "views.c.descending = 'maybe'" in message and "valid boolean" in message
    assert "views.d.descending = True" in message and "Give a sort" in message
    assert "views.e = 3" in message and "a filter text or a table" in message
    assert "views.f.filter" in message and "one line" in message
    assert "at most 30 characters" in message
    assert "views.good" not in message


def test_views_are_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"views = 'x'.*table of name = filter"):
        load(tmp_path, 'views = "x"\n')


def test_theme_is_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"theme = 3 .*valid string"):
        load(tmp_path, "theme = 3\n")


def test_views_survive_replace() -> None:
    """`dataclasses.replace` checks every field again: checked views pass as they are."""
    settings = Settings.from_mapping({"views": {"a": "x", "b": {"filter": "y", "sort": "id"}}})
    again = dataclasses.replace(settings, theme="nord")
    assert again.views == (View("a", "x"), View("b", "y", "id"))
