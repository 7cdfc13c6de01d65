"""The theme: the one in the config (`theme = "..."`) is applied at start, and one chosen in
the command palette ("Change theme") is written back to the config file, comments kept."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from nbtui.config import config_file_path
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host

if TYPE_CHECKING:
    from textual.app import App
    from textual.theme import Theme

    from nbtui.tui.session import Session

__all__ = ["ThemeMemory"]


class ThemeMemory:
    """Applies the configured theme and remembers the one the user picks."""

    def __init__(self, host: Host, session: Session) -> None:
        self._host = host
        self._session = session

    def apply(self, app: App[Any]) -> str | None:
        """Use the configured theme; a warning for the user when it is unknown."""
        name = self._session.settings.theme
        if name is None:
            return None
        if name not in app.available_themes:
            known = ", ".join(sorted(app.available_themes))
            return (
                f"Unknown theme {one_line(name)!r} in the config file: using the default. "
                f"Themes: {known}."
            )
        app.theme = name
        return None

    def changed(self, theme: Theme) -> None:
        """The app's theme changed: write it to the config unless it is the one there."""
        if theme.name == self._session.settings.theme:
            return
        self._host.run_worker(self._save(theme.name), group="config-write")

    async def _save(self, name: str) -> None:
        from nbtui.config_write import ConfigWriteError, save_theme

        session = self._session
        path = session.config_path or config_file_path()
        try:
            await asyncio.to_thread(save_theme, path, session.settings.profile, name)
        except ConfigWriteError as exc:
            self._host.notify(
                f"The theme is used now but was not remembered: {one_line(str(exc))}",
                title="Theme not saved",
                severity="warning",
                timeout=15,
            )
            return
        session.settings = dataclasses.replace(session.settings, theme=name)
        self._host.notify(f"Theme {name} remembered in {path}.", timeout=4)
