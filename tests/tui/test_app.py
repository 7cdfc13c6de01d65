"""Pilot tests: every binding and dialog of the app, against the simulator (ASGI transport)."""

from __future__ import annotations

import dataclasses
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from textual.widgets import Input, OptionList, TextArea

from nbtui.api.models import TaskState
from nbtui.runtime import build_demo
from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.add_tasks import AddTasksScreen
from nbtui.tui.screens.choose_url import ChooseUrlScreen
from nbtui.tui.screens.confirm import ConfirmScreen
from nbtui.tui.screens.help import HelpScreen
from nbtui.tui.screens.token import TokenScreen
from nbtui.tui.tasklist_model import SortKey
from nbtui.tui.widgets.detail import TaskDetail
from nbtui.tui.widgets.json_view import JsonTree
from nbtui.tui.widgets.task_list import TaskList
from tests.helpers import SIM_TOKEN, SIZE, Harness, notes, screen_text, settle, started
from tests.keyrings.memory import MemoryKeyring

UNKNOWN = "11111111-2222-4333-8444-555555555555"


def seed(harness: Harness) -> list[str]:
    ids = [
        harness.state.add_task(
            prompt="a red fox in snow",
            outcome="succeeded",
            created_at=harness.clock() - 300,
            pending_seconds=1,
            running_seconds=5,
        ),
        harness.state.add_task(
            prompt="three cats, four images",
            outcome="succeeded",
            count=3,
            created_at=harness.clock() - 200,
            pending_seconds=1,
            running_seconds=5,
        ),
        harness.state.add_task(
            prompt="a moderated prompt",
            outcome="moderated",
            created_at=harness.clock() - 100,
            pending_seconds=1,
            running_seconds=5,
        ),
        harness.state.add_task(
            prompt="still going",
            outcome="succeeded",
            created_at=harness.clock() - 2,
            pending_seconds=0,
            running_seconds=30,
        ),
    ]
    harness.track([*ids, UNKNOWN])
    return ids


async def test_stored_tasks_show_before_any_request(harness: Harness) -> None:
    seed(harness)
    app = harness.app(token=None)  # no token anywhere: the token screen opens, nothing is sent
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and isinstance(app.screen, TokenScreen))
        assert len(app.main.model) == 5
        assert harness.state.api_requests() == []


async def test_refresh_updates_rows_in_place_and_toasts(harness: Harness) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.main.model.rows[ids[3]].state is TaskState.RUNNING
        assert app.main.model.rows[UNKNOWN].state is TaskState.NOT_FOUND
        app.main.task_list.select_id(ids[0])
        harness.clock.advance(60)
        await pilot.press("R")
        await settle(pilot, lambda: app.main.cycles >= 2)
        await pilot.pause()
        assert app.main.model.rows[ids[3]].state is TaskState.SUCCEEDED
        assert app.main.task_list.cursor_id == ids[0]  # the cursor stays on its task
        assert "succeeded" in notes(app)


async def test_moving_keys_and_panes(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        tasks = app.main.task_list
        first = tasks.cursor_id
        await pilot.press("j", "down")
        assert tasks.cursor == 2
        await pilot.press("k", "up")
        assert tasks.cursor_id == first
        await pilot.press("G")
        assert tasks.cursor == len(app.main.model) - 1
        await pilot.press("g")
        assert tasks.cursor == 0
        await pilot.press("end", "home", "pagedown", "pageup")
        assert tasks.cursor == 0
        await pilot.press("tab")
        assert isinstance(app.focused, TaskDetail)
        await pilot.press("tab")
        assert isinstance(app.focused, JsonTree)
        await pilot.press("shift+tab")
        assert isinstance(app.focused, TaskDetail)
        await pilot.press("escape")
        assert isinstance(app.focused, TaskList)
        await pilot.press("enter")
        assert isinstance(app.focused, TaskDetail)


async def test_filter_and_escape(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash", *"fox")
        assert len(app.main.model) == 1
        await pilot.press("enter")
        assert isinstance(app.focused, TaskList)
        selected = app.main.selected_task()
        assert selected is not None and "fox" in str(selected.raw)
        await pilot.press("escape")
        assert len(app.main.model) == 5
        await pilot.press("slash", *"failed")
        assert {app.main.model.rows[shown].state for shown in app.main.model.ids()} == {
            TaskState.FAILED
        }
        await pilot.press("escape")
        assert app.main.model.filter_text == ""


async def test_sort_key_and_header_click(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.main.model.sort_key is SortKey.CREATED
        await pilot.press("s")
        assert app.main.model.sort_key is SortKey.STATE  # type: ignore[comparison-overlap]  # `s` did
        assert app.main.model.row_at(0).state is TaskState.RUNNING
        await pilot.click(TaskList, offset=(2, 0))  # the STATE header: same key flips it
        assert app.main.model.sort_key is SortKey.STATE and app.main.model.descending


async def test_add_dialog_validates_each_id(harness: Harness) -> None:
    app = harness.app()
    quick: dict[str, Any] = {"outcome": "succeeded", "pending_seconds": 0, "running_seconds": 0}
    new = harness.state.add_task(prompt="added by hand", **quick)
    other = harness.state.add_task(prompt="added too", **quick)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("a")
        assert isinstance(app.screen, AddTasksScreen)
        app.screen.query_one(TextArea).text = f"{new}, not-an-id\n{other.upper()}"
        await pilot.pause()
        feedback = str(app.screen.query_one("#add-feedback").render())
        assert "2 valid" in feedback and "not-an-id" in feedback
        await pilot.click("#add-ok")
        await settle(pilot, lambda: len(app.main.model) == 2)
        assert set(harness.store.ids()) == {new, other}
        assert "not-an-id" in notes(app)
        await settle(pilot, lambda: app.main.model.rows[new].state is not TaskState.PENDING)


async def test_add_dialog_cancel_and_nothing_valid(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("a", *"nope")
        await pilot.press("ctrl+enter")
        assert isinstance(app.screen, AddTasksScreen)  # nothing valid: stays open
        await pilot.press("escape")
        assert not isinstance(app.screen, AddTasksScreen)
        assert harness.store.ids() == []


async def test_untrack_asks_first(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        target = app.main.task_list.cursor_id
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "y untracks · enter or esc cancels" in screen_text(app)
        await pilot.press("enter")  # Cancel has the focus: a reflexive enter keeps the task
        assert not isinstance(app.screen, ConfirmScreen)
        assert target in harness.store.ids()
        await pilot.press("d")
        await pilot.press("n")
        assert target in harness.store.ids()
        await pilot.press("d")
        await pilot.press("y")
        await settle(pilot, lambda: target not in app.main.model.rows)
        assert target not in harness.store.ids()


async def test_refresh_selected_pause_and_interval(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        before = len(harness.state.api_requests())
        await pilot.press("r")
        await settle(pilot, lambda: app.main.cycles >= 2)
        assert len(harness.state.api_requests()) == before + 1
        await pilot.press("p")
        assert app.main.monitor is not None and app.main.monitor.paused
        assert app.main.status.paused
        await pilot.press("p")
        assert not app.main.monitor.paused
        await pilot.press("plus")
        assert app.main.monitor.interval == 10
        await pilot.press("minus", "minus")
        assert app.main.monitor.interval == 3
        assert app.main.status.interval == 3


async def test_open_image_single_several_and_no_browser(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.main.task_list.select_id(ids[0])
        await pilot.press("o")
        await settle(pilot, lambda: len(harness.opened) == 1)
        assert harness.opened[0].startswith("http://sim.test/images/")
        app.main.task_list.select_id(ids[1])
        await pilot.press("o")
        assert isinstance(app.screen, ChooseUrlScreen)
        assert app.screen.query_one(OptionList).option_count == 3
        await pilot.press("down", "enter")
        await settle(pilot, lambda: len(harness.opened) == 2)
        assert harness.opened[1].endswith("-1.png")
        monkeypatch.setattr("webbrowser.open", lambda url, new=0, autoraise=True: False)
        app.main.task_list.select_id(ids[0])
        await pilot.press("o")
        await settle(pilot, lambda: "No browser" in notes(app))
        assert app.clipboard.startswith("http://sim.test/images/")
        app.main.task_list.select_id(ids[3])  # still running: nothing to open
        await pilot.press("o")
        assert "not finished" in notes(app)


async def test_copy_id_url_and_json(harness: Harness) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.main.task_list.select_id(ids[0])
        await pilot.press("y")
        assert app.clipboard == ids[0]
        await pilot.press("Y")
        assert app.clipboard == f"http://sim.test/images/{ids[0]}-0.png"
        await pilot.press("C")
        assert app.clipboard.startswith("{") and ids[0] in app.clipboard
        await pilot.press("tab", "tab")  # the JSON tree
        tree = app.query_one(JsonTree)
        # The `id` node, wherever the service put it in the record.
        id_line = next(
            line
            for line in range(tree.last_line + 1)
            if (node := tree.get_node_at_line(line)) is not None
            and node.data is not None
            and node.data.path.endswith(".id")
        )
        await pilot.press(*["down"] * id_line)
        await pilot.press("c")
        assert app.clipboard == ids[0]
        await pilot.press("v")
        assert app.main.json_view.mode == "text"
        await pilot.press("v")
        assert app.main.json_view.mode == "tree"  # type: ignore[comparison-overlap]  # `v` did
        assert tree.cursor_node is not None


async def test_help_lists_every_binding_and_keymap(harness: Harness) -> None:
    settings = dataclasses.replace(harness.settings, keymap={"app.add": "n"})
    harness.settings = settings
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {row.description: row.keys for row in app.screen.rows}
        for binding in [*NbtuiApp.BINDINGS, *TaskList.BINDINGS]:
            assert binding.description in rows  # type: ignore[union-attr]
        assert rows["Add"] == "n"
        assert rows["Quit"] == "q"
        await pilot.press("escape")
        await pilot.press("n")
        assert isinstance(app.screen, AddTasksScreen)


async def test_command_palette_offers_actions(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"pause")
        await settle(
            pilot,
            lambda: (
                "Pause/resume"
                in str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await settle(pilot, lambda: app.main.monitor is not None and app.main.monitor.paused)


async def test_rate_limit_and_rejected_token_in_status(harness: Harness) -> None:
    seed(harness)
    harness.state.inject_fault("429", times=5, retry_after=8)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "rate limited" in (app.main.status.problem or "")
    harness.state.clear_faults()
    app = harness.app(token="wrong-token-00000000")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "token rejected" in (app.main.status.problem or ""))


async def test_first_run_token_screen(harness: Harness, memory_keyring: MemoryKeyring) -> None:
    seed(harness)
    app = harness.app(token=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        screen = app.screen
        screen.query_one(Input).value = "bad-token-123456789"
        await pilot.press("enter")
        await settle(pilot, lambda: "rejected" in str(screen.query_one("#token-feedback").render()))
        assert memory_keyring.entries == {}
        screen.query_one(Input).value = SIM_TOKEN
        await pilot.press("enter")
        await settle(pilot, lambda: app.main.cycles >= 1)
        assert memory_keyring.entries == {("nbtui", "default"): SIM_TOKEN}
        assert SIM_TOKEN not in str(app.screen.query_one("#status").render())
        await pilot.press("t")  # the keyring is read off the UI thread, then the screen opens
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        status = str(app.screen.query_one("#token-status").render())
        assert SIM_TOKEN[-4:] not in status  # not even its last characters
        assert "saved in the OS keyring for profile default" in status
        assert status.splitlines()[-1] == f"API host: {harness.settings.api_host}"
        await pilot.press("escape")
        assert not isinstance(app.screen, TokenScreen)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("env", "from the environment variable ACEDATACLOUD_API_TOKEN"),
        ("keyring", "from the OS keyring (memory MemoryKeyring) for profile default"),
    ],
)
async def test_the_token_screen_says_where_the_token_comes_from(
    harness: Harness,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    expected: str,
) -> None:
    """The environment variable, or the keyring and its profile; never a character of it."""
    seed(harness)
    if where == "env":
        monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", SIM_TOKEN)
    else:
        memory_keyring.entries[("nbtui", "default")] = SIM_TOKEN
    app = harness.app(token=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        lines = str(app.screen.query_one("#token-status").render()).splitlines()
        assert lines == [f"Current: {expected}", f"API host: {harness.settings.api_host}"]


async def test_token_works_without_keyring(harness: Harness) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app = harness.app(token=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        app.screen.query_one(Input).value = SIM_TOKEN
        await pilot.press("enter")
        await settle(pilot, lambda: app.main.cycles >= 1)
        assert "ACEDATACLOUD_API_TOKEN" in notes(app)


async def test_without_a_keyring_a_typed_token_lasts_for_the_session(harness: Harness) -> None:
    """The first-run screen says so before the token is typed, and `t` says so after, not
    "no token: no OS keyring…" while that token is in use."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app = harness.app(token=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        text = screen_text(app)
        assert "lasts for this session only" in text
        assert "export ACEDATACLOUD_API_TOKEN=<your token>" in text
        assert "stored in your OS keyring" not in text
        app.screen.query_one(Input).value = SIM_TOKEN
        await pilot.press("enter")
        await settle(pilot, lambda: app.main.cycles >= 1)
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        status = str(app.screen.query_one("#token-status").render())
        assert status.splitlines()[0] == "Current: typed here, for this session only (not saved)"
        assert "no token" not in status and SIM_TOKEN[-4:] not in status
        assert "stored in your OS keyring" not in screen_text(app)


async def test_first_run_try_the_demo(harness: Harness) -> None:
    app = harness.app(token=None)
    app.demo_factory = lambda: build_demo(harness.settings, serve_images=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
        await pilot.click("#token-demo")
        await settle(pilot, lambda: app.demo and len(app.main.model) >= 10 and app.main.cycles >= 1)
        assert harness.store.ids() == []  # the user's own store was not touched
        await pilot.press("t")
        assert "needs no token" in notes(app)
        await pilot.press("q")


async def test_quit(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_an_unchanged_task_still_shows_its_latest_refresh(harness: Harness) -> None:
    task = harness.state.add_task(prompt="slow one", outcome="succeeded", pending_seconds=10_000)
    harness.track([task])
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.main.model.rows[task].last_refreshed == harness.clock()
        harness.clock.advance(40)
        await pilot.press("r")
        await settle(pilot, lambda: app.main.cycles >= 2)
        # Nothing changed, so no update came; the row's refresh time still moved on, while
        # UPDATED says when the task last changed (polled is not changed).
        assert app.main.model.rows[task].last_refreshed == harness.clock()
        assert app.main.task_list.render_line(1).text.rstrip(" │").endswith(" 40s")


def shown(app: NbtuiApp) -> str | None:
    task = app.query_one(TaskDetail).shown_task
    return None if task is None else task.id


async def test_the_provider_shapes_in_the_list_and_the_detail(harness: Harness) -> None:
    """docs/api.md, "The task's state": the accepted answer (row 8) is running, images with
    no success flag (row 6) are done; a progress figure shows where the record gives one."""
    accepted, failover, working = (
        "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c01",
        "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c02",
        "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c03",
    )
    png = "https://cdn.example.org/failover.png"
    harness.state.add_raw(
        {"id": accepted, "response": {"success": True, "task_id": accepted, "trace_id": "t"}}
    )
    harness.state.add_raw({"id": failover, "response": {"data": [{"image_url": png}]}})
    harness.state.add_raw({"id": working, "response": {"state": "processing", "percent": "45%"}})
    harness.track([accepted, failover, working])
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        rows = app.main.model.rows
        assert rows[accepted].state is TaskState.RUNNING and rows[accepted].progress is None
        assert rows[failover].state is TaskState.SUCCEEDED and rows[failover].image_count == 1
        assert rows[working].state is TaskState.RUNNING and rows[working].progress == 45
        text = screen_text(app)
        assert "◐ 45% done" in text
        assert "◐ running" in text  # the accepted task: the word, no bar
        assert "✔ succeeded" in text
        app.main.task_list.select_id(working)
        await pilot.pause()
        await settle(pilot, lambda: shown(app) == working)
        assert "State ◐ running · 45% done" in " ".join(screen_text(app).split())
        app.main.task_list.select_id(accepted)
        await settle(pilot, lambda: shown(app) == accepted)
        detail = screen_text(app)
        assert "running ·" not in detail  # the accepted task: no figure in the detail either
        assert "no image URL" not in detail  # not shown as a success without images


async def test_a_key_right_after_a_filter_acts_on_the_task_shown(harness: Harness) -> None:
    """The filter's new order reaches the list before the list's `Highlighted` message reaches
    the app: a key pressed in between (`o` under load) must act on the task under the cursor,
    not on the one that was there before the filter."""
    done: Any = {"outcome": "succeeded", "count": 1, "pending_seconds": 0, "running_seconds": 0}
    cat = harness.state.add_task(prompt="a white siamese cat", **done)
    boat = harness.state.add_task(prompt="a paper boat", **done)
    harness.track([cat, boat])
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await settle(
            pilot, lambda: app.main.order_settled() and app.main.task_list.cursor_id is not None
        )
        top = app.main.task_list.cursor_id
        other, word = (cat, "siamese") if top == boat else (boat, "paper")
        # What `_read_order` does once a filter's order is read, then the key, with no turn of
        # the event loop in between (as when the key is already queued).
        app.main.model.set_filter(word)
        assert app.main.model.install(app.main.model.compute())
        app.main.task_list.rows_changed()
        assert app.main.task_list.cursor_id == other
        app.main.action_open_image()
        await settle(pilot, lambda: bool(harness.opened) or "No result" in notes(app))
        shown = app.main.selected_task()
        assert shown is not None and shown.id == other
        assert harness.opened == [shown.image_urls[0]]


async def test_ctrl_c_says_how_to_quit_in_plain_words(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+c")
        await settle(pilot, lambda: "to quit" in notes(app))
        assert "Press q or ctrl+q to quit." in notes(app)
        assert "[b]" not in notes(app)
        assert app.is_running


async def test_tasks_finishing_in_one_long_cycle_get_one_summary(harness: Harness) -> None:
    """A cycle reports its changes a step (500 tasks) at a time; the toast counts the whole
    cycle: 600 tasks finishing give one "600 tasks finished", not one per step."""
    ids = [
        harness.state.add_task(outcome="succeeded", pending_seconds=5, running_seconds=0)
        for _ in range(600)
    ]
    harness.track(ids)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)  # all pending (answered for the first time: no toast)
        harness.clock.advance(10)
        cycles = app.main.cycles
        app.main.action_refresh_all()
        await settle(pilot, lambda: app.main.cycles > cycles)
        text = notes(app)
        assert text.count("tasks finished") == 1, text
        assert "600 tasks finished: 600 succeeded, 0 failed or not found." in text
