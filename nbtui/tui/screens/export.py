"""Export the tasks the list shows to a file: where, and in which format (`X`).

The dialog stays open while the file is written and then says where it went (the full path),
or what went wrong, in words, keeping the path typed so it can be fixed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from nbtui.textsafe import one_line
from nbtui.tracking.export import ExportError, ExportFormat

__all__ = ["ExportScreen", "Writer"]

#: Writes the tasks to a path in a format; returns how many were written (ExportError).
Writer = Callable[[Path, ExportFormat], Awaitable[int]]

_CHOICES: tuple[tuple[ExportFormat, str], ...] = (
    ("csv", "CSV"),
    ("json", "JSON"),
    ("jsonl", "JSON lines"),
)
_EXTENSIONS = {f".{fmt}": fmt for fmt, _ in _CHOICES}


def _full_path(typed: str) -> Path:
    """The path typed, with ~ expanded, from the working directory when relative."""
    return Path(typed).expanduser().absolute()


class ExportScreen(ModalScreen[Path | None]):
    """Dismisses with the path written, or None when closed without writing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="export.close"),
    ]

    DEFAULT_CSS = """
    #export-dialog { width: 76; padding: 0 1; }
    #export-dialog .dialog-title { margin: 1 0 0 0; }
    #export-format { layout: horizontal; width: 100%; height: auto; border: none; }
    #export-format RadioButton { width: auto; margin-right: 2; }
    #export-feedback { height: auto; min-height: 2; }
    #export-dialog .dialog-buttons { margin-top: 0; }
    """

    def __init__(self, count: int, default: Path, write: Writer) -> None:
        super().__init__(classes="dialog-screen")
        self._count = count
        self._default = default
        self._write = write
        self._written: Path | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        noun = "task" if self._count == 1 else "tasks"
        with Vertical(classes="dialog", id="export-dialog"):
            title = Text(f"Export {self._count:,} {noun}", style="bold")
            title.append("  as the list shows them, to a new file", style="dim")
            yield Static(title, classes="dialog-title")
            path = Input(str(self._default), id="export-path")
            path.border_title = "file"
            yield path
            with RadioSet(id="export-format"):
                for fmt, label in _CHOICES:
                    yield RadioButton(label, value=fmt == "csv", name=fmt)
            yield Static("", id="export-feedback")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")
            yield Static(
                Text("enter exports · tab moves on · escape closes", style="dim"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def format(self) -> ExportFormat:
        pressed = self.query_one("#export-format", RadioSet).pressed_button
        name = pressed.name if pressed is not None else "csv"
        return _EXTENSIONS.get(f".{name}", "csv")

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A new format: the file's extension follows, when it is one of ours."""
        event.stop()
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if path.suffix.lower() in _EXTENSIONS:
            field.value = str(path.with_suffix(f".{self.format}"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_worker(self._export(), group="export", exclusive=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-ok":
            if self._written is not None:
                self.dismiss(self._written)
            else:
                self.run_worker(self._export(), group="export", exclusive=True)
        else:
            self.action_close()

    def _feedback(self, text: Text) -> None:
        self.query_one("#export-feedback", Static).update(text)

    async def _export(self) -> None:
        if self._busy or self._written is not None:
            return
        typed = self.query_one("#export-path", Input).value.strip()
        if not typed:
            self._feedback(Text("✘ Type the file to write.", style="bold red"))
            return
        path = _full_path(typed)
        self._busy = True
        self._feedback(Text(f"Writing {one_line(str(path))}…", style="dim"))
        try:
            count = await self._write(path, self.format)
        except ExportError as exc:
            self._feedback(Text(f"✘ {one_line(str(exc))}", style="bold red"))
            return
        finally:
            self._busy = False
        self._written = path
        noun = "task" if count == 1 else "tasks"
        done = Text(f"✔ Wrote {count:,} {noun} to\n", style="green")
        done.append(one_line(str(path)), style="bold")
        self._feedback(done)
        self.query_one("#export-ok", Button).label = "Close"
        self.query_one("#export-ok", Button).focus()

    def action_close(self) -> None:
        self.dismiss(self._written)
