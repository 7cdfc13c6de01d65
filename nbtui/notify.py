"""Terminal notifications when a watched task finishes: OSC 9, OSC 777 and the bell.

A user in another tmux window or terminal tab learns that the image is ready. Everything here
is pure and deterministic: the functions build the exact escape sequences, `Notifier` decides
which to emit from the settings and the environment, and the caller supplies `write`.

Which sequence for which terminal (the first matching row wins; `NBTUI_NOTIFY=osc9|osc777|none`
overrides the table):

| terminal               | recognised by                                          | sent    |
| ---------------------- | ------------------------------------------------------ | ------- |
| WezTerm                | TERM_PROGRAM=WezTerm, WEZTERM_PANE, WEZTERM_EXECUTABLE | OSC 777 |
| Ghostty                | TERM_PROGRAM=ghostty, TERM=xterm-ghostty, GHOSTTY_*    | OSC 777 |
| foot                   | TERM=foot, foot-extra, foot-*                          | OSC 777 |
| rxvt-unicode           | TERM=rxvt-unicode* (its notify extension)              | OSC 777 |
| VTE (GNOME Terminal..) | VTE_VERSION                                            | OSC 777 |
| iTerm2                 | TERM_PROGRAM=iTerm.app, LC_TERMINAL, ITERM_SESSION_ID  | OSC 9   |
| kitty                  | TERM=xterm-kitty, KITTY_WINDOW_ID                      | OSC 9   |
| Windows Terminal       | WT_SESSION                                             | OSC 9   |
| anything else          |                                                        | nothing |

OSC 777 is preferred where supported because it carries a title; WezTerm and Ghostty also
understand OSC 9. Unknown terminals get nothing: some print unrecognised OSC sequences as
garbage. Inside tmux TERM_PROGRAM says "tmux", so the terminal-specific variables that the tmux
server inherited (KITTY_WINDOW_ID, WEZTERM_PANE, ...) identify the outer terminal, and the
sequence is wrapped for tmux's passthrough (`set -g allow-passthrough on` is needed on tmux
3.3+). The bell is sent raw: tmux turns it into a window alert by itself.

API text (prompts, error messages) is data: it goes through `textsafe.one_line`, so it cannot
end the sequence early or inject its own, and `;` is removed from OSC 777 fields, where it is
the field separator.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from nbtui.api.state import Task, TaskState
from nbtui.api.summary import summarize
from nbtui.textsafe import one_line, truncate

if TYPE_CHECKING:
    from nbtui.config import Settings

__all__ = [
    "BEL",
    "BODY_WIDTH",
    "ENV_NOTIFY",
    "TITLE_WIDTH",
    "Notifier",
    "NotifyProtocol",
    "bell",
    "detect_protocol",
    "osc9",
    "osc777",
    "task_notification",
    "tmux_wrap",
]

ESC: Final = "\x1b"
BEL: Final = "\x07"
ST: Final = ESC + "\\"
#: Notification popups show little; long prompts are cut with an ellipsis.
TITLE_WIDTH: Final = 60
BODY_WIDTH: Final = 200
#: Environment variable forcing the protocol: osc9, osc777 or none.
ENV_NOTIFY: Final = "NBTUI_NOTIFY"


class NotifyProtocol(enum.StrEnum):
    """Which desktop-notification escape sequence the terminal understands."""

    OSC9 = "osc9"
    OSC777 = "osc777"
    NONE = "none"


def _field(text: object, width: int, *, semicolons: bool) -> str:
    clean = one_line(text)
    if not semicolons:
        clean = clean.replace(";", ",")
    return truncate(clean.strip(), width)


def osc9(text: str) -> str:
    """`ESC ] 9 ; text BEL` (iTerm2's notification); the text is made safe and shortened."""
    clean = _field(text, BODY_WIDTH, semicolons=True)
    if clean[:1].isdigit():
        # ConEmu and Windows Terminal read `9;<number>;` as a sub-command (progress, cwd, ...).
        clean = truncate(f"nbtui: {clean}", BODY_WIDTH)
    return f"{ESC}]9;{clean}{BEL}"


def osc777(title: str, body: str) -> str:
    """`ESC ] 777 ; notify ; title ; body BEL`; `;` inside the fields becomes `,`."""
    clean_title = _field(title, TITLE_WIDTH, semicolons=False) or "nbtui"
    clean_body = _field(body, BODY_WIDTH, semicolons=False)
    return f"{ESC}]777;notify;{clean_title};{clean_body}{BEL}"


def bell() -> str:
    return BEL


def tmux_wrap(sequence: str) -> str:
    """Wrap for tmux passthrough: `ESC P tmux; <sequence, every ESC doubled> ESC \\`."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def _term_family(term: str) -> NotifyProtocol | None:
    if term == "xterm-ghostty" or term == "foot" or term.startswith(("foot-", "rxvt-unicode")):
        return NotifyProtocol.OSC777
    if term == "xterm-kitty":
        return NotifyProtocol.OSC9
    return None


def detect_protocol(env: Mapping[str, str] | None = None) -> NotifyProtocol:
    """The notification protocol for the terminal described by `env` (see the module table)."""
    env = os.environ if env is None else env
    forced = env.get(ENV_NOTIFY, "").strip().lower()
    if forced in {p.value for p in NotifyProtocol}:
        return NotifyProtocol(forced)
    program = env.get("TERM_PROGRAM", "").strip().lower()
    if program in ("wezterm", "ghostty"):
        return NotifyProtocol.OSC777
    if program == "iterm.app":
        return NotifyProtocol.OSC9
    by_term = _term_family(env.get("TERM", "").strip().lower())
    if by_term is not None:
        return by_term
    # Markers a terminal exports to its children; they survive into tmux panes.
    if env.get("WEZTERM_PANE") or env.get("WEZTERM_EXECUTABLE"):
        return NotifyProtocol.OSC777
    if env.get("GHOSTTY_RESOURCES_DIR") or env.get("GHOSTTY_BIN_DIR"):
        return NotifyProtocol.OSC777
    if env.get("KITTY_WINDOW_ID"):
        return NotifyProtocol.OSC9
    if env.get("LC_TERMINAL", "").strip().lower() == "iterm2" or env.get("ITERM_SESSION_ID"):
        return NotifyProtocol.OSC9
    if env.get("WT_SESSION"):
        return NotifyProtocol.OSC9
    if env.get("VTE_VERSION"):
        return NotifyProtocol.OSC777
    return NotifyProtocol.NONE


def _prompt(task: Task) -> str:
    return summarize(task.raw).prompt or ""


def task_notification(task: Task) -> tuple[str, str] | None:
    """`(title, body)` announcing a finished task, or None while it is still running.

    The body names the prompt (or the error) and the task's short id, so two tasks with the
    same prompt can be told apart.
    """
    if not task.state.is_finished:
        return None
    short = one_line(task.id)[:8] or "?"
    detail = one_line(_prompt(task))
    if task.state is TaskState.SUCCEEDED:
        count = len(task.image_urls)
        title = "Image ready" if count <= 1 else f"{count} images ready"
    elif task.state is TaskState.FAILED and task.error is not None and task.error.is_moderation:
        title = "Refused by the safety filter"
    elif task.state is TaskState.FAILED:
        title = "Task failed"
        message = one_line(task.error.message) if task.error is not None else ""
        detail = message or detail
    else:
        title = "Task not found"
        detail = ""
    body = f"{truncate(detail, BODY_WIDTH - 12)} [{short}]" if detail else f"task {short}"
    return f"nbtui: {title}", body


class Notifier:
    """Emits the terminal notification and/or bell the settings ask for.

    `write` receives the whole output of one notification in a single call (for the TUI: a
    function that writes to the terminal outside Textual's screen updates).
    """

    def __init__(
        self,
        settings: Settings,
        write: Callable[[str], object],
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.write = write
        self.terminal_enabled = settings.notify_terminal
        self.bell_enabled = settings.notify_bell
        self.protocol = detect_protocol(env)
        self.in_tmux = bool(env.get("TMUX"))

    def render(self, title: str, body: str) -> str:
        """Exactly what `notify` writes for this title and body (empty when nothing is due)."""
        parts: list[str] = []
        if self.terminal_enabled and self.protocol is not NotifyProtocol.NONE:
            if self.protocol is NotifyProtocol.OSC777:
                sequence = osc777(title, body)
            else:
                sequence = osc9(f"{one_line(title)}: {one_line(body)}" if body else title)
            parts.append(tmux_wrap(sequence) if self.in_tmux else sequence)
        if self.bell_enabled:
            parts.append(BEL)
        return "".join(parts)

    def notify(self, title: str, body: str) -> bool:
        """Write the notification; True when anything was written."""
        output = self.render(title, body)
        if output:
            self.write(output)
        return bool(output)

    def task_finished(self, task: Task) -> bool:
        """Announce a finished task; False (nothing written) for one still running."""
        text = task_notification(task)
        if text is None:
            return False
        return self.notify(*text)
