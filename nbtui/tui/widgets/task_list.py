"""A virtualised task list: draws only the rows on screen, with fixed column widths.

Textual's DataTable measures every cell on its first draw (about a second at 10,000 rows);
this widget asks its `TaskListModel` for the few rows in view on each paint, so start-up and
updates cost the same at 50 rows or 50,000. Ages and durations are computed at paint time
from the injected clock, so a once-a-second refresh keeps them live for free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nbtui.textsafe import one_line
from nbtui.tui.formatting import STATE_SYMBOLS, age_cell, compact_duration, short_id
from nbtui.tui.marks import MARK_GLYPH, Marks
from nbtui.tui.tasklist_model import SortKey, TaskListModel, TaskRow, largest_shown_first

__all__ = ["COLUMNS", "DROP_ORDER", "Column", "TaskList", "chosen_columns", "layout_columns"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its sort key (None: the labels, which are not a sort key), title, width
    (0 = takes the remaining room) and alignment."""

    key: SortKey | None
    title: str
    width: int
    right: bool = False

    @property
    def name(self) -> str:
        """What the `columns` setting calls it (`nbtui.config.LIST_COLUMNS`)."""
        return self.title.lower()


#: Every column, in the default order. Widths leave room for the sort arrow after the title,
#: so a sorted column's name stays whole (`IMG▼`, `UPDATED▲`).
COLUMNS: tuple[Column, ...] = (
    Column(SortKey.STATE, "STATE", 11),
    Column(SortKey.ID, "ID", 8),
    Column(SortKey.PROMPT, "PROMPT", 0),
    Column(SortKey.MODEL, "MODEL", 18),
    Column(SortKey.IMAGES, "IMG", 4, right=True),
    Column(SortKey.CREATED, "AGE", 4, right=True),
    Column(SortKey.DURATION, "TIME", 6, right=True),
    Column(SortKey.UPDATED, "UPDATED", 8, right=True),
    # The task's labels (not a sort key): the first column a narrowing terminal drops.
    Column(None, "LABELS", 14),
)
#: When the list is too narrow for every column, whole columns go, least important first
#: (the state and the prompt always stay): the one table to extend with a new column. By
#: column name (`Column.name`, as the `columns` setting names them).
DROP_ORDER: tuple[str, ...] = (
    "labels",
    "updated",
    "model",
    "img",
    "id",
    "time",
    "age",
)
_MIN_PROMPT = 10
#: Prompt width past which a wide list shows more columns rather than a wider prompt.
_PROMPT_ENOUGH = 30
_GAP = 1
_LEFT_PAD = 1


def chosen_columns(names: Sequence[str] | None) -> tuple[Column, ...]:
    """The columns the `columns` setting names, in its order (None: all of them)."""
    if names is None:
        return COLUMNS
    by_name = {column.name: column for column in COLUMNS}
    return tuple(by_name[name] for name in names if name in by_name)


def _fixed(columns: Sequence[Column]) -> int:
    return sum(column.width for column in columns) + _GAP * (len(columns) - 1) + _LEFT_PAD


def layout_columns(
    total_width: int, columns: Sequence[Column] = COLUMNS
) -> list[tuple[Column, int, int]]:
    """(column, x, width) for a list `total_width` cells wide; the prompt takes what is left.

    Columns are dropped whole, in `DROP_ORDER`, until the rest fit with the prompt keeping at
    least a third of the width (30 cells is enough): a narrow list shows fewer columns, never
    one cut mid-word.
    """
    shown = list(columns)
    flexible = any(column.width == 0 for column in shown)
    wanted = max(_MIN_PROMPT, min(total_width // 3, _PROMPT_ENOUGH)) if flexible else 0
    for name in DROP_ORDER:
        if total_width - _fixed(shown) - 1 >= wanted:
            break
        shown = [column for column in shown if column.name != name]
    flex = max(_MIN_PROMPT, total_width - _fixed(shown) - 1)
    placed: list[tuple[Column, int, int]] = []
    x = _LEFT_PAD
    for column in shown:
        width = column.width or flex
        placed.append((column, x, width))
        x += width + _GAP
    return placed


def _fit(text: str, width: int, right: bool = False) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    padding = " " * (width - length)
    return padding + text if right else text + padding


class TaskList(ScrollView, can_focus=True):
    """The list of tracked tasks: a header line, then one line per visible row of the model."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("home,g", "cursor_first", "First task", show=False, id="list.first"),
        Binding("end,G", "cursor_last", "Last task", show=False, id="list.last"),
        Binding("pagedown", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="list.page_up"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tasklist--header",
        "tasklist--header-sorted",
        "tasklist--cursor",
        "tasklist--cursor-blur",
        "tasklist--dim",
        "tasklist--empty",
        "tasklist--pending",
        "tasklist--running",
        "tasklist--succeeded",
        "tasklist--failed",
        "tasklist--not_found",
        "tasklist--marked",
    }

    DEFAULT_CSS = """
    TaskList {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .tasklist--header { text-style: bold; color: $text-muted; }
        & > .tasklist--header-sorted { text-style: bold; color: $text-accent; }
        & > .tasklist--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .tasklist--cursor-blur { background: $block-cursor-blurred-background; }
        & > .tasklist--dim { color: $text-muted; }
        & > .tasklist--empty { color: $text-muted; text-style: italic; }
        & > .tasklist--pending { color: $text-muted; }
        & > .tasklist--running { color: $text-warning; }
        & > .tasklist--succeeded { color: $text-success; }
        & > .tasklist--failed { color: $text-error; }
        & > .tasklist--not_found { color: $text-secondary; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to another task (or to none)."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    class Selected(Message):
        """The user chose a task (enter, or a click on the row under the cursor)."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    class SortRequested(Message):
        """The user clicked a column header."""

        def __init__(self, key: SortKey) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        model: TaskListModel,
        clock: Callable[[], float],
        *,
        marks: Marks | None = None,
        empty_message: str = "No tasks yet. Press a to add task ids.",
        columns: Sequence[str] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._model = model
        self._clock = clock
        #: The marked tasks (a glyph in the first cell of their rows).
        self.marks = marks if marks is not None else Marks()
        self.empty_message = empty_message
        #: The columns to show when there is room (the `columns` setting; None: all).
        self.columns = chosen_columns(columns)
        self.cursor = 0
        self._cursor_id: str | None = None
        self._announced: str | None = None
        #: Until the user moves the cursor it stays on the top row, whatever comes first.
        self._user_moved = False

    # -- public API ----------------------------------------------------------------------

    @property
    def cursor_id(self) -> str | None:
        """The id of the task under the cursor."""
        return self._cursor_id

    def rows_changed(self) -> None:
        """The model changed (rows, order, filter or sort): keep the cursor on its task, redraw.

        The scroll position is left alone, so the view does not jump while the user reads.
        """
        model = self._model
        position = model.position(self._cursor_id) if self._user_moved else 0
        self.cursor = min(self.cursor, max(len(model) - 1, 0)) if position is None else position
        row = model.row_at(self.cursor)
        self._cursor_id = row.id if row else None
        self._sync_virtual_size()
        self.refresh()
        self._announce()

    def select_id(self, task_id: str) -> bool:
        """Put the cursor on `task_id` if it is visible, scrolling to it."""
        position = self._model.position(task_id)
        if position is None:
            return False
        self._move_to(position)
        return True

    # -- drawing -------------------------------------------------------------------------

    def _sync_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._model) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._sync_virtual_size()

    def on_mount(self) -> None:
        self.rows_changed()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._render_header(width, base)
        index = self.scroll_offset.y + y - 1
        row = self._model.row_at(index)
        if row is None:
            if index == 0 and len(self._model) == 0:
                if not self._model.complete:
                    message = "Loading the tracked tasks…"
                elif self._model.filter_text:
                    message = "No task matches the filter."
                else:
                    message = self.empty_message
                style = base + self.get_component_rich_style("tasklist--empty")
                return Strip([Segment(_fit(" " + message, width), style)], width)
            return Strip.blank(width, base)
        return self._render_row(row, index, width, base)

    def _render_header(self, width: int, base: Style) -> Strip:
        header = base + self.get_component_rich_style("tasklist--header")
        sorted_style = base + self.get_component_rich_style("tasklist--header-sorted")
        segments: list[Segment] = [Segment(" " * _LEFT_PAD, header)]
        x = _LEFT_PAD
        for column, col_x, col_width in layout_columns(width, self.columns):
            if col_x > x:
                segments.append(Segment(" " * (col_x - x), header))
            title = column.title
            style = header
            if column.key is self._model.sort_key:
                # ▼: the largest value as shown comes first (AGE▼: oldest first), ▲: smallest.
                largest = largest_shown_first(column.key, self._model.descending)
                title += "▼" if largest else "▲"
                style = sorted_style
            segments.append(Segment(_fit(title, col_width, column.right), style))
            x = col_x + col_width
        if x < width:
            segments.append(Segment(" " * (width - x), header))
        return Strip(segments).crop_extend(0, width, base)

    def _cell_text(self, key: SortKey | None, row: TaskRow, now: float) -> str:
        if key is None:
            return one_line(row.label) if row.label else ""
        if key is SortKey.STATE:
            if row.progress is not None and not row.state.is_finished:
                # The figure the record reports ("◐ 100% done" fits the column); none: the word.
                return f"{STATE_SYMBOLS[row.state]} {row.progress}% done"
            return f"{STATE_SYMBOLS[row.state]} {row.state.label}"
        if key is SortKey.ID:
            return short_id(row.id)
        if key is SortKey.PROMPT:
            return row.prompt or "—"
        if key is SortKey.MODEL:
            return row.model or "—"
        if key is SortKey.IMAGES:
            return str(row.image_count) if row.image_count else "—"
        if key is SortKey.CREATED:
            return age_cell(row.created_at, now)
        if key is SortKey.DURATION:
            return compact_duration(row.duration(now))
        return age_cell(row.changed_at(), now)

    def _render_row(self, row: TaskRow, index: int, width: int, base: Style) -> Strip:
        now = self._clock()
        line_style = base
        if index == self.cursor:
            line_style = base + self.get_component_rich_style(
                "tasklist--cursor" if self.has_focus else "tasklist--cursor-blur"
            )
        state_style = line_style + self.get_component_rich_style(
            f"tasklist--{row.state.value}", partial=True
        )
        dim_style = line_style + self.get_component_rich_style("tasklist--dim", partial=True)
        if row.id in self.marks:
            marked = line_style + self.get_component_rich_style("tasklist--marked", partial=True)
            segments: list[Segment] = [Segment(MARK_GLYPH.ljust(_LEFT_PAD), marked)]
        else:
            segments = [Segment(" " * _LEFT_PAD, line_style)]
        x = _LEFT_PAD
        for column, col_x, col_width in layout_columns(width, self.columns):
            if col_x > x:
                segments.append(Segment(" " * (col_x - x), line_style))
            text = _fit(self._cell_text(column.key, row, now), col_width, column.right)
            if column.key is SortKey.STATE:
                style = state_style
            elif column.key in (SortKey.ID, SortKey.CREATED, SortKey.UPDATED, None):
                style = dim_style
            else:
                style = line_style
            segments.append(Segment(text, style))
            x = col_x + col_width
        if x < width:
            segments.append(Segment(" " * (width - x), line_style))
        return Strip(segments).crop_extend(0, width, base)

    # -- cursor --------------------------------------------------------------------------

    def _announce(self) -> None:
        if self._cursor_id != self._announced:
            self._announced = self._cursor_id
            self.post_message(self.Highlighted(self._cursor_id))

    def _move_to(self, index: int) -> None:
        self._user_moved = True
        count = len(self._model)
        if count == 0:
            return
        index = max(0, min(index, count - 1))
        previous = self.cursor
        self.cursor = index
        row = self._model.row_at(index)
        self._cursor_id = row.id if row else None
        self.refresh_line(previous + 1)
        self.refresh_line(index + 1)
        self._scroll_cursor_into_view()
        self._announce()

    def refresh_line(self, y: int) -> None:
        """Refresh virtual line `y` (0 is the header, which never scrolls)."""
        screen_y = y - self.scroll_offset.y
        if 1 <= screen_y < self.size.height:
            self.refresh(Region(0, screen_y, self.size.width, 1))

    def _scroll_cursor_into_view(self) -> None:
        visible_rows = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible_rows:
            self.scroll_to(y=self.cursor - visible_rows + 1, animate=False)

    def action_cursor_down(self) -> None:
        self._move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move_to(self.cursor - 1)

    def action_cursor_first(self) -> None:
        self._move_to(0)

    def action_cursor_last(self) -> None:
        self._move_to(len(self._model) - 1)

    def action_page_down(self) -> None:
        self._move_to(self.cursor + max(self.size.height - 2, 1))

    def action_page_up(self) -> None:
        self._move_to(self.cursor - max(self.size.height - 2, 1))

    def on_focus(self) -> None:
        self.refresh_line(self.cursor + 1)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor + 1)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            for column, col_x, col_width in layout_columns(self.size.width, self.columns):
                if col_x <= event.x < col_x + col_width + _GAP and column.key is not None:
                    self.post_message(self.SortRequested(column.key))
                    return
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self._model):
            if index == self.cursor and event.chain >= 2 and self._cursor_id:
                self.post_message(self.Selected(self._cursor_id))
            self._move_to(index)

    def key_enter(self, event: events.Key) -> None:
        if self._cursor_id is not None:
            event.stop()
            self.post_message(self.Selected(self._cursor_id))
