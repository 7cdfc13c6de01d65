"""A long value in full (a 5 MB prompt, say), on demand, without freezing anything.

The text is cleaned and cut into lines off the UI thread; the view draws only the lines on
screen (a `ScrollView` with `render_line`), so opening, scrolling and closing cost the same
for a kilobyte and for megabytes.
"""

from __future__ import annotations

from contextlib import suppress
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from nbtui.textsafe import safe_text

__all__ = ["FullValueScreen", "LongText", "wrap_lines"]


def wrap_lines(text: str, width: int) -> list[str]:
    """`text` made safe for the terminal and cut into lines of at most `width` characters."""
    width = max(width, 1)
    lines: list[str] = []
    for line in safe_text(text).expandtabs(4).split("\n"):
        if len(line) <= width:
            lines.append(line)
        else:
            lines.extend(line[start : start + width] for start in range(0, len(line), width))
    return lines


class LongText(ScrollView, can_focus=True):
    """Lines drawn on demand: only the visible ones are ever turned into segments."""

    DEFAULT_CSS = """
    LongText { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[str] = []

    def set_lines(self, lines: list[str]) -> None:
        self.lines = lines
        widest = max((len(line) for line in lines[:10_000]), default=0)
        self.virtual_size = Size(widest, len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, style)
        line = self.lines[index][scroll_x : scroll_x + width * 2]
        return Strip([Segment(line, style)]).crop_extend(0, width, style)


class FullValueScreen(ModalScreen[None]):
    """Shows one value in full; Escape or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f", "close", "Close", id="full.close"),
    ]
    DEFAULT_CSS = """
    FullValueScreen { align: center middle; }
    FullValueScreen > Vertical {
        width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    FullValueScreen #full-title { height: 1; }
    """

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self._title = title
        self._value = value
        #: True once the value is on screen (tests wait for it).
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    (self._title, "bold"),
                    (f"  {len(self._value):,} characters · Esc closes", "dim"),
                ),
                id="full-title",
            )
            yield LongText(id="full-text")

    @property
    def text_view(self) -> LongText:
        return self.query_one(LongText)

    def on_mount(self) -> None:
        view = self.text_view
        view.set_lines(["formatting…"])
        view.focus()
        self._wrap(self._value, max(self.app.size.width - 12, 20))

    @work(thread=True, exclusive=True, group="full-value", description="wrap a long value")
    def _wrap(self, value: str, width: int) -> None:
        lines = wrap_lines(value, width)
        with suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        self.text_view.set_lines(lines)
        self.loaded = True

    def action_close(self) -> None:
        self.dismiss(None)
