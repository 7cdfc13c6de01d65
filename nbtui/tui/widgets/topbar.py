"""The header line: the app's name, the active view and its count, the balance and the API host
(or the demo badge)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from nbtui.textsafe import one_line
from nbtui.tui.session import Session

__all__ = ["TopBar"]


class TopBar(Horizontal):
    """The header; the screen says when the view or the balance changed."""

    def __init__(
        self, session: Session, *, balance: Callable[[], Text], id: str | None = None
    ) -> None:
        """`balance()`: the balance's words (empty when it is off)."""
        super().__init__(id=id)
        self._session = session
        self._balance = balance
        self._view_header = Text()

    def compose(self) -> ComposeResult:
        yield Static(Text("nbtui", style="bold"), id="title")
        view = Static("", id="topbar-view")
        view.display = False  # nothing, not an empty padded cell, until a view is active
        yield view
        yield Static(self._info(), id="topbar-info")

    def _info(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", justify="right")
        text.append_text(self._balance())
        if self._session.demo:
            # The badge names it; the simulator's made-up host would read like an error.
            text.append(" DEMO ", style="bold reverse yellow")
            text.append("  simulated API, throwaway data", style="dim")
        else:
            text.append(one_line(self._session.settings.api_host), style="dim")
        return text

    def update_info(self) -> None:
        """The balance or the session (the demo) changed."""
        self.query_one("#topbar-info", Static).update(self._info())

    def show_view(self, header: Text) -> None:
        """Name the active view and count what it shows (empty: no view).

        Called after every order read (each refresh cycle): an update lays out the whole
        screen again (the cell's width follows its text), 25 ms at 10,000 tasks, so an
        unchanged header is left alone."""
        if header == self._view_header:
            return
        self._view_header = header
        shown = self.query_one("#topbar-view", Static)
        shown.update(header)
        shown.display = bool(header)  # nothing, not an empty padded cell, without a view
