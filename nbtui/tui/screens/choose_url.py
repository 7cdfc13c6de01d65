"""Pick one of a task's image URLs (when there are several to open or copy)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nbtui.textsafe import one_line

__all__ = ["ChooseUrlScreen"]


class ChooseUrlScreen(ModalScreen[str | None]):
    """Dismisses with the chosen URL, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choose.cancel"),
    ]

    def __init__(self, title: str, urls: list[str]) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._urls = urls

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="choose-dialog"):
            yield Static(Text(self._title, style="bold"), classes="dialog-title")
            yield OptionList(
                *(
                    Option(Text.assemble((f"{n}. ", "dim"), one_line(url)), id=str(n - 1))
                    for n, url in enumerate(self._urls, 1)
                ),
                id="choose-list",
            )
            yield Static(
                Text("enter chooses · escape cancels", style="dim"),
                classes="dialog-hint dialog-foot",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        self.dismiss(self._urls[index])

    def action_cancel(self) -> None:
        self.dismiss(None)
