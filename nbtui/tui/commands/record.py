"""The selected task's record in the JSON pane: tree or text (`v`), copying a value (`c`) or
the whole record (`C`), and any long value in full (`f`)."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

from nbtui.api.state import Task
from nbtui.textsafe import truncate
from nbtui.tui.commands import Host
from nbtui.tui.widgets.json_view import JsonView

__all__ = ["RecordCommands"]


class RecordCommands:
    """Reads the JSON pane (after `flush_panes()` brought it up to the cursor)."""

    def __init__(
        self,
        host: Host,
        json_view: JsonView,
        *,
        flush_panes: Callable[[], None],
        selected_task: Callable[[], Task | None],
        focused: Callable[[], Widget | None],
    ) -> None:
        self._host = host
        self._json_view = json_view
        self._flush_panes = flush_panes
        self._selected_task = selected_task
        self._focused = focused

    def toggle_mode(self) -> None:
        self._flush_panes()
        json_view = self._json_view
        mode = json_view.toggle_mode()
        other = "tree" if mode == "text" else "text"
        json_view.border_title = f"JSON · {mode} (v: {other})"

    def copy_value(self) -> None:
        self._flush_panes()
        picked = self._json_view.selected()
        if picked is None:
            self._host.notify("No record to copy yet.", severity="warning")
            return
        path, text = picked
        self._host.app.copy_to_clipboard(text)
        what = "the whole record" if path == "$" else truncate(path, 60)
        self._host.notify(f"Copied {what} ({len(text):,} characters).", timeout=2)

    def copy_whole(self) -> None:
        self._flush_panes()
        whole = self._json_view.whole()
        if whole is None:
            self._host.notify("No record to copy yet.", severity="warning")
            return
        self._host.app.copy_to_clipboard(whole)
        self._host.notify(f"Copied the whole record ({len(whole):,} characters).", timeout=2)

    def show_full(self) -> None:
        """The whole of a long value the panes cut short: the text under the JSON tree's
        cursor when that pane has the focus, else the selected task's prompt."""
        from nbtui.tui.screens.full_value import FullValueScreen
        from nbtui.tui.widgets.detail import full_prompt

        self._flush_panes()
        json_view = self._json_view
        picked: tuple[str, str] | None = None
        focused = self._focused()
        if focused is not None and json_view in focused.ancestors_with_self:
            node = json_view.json_tree.cursor_node
            data = node.data if node is not None and json_view.mode == "tree" else None
            if data is not None and isinstance(data.value, str):
                picked = (data.path, data.value)
        if picked is None:
            prompt = full_prompt(self._selected_task())
            picked = ("Prompt", prompt) if prompt is not None else None
        if picked is None:
            self._host.notify(
                "Nothing to show in full: select a task with a prompt, or a text value in "
                "the JSON tree.",
                severity="warning",
            )
            return
        self._host.app.push_screen(FullValueScreen(*picked))
