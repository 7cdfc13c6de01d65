"""Enter the API token: masked, checked with one request, kept in the OS keyring.

The screen only collects the token and shows outcomes; the app checks and stores it (screens
never touch the network or the keyring) and tells the screen what happened.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from nbtui.tui.widgets.dialog_scroll import DialogScroll

__all__ = ["TokenOutcome", "TokenScreen"]

TokenOutcome = Literal["saved", "demo", "cancel", "quit"]

_EXPLANATION = (
    "nbtui needs an AceData Cloud API token to read your Nano Banana tasks.\n"
    "Create one at https://platform.acedata.cloud (Console → Credentials).\n"
    "It is checked with one request, stored in your OS keyring and never shown again\n"
    "(at most its last 4 characters). Alternatively set ACEDATACLOUD_API_TOKEN."
)


def _explanation(keyring_problem: str | None) -> str:
    """What happens to a token typed here: kept in the keyring, or (with none) this session."""
    if keyring_problem is None:
        return _EXPLANATION
    return (
        "nbtui needs an AceData Cloud API token to read your Nano Banana tasks.\n"
        "Create one at https://platform.acedata.cloud (Console → Credentials).\n"
        "A token typed here is checked with one request and lasts for this session only:\n"
        f"{keyring_problem}. To keep a token, set it in your shell:\n"
        "export ACEDATACLOUD_API_TOKEN=<your token>"
    )


class TokenScreen(Screen[TokenOutcome]):
    """Dismisses with "saved", "demo" (first run only), "cancel" or "quit"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="token.back"),
    ]

    class Submitted(Message):
        """The user asked to check and save `token` (the app answers via `show_result`)."""

        def __init__(self, token: str) -> None:
            super().__init__()
            self.token = token

        def __repr__(self) -> str:  # the token must never reach a log
            return "TokenScreen.Submitted(token=<hidden>)"

    def __init__(
        self, *, first_run: bool, status: str, host: str, keyring_problem: str | None = None
    ) -> None:
        super().__init__(classes="token-screen")
        self.first_run = first_run
        self._status = status
        self._host = host
        #: Why no keyring can keep a token (None: one can), said instead of "stored".
        self._keyring_problem = keyring_problem

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="token-dialog"):
            title = "Welcome to nbtui" if self.first_run else "API token"
            yield Static(Text(title, style="bold"), classes="dialog-title")
            # The text scrolls on a short terminal; the buttons stay in view below it.
            with DialogScroll():
                yield Static(Text(_explanation(self._keyring_problem)), classes="dialog-body")
                yield Static(
                    Text.assemble(
                        ("Current: ", "bold"),
                        self._status,
                        "\n",
                        ("API host: ", "bold"),
                        self._host,
                    ),
                    id="token-status",
                )
                yield Input(
                    placeholder="paste your API token",
                    password=True,
                    id="token-input",
                )
                yield Static("", id="token-feedback")
            with Horizontal(classes="dialog-buttons dialog-foot"):
                save = "Check and use" if self._keyring_problem else "Save and check"
                yield Button(save, variant="primary", id="token-save")
                if self.first_run:
                    yield Button("Try the demo", variant="success", id="token-demo")
                    yield Button("Quit", id="token-quit")
                else:
                    yield Button("Cancel", id="token-cancel")

    def on_mount(self) -> None:
        field = self.query_one("#token-input", Input)
        field.focus()
        # Once laid out: on a short terminal the first field may start below the fold.
        self.call_after_refresh(field.scroll_visible, animate=False)

    def _submit(self) -> None:
        token = self.query_one("#token-input", Input).value.strip()
        if not token:
            self.show_result("Paste a token first.", error=True)
            return
        if any(ch.isspace() for ch in token) or not token.isprintable():
            self.show_result("A token has no spaces or control characters.", error=True)
            return
        self.set_busy(True)
        self.show_result("Checking the token with one request…", error=False)
        self.post_message(self.Submitted(token))

    def set_busy(self, busy: bool) -> None:
        """Disable input while the app checks the token."""
        self.query_one("#token-input", Input).disabled = busy
        self.query_one("#token-save", Button).disabled = busy

    def show_result(self, message: str, *, error: bool) -> None:
        """Say what happened, in words (never the token)."""
        style = "bold red" if error else "green"
        feedback = self.query_one("#token-feedback", Static)
        feedback.update(Text(message, style=style))
        feedback.scroll_visible(animate=False)  # a short terminal may have it scrolled away
        if error:
            self.set_busy(False)
            self.query_one("#token-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id
        if button == "token-save":
            self._submit()
        elif button == "token-demo":
            self.dismiss("demo")
        elif button == "token-quit":
            self.dismiss("quit")
        else:
            self.dismiss("cancel")

    def action_back(self) -> None:
        self.dismiss("quit" if self.first_run else "cancel")
