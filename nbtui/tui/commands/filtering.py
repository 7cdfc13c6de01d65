"""The filter field (`/`): typing filters the list, enter keeps the filter, escape clears it.

A query that does not read says why under the field, and the list keeps the tasks of the
last one that worked. A saved view puts its query in the same field, so it means exactly what
the same text typed after `/` means.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Input, Static

from nbtui.textsafe import one_line
from nbtui.tui.tasklist_model import TaskListModel
from nbtui.tui.widgets.task_list import TaskList

__all__ = ["Filtering"]

#: The field's title says whether keys go to it or back to the list.
_EDITING = "filter · enter keeps it · escape clears"
_KEPT = "filter · / edits it · escape clears"
_BROKEN = "filter · not applied: the list shows the last one that worked"


class Filtering:
    """The filter field and the line under it that says what is wrong with the query."""

    def __init__(
        self,
        model: TaskListModel,
        task_list: TaskList,
        *,
        reorder: Callable[[], None],
        cleared: Callable[[], None],
    ) -> None:
        """`reorder()`: read the list's order again; `cleared()`: the filter was cleared
        (a saved view in use is left)."""
        self._model = model
        self._list = task_list
        self._reorder = reorder
        self._cleared = cleared
        self.field = Input(
            placeholder="filter: words in the id, prompt, state or model; "
            "state:failed model:pro label:x images:>1 age:<1h -word (? lists them)",
            id="filter",
        )
        self.error_line = Static("", id="filter-error")
        #: What is wrong with the filter being typed (None: it reads, and is the one shown).
        self.error: str | None = None

    def open(self) -> None:
        """`/`: show the field and send the keys to it."""
        field = self.field
        field.add_class("-visible")
        field.border_title = _EDITING
        # Focus now, not via `focus()`'s call_later: keys typed right after "/" are already
        # queued and must reach the filter, not the list (where s, a, d... are bindings).
        field.screen.set_focus(field)

    def changed(self, value: str) -> None:
        """The text in the field changed: filter the list by it, if it reads."""
        from nbtui.tracking.query import QueryError

        try:
            self._model.set_filter(value)
        except QueryError as exc:
            self._show_error(str(exc))
            return  # the list keeps the last good filter's tasks
        self._show_error(None)
        self._reorder()

    def _show_error(self, message: str | None) -> None:
        """Say under the filter what is wrong with it (None: nothing is)."""
        shown = self.error_line
        field = self.field
        self.error = message
        if message is None:
            shown.update("")
            shown.remove_class("-visible")
            field.border_title = _EDITING if field.has_focus else _KEPT
            return
        shown.update(Text(f"✗ {one_line(message)}", style="bold"))
        shown.add_class("-visible")
        field.border_title = _BROKEN

    def submitted(self, value: str) -> None:
        """Enter in the field: keep the filter and go back to the list (or clear it)."""
        if self.error is not None:
            return  # stay in the field until the filter reads
        if not value.strip():
            self.clear()
        else:
            self.field.border_title = _KEPT
            self._list.focus()

    def escape_clears(self) -> bool:
        """Escape should clear the filter: the field is shown and in use."""
        field = self.field
        return field.has_class("-visible") and bool(field.has_focus or self._model.filter_text)

    def clear(self) -> None:
        """Empty and hide the field, show every task, and go back to the list."""
        field = self.field
        field.value = ""
        field.remove_class("-visible")
        self._show_error(None)
        self._model.set_filter("")
        self._cleared()
        self._reorder()
        self._list.focus()

    def show(self, text: str) -> None:
        """Put `text` in the filter field, which filters the list as typing there does
        (a saved view's query); the keys stay with the list."""
        field = self.field
        field.set_class(bool(text), "-visible")
        field.border_title = _KEPT
        field.value = text
        if field.screen.focused is field:
            self._list.focus()
