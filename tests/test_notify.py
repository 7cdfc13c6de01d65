"""Terminal notifications (nbtui.notify): exact bytes, injection stripped, tmux wrapping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbtui.api.models import Task
from nbtui.config import Settings
from nbtui.notify import (
    BODY_WIDTH,
    Notifier,
    NotifyProtocol,
    detect_protocol,
    osc9,
    osc777,
    task_notification,
    tmux_wrap,
)

TASK_ID = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def make_task(response: dict[str, Any] | None, prompt: str = "a white siamese cat") -> Task:
    raw: dict[str, Any] = {"id": TASK_ID, "request": {"action": "generate", "prompt": prompt}}
    if response is not None:
        raw["response"] = response
    return Task.from_raw(raw)


SUCCEEDED = make_task(
    {"success": True, "data": [{"image_url": "https://cdn.test/a.png", "prompt": "x"}]}
)


def notifier(
    env: dict[str, str], *, terminal: bool = True, bell: bool = False
) -> tuple[Notifier, list[str]]:
    written: list[str] = []
    settings = Settings(notify_terminal=terminal, notify_bell=bell)
    return Notifier(settings, written.append, env=env), written


# ------------------------------------------------------------------------------- sequences


def test_osc9_exact() -> None:
    assert osc9("Image ready") == "\x1b]9;Image ready\x07"


def test_osc777_exact() -> None:
    assert osc777("nbtui", "Image ready") == "\x1b]777;notify;nbtui;Image ready\x07"


def test_osc777_strips_field_separators_and_escapes() -> None:
    title = "a;b\x1b]0;evil title\x07"
    body = "x\x07y;z\x1b[31m red\x9b2J\nnext line"
    assert osc777(title, body) == "\x1b]777;notify;a,b;xy,z red next line\x07"


def test_osc9_strips_escapes_and_keeps_one_line() -> None:
    assert osc9("done\x1b]52;c;aGk=\x07!\r\n\tok\x9d8;;x\x9c") == "\x1b]9;done! ok\x07"


def test_osc9_text_starting_with_a_digit_is_not_a_subcommand() -> None:
    # `ESC ] 9 ; 4 ; ...` would be a progress command in Windows Terminal and ConEmu.
    assert osc9("4;3;100") == "\x1b]9;nbtui: 4;3;100\x07"


def test_long_text_is_truncated() -> None:
    sequence = osc777("t" * 500, "b" * 500)
    _, _, title, body = sequence[len("\x1b]") : -1].split(";")
    assert len(title) == 60 and title.endswith("…")
    assert len(body) == BODY_WIDTH and body.endswith("…")
    assert len(osc9("x" * 1000)) == len("\x1b]9;\x07") + BODY_WIDTH


def test_empty_title_gets_a_name() -> None:
    assert osc777("\x1b[0m", "") == "\x1b]777;notify;nbtui;\x07"


def test_tmux_wrap_doubles_escapes() -> None:
    assert tmux_wrap("\x1b]9;hi\x07") == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"


@given(st.text(), st.text())
def test_api_text_cannot_break_out_of_osc777(title: str, body: str) -> None:
    sequence = osc777(title, body)
    assert sequence.startswith("\x1b]777;notify;") and sequence.endswith("\x07")
    inner = sequence[len("\x1b]777;notify;") : -1]
    assert not _CONTROLS.search(inner)
    assert inner.count(";") == 1


@given(st.text())
def test_api_text_cannot_break_out_of_osc9(text: str) -> None:
    sequence = osc9(text)
    assert sequence.startswith("\x1b]9;") and sequence.endswith("\x07")
    inner = sequence[len("\x1b]9;") : -1]
    assert not _CONTROLS.search(inner)
    assert not inner[:1].isdigit()


# ------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM_PROGRAM": "WezTerm"}, NotifyProtocol.OSC777),
        ({"TERM_PROGRAM": "ghostty"}, NotifyProtocol.OSC777),
        ({"TERM": "xterm-ghostty"}, NotifyProtocol.OSC777),
        ({"TERM": "foot"}, NotifyProtocol.OSC777),
        ({"TERM": "foot-extra"}, NotifyProtocol.OSC777),
        ({"TERM": "rxvt-unicode-256color"}, NotifyProtocol.OSC777),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, NotifyProtocol.OSC777),
        ({"TERM_PROGRAM": "iTerm.app"}, NotifyProtocol.OSC9),
        ({"TERM": "xterm-kitty"}, NotifyProtocol.OSC9),
        ({"WT_SESSION": "abc"}, NotifyProtocol.OSC9),
        # Inside tmux: TERM_PROGRAM is tmux, the outer terminal's markers are inherited.
        ({"TERM_PROGRAM": "tmux", "TERM": "tmux-256color", "KITTY_WINDOW_ID": "1"}, "osc9"),
        ({"TERM_PROGRAM": "tmux", "TERM": "screen", "WEZTERM_PANE": "3"}, "osc777"),
        ({"TERM_PROGRAM": "tmux", "LC_TERMINAL": "iTerm2"}, "osc9"),
        ({"TERM_PROGRAM": "Apple_Terminal", "TERM": "xterm-256color"}, NotifyProtocol.NONE),
        ({"TERM": "linux"}, NotifyProtocol.NONE),
        ({}, NotifyProtocol.NONE),
        ({"TERM": "linux", "NBTUI_NOTIFY": "OSC777"}, NotifyProtocol.OSC777),
        ({"TERM_PROGRAM": "iTerm.app", "NBTUI_NOTIFY": "none"}, NotifyProtocol.NONE),
        ({"TERM_PROGRAM": "iTerm.app", "NBTUI_NOTIFY": "bogus"}, NotifyProtocol.OSC9),
    ],
)
def test_detect_protocol(env: dict[str, str], expected: str) -> None:
    assert detect_protocol(env) == expected


# -------------------------------------------------------------------------------- notifier


def test_notifier_osc9_for_iterm() -> None:
    notify, written = notifier({"TERM_PROGRAM": "iTerm.app"})
    assert notify.task_finished(SUCCEEDED)
    assert written == ["\x1b]9;nbtui: Image ready: a white siamese cat [4d320ead]\x07"]


def test_notifier_osc777_with_bell() -> None:
    notify, written = notifier({"TERM": "foot"}, bell=True)
    assert notify.task_finished(SUCCEEDED)
    assert written == ["\x1b]777;notify;nbtui: Image ready;a white siamese cat [4d320ead]\x07\x07"]


def test_notifier_in_tmux_wraps_the_osc_but_not_the_bell() -> None:
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "tmux", "KITTY_WINDOW_ID": "2"}
    notify, written = notifier(env, bell=True)
    notify.notify("nbtui: Task failed", "boom")
    assert written == ["\x1bPtmux;\x1b\x1b]9;nbtui: Task failed: boom\x07\x1b\\\x07"]


def test_notifier_bell_only_on_unknown_terminal() -> None:
    notify, written = notifier({"TERM": "xterm-256color"}, bell=True)
    assert notify.task_finished(SUCCEEDED)
    assert written == ["\x07"]


def test_notifier_off_writes_nothing() -> None:
    notify, written = notifier({"TERM_PROGRAM": "iTerm.app"}, terminal=False, bell=False)
    assert not notify.task_finished(SUCCEEDED)
    assert written == []


def test_notifier_ignores_unfinished_tasks() -> None:
    notify, written = notifier({"TERM_PROGRAM": "iTerm.app"}, bell=True)
    assert not notify.task_finished(make_task({"task_id": TASK_ID}))
    assert not notify.task_finished(make_task(None))
    assert written == []


def test_notifier_strips_injection_from_the_prompt() -> None:
    task = make_task(
        {"success": True, "data": [{"image_url": "https://cdn.test/a.png"}]},
        prompt="cat\x1b]0;pwned\x07; dog\x1b[2J",
    )
    notify, written = notifier({"TERM_PROGRAM": "WezTerm"})
    notify.task_finished(task)
    assert written == ["\x1b]777;notify;nbtui: Image ready;cat, dog [4d320ead]\x07"]


# ------------------------------------------------------------------------------------ text


def test_task_notification_texts() -> None:
    two = make_task(
        {
            "success": True,
            "data": [{"image_url": "https://cdn.test/a.png"}, {"image_url": "https://b"}],
        }
    )
    failed = make_task(
        {"success": False, "error": {"code": "api_error", "message": "fetch failed"}}
    )
    moderated = make_task({"success": False, "error": {"code": "forbidden", "message": "blocked"}})
    assert task_notification(SUCCEEDED) == (
        "nbtui: Image ready",
        "a white siamese cat [4d320ead]",
    )
    assert task_notification(two) == ("nbtui: 2 images ready", "a white siamese cat [4d320ead]")
    assert task_notification(failed) == ("nbtui: Task failed", "fetch failed [4d320ead]")
    assert task_notification(moderated) == (
        "nbtui: Refused by the safety filter",
        "a white siamese cat [4d320ead]",
    )
    assert task_notification(Task.not_found(TASK_ID)) == (
        "nbtui: Task not found",
        "task 4d320ead",
    )
    assert task_notification(make_task(None)) is None


def test_the_accepted_answer_is_no_finish_and_a_failover_record_is() -> None:
    """docs/api.md, "The task's state": rows 8 (accepted: running) and 6 (images, no flag)."""
    accepted = make_task({"success": True, "task_id": TASK_ID, "trace_id": "t"})
    failover = make_task({"task_id": TASK_ID, "data": [{"image_url": "https://cdn.test/a.png"}]})
    notify, written = notifier({"TERM_PROGRAM": "iTerm.app"}, bell=False)
    assert task_notification(accepted) is None
    assert not notify.task_finished(accepted)
    assert task_notification(failover) == (
        "nbtui: Image ready",
        "a white siamese cat [4d320ead]",
    )
    assert notify.task_finished(failover)
    assert len(written) == 1
