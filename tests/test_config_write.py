"""nbtui's own changes to the config file: the user's comments and layout survive byte for
byte, the write is atomic, and a file that does not parse is never touched."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from nbtui.config import View, load_settings
from nbtui.config_write import ConfigWriteError, save_theme, save_view

USER_FILE = textwrap.dedent(
    """\
    # nbtui settings, kept in my dotfiles
    base_url = "https://api.acedata.cloud"   # the real one
    poll_interval = 5

    # The views I use every day.
    [views]
    failed = "state:failed"       # red first
    cats   = { filter = "cat", sort = "prompt", descending = false }

    [keymap]
    "app.quit" = "ctrl+q"   # muscle memory

    [profiles.work]
    base_url = "https://proxy.example.com"
    """
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "settings" / "config.toml"
    path.parent.mkdir()
    path.write_text(USER_FILE, encoding="utf-8")
    return path


def test_a_new_view_keeps_every_comment_and_the_layout(config: Path) -> None:
    listed = save_view(config, "default", View("slow", "running", "duration", True))
    assert config.read_text(encoding="utf-8") == USER_FILE.replace(
        'cats   = { filter = "cat", sort = "prompt", descending = false }\n',
        'cats   = { filter = "cat", sort = "prompt", descending = false }\n'
        'slow = {filter = "running", sort = "duration", descending = true}\n',
    )
    expected = (
        View("failed", "state:failed"),
        View("cats", "cat", "prompt", False),
        View("slow", "running", "duration", True),
    )
    assert listed == expected
    assert load_settings(env={}, config_path=config).views == expected


def test_a_view_of_the_same_name_is_replaced_where_it_stands(config: Path) -> None:
    listed = save_view(config, "default", View("failed", "state:failed model:pro"))
    assert config.read_text(encoding="utf-8") == USER_FILE.replace(
        'failed = "state:failed"       # red first',
        'failed = "state:failed model:pro"       # red first',
    )
    assert listed is not None and [view.name for view in listed] == ["failed", "cats"]


def test_the_theme_goes_among_the_top_level_keys(config: Path) -> None:
    save_theme(config, "default", "textual-light")
    assert config.read_text(encoding="utf-8") == USER_FILE.replace(
        "poll_interval = 5\n", 'poll_interval = 5\ntheme = "textual-light"\n'
    )
    save_theme(config, "default", "nord")  # changed in place, not added twice
    assert config.read_text(encoding="utf-8") == USER_FILE.replace(
        "poll_interval = 5\n", 'poll_interval = 5\ntheme = "nord"\n'
    )
    assert load_settings(env={}, config_path=config).theme == "nord"


def test_a_profile_that_has_its_own_views_and_theme_gets_the_new_ones(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        theme = "nord"
        [views]
        mine = "x"
        [profiles.work]
        theme = "gruvbox"   # dim office
        [profiles.work.views]
        theirs = "y"
        """
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    save_view(path, "work", View("new", "z"))
    save_theme(path, "work", "monokai")
    assert path.read_text(encoding="utf-8") == text.replace('"gruvbox"', '"monokai"').replace(
        'theirs = "y"\n', 'theirs = "y"\nnew = "z"\n'
    )
    # A profile without views of its own shows (and so gets) the top-level ones.
    save_view(path, "home", View("shared", "s"))
    home = load_settings(env={"NBTUI_PROFILE": "home"}, config_path=path)
    assert [view.name for view in home.views] == ["mine", "shared"]


def test_the_file_and_its_folders_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dirs" / "config.toml"
    save_view(path, "default", View("failed", "state:failed"))
    assert path.read_text(encoding="utf-8") == '[views]\nfailed = "state:failed"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_write_is_atomic_and_keeps_the_mode(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.chmod(0o640)
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        # At the moment of the swap, the old file is whole and the new one complete.
        seen.append((Path(dst).read_text(encoding="utf-8"), Path(src).read_text(encoding="utf-8")))
        assert Path(src).parent == Path(dst).parent
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save_view(config, "default", View("new", "q"))
    assert len(seen) == 1
    old, new = seen[0]
    assert old == USER_FILE and new == config.read_text(encoding="utf-8") != USER_FILE
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


def test_a_failed_write_leaves_the_file_and_no_litter(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConfigWriteError, match="No space left on device; it was left as it is"):
        save_view(config, "default", View("new", "q"))
    assert config.read_text(encoding="utf-8") == USER_FILE
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    "broken",
    [
        '[views]\nfailed = "state:failed\n',  # unterminated string
        "[views]\na = 1\n[views]\nb = 2\n",  # a table defined twice
        'theme = "x"\ntheme = "y"\n',  # a key defined twice
    ],
)
def test_a_file_that_does_not_parse_is_never_written(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(broken, encoding="utf-8")
    before = path.stat().st_mtime_ns
    with pytest.raises(ConfigWriteError, match=r"is not valid TOML .*left as it is; fix it"):
        save_view(path, "default", View("new", "q"))
    with pytest.raises(ConfigWriteError, match="is not valid TOML"):
        save_theme(path, "default", "nord")
    assert path.read_text(encoding="utf-8") == broken
    assert path.stat().st_mtime_ns == before


def test_a_file_that_is_not_utf8_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigWriteError, match="not UTF-8"):
        save_theme(path, "default", "nord")
    assert path.read_bytes() == b"# caf\xe9\n"


def test_views_that_are_not_a_table_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('views = "oops"\n', encoding="utf-8")
    with pytest.raises(ConfigWriteError, match="is not a table"):
        save_view(path, "default", View("new", "q"))
    assert path.read_text(encoding="utf-8") == 'views = "oops"\n'


def test_a_symlinked_file_is_written_through_the_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "nbtui.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text("# mine\n", encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(dotfiles)
    save_theme(link, "default", "nord")
    assert link.is_symlink()
    assert dotfiles.read_text(encoding="utf-8") == '# mine\ntheme = "nord"\n'


def test_windows_line_endings_stay(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'poll_interval = 5\r\n\r\n[views]\r\nx = "y"\r\n')
    save_view(path, "default", View("new", "q"))
    save_theme(path, "default", "nord")
    assert path.read_bytes() == (
        b'poll_interval = 5\r\ntheme = "nord"\r\n\r\n[views]\r\nx = "y"\r\nnew = "q"\r\n'
    )


def test_the_views_as_the_next_start_reads_them(tmp_path: Path) -> None:
    """`[views.a]` sub-tables come after keys added to `[views]`: the order returned is the
    file's, which is what keys 1-9 will follow at the next start."""
    path = tmp_path / "config.toml"
    path.write_text('[views.a]\nfilter = "x"\nsort = "id"\n', encoding="utf-8")
    listed = save_view(path, "default", View("b", "y"))
    assert listed is not None and [view.name for view in listed] == ["b", "a"]
    assert load_settings(env={}, config_path=path).views == listed


def test_a_new_key_goes_above_the_comment_that_ends_its_table(tmp_path: Path) -> None:
    """Such a comment is about what follows: the new key stays with its table's keys."""
    text = '[views]\nx = "y"\n\n# my keys, below\n[keymap]\nx = "y"\n'
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    save_view(path, "default", View("new", "q"))
    assert path.read_text(encoding="utf-8") == text.replace(
        'x = "y"\n\n', 'x = "y"\nnew = "q"\n\n', 1
    )


def test_an_inline_views_table_stays_inline(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('views = { a = "x" }  # short\n', encoding="utf-8")
    save_view(path, "default", View("b", "y"))
    assert path.read_text(encoding="utf-8") == 'views = { a = "x", b = "y"}  # short\n'
