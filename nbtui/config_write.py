"""Changes nbtui makes to the user's config file: a saved view, the chosen theme.

The file is the user's: it is edited through tomlkit, which keeps every comment, blank line
and the order of keys, and only the one value changed is touched. A file that does not parse
is never written (the user is told why, and fixes it); the new text is checked to parse as
nbtui reads it before it replaces the old one, atomically (a temporary file in the same
folder, then `os.replace`), with the old file's permissions. A symlinked file (dotfiles) is
written where the link points, so the link stays.

Where a value goes: the active profile's table (`[profiles.NAME]`) when that table already
holds the key, else the top level. That is where the value nbtui uses came from, so what was
saved is what the next start reads.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import tomllib
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container
from tomlkit.items import AoT, InlineTable, Table

from nbtui.config import InvalidSettings, Settings, View

__all__ = ["ConfigWriteError", "save_theme", "save_view"]

#: Permissions of a config file nbtui creates (it is the user's, nobody else's business).
NEW_FILE_MODE = 0o600


class ConfigWriteError(Exception):
    """The config file was left as it was; the message says why, in the user's words."""


def save_view(path: Path, profile: str, view: View) -> tuple[View, ...] | None:
    """Add `view` to `[views]`, or replace the view of the same name where it stands.

    Returns the profile's views as the file now lists them (in the order the next start
    reads), or None when they do not read as views (the user broke another one meanwhile).
    """

    def change(doc: tomlkit.TOMLDocument) -> None:
        owner = _owner(doc, profile, "views")
        views = owner.get("views")
        if views is None:
            views = owner["views"] = tomlkit.table()
        if not isinstance(views, MutableMapping):
            raise ConfigWriteError(f"`views` in {path} is not a table, so no view can be added")
        _set(views, view.name, _view_value(view))

    data = _update(path, change)
    profiles = data.get("profiles")
    table = profiles.get(profile) if isinstance(profiles, dict) else None
    listed = (
        table["views"] if isinstance(table, dict) and "views" in table else data.get("views", {})
    )
    try:
        return Settings(views=listed).views
    except InvalidSettings:
        return None


def save_theme(path: Path, profile: str, theme: str) -> None:
    """Set `theme = "NAME"`."""

    def change(doc: tomlkit.TOMLDocument) -> None:
        _set(_owner(doc, profile, "theme"), "theme", theme)

    _update(path, change)


def _view_value(view: View) -> Any:
    """The compact form `"query"` without a sort, else `{ filter = ..., sort = ... }`."""
    if view.sort is None:
        return view.query
    table = tomlkit.inline_table()
    table["filter"] = view.query
    table["sort"] = view.sort
    if view.descending is not None:
        table["descending"] = view.descending
    return table


def _set(table: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set `key`: in place when it is there, else right after the table's last key.

    tomlkit alone adds a key after the comments and blank lines that end a table, which
    are usually about what follows (`# my views` above `[views]`): the key would land under
    a comment written for something else.
    """
    if key in table or isinstance(table, InlineTable):
        table[key] = value
        return
    container = table if isinstance(table, Container) else getattr(table, "value", None)
    last = None
    if isinstance(container, Container):
        for name, item in container.body:
            if name is not None and not isinstance(item, Table | AoT):
                last = name
    if last is None or not isinstance(container, Container):
        table[key] = value
        return
    # The one way tomlkit offers to put a key at a given place.
    container._insert_after(last, key, value)


def _owner(doc: tomlkit.TOMLDocument, profile: str, key: str) -> MutableMapping[str, Any]:
    """The table `key` is written in: the profile's if it holds `key`, else the top level."""
    profiles = doc.get("profiles")
    if isinstance(profiles, MutableMapping):
        table = profiles.get(profile)
        if isinstance(table, MutableMapping) and key in table:
            return table
    return doc


def _update(path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> dict[str, Any]:
    """Read, change and write back the file (see the module docstring); returns what the
    new file holds, as nbtui reads it."""
    target = path.resolve()
    try:
        old = target.read_bytes().decode("utf-8") if target.exists() else ""
    except UnicodeDecodeError as exc:
        raise ConfigWriteError(
            f"{path} is not UTF-8 text (byte {exc.start}): it was left as it is"
        ) from None
    except OSError as exc:
        raise ConfigWriteError(f"Cannot read {path}: {exc.strerror}") from None
    try:
        tomllib.loads(old)
        doc = tomlkit.parse(old)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigWriteError(
            f"{path} is not valid TOML ({exc}): it was left as it is; fix it and try again"
        ) from None
    change(doc)
    new = doc.as_string()
    if "\r\n" in old and "\n" not in old.replace("\r\n", ""):
        new = new.replace("\r\n", "\n").replace("\n", "\r\n")  # tomlkit adds bare \n lines
    try:
        data = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:  # a tomlkit quirk: never write what nbtui can't read
        raise ConfigWriteError(
            f"Could not change {path} without breaking it ({exc}): it was left as it is"
        ) from None
    try:
        _write_atomic(target, new)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigWriteError(f"Cannot write {path}: {reason}; it was left as it is") from None
    return data


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
