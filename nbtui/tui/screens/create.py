"""The new-task form: everything the Images API takes, checked before anything is sent.

The screen only collects and validates; the app sends (from a worker) and calls back
`creating`, `failed` or dismisses it. While a request is in flight the Create button is
disabled and further submits are ignored, so a double key press never creates two tasks.
After an answer that was lost, the next submit asks for confirmation first: the task may
exist already, and a second one would be billed.

A re-run or an edit from a result opens it filled in (`initial`), with notes saying what of
the old record could not be copied, and `origin`: the task the new one is made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static, TextArea
from textual.widgets.select import NoSelection

from nbtui.api.pricing import format_amount
from nbtui.create import ASPECT_RATIOS, MODELS, RESOLUTIONS, CreateRequest
from nbtui.textsafe import safe_text
from nbtui.tui.widgets.dialog_scroll import DialogScroll

if TYPE_CHECKING:
    from nbtui.api.pricing import PriceList

__all__ = ["CreateTaskScreen"]

_FIELDS = ("action", "prompt", "sources", "model", "count", "aspect_ratio", "resolution")


class CreateTaskScreen(ModalScreen[str | None]):
    """Dismisses with the new task's id, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+enter", "submit", "Create", id="create.submit"),
        Binding("escape", "cancel", "Cancel", id="create.cancel"),
    ]

    class Submitted(Message):
        """The user asked to create this task (validated; sources not read yet)."""

        def __init__(self, form: CreateTaskScreen, request: CreateRequest) -> None:
            super().__init__()
            self.form = form
            self.request = request

    DEFAULT_CSS = """
    #create-dialog { width: 96; }
    #create-prompt { height: 6; margin-top: 1; }
    #create-sources { height: 4; margin-top: 1; border: round $primary 60%; }
    .create-row { height: 1; margin-top: 1; }
    .create-label { width: 8; color: $text-muted; }
    .create-label-inner { margin-left: 3; }
    #create-action { width: 1fr; }
    #create-model { width: 1fr; }
    #create-count { width: 9; }
    #create-aspect, #create-resolution { width: 14; }
    #create-notes { height: auto; margin-bottom: 1; }
    .create-error { display: none; height: auto; }
    .create-error.-shown { display: block; }
    #create-status { display: none; height: auto; margin-top: 1; }
    #create-status.-shown { display: block; }
    /* Narrow: count, aspect and size stack as label/choice pairs instead of one row. */
    CreateTaskScreen.-cramped #create-shape {
        layout: grid; grid-size: 2; grid-columns: 8 1fr; grid-rows: 1; grid-gutter: 1 0;
        height: auto;
    }
    CreateTaskScreen.-cramped .create-label-inner { margin-left: 0; }
    CreateTaskScreen.-short #create-prompt { height: 4; }
    /* The chosen action stays on its one line, cut short when narrow. */
    #create-action Static#label { text-wrap: nowrap; text-overflow: ellipsis; }
    """
    #: Under 72 columns the count/aspect/size row no longer fits: `-cramped` stacks it.
    HORIZONTAL_BREAKPOINTS = [
        (0, "-cramped"),
        (72, "-roomy"),
    ]

    def __init__(
        self,
        *,
        prompt: str = "",
        demo: bool = False,
        initial: CreateRequest | None = None,
        title: str = "New image task",
        notes: Sequence[str] = (),
        origin: str | None = None,
        prices: PriceList | None = None,
    ) -> None:
        """`initial`: the form filled in (a re-run, an edit); `notes`: what of it could not
        be filled in, in words; `origin`: the id of the task the new one is made from;
        `prices`: the service's price rules, for the estimate in the title (None: none)."""
        super().__init__(classes="dialog-screen")
        self._prices = prices
        self._initial = initial or CreateRequest(prompt=prompt)
        self._heading = title
        self._notes = tuple(notes)
        #: The task the new one is made from (recorded as its parent), or None.
        self.origin = origin
        self._demo = demo
        #: True from submit until the app answers: further submits are ignored.
        self.in_flight = False
        #: The last attempt's answer was lost: the task may exist; ask before sending again.
        self.maybe_created = False
        self._confirmed = False
        #: How many requests this form handed to the app (tests read it).
        self.submissions = 0

    def compose(self) -> ComposeResult:
        initial = self._initial
        with Vertical(classes="dialog", id="create-dialog"):
            yield Static(self._title(), classes="dialog-title", id="create-title")
            # The fields scroll on a short terminal; the buttons stay in view below them, so
            # enter in a field never presses a Create button the user cannot see.
            with DialogScroll(id="create-fields"):
                if self._notes:
                    yield Static(
                        Text("\n".join(f"• {safe_text(n)}" for n in self._notes), style="yellow"),
                        id="create-notes",
                    )
                with Horizontal(classes="create-row"):
                    yield Static("Action", classes="create-label")
                    yield Select(
                        [
                            ("generate: a new image from the prompt", "generate"),
                            ("edit: change source images with the prompt", "edit"),
                        ],
                        value="edit" if initial.action == "edit" else "generate",
                        allow_blank=False,
                        compact=True,
                        id="create-action",
                    )
                area = TextArea(
                    initial.prompt,
                    id="create-prompt",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="What should the image show?",
                )
                area.border_title = "prompt"
                yield area
                yield Static("", id="create-prompt-error", classes="create-error")
                sources = TextArea(
                    "\n".join(initial.sources),
                    id="create-sources",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="https://… or ~/pictures/photo.png",
                )
                sources.border_title = "source images: http(s) URLs or local files, one per line"
                yield sources
                yield Static("", id="create-sources-error", classes="create-error")
                with Horizontal(classes="create-row"):
                    yield Static("Model", classes="create-label")
                    yield Input(
                        initial.model or "",
                        placeholder="nano-banana (default)",
                        suggester=SuggestFromList(MODELS, case_sensitive=False),
                        compact=True,
                        id="create-model",
                    )
                yield Static("", id="create-model-error", classes="create-error")
                with Horizontal(classes="create-row", id="create-shape"):
                    yield Static("Count", classes="create-label")
                    yield Select(
                        [(str(n), n) for n in range(1, 5)],
                        value=initial.count if initial.count in range(1, 5) else 1,
                        allow_blank=False,
                        compact=True,
                        id="create-count",
                    )
                    yield Static("Aspect", classes="create-label create-label-inner")
                    yield Select(
                        [(ratio, ratio) for ratio in ASPECT_RATIOS],
                        value=_choice(initial.aspect_ratio, ASPECT_RATIOS),
                        prompt="default",
                        compact=True,
                        id="create-aspect",
                    )
                    yield Static("Size", classes="create-label create-label-inner")
                    yield Select(
                        [(res, res) for res in RESOLUTIONS],
                        value=_choice(initial.resolution, RESOLUTIONS),
                        prompt="default",
                        compact=True,
                        id="create-resolution",
                    )
            with Vertical(classes="dialog-foot"):
                # What happened to the last submit: always in view, next to the buttons.
                yield Static("", id="create-status")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Create", variant="primary", id="create-ok")
                    yield Button("Cancel", id="create-cancel")
                yield Static(Text(_field_hint(None), style="dim"), id="create-hint")
                if self._demo:
                    yield Static(
                        Text("demo: put sim:fail in the prompt to see a failure", style="dim"),
                        classes="dialog-hint",
                    )

    def on_mount(self) -> None:
        self._show_sources(self._initial.action == "edit")
        self._show_estimate()
        field = self.query_one("#create-prompt", TextArea)
        field.focus()
        # Once laid out: on a short terminal the first field may start below the fold.
        self.call_after_refresh(field.scroll_visible, animate=False)

    # -- reading the form ----------------------------------------------------------------

    @property
    def action(self) -> str:
        value = self.query_one("#create-action", Select).value
        return value if isinstance(value, str) else "generate"

    def request(self) -> CreateRequest:
        """What the form says now."""
        count = self.query_one("#create-count", Select).value
        aspect = self.query_one("#create-aspect", Select).value
        resolution = self.query_one("#create-resolution", Select).value
        model = self.query_one("#create-model", Input).value.strip()
        sources_text = self.query_one("#create-sources", TextArea).text
        sources = tuple(line.strip() for line in sources_text.splitlines() if line.strip())
        return CreateRequest(
            prompt=self.query_one("#create-prompt", TextArea).text.strip(),
            action=self.action,
            model=model or None,
            count=count if isinstance(count, int) else None,
            aspect_ratio=aspect if isinstance(aspect, str) else None,
            resolution=resolution if isinstance(resolution, str) else None,
            sources=sources if self.action == "edit" else (),
        )

    def _show_sources(self, visible: bool) -> None:
        self.query_one("#create-sources", TextArea).display = visible
        if not visible:
            self.query_one("#create-sources-error", Static).remove_class("-shown")

    @staticmethod
    def _error_target(field: str) -> str:
        return {
            "prompt": "#create-prompt-error",
            "sources": "#create-sources-error",
        }.get(field, "#create-model-error")

    def show_problems(self, problems: dict[str, str]) -> None:
        """Each problem under its field (fields without their own line share the model's)."""
        lines: dict[str, list[str]] = {}
        for field in _FIELDS:
            if field in problems:
                lines.setdefault(self._error_target(field), []).append(problems[field])
        for target in ("#create-prompt-error", "#create-sources-error", "#create-model-error"):
            messages = lines.get(target, [])
            widget = self.query_one(target, Static)
            widget.update(Text("\n".join(f"✘ {m}" for m in messages), style="bold red"))
            widget.set_class(bool(messages), "-shown")

    # -- feedback from the app -----------------------------------------------------------

    def creating(self, what: str = "Creating the task…") -> None:
        self._set_status(Text(what, style="italic"))

    def failed(
        self, message: str, *, field: str | None = None, maybe_created: bool = False
    ) -> None:
        """The attempt did not create a task (or may have: `maybe_created`); form stays open."""
        self.in_flight = False
        self._confirmed = False
        self.maybe_created = self.maybe_created or maybe_created
        button = self.query_one("#create-ok", Button)
        button.disabled = False
        if field is not None:
            self.show_problems({field: message})
            self._set_status(Text(""))
            return
        text = Text("✘ ", style="bold red")
        text.append(safe_text(message))
        if maybe_created:
            text.append(
                "\nThe task may or may not exist now: nbtui did not send the request again. "
                "Before creating it again, look for it: close this form and press I (import "
                "recent tasks), or check the AceData Cloud console.",
                style="yellow",
            )
            button.label = "Create anyway"
        self._set_status(text)

    def _set_status(self, text: Text) -> None:
        status = self.query_one("#create-status", Static)
        status.update(text)
        status.set_class(bool(text.plain), "-shown")

    # -- events --------------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Say what enter does where the focus is: most terminals cannot send ctrl+enter."""
        self.query_one("#create-hint", Static).update(Text(_field_hint(event.widget), style="dim"))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "create-action":
            self._show_sources(event.value == "edit")
        self._show_estimate()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_estimate()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id == "create-sources":
            self._show_estimate()

    # -- the estimate (docs/platform.md: the provider's price rules for this request) -----

    def estimate(self) -> float | None:
        """What the request would cost by the price rules; None without rules or a match."""
        if self._prices is None or not self.is_mounted:
            return None
        request = self.request()
        body: dict[str, object] = {"action": request.action, "prompt": request.prompt}
        for key, value in (
            ("model", request.model),
            ("count", request.count),
            ("aspect_ratio", request.aspect_ratio),
            ("resolution", request.resolution),
        ):
            if value is not None:
                body[key] = value
        if request.sources:
            body["image_urls"] = list(request.sources)
        return self._prices.estimate(body)

    def _title(self) -> Text:
        title = Text(safe_text(self._heading), style="bold")
        cost = self.estimate()
        if cost is not None and self._prices is not None:
            amount = format_amount(cost)
            title.append(f"   estimated cost {amount} {self._prices.unit}", style="not bold")
        return title

    def _show_estimate(self) -> None:
        if self._prices is not None:
            self.query_one("#create-title", Static).update(self._title())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create-ok":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        if self.in_flight:
            return  # a request is on its way: a second press must not create a second task
        request = self.request()
        problems = request.problems()
        self.show_problems(problems)
        if problems:
            self._set_status(Text(""))
            self.app.bell()
            return
        if self.maybe_created and not self._confirmed:
            self._confirmed = True
            self._set_status(
                Text(
                    "The last attempt may have created the task already. Press Create anyway "
                    "again to send a new request (a second task is billed separately).",
                    style="bold yellow",
                )
            )
            return
        self.in_flight = True
        self.submissions += 1
        self.query_one("#create-ok", Button).disabled = True
        self.creating()
        self.post_message(self.Submitted(self, request))

    def action_cancel(self) -> None:
        if self.in_flight:
            self._set_status(
                Text(
                    "Still waiting for the service's answer; closing now could lose the new "
                    "task's id. Wait a moment.",
                    style="yellow",
                )
            )
            return
        self.dismiss(None)


def _choice(value: str | None, choices: Sequence[str]) -> str | NoSelection:
    """`value` when the select offers it, else no choice (the default)."""
    return value if value is not None and value in choices else Select.NULL


def _field_hint(widget: Widget | None) -> str:
    """What enter does in the focused field (most terminals cannot send ctrl+enter).

    One short line whatever the field: a hint that changed height would move the buttons
    under the pointer between a click's press and release.
    """
    if isinstance(widget, TextArea):
        where = "enter adds a line · tab, then enter, creates"
    elif isinstance(widget, Input):
        where = "enter creates the task · tab moves on"
    elif isinstance(widget, Select):
        where = "enter opens the choices · tab moves on"
    elif isinstance(widget, Button):
        where = f"enter: {widget.label} · tab moves on"
    else:
        where = "enter in Model creates · tab moves on"
    return f"{where} · escape cancels"
