"""Pick one of a task's image URLs (when there are several to open or copy)."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nbtui.textsafe import one_line

__all__ = ["ChooseUrlScreen", "shorten_middle"]


def shorten_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle with "…": a URL keeps its host and
    its file name, the parts that tell two apart."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head_room = width // 2
    head, used = [], 0
    for char in text:
        size = cell_len(char)
        if used + size > head_room:
            break
        head.append(char)
        used += size
    tail_room = width - 1 - used  # what the head left (a wide character may leave a cell)
    tail: list[str] = []
    used = 0
    for char in reversed(text):
        size = cell_len(char)
        if used + size > tail_room:
            break
        tail.append(char)
        used += size
    return "".join(head) + "…" + "".join(reversed(tail))


class _OneLineUrl:
    """A numbered URL on one line, shortened in the middle to the width it is given (the
    option list would otherwise wrap it mid-word); the whole URL is still the one chosen."""

    def __init__(self, number: int, url: str) -> None:
        self._number = f"{number}. "
        self._url = one_line(url)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = max(1, options.max_width - cell_len(self._number))
        yield Text.assemble((self._number, "dim"), shorten_middle(self._url, room), no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        whole = cell_len(self._number) + cell_len(self._url)
        return Measurement(min(whole, cell_len(self._number) + 8), whole)


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
                    Option(_OneLineUrl(n, url), id=str(n - 1))
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
