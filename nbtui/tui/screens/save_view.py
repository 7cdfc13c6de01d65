"""Ask for a name to save the current filter and sort under, as a view in the config file."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from nbtui.config import MAX_VIEW_NAME, View, check_view_name
from nbtui.textsafe import one_line, truncate

__all__ = ["SaveViewScreen"]


class SaveViewScreen(ModalScreen[str | None]):
    """Dismisses with the name to save under (None: cancelled). A name already in use is
    replaced only after a second enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="save_view.cancel"),
    ]

    DEFAULT_CSS = """
    #save-view-dialog { width: 72; }
    #save-view-feedback { height: auto; min-height: 1; }
    """

    def __init__(self, view: View, *, existing: list[str], suggested: str, path: str) -> None:
        super().__init__(classes="dialog-screen")
        self._view = view
        self._existing = existing
        self._suggested = suggested
        self._path = path
        #: The name the user was warned is in use (enter again with it replaces that view).
        self._warned: str | None = None

    def compose(self) -> ComposeResult:
        view = self._view
        direction = "descending" if view.descending else "ascending"
        summary = Text()
        summary.append("filter  ", style="dim")
        summary.append(truncate(one_line(view.query), 56) if view.query else "(none: all tasks)")
        summary.append("\nsort    ", style="dim")
        summary.append(f"{view.sort}, {direction}")
        with Vertical(classes="dialog", id="save-view-dialog"):
            yield Static(Text("Save as a view", style="bold"), classes="dialog-title")
            yield Static(summary, classes="dialog-body")
            yield Input(
                value=self._suggested,
                placeholder="a name, e.g. failed",
                max_length=MAX_VIEW_NAME,
                id="save-view-name",
            )
            yield Static("", id="save-view-feedback")
            yield Static(
                Text(f"enter saves to {truncate(one_line(self._path), 50)} · escape cancels"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#save-view-name", Input).focus()

    def _feedback(self, text: str, style: str) -> None:
        self.query_one("#save-view-feedback", Static).update(Text(text, style=style))

    @on(Input.Changed, "#save-view-name")
    def _changed(self, event: Input.Changed) -> None:
        self._warned = None
        self._feedback("", "")

    @on(Input.Submitted, "#save-view-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        problem = check_view_name(name)
        if problem is not None:
            self._feedback(problem[0].upper() + problem[1:] + ".", "bold red")
            return
        if name in self._existing and self._warned != name:
            self._warned = name
            self._feedback(f"A view named {name} exists: enter again replaces it.", "bold yellow")
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
