"""Progress while the selected task's images are saved (the app does the work in a worker).

Escape only hides the dialog: the save goes on and its result arrives as a notification.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from nbtui.textsafe import one_line, truncate
from nbtui.tui.widgets.dialog_scroll import DialogScroll

__all__ = ["SavingScreen"]


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


class SavingScreen(ModalScreen[None]):
    """A progress bar over the bytes of every image of the task being saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "hide", "Hide (keeps saving)", id="save.hide"),
    ]

    DEFAULT_CSS = """
    #save-dialog { width: 72; }
    #save-progress { margin-top: 1; }
    #save-detail { margin-top: 1; height: auto; }
    """

    def __init__(self, task_id: str, count: int, folder: str) -> None:
        super().__init__(classes="dialog-screen")
        self._task_id = task_id
        self._count = count
        self._folder = folder

    def compose(self) -> ComposeResult:
        noun = "image" if self._count == 1 else "images"
        with Vertical(classes="dialog", id="save-dialog"):
            yield Static(Text(f"Saving {self._count} {noun}", style="bold"), classes="dialog-title")
            with DialogScroll():
                yield Static(Text(f"to {truncate(one_line(self._folder), 64)}", style="dim"))
                yield ProgressBar(total=None, show_eta=False, id="save-progress")
                yield Static("", id="save-detail")
            yield Static(
                Text("escape hides this; saving goes on", style="dim"),
                classes="dialog-hint dialog-foot",
            )

    def progress(self, done: int, total: int | None) -> None:
        """Bytes downloaded so far (`total` None while any size is still unknown)."""
        bar = self.query_one("#save-progress", ProgressBar)
        if total is not None and total > 0:
            bar.update(total=total, progress=min(done, total))
            shown = f"{_size(done)} of {_size(total)}"
        else:
            shown = f"{_size(done)}"
        self.query_one("#save-detail", Static).update(Text(shown, style="dim"))

    def action_hide(self) -> None:
        self.dismiss(None)
