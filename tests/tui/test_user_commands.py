"""The user's own commands in the app: keys, the toast, the log screen (`O`), start-up
refusals, the help screen and the palette."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.command_log import CommandLogScreen
from nbtui.tui.screens.help import HelpScreen
from tests.helpers import SIM_TOKEN, Harness, app_with, notes, select_when_done, settle

#: Copies its first argument to its second and says so.
COPY = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); print('copied', sys.argv[2])"
#: Long enough for a python start on a busy machine (rounds of 10 ms, never wall time).
ROUNDS = 3000


def done_task(harness: Harness, prompt: str = "a red kite") -> str:
    task_id = harness.state.add_task(
        prompt=prompt, outcome="succeeded", pending_seconds=0, running_seconds=0
    )
    harness.track([task_id], label="kites")
    return task_id


def log_text(app: NbtuiApp) -> str:
    return str(app.screen.query_one("#command-log", Static).render())


async def test_a_key_runs_the_command_on_the_saved_image(harness: Harness, tmp_path: Path) -> None:
    task_id = done_task(harness)
    target = tmp_path / "copied.png"
    saved = tmp_path / "saved"
    commands: dict[str, Any] = {
        "copy": {"key": "f5", "argv": [sys.executable, "-c", COPY, "{image_path}", str(target)]}
    }
    app = app_with(harness, tmp_path, save_dir=saved, commands=commands)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("f5")
        await settle(pilot, lambda: "copy: done (exit 0)" in notes(app), rounds=ROUNDS)
        image = saved / f"{task_id}-1.png"
        assert target.read_bytes() == image.read_bytes()  # the image, saved first, copied
        assert target.read_bytes().startswith(b"\x89PNG")
        await pilot.press("O")
        await settle(pilot, lambda: isinstance(app.screen, CommandLogScreen))
        text = log_text(app)
        assert f"copy · {task_id[:8]} · done (exit 0)" in text
        assert str(image) in text and str(target) in text  # the argv
        assert f"copied {target}" in text  # its stdout
        await pilot.press("escape")
        assert not isinstance(app.screen, CommandLogScreen)


async def test_prompt_and_labels_are_passed_as_data(harness: Harness, tmp_path: Path) -> None:
    prompt = "a kite; touch /tmp/pwned $(id) `id` [bold]x[/bold] \x1b[31mred"
    task_id = done_task(harness, prompt=prompt)
    out = tmp_path / "args.txt"
    script = "import sys, json; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    argv = [sys.executable, "-c", script, str(out), "{id}", "{prompt}", "{labels}", "{image_url}"]
    app = app_with(harness, tmp_path, commands={"args": {"key": "ctrl+e", "argv": argv}})
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: "args: done (exit 0)" in notes(app), rounds=ROUNDS)
        import json

        passed = json.loads(out.read_text())
        task = app.main.selected_task()
        assert task is not None
        assert passed == [task_id, prompt, "kites", task.image_urls[0]]
        await pilot.press("O")
        await settle(pilot, lambda: isinstance(app.screen, CommandLogScreen))
        text = log_text(app)
        assert "[bold]x[/bold]" in text  # shown literally, never as markup
        assert "\x1b" not in text


async def test_the_command_environment_has_no_token(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", SIM_TOKEN)
    monkeypatch.setenv("COPY_OF_THE_TOKEN", SIM_TOKEN)
    task_id = done_task(harness)
    out = tmp_path / "env.txt"
    script = "import os, sys; open(sys.argv[1], 'w').write(repr(dict(os.environ)))"
    argv = [sys.executable, "-c", script, str(out)]
    app = app_with(harness, tmp_path, commands={"env": {"key": "ctrl+e", "argv": argv}})
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: "env: done (exit 0)" in notes(app), rounds=ROUNDS)
    environment = out.read_text()
    assert "PATH" in environment
    assert SIM_TOKEN not in environment and "ACEDATACLOUD_API_TOKEN" not in environment


async def test_failures_are_said_in_the_toast(harness: Harness, tmp_path: Path) -> None:
    task_id = done_task(harness)
    fail = [sys.executable, "-c", "import sys; sys.exit(4)"]
    commands: dict[str, Any] = {
        "fail": {"key": "ctrl+e", "argv": fail},
        "missing": {"key": "ctrl+g", "argv": ["nbtui-no-such-tool", "{id}"]},
        "slow": {
            "key": "ctrl+k",
            "argv": [sys.executable, "-c", "import time; time.sleep(60)"],
            "timeout": 0.5,
        },
    }
    app = app_with(harness, tmp_path, commands=commands)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: "fail: failed (exit 4)" in notes(app), rounds=ROUNDS)
        await pilot.press("ctrl+g")
        await settle(pilot, lambda: "missing: program not found" in notes(app), rounds=ROUNDS)
        assert "nbtui-no-such-tool (is it installed and on PATH?)" in notes(app)
        await pilot.press("ctrl+k")
        await settle(pilot, lambda: "slow: timed out after 0.5 s" in notes(app), rounds=ROUNDS)
        assert len(app.main.user_commands.log) == 3


async def test_an_image_command_on_a_task_without_images_says_why(
    harness: Harness, tmp_path: Path
) -> None:
    task_id = harness.state.add_task(prompt="slow", outcome="never")
    harness.track([task_id])
    commands = {"see": {"key": "f5", "argv": ["true", "{image_url}"]}}
    app = app_with(harness, tmp_path, commands=commands)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        app.main.task_list.select_id(task_id)
        await pilot.pause()
        await pilot.press("f5")
        await settle(pilot, lambda: "Not run for" in notes(app))
        assert "no result image (it has not finished)" in notes(app)
        assert not app.main.user_commands.log


async def test_refused_commands_are_reported_at_start_and_the_rest_works(
    harness: Harness, tmp_path: Path
) -> None:
    done_task(harness)
    commands: dict[str, Any] = {
        "shell": {"key": "ctrl+e", "argv": ["sh", "-c", "echo {prompt}"]},
        "save": {"key": "S", "argv": ["true"]},
        "view": {"key": "3", "argv": ["true"]},
        "mark": {"key": "space", "argv": ["true"]},
        "remapped": {"key": "ctrl+r", "argv": ["true"]},
        "typo": {"key": "crtl+x", "argv": ["true"]},
        "first": {"key": "ctrl+g", "argv": ["true"]},
        "second": {"key": "ctrl+g", "argv": ["true"]},
        "good": {"key": "ctrl+e", "argv": ["true"]},
    }
    app = app_with(harness, tmp_path, commands=commands, keymap={"app.refresh": "ctrl+r"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        shown = notes(app)
        expected = [
            "Command 'shell' refused: argv element 3 'echo {prompt}' puts {prompt} inside",
            'Command \'save\' refused: key "S" is already used by "Save images"',
            'Command \'view\' refused: key "3" is already used by "Saved view 3"',
            'Command \'mark\' refused: key "space" is already used by "Mark or unmark"',
            'Command \'remapped\' refused: key "ctrl+r" is already used by "Refresh ([keymap])"',
            "Command 'typo' refused: key \"crtl+x\" is not a key name",
            'Command \'second\' refused: key "ctrl+g" is already used by "the command first"',
        ]
        for message in expected:
            assert message in shown
        assert [c.name for c in app.main.user_commands.commands] == ["first", "good"]
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: "good: done (exit 0)" in notes(app), rounds=ROUNDS)


async def test_help_and_palette_list_the_commands(harness: Harness, tmp_path: Path) -> None:
    task_id = done_task(harness)
    commands: dict[str, Any] = {
        "upscale": {"key": "ctrl+e", "argv": ["true", "{id}"]},
        "paletteonly": {"argv": ["true", "{id}"]},
    }
    app = app_with(harness, tmp_path, commands=commands)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        rows = [(row.group, row.keys, row.description) for row in screen.rows]
        ours = [row for row in rows if row[0] == "Your commands"]
        assert ours == [
            ("Your commands", "O", "Command output"),
            ("Your commands", "ctrl+e", "Run upscale"),
            ("Your commands", "(palette)", "Run paletteonly"),
        ]
        assert rows.index(ours[-1]) + 1 < len(rows) and rows[-1][0] == "App"  # before "App"
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"paletteonly")
        await settle(
            pilot,
            lambda: (
                "Run paletteonly"
                in str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await settle(pilot, lambda: "paletteonly: done (exit 0)" in notes(app), rounds=ROUNDS)


async def test_the_log_screen_without_commands_says_how_to_add_one(
    harness: Harness, tmp_path: Path
) -> None:
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        await pilot.press("O")
        await settle(pilot, lambda: isinstance(app.screen, CommandLogScreen))
        assert "No commands are configured" in log_text(app)
        assert "[commands.copy]" in log_text(app)


async def test_a_punctuation_key_is_bound_as_textual_names_it(
    harness: Harness, tmp_path: Path
) -> None:
    task_id = done_task(harness)
    app = app_with(harness, tmp_path, commands={"bang": {"key": "!", "argv": ["true", "{id}"]}})
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("exclamation_mark")
        await settle(pilot, lambda: "bang: done (exit 0)" in notes(app), rounds=ROUNDS)
