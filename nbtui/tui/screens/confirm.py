"""A yes/no question that must be answered before anything destructive happens."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from nbtui.tui.widgets.dialog_scroll import DialogScroll

__all__ = ["ConfirmScreen"]


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True when confirmed, False otherwise."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(
        self,
        title: str,
        message: Text | str,
        *,
        confirm_label: str = "Yes",
        hint: str = "y confirms · enter or esc cancels",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._message = message if isinstance(message, Text) else Text(message)
        self._confirm_label = confirm_label
        #: The keys, said: Cancel has the focus, so only `y` confirms without moving it.
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(Text(self._title, style="bold"), classes="dialog-title")
            with DialogScroll():
                yield Static(self._message, classes="dialog-body")
            with Horizontal(classes="dialog-buttons dialog-foot"):
                yield Button(self._confirm_label, variant="error", id="confirm-yes")
                yield Button("Cancel", id="confirm-no")
            yield Static(Text(self._hint, style="dim"), classes="dialog-hint", id="confirm-hint")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
