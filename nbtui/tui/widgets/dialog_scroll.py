"""The scrolling middle of a dialog (its buttons stay pinned below it)."""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll

__all__ = ["DialogScroll"]


class DialogScroll(VerticalScroll, can_focus=False):
    """Fields that scroll when the dialog is taller than the terminal.

    When the terminal is resized the fields are laid out again and the one being typed in
    could end up half out of sight, keeping the scroll offset of the old size: it is brought
    back into view.
    """

    DEFAULT_CLASSES = "dialog-scroll"

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._focused_into_view)

    def _focused_into_view(self) -> None:
        focused = self.screen.focused
        if focused is not None and self in focused.ancestors:
            self.scroll_to_widget(focused, animate=False, immediate=True)
