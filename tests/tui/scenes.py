"""Deterministic scenes of the app, shared by the snapshot tests and `make_screenshots`.

Every scene runs against the in-process simulator with a frozen clock, seeded the same way,
so the SVGs only change when the UI does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from nbtui.api.platform import PlatformClient
from nbtui.config import Settings, View
from nbtui.media import ImageFetcher
from nbtui.sim import SimConfig
from nbtui.sim.app import in_process
from nbtui.sim.platform import SIM_PLATFORM_TOKEN, PlatformSim, platform_app
from nbtui.tracking.store import Store
from nbtui.tui.app import NbtuiApp
from nbtui.tui.commands.user import RunRecord
from nbtui.usercommands import RunResult
from tests.helpers import SIM_TOKEN, T0, FakeClock, Harness

UNKNOWN_ID = "11111111-2222-4333-8444-555555555555"


def build(data_dir: Path, *, token: str | None = SIM_TOKEN, faults: int = 0) -> Harness:
    """The demo's tasks plus one the service does not know, tracked in `data_dir`."""
    clock = FakeClock(T0)
    sim = in_process(SimConfig(token=SIM_TOKEN, clock=clock, seed=7))
    ids = sim.state.seed_demo(rate_limit_after=None)
    store = Store.open(data_dir)
    settings = Settings(
        base_url="https://api.acedata.cloud", data_dir=data_dir, cache_dir=data_dir / "cache"
    )
    harness = Harness(clock, sim, store, settings)
    # The simulator answers for the real host's name: the status bar shows what users see.
    store.add([*ids, UNKNOWN_ID], now=T0 - 30)
    if faults:
        sim.state.inject_fault("429", times=faults, retry_after=8)
    return harness


def no_blink(app: NbtuiApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


async def settle(pilot: Pilot[Any], condition: Callable[[], bool], rounds: int = 500) -> None:
    for _ in range(rounds):
        if condition():
            break
        await pilot.pause(0.01)
    await pilot.pause()
    no_blink(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(
        pilot, lambda: app.main.loaded and app.main.cycles >= 1 and app.main.panes_settled()
    )


def preview_settled(pilot: Pilot[Any]) -> bool:
    """The selected task's images are drawn (or there are none): nothing left loading."""
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    if not app.main.panes_settled():
        return False
    task = app.main.selected_task()
    if task is None or not task.image_urls:
        return True
    return bool(app.main.images.preview.images) or not (
        app.main.images.preview.message or ""
    ).startswith("Loading")


async def main_screen(pilot: Pilot[Any]) -> None:
    await ready(pilot)


async def detail_tree(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press(*"jjjjjjj", "tab", "tab", "down", "down")
    await settle(pilot, lambda: preview_settled(pilot))


async def detail_text(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press(*"jjjjjj", "v", "tab", "tab")
    await settle(pilot, lambda: preview_settled(pilot))


async def add_dialog(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("a")
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query(TextArea)))
    area = app.screen.query_one(TextArea)
    area.text = (
        "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0, 1ebe4f2b-8a1c-4f5e-9d2b-3c4d5e6f7a8b\n"
        "not-a-task-id\n"
    )
    await settle(pilot, lambda: True)


async def create_form(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("n")
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query("#create-prompt")))
    await pilot.press(*"a lighthouse made of sea glass at dusk, soft light")
    app.screen.query_one("#create-count", Select).value = 2
    app.screen.query_one("#create-aspect", Select).value = "16:9"
    await settle(pilot, lambda: True)


async def create_errors(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("n")
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query("#create-prompt")))
    app.screen.query_one("#create-action", Select).value = "edit"
    await pilot.pause()
    app.screen.query_one("#create-sources", TextArea).text = "ftp://example.com/cat.png"
    app.screen.action_submit()  # type: ignore[attr-defined]
    await settle(pilot, lambda: True)


async def select_prompt(pilot: Pilot[Any], start: str) -> None:
    """Put the cursor on the task whose prompt starts with `start`, its panes drawn."""
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    model = app.main.model
    task_id = next(i for i in model.ids() if model.rows[i].prompt.startswith(start))
    app.main.task_list.select_id(task_id)
    await settle(pilot, lambda: app.main.panes_settled() and app.main.detail.shown_task is not None)


def prompt_focused(pilot: Pilot[Any]) -> bool:
    """The create form is up with the focus in its prompt (where its cursor is drawn)."""
    found = pilot.app.screen.query("#create-prompt")
    return bool(found) and found.first().has_focus


async def form_drawn(pilot: Pilot[Any]) -> None:
    """Wait for the filled-in form with the blink stopped, then type and erase a space: a
    TextArea keeps lines drawn in the blink's off phase (its line cache does not key on the
    blink being stopped), and an edit clears them, so the cursor shows where it is."""
    await settle(pilot, lambda: prompt_focused(pilot))
    await pilot.press("space", "backspace")
    await settle(pilot, lambda: True)


async def rerun_form(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await select_prompt(pilot, "isometric cutaway")
    await pilot.press("x")
    await form_drawn(pilot)


async def edit_result_form(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await select_prompt(pilot, "isometric cutaway")
    await pilot.press("E")
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query("#choose-list")))
    await pilot.press("down", "enter")
    await form_drawn(pilot)


async def preview(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await pilot.press("G")
    await settle(pilot, lambda: bool(app.main.images.preview.images))


async def gallery(pilot: Pilot[Any]) -> None:
    """The demo's images as thumbnails, the cursor moved to a task's third image."""
    from nbtui.tui.screens.gallery import GalleryScreen

    await ready(pilot)
    app = pilot.app
    await pilot.press("b")
    await settle(pilot, lambda: isinstance(app.screen, GalleryScreen))
    screen = app.screen
    assert isinstance(screen, GalleryScreen)
    await pilot.press("l", "l", "j")
    await settle(pilot, lambda: bool(screen.thumbnails) and not screen.fetching)


async def token_screen(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query("#token-input")))


async def help_screen(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("question_mark")
    await settle(pilot, lambda: bool(pilot.app.screen.query("#help-table")))


async def filtered(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("slash", *"cat")
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(pilot, app.main.panes_settled)


async def filter_error(pilot: Pilot[Any]) -> None:
    """A filter that reads, then a word that does not: the error under the field, the
    list still showing the tasks of `cat`."""
    await ready(pilot)
    await pilot.press("slash", *"cat")
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(pilot, lambda: app.main.model.filter_text == "cat" and app.main.order_settled())
    app.main.query_one("#filter", Input).insert_text_at_cursor(" colour:red")  # pasted
    await settle(pilot, lambda: app.main.filter_error is not None)
    await settle(pilot, app.main.panes_settled)


async def export_dialog(pilot: Pilot[Any]) -> None:
    """The export dialog at 80x24, with a path that does not depend on the home folder."""
    await ready(pilot)
    await pilot.press("X")
    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.query("#export-path")))
    app.screen.query_one("#export-path", Input).value = "~/Downloads/nbtui-export.csv"
    await settle(pilot, lambda: True)


async def view_active(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await pilot.press("1")
    await settle(pilot, lambda: app.main.views.active is not None and app.main.order_settled())
    await settle(pilot, app.main.panes_settled)


async def rate_limited(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(pilot, lambda: app.main.cycles >= 1 and app.main.status.problem is not None)


async def create_estimate(pilot: Pilot[Any]) -> None:
    """The form with the balance opted in: the title shows the request's estimated cost."""
    await ready(pilot)
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(pilot, lambda: app.main.balance.prices is not None)
    await pilot.press("n")
    await settle(pilot, lambda: bool(app.screen.query("#create-prompt")))
    await pilot.press(*"a lighthouse made of sea glass at dusk")
    app.screen.query_one("#create-count", Select).value = 2
    app.screen.query_one("#create-model", Input).value = "nano-banana-pro"
    await settle(pilot, lambda: True)


async def command_log(pilot: Pilot[Any]) -> None:
    """The log of the user's own commands (`O`) after two runs, one failed."""
    await ready(pilot)
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    task_id = app.main.task_list.cursor_id or UNKNOWN_ID
    image = f"/home/me/Pictures/nbtui/{task_id}-1.png"
    log = app.main.user_commands.log
    log.appendleft(
        RunRecord(
            "upscale",
            task_id,
            RunResult(
                ("upscale-tool", "--in", image, "--out", "/tmp/out.png"),
                0,
                b"read 1024x1024\nwrote /tmp/out.png (4096x4096)\n",
                b"",
                1.4,
            ),
            T0 + 60,
        )
    )
    log.appendleft(
        RunRecord(
            "caption",
            task_id,
            RunResult(
                ("caption", "--", "a [bold]cat[/bold]; rm -rf ~ $(id)", "kites"),
                2,
                b"",
                b"caption: unknown style\nusage: caption [--style S] -- TEXT LABELS\n",
                0.2,
            ),
            T0 + 75,
        )
    )
    await pilot.press("O")
    await settle(pilot, lambda: bool(app.screen.query("#command-log")))


# -- marks and labels (issue 14) -----------------------------------------------------------


async def _labelled_and_marked(pilot: Pilot[Any]) -> NbtuiApp:
    """Two tasks labelled, the first, second and fourth rows marked."""
    await ready(pilot)
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    ids = app.main.model.ids()
    app.main.session.store.set_labels(ids[:2], add=["client-x"], now=T0)
    app.main.session.store.set_labels(ids[1:2], add=["draft"], now=T0)
    app.main.reorder()
    await settle(pilot, app.main.order_settled)
    await pilot.press("space", "space", "j", "space", "k")
    await settle(pilot, app.main.panes_settled)
    return app


async def marked(pilot: Pilot[Any]) -> None:
    await _labelled_and_marked(pilot)


async def labels_dialog(pilot: Pilot[Any]) -> None:
    app = await _labelled_and_marked(pilot)
    await pilot.press("L")
    await settle(pilot, lambda: bool(app.screen.query("#labels-add")))
    await pilot.press(*"final, v2")
    await settle(pilot, lambda: True)


async def untrack_many(pilot: Pilot[Any]) -> None:
    app = await _labelled_and_marked(pilot)
    await pilot.press("slash", *"cat", "enter")
    await settle(pilot, app.main.order_settled)
    await pilot.press("d")
    await settle(pilot, lambda: bool(app.screen.query("#confirm-dialog")))


# Small terminals: every dialog at 80x24 (they scroll their fields, buttons in view).

_LONG_PROMPT = " ".join(
    f"Panel {n}: a lighthouse made of sea glass at dusk, waves in soft focus." for n in range(60)
)
_URLS = [
    f"https://cdn.example.com/nano-banana/2025/11/14/4d320ead-4af4-4a55-8f3e-f2afebdf4fd0-{n}.png"
    for n in range(4)
]


async def create_edit_form(pilot: Pilot[Any]) -> None:
    await create_form(pilot)
    app = pilot.app
    app.screen.query_one("#create-action", Select).value = "edit"
    await settle(pilot, lambda: bool(app.screen.query_one("#create-sources").display))
    app.screen.query_one("#create-sources", TextArea).text = "https://example.com/cat.png"
    await pilot.press("tab", "tab")  # the focus (and the scroll) follow: now on Model
    await settle(pilot, lambda: True)


async def confirm_untrack(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("d")
    await settle(pilot, lambda: bool(pilot.app.screen.query("#confirm-dialog")))


async def chooser(pilot: Pilot[Any]) -> None:
    from nbtui.tui.screens.choose_url import ChooseUrlScreen

    await ready(pilot)
    pilot.app.push_screen(ChooseUrlScreen("Open which image?", _URLS))
    await settle(pilot, lambda: bool(pilot.app.screen.query("#choose-list")))


async def saving(pilot: Pilot[Any]) -> None:
    from nbtui.tui.screens.save import SavingScreen

    await ready(pilot)
    screen = SavingScreen("4d320ead-4af4-4a55-8f3e-f2afebdf4fd0", 4, "/home/you/Pictures/nbtui")
    pilot.app.push_screen(screen)
    await settle(pilot, lambda: bool(pilot.app.screen.query("#save-progress")))
    screen.progress(1_536_000, 4_096_000)
    await settle(pilot, lambda: True)


async def full_value(pilot: Pilot[Any]) -> None:
    from nbtui.tui.screens.full_value import FullValueScreen

    await ready(pilot)
    screen = FullValueScreen("prompt", _LONG_PROMPT)
    pilot.app.push_screen(screen)
    await settle(pilot, lambda: screen.loaded)


@dataclass(frozen=True)
class Scene:
    name: str
    run_before: Callable[[Pilot[Any]], Awaitable[None]]
    size: tuple[int, int] = (120, 40)
    token: str | None = SIM_TOKEN
    faults: int = 0
    #: Opted in to the balance, against the simulator's platform host.
    platform: bool = False
    #: Saved views and the theme, as the config file would give them.
    views: tuple[View, ...] = ()
    theme: str | None = None


SCENES = {
    scene.name: scene
    for scene in (
        Scene("main", main_screen),
        Scene("detail_tree", detail_tree),
        Scene("detail_text", detail_text),
        Scene("add_dialog", add_dialog),
        Scene("token", token_screen, token=None),
        Scene("help", help_screen),
        Scene("filtered", filtered),
        Scene("rate_limited", rate_limited, faults=50),
        Scene("narrow", main_screen, size=(80, 24)),
        Scene("create_form", create_form, size=(120, 40)),
        Scene("create_errors", create_errors, size=(120, 40)),
        Scene("preview", preview, size=(120, 44)),
        Scene("create_estimate", create_estimate, size=(80, 24), platform=True),
        Scene("command_log", command_log, size=(80, 24)),
        Scene("filter_error", filter_error, size=(80, 24)),
        Scene("export_dialog", export_dialog, size=(80, 24)),
        Scene("view_active", view_active, views=(View("failed", "failed"), View("cats", "cat"))),
        Scene("light_theme", detail_tree, theme="textual-light"),
        Scene("marked", marked),
        Scene("labels_dialog", labels_dialog, size=(80, 24)),
        Scene("untrack_many", untrack_many),
        Scene("gallery", gallery, size=(120, 40)),
        Scene("gallery_small", gallery, size=(80, 24)),
        Scene("rerun_form", rerun_form, size=(120, 40)),
        Scene("edit_result_form", edit_result_form, size=(120, 40)),
        Scene("small_add", add_dialog, size=(80, 24)),
        Scene("small_create", create_form, size=(80, 24)),
        Scene("small_create_edit", create_edit_form, size=(80, 24)),
        Scene("small_token", token_screen, size=(80, 24), token=None),
        Scene("small_help", help_screen, size=(80, 24)),
        Scene("small_confirm", confirm_untrack, size=(80, 24)),
        Scene("small_chooser", chooser, size=(80, 24)),
        Scene("small_save", saving, size=(80, 24)),
        Scene("small_full_value", full_value, size=(80, 24)),
        Scene("small_list", main_screen, size=(50, 15)),
    )
}


def make_scene_app(scene: Scene, data_dir: Path | None = None) -> tuple[NbtuiApp, Harness]:
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="nbtui-scene-"))
    harness = build(data_dir, token=scene.token, faults=scene.faults)
    harness.settings = replace(harness.settings, views=scene.views, theme=scene.theme)
    platform = sim_platform(harness) if scene.platform else None
    app = harness.app(
        token=scene.token, fetcher_factory=sim_fetcher(harness), platform_factory=platform
    )
    return app, harness


def sim_platform(harness: Harness) -> Callable[[], PlatformClient]:
    """The simulator's platform host, opted in (it answers for the real host's name)."""
    app = platform_app(PlatformSim(harness.state))

    def factory() -> PlatformClient:
        return PlatformClient(
            "https://platform.acedata.cloud",
            SIM_PLATFORM_TOKEN,
            transport=httpx.ASGITransport(app=app),
        )

    return factory


def sim_fetcher(harness: Harness) -> Callable[[], ImageFetcher]:
    """Images from the in-process simulator (no network), cached in the scene's data dir."""

    def factory() -> ImageFetcher:
        return ImageFetcher(
            harness.settings.cache_dir / "images",
            transport=httpx.ASGITransport(app=harness.sim.app),
        )

    return factory
