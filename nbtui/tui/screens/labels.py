"""Add and remove labels on one task or on every marked task (`L`).

The labels the tasks carry are listed ticked (with how many of the tasks carry each, when
there are several): untick one to take it off. New labels are typed as a comma list; a label
nbtui cannot store is named in words before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, SelectionList, Static

from nbtui.textsafe import one_line
from nbtui.tracking.labels import LabelError, split_labels

__all__ = ["LabelChange", "LabelsScreen"]


@dataclass(frozen=True)
class LabelChange:
    """What the dialog hands back: labels to add and labels to take off."""

    add: list[str]
    remove: list[str]

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


class LabelsScreen(ModalScreen[LabelChange | None]):
    """Dismisses with a `LabelChange`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="labels.cancel"),
    ]

    DEFAULT_CSS = """
    #labels-current { height: auto; max-height: 8; margin-bottom: 1; }
    #labels-feedback { height: auto; margin-top: 1; }
    """

    def __init__(self, what: str, tasks: int, labels: Mapping[str, int]) -> None:
        """`what`: the tasks in words ("task 4d320ead…", "12 marked tasks"); `tasks`: how
        many; `labels`: the labels they carry, with how many of them carry each."""
        super().__init__(classes="dialog-screen")
        self._what = what
        self._tasks = tasks
        self._labels = dict(labels)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="labels-dialog"):
            yield Static(Text(f"Labels · {self._what}", style="bold"), classes="dialog-title")
            if self._labels:
                yield Static(
                    Text("Untick a label to take it off (space ticks, tab moves on).", style="dim")
                )
                options = [
                    (self._option(label, count), label, True)
                    for label, count in self._labels.items()
                ]
                yield SelectionList[str](*options, id="labels-current", compact=True)
            else:
                yield Static(Text("No labels yet.", style="dim italic"), classes="dialog-body")
            yield Input(placeholder="labels to add, separated by commas", id="labels-add")
            yield Static("", id="labels-feedback")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", variant="primary", id="labels-ok")
                yield Button("Cancel", id="labels-cancel")
            yield Static(
                Text("enter in the field applies · escape cancels", style="dim"),
                classes="dialog-hint",
            )

    def _option(self, label: str, count: int) -> Text:
        text = Text(one_line(label))
        if self._tasks > 1:
            text.append(f"  ({count:,} of {self._tasks:,})", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#labels-add", Input).focus()

    def _check(self) -> list[str] | None:
        """The labels typed, or None after saying what is wrong with one."""
        feedback = self.query_one("#labels-feedback", Static)
        try:
            adding = split_labels(self.query_one("#labels-add", Input).value)
        except LabelError as exc:
            feedback.update(Text(f"✘ {exc}", style="bold red"))
            return None
        if adding:
            feedback.update(Text(f"✔ adds: {one_line(', '.join(adding))}", style="green"))
        else:
            feedback.update("")
        return adding

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "labels-ok":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_apply(self) -> None:
        adding = self._check()
        if adding is None:
            self.app.bell()
            return
        kept: set[str] = set()
        for found in self.query("#labels-current").results(SelectionList):
            kept = {str(value) for value in found.selected}
        removing = [label for label in self._labels if label not in kept]
        self.dismiss(LabelChange(adding, removing))

    def action_cancel(self) -> None:
        self.dismiss(None)
