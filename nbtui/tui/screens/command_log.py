"""The output of the user's own commands (`O`): the recent runs, newest first, each with its
argv, how it ended and what it printed.

Everything shown is text from outside (a prompt in the argv, whatever the command printed):
it is drawn as plain `Text` (never markup) with control characters removed.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nbtui.textsafe import one_line, safe_text
from nbtui.tui.commands.user import RunRecord
from nbtui.tui.formatting import short_id

__all__ = ["CommandLogScreen", "describe_runs"]

#: Lines of stdout or stderr shown per run (the rest is counted).
_SHOWN_LINES = 40


def _output(label: str, data: bytes, dropped: int, text: Text) -> None:
    if not data and not dropped:
        return
    lines = safe_text(data.decode("utf-8", errors="replace")).expandtabs(4).rstrip().split("\n")
    text.append(f"  {label}:\n", style="dim")
    for line in lines[:_SHOWN_LINES]:
        text.append(f"    {line}\n")
    more = len(lines) - _SHOWN_LINES
    notes = []
    if more > 0:
        notes.append(f"{more:,} more lines")
    if dropped:
        notes.append(f"{dropped:,} more bytes not kept")
    if notes:
        text.append(f"    … {', '.join(notes)}\n", style="dim")


def describe_runs(records: Sequence[RunRecord]) -> Text:
    """The log as text: a heading line per run, its argv, then its output."""
    text = Text()
    for record in records:
        result = record.result
        when = time.strftime("%H:%M:%S", time.localtime(record.finished))
        text.append(one_line(record.command), style="bold")
        text.append(f" · {short_id(record.task_id)} · ", style="dim")
        text.append(one_line(result.outcome), style="green" if result.ok else "bold red")
        text.append(f" · {result.seconds:.1f} s · {when}\n", style="dim")
        text.append(f"  $ {one_line(shlex.join(result.argv))}\n")
        _output("stdout", result.stdout, result.dropped[0], text)
        _output("stderr", result.stderr, result.dropped[1], text)
        text.append("\n")
    return text


class CommandLogScreen(ModalScreen[None]):
    """Recent runs of the user's commands; escape or q closes it."""

    DEFAULT_CSS = """
    #command-log-dialog { width: 100; height: 90%; }
    #command-log-scroll { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="command_log.close"),
    ]

    def __init__(self, records: Sequence[RunRecord], *, configured: int) -> None:
        """`configured`: how many commands may run (the empty log says how to add one)."""
        super().__init__(classes="dialog-screen")
        self._records = list(records)
        self._configured = configured

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="command-log-dialog"):
            yield Static(Text("Command output", style="bold"), classes="dialog-title")
            with VerticalScroll(id="command-log-scroll"):
                yield Static(self._body(), id="command-log")
            yield Static(Text("escape closes · newest first", style="dim"), classes="dialog-hint")

    def _body(self) -> Text:
        if self._records:
            return describe_runs(self._records)
        if self._configured:
            return Text("No command has run yet: press a command's key (? lists them).")
        return Text(
            "No commands are configured. Add your own in config.toml, e.g.\n\n"
            "[commands.copy]\n"
            'key = "ctrl+u"\n'
            'argv = ["cp", "--", "{image_path}", "/tmp/"]\n\n'
            '(the README\'s "Your own commands" explains the placeholders).'
        )

    def action_close(self) -> None:
        self.dismiss(None)
