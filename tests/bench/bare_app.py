"""The baseline: a bare Textual app showing a DataTable of `--rows` rows (run as a script).

Launch time (B1), key round trip (B3) and peak memory (B5) of nbtui are reported as ratios
against this app started the same way in the same run. `j`/`k` move the cursor down/up, as in nbtui.
"""

from __future__ import annotations

import argparse
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class BareApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "down", "Down"),
        Binding("k", "up", "Up"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "state", "prompt", "model", "images", "age")
        table.add_rows(
            (f"row-{i:05d}", "succeeded", f"a white siamese cat #{i}", "nano-banana", "1", "3m")
            for i in range(self.rows)
        )
        table.focus()

    def action_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args()
    BareApp(args.rows).run()


if __name__ == "__main__":
    main()
