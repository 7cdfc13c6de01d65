"""Saved views (`[views]` in the config): switching with 1-9 and 0, the header's name and
count, the palette's "View: ..." commands, and saving the current filter and sort as a view.

A view is applied through the screen's own filter field and sort, so a view's query means
exactly what the same text typed after `/` means. Entering a view remembers the sort in use;
leaving it (0, the same key again, escape on the filter, or the palette's "View: all tasks")
clears the filter and puts that sort back. A view without a sort keeps it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from nbtui.config import View, config_file_path
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.tasklist_model import SortKey, TaskListModel, natural_descending

if TYPE_CHECKING:
    from pathlib import Path

    from nbtui.tui.session import Session

__all__ = ["VIEW_KEYS", "Views", "ViewsProvider"]

#: Views the number keys reach (1-9); the others are in the command palette.
VIEW_KEYS = 9


class Views:
    """The active view and what switching, leaving and saving do (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        session: Session,
        model: TaskListModel,
        *,
        show_filter: Callable[[str], None],
        sort_by: Callable[[SortKey, bool], None],
        shown: Callable[[], None],
    ) -> None:
        """`show_filter(text)`: put `text` in the filter field (which filters the list);
        `sort_by(key, descending)`: sort the list; `shown()`: the header should be redrawn."""
        self._host = host
        self._session = session
        self._model = model
        self._show_filter = show_filter
        self._sort_by = sort_by
        self._shown = shown
        #: The view in use (None: all tasks).
        self.active: View | None = None
        #: The sort in use before the first view was entered, put back on leaving.
        self._before: tuple[SortKey, bool] | None = None

    @property
    def views(self) -> tuple[View, ...]:
        return self._session.settings.views

    @property
    def config_path(self) -> Path:
        return self._session.config_path or config_file_path()

    # -- switching -----------------------------------------------------------------------

    def key(self, number: int) -> None:
        """Keys 1-9: the `number`th view; the active view's key again leaves it."""
        views = self.views
        if not 1 <= number <= len(views):
            have = f"only {len(views)}" if views else "none"
            self._host.notify(
                f"No view {number}: the config file has {have} (save one with V, or see "
                f"[views] in {self.config_path}).",
                severity="warning",
                timeout=6,
            )
            return
        view = views[number - 1]
        if self.active is not None and self.active.name == view.name:
            self.leave()
        else:
            self.enter(view)

    def enter(self, view: View) -> None:
        """Show `view`: its filter, and its sort (or the sort from before any view)."""
        if self.active is None:
            self._before = (self._model.sort_key, self._model.descending)
        self.active = view
        if view.sort is not None:
            key = SortKey(view.sort)
            descending = view.descending
            self._sort_by(key, natural_descending(key) if descending is None else descending)
        elif self._before is not None:
            self._sort_by(*self._before)
        self._show_filter(view.query)
        self._shown()

    def leave(self) -> None:
        """Back to all tasks: no filter, the sort from before the view."""
        if self.active is None:
            return
        self.filter_cleared()
        self._show_filter("")

    def filter_cleared(self) -> None:
        """The user cleared the filter (escape): that leaves the view too."""
        if self.active is None:
            return
        self.active = None
        before, self._before = self._before, None
        if before is not None:
            self._sort_by(*before)
        self._shown()

    # -- the header ----------------------------------------------------------------------

    def changed(self) -> bool:
        """The filter or the sort was changed since the active view was entered."""
        view = self.active
        if view is None:
            return False
        if self._model.filter_text.strip() != view.query.strip():
            return True
        if view.sort is None:
            return False
        key = SortKey(view.sort)
        descending = natural_descending(key) if view.descending is None else view.descending
        return (self._model.sort_key, self._model.descending) != (key, descending)

    def header(self, shown: int) -> Text:
        """The active view's name and how many tasks it shows (empty: all tasks)."""
        view = self.active
        if view is None:
            return Text()
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("view ", style="dim")
        text.append(one_line(view.name), style="bold")
        if self.changed():
            text.append(" (changed)", style="italic")
        noun = "task" if shown == 1 else "tasks"
        text.append(f" · {shown:,} {noun}")
        return text

    # -- saving --------------------------------------------------------------------------

    def current(self, name: str) -> View:
        """The filter and sort in use, as a view called `name`."""
        model = self._model
        return View(name, model.filter_text.strip(), model.sort_key.value, model.descending)

    def ask_save(self) -> None:
        """Ask for a name (the dialog shows what is saved), then save."""
        from nbtui.tui.screens.save_view import SaveViewScreen

        active = self.active.name if self.active is not None else ""
        screen = SaveViewScreen(
            self.current(active or "view"),
            existing=[view.name for view in self.views],
            suggested=active,
            path=str(self.config_path),
        )
        self._host.app.push_screen(screen, self._named)

    def _named(self, name: str | None) -> None:
        if name:
            self._host.run_worker(self.save(self.current(name)), group="config-write")

    async def save(self, view: View) -> None:
        """Write `view` into the config file (off the UI thread), then make it the active one."""
        from nbtui.config_write import ConfigWriteError, save_view

        path = self.config_path
        settings = self._session.settings
        try:
            listed = await asyncio.to_thread(save_view, path, settings.profile, view)
        except ConfigWriteError as exc:
            self._host.notify(
                one_line(str(exc)), title="View not saved", severity="error", timeout=15
            )
            return
        if listed is None:  # the file's other views no longer read: keep ours in memory
            others = [old for old in self.views if old.name != view.name]
            listed = (*others, view)
        self._session.settings = dataclasses.replace(self._session.settings, views=listed)
        if self.active is None:
            self._before = (self._model.sort_key, self._model.descending)
        self.active = next((saved for saved in listed if saved.name == view.name), view)
        self._shown()
        names = [saved.name for saved in listed]
        number = names.index(view.name) + 1 if view.name in names else 0
        key = f" (key {number})" if 1 <= number <= VIEW_KEYS else " (in the palette)"
        self._host.notify(f"Saved the view {one_line(view.name)}{key} in {path}.", timeout=6)


class ViewsProvider(Provider):
    """The saved views in the command palette ("View: failed"), and "View: all tasks"."""

    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        views = getattr(self.screen, "views", None)
        if not isinstance(views, Views):
            return []
        commands: list[tuple[str, str, Callable[[], None]]] = []
        for number, view in enumerate(views.views, start=1):
            key = f"{number} · " if number <= VIEW_KEYS else ""
            query = one_line(view.query) or "(no filter)"
            title = f"View: {one_line(view.name)}"
            commands.append((title, f"{key}{query}", partial(views.enter, view)))
        commands.append(("View: all tasks", "0 · leave the view", views.leave))
        return commands

    def _run(self, callback: Callable[[], None]) -> None:
        self.app.call_later(callback)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            run = partial(self._run, callback)
            yield DiscoveryHit(Text(title), run, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, callback),
                    text=title,
                    help=help_text,
                )
