"""Every key, with what it does, grouped; built from the live bindings (remaps included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nbtui.api.state import TaskState
from nbtui.tui.formatting import STATE_STYLES, STATE_SYMBOLS

__all__ = ["FILTER_HELP", "HelpRow", "HelpScreen"]

#: The filter language, one example a line (nbtui/tracking/query.py has the rules).
FILTER_HELP = (
    ("cat", "the word in the id, prompt, state or model (any case)"),
    ('"a red fox"', "a phrase, spaces included"),
    ("state:failed", "the state, or its start: state:fail; any of state:pending,running"),
    ("model:pro", "in the model (prompt:, id: the same for theirs)"),
    ("label:client-x", "one of the task's labels, the whole of it (any case)"),
    ("action:edit", "the action, the whole of it"),
    ("images:>1", "result images: > < >= <= = or a number (images:0)"),
    ("age:<1h  age:>2d", "since created: s m h d w, with < > <= >="),
    ("-word  -state:failed", "leaves out what it matches"),
)


@dataclass(frozen=True)
class HelpRow:
    group: str
    keys: str
    description: str


class HelpScreen(ModalScreen[None]):
    """A scrollable list of keys; escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help", id="help.close"),
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static(Text("nbtui — keys", style="bold"), classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-table")
                yield Static(self._legend(), id="help-legend")
            yield Static(
                Text("escape closes · keys can be remapped in config.toml [keymap]", style="dim"),
                classes="dialog-hint dialog-foot",
            )

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True, min_width=12)
        table.add_column()
        group = None
        for row in self.rows:
            if row.group != group:
                if group is not None:
                    table.add_row("", "")
                table.add_row(Text(row.group, style="bold underline"), "")
                group = row.group
            table.add_row(Text(row.keys), Text(row.description))
        return table

    def _legend(self) -> Text:
        legend = Text("\nStates: ", style="bold")
        for state in TaskState:
            legend.append(f"{STATE_SYMBOLS[state]} {state.label}", style=STATE_STYLES[state])
            legend.append("   ")
        legend.append("\n\nFilter (/)", style="bold")
        legend.append(" shows the tasks that match every word; escape clears it.")
        for example, meaning in FILTER_HELP:
            legend.append(f"\n  {example:<22}", style="bold cyan")
            legend.append(meaning)
        legend.append(
            "\nSaved views are [views] in config.toml: 1-9 switch, 0 shows all tasks, V saves "
            "the filter and sort as a view. A theme chosen in the palette (ctrl+p, Change "
            "theme) is remembered there too."
        )
        legend.append(
            "\nSort (s, or click a column's title): ▼ puts the largest value shown first "
            "(TIME▼: longest first, AGE▼: oldest first), ▲ the smallest."
        )
        return legend

    def action_close(self) -> None:
        self.dismiss(None)
