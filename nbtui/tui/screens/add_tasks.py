"""Add tasks by id: paste many at once, see at a glance which ones are not task ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from nbtui.api.state import parse_task_ids
from nbtui.textsafe import one_line, truncate
from nbtui.tracking.labels import LabelError, split_labels
from nbtui.tui.widgets.dialog_scroll import DialogScroll

__all__ = ["AddRequest", "AddTasksScreen"]

_EXAMPLE = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"


@dataclass(frozen=True)
class AddRequest:
    """What the dialog hands back: valid ids, the rejected pieces, an optional label."""

    ids: list[str]
    rejected: list[str]
    label: str | None


def describe_rejected(rejected: list[str]) -> str:
    """`2 rejected: foo, bar…` in safe, short words."""
    shown = ", ".join(truncate(one_line(token), 24) for token in rejected[:5])
    more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
    return f"{len(rejected)} rejected (not a task id): {shown}{more}"


class AddTasksScreen(ModalScreen[AddRequest | None]):
    """Dismisses with an `AddRequest`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+enter", "submit", "Add", id="add.submit"),
        Binding("escape", "cancel", "Cancel", id="add.cancel"),
        Binding("ctrl+t", "paste_suggestions", "Paste demo ids", show=False, id="add.suggest"),
    ]

    def __init__(self, initial: str = "", *, suggestions: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog-screen")
        self._initial = initial
        self._suggestions = list(suggestions)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="add-dialog"):
            yield Static(Text("Add tasks", style="bold"), classes="dialog-title")
            # The fields scroll on a short terminal; the buttons stay in view below them.
            with DialogScroll():
                yield Static(
                    Text(
                        "Paste one or more task ids, separated by spaces, commas or new lines.\n"
                        f"A task id looks like {_EXAMPLE}.",
                        style="dim",
                    ),
                    classes="dialog-body",
                )
                if self._suggestions:
                    yield Static(
                        Text(
                            f"Demo: the simulator also knows {len(self._suggestions)} tasks that "
                            "are not tracked yet. Press ctrl+t (or the button) to paste their ids.",
                            style="italic",
                        ),
                        classes="dialog-body",
                        id="add-suggestion",
                    )
                area = TextArea(self._initial, id="add-ids", soft_wrap=True, tab_behavior="focus")
                area.border_title = "task ids"
                yield area
                yield Input(
                    placeholder="optional labels for these tasks, separated by commas",
                    id="add-label",
                )
            with Vertical(classes="dialog-foot"):
                yield Static("", id="add-feedback")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Add", variant="primary", id="add-ok")
                    if self._suggestions:
                        yield Button("Paste demo ids", id="add-suggest")
                    yield Button("Cancel", id="add-cancel")
                yield Static(
                    Text(
                        "tab moves on (enter in the label field adds) · ctrl+enter adds where "
                        "the terminal can send it · escape cancels",
                        style="dim",
                    ),
                    classes="dialog-hint",
                )

    def on_mount(self) -> None:
        field = self.query_one("#add-ids", TextArea)
        field.focus()
        # Once laid out: on a short terminal the first field may start below the fold.
        self.call_after_refresh(field.scroll_visible, animate=False)
        self._validate()

    def _parse(self) -> tuple[list[str], list[str]]:
        return parse_task_ids([self.query_one("#add-ids", TextArea).text])

    def _labels(self) -> tuple[str | None, str | None]:
        """The labels typed, as one comma list (None: none), and what is wrong with one."""
        try:
            labels = split_labels(self.query_one("#add-label", Input).value)
        except LabelError as exc:
            return None, str(exc)
        return ", ".join(labels) or None, None

    def _validate(self) -> tuple[list[str], list[str]]:
        valid, rejected = self._parse()
        feedback = Text()
        if valid:
            noun = "id" if len(valid) == 1 else "ids"
            feedback.append(f"✔ {len(valid)} valid {noun}", style="green")
        if rejected:
            if feedback:
                feedback.append("   ")
            feedback.append(f"✘ {describe_rejected(rejected)}", style="bold red")
        if not valid and not rejected:
            feedback.append("Nothing pasted yet.", style="dim")
        _, label_error = self._labels()
        if label_error is not None:
            feedback.append(f"\n✘ Label: {label_error}", style="bold red")
        self.query_one("#add-feedback", Static).update(feedback)
        self.query_one("#add-ok", Button).label = f"Add {len(valid)}" if valid else "Add"
        return valid, rejected

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add-ok":
            self.action_submit()
        elif event.button.id == "add-suggest":
            self.action_paste_suggestions()
        else:
            self.dismiss(None)

    def action_paste_suggestions(self) -> None:
        """Put the suggested ids in the box (after anything already typed)."""
        if not self._suggestions:
            return
        area = self.query_one("#add-ids", TextArea)
        existing = area.text.strip()
        area.text = "\n".join([existing, *self._suggestions] if existing else self._suggestions)
        # The next thing to do is add them: enter now presses "Add".
        self.query_one("#add-ok", Button).focus()

    def action_submit(self) -> None:
        valid, rejected = self._validate()
        label, label_error = self._labels()
        if not valid or label_error is not None:
            self.app.bell()
            return
        self.dismiss(AddRequest(valid, rejected, label))

    def action_cancel(self) -> None:
        self.dismiss(None)
