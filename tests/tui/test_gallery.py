"""The gallery (`b`): thumbnails of the shown tasks' images, keys, lazy loading, the cap."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot

from nbtui.api.client import NanoBananaClient
from nbtui.config import Settings
from nbtui.media import ImageFetcher
from nbtui.sim import SimConfig
from nbtui.sim.server import SimServer
from nbtui.tracking.store import Store
from nbtui.tui.app import NbtuiApp, make_app
from nbtui.tui.screens.gallery import TILE_HEIGHT, TILE_WIDTH, GalleryScreen, GalleryTile
from tests.helpers import Harness, app_with, notes, screen_text, settle, started


def finished(harness: Harness, count: int = 1, prompt: str = "a kite") -> str:
    return harness.state.add_task(
        prompt=prompt, outcome="succeeded", pending_seconds=0, running_seconds=0, count=count
    )


def image_requests(harness: Harness) -> list[str]:
    return [r.path for r in harness.state.requests if r.path.startswith("/images/")]


async def open_gallery(pilot: Pilot[Any], app: NbtuiApp) -> GalleryScreen:
    await started(pilot, app)
    await settle(pilot, lambda: app.main.order_settled())
    await pilot.press("b")
    await settle(pilot, lambda: isinstance(app.screen, GalleryScreen))
    screen = app.screen
    assert isinstance(screen, GalleryScreen)
    return screen


def page_loaded(screen: GalleryScreen) -> bool:
    first = screen.top * screen.columns
    shown = range(first, min(len(screen.entries), first + screen.rows * screen.columns))
    return all(i in screen.thumbnails or i in screen.problems for i in shown)


async def test_the_gallery_shows_the_listed_tasks_images_in_list_order(
    harness: Harness, tmp_path: Path
) -> None:
    one = finished(harness, prompt="one kite")
    harness.clock.advance(1)
    two = finished(harness, count=2, prompt="two kites")
    harness.clock.advance(1)
    never = harness.state.add_task(prompt="no kite yet", outcome="never")
    harness.track([one, two, never])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(
            pilot,
            lambda: app.main.cycles >= 1 and app.main.model.rows[two].image_count == 2,
        )
        screen = await open_gallery(pilot, app)
        # Newest first, as the list shows them; a task with two images gives two tiles.
        assert [(e.task_id, e.image_index) for e in screen.entries] == [
            (two, 0),
            (two, 1),
            (one, 0),
        ]
        assert (screen.columns, screen.rows) == (120 // TILE_WIDTH, 37 // TILE_HEIGHT)
        await settle(pilot, lambda: page_loaded(screen))
        assert len(screen.thumbnails) == 3 and not screen.problems
        text = screen_text(app)
        assert "3 images from 2 tasks" in text
        assert f"{two[:8]} ✔ 2/2 two" in text  # the caption is cut to the tile
        size = harness.state.config.image_size
        assert "1/3" in text and "image 1 of 2" in text and f"{size}x{size}" in text


async def test_keys_move_the_cursor_and_enter_selects_the_task(
    harness: Harness, tmp_path: Path
) -> None:
    ids = []
    for n in range(14):
        ids.append(finished(harness, prompt=f"kite {n}"))
        harness.clock.advance(1)
    harness.track(ids)
    newest_first = ids[::-1]
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        assert (screen.columns, screen.rows) == (4, 2)  # 80x24 holds 4x2 tiles
        await pilot.press("l", "right")
        assert screen.cursor == 2
        await pilot.press("j")
        assert screen.cursor == 6 and screen.top == 0
        await pilot.press("down")  # off the page: it scrolls one row
        assert screen.cursor == 10 and screen.top == 1
        await pilot.press("h", "k", "up")
        assert screen.cursor == 1 and screen.top == 0
        await pilot.press("pagedown")
        assert screen.cursor == 9
        await pilot.press("end")
        assert screen.cursor == 13 and screen.top == 2
        await pilot.press("l", "j")  # past the end: stays on the last image
        assert screen.cursor == 13
        await pilot.press("home")
        assert screen.cursor == 0 and screen.top == 0
        await pilot.press("pageup", "k", "h")
        assert screen.cursor == 0
        await pilot.press("G", "pageup", "left")
        assert screen.cursor == 4
        # The highlight is on the cursor's tile only.
        tiles = screen.query(GalleryTile)
        assert [tile.index for tile in tiles if tile.has_class("-cursor")] == [4]
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is app.main)
        assert app.main.task_list.cursor_id == newest_first[4]
        assert app.main.task_list.has_focus


def caption_rows(app: NbtuiApp, screen: GalleryScreen) -> list[list[str]]:
    """The short task ids of the captions on screen, row by row, left to right (a caption:
    `1a2b3c4d ✔ a kite`; the info line has two spaces before its state)."""
    captions = {entry.task_id[:8] + " ✔ " for entry in screen.entries}
    rows = []
    for line in screen_text(app).splitlines():
        found = sorted((line.index(c), c[:8]) for c in captions if c in line)
        if found:
            rows.append([short for _, short in found])
    return rows


async def test_a_row_scroll_draws_each_tile_with_its_own_image(
    harness: Harness, tmp_path: Path
) -> None:
    """Scrolling reuses the lines tiles drew before: each tile must still show its entry."""
    ids = []
    for n in range(14):
        ids.append(finished(harness, prompt=f"kite {n}"))
        harness.clock.advance(1)
    harness.track(ids)
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        for keys, top in ((("down", "down"), 1), (("down",), 2), (("up", "up"), 1), (("up",), 0)):
            await pilot.press(*keys)
            assert screen.top == top
            await settle(pilot, lambda: page_loaded(screen) and not screen.fetching)
            await pilot.pause()
            page = [entry.task_id[:8] for entry in screen.entries[top * 4 : top * 4 + 8]]
            assert caption_rows(app, screen) == [page[:4], page[4:]]


async def test_escape_closes_without_moving_the_list(harness: Harness, tmp_path: Path) -> None:
    ids = [finished(harness) for _ in range(3)]
    harness.track(ids)
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        before = app.main.task_list.cursor_id
        await open_gallery(pilot, app)
        await pilot.press("l", "l", "escape")
        await settle(pilot, lambda: app.screen is app.main)
        assert app.main.task_list.cursor_id == before


async def test_the_gallery_follows_the_filter(harness: Harness, tmp_path: Path) -> None:
    cat = finished(harness, prompt="a cat")
    dog = finished(harness, prompt="a dog")
    harness.track([cat, dog])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        await pilot.press("slash", *"dog", "enter")
        screen = await open_gallery(pilot, app)
        assert [entry.task_id for entry in screen.entries] == [dog]
        assert "(filter: dog)" in screen_text(app)


async def test_only_the_page_and_a_row_ahead_are_loaded(harness: Harness, tmp_path: Path) -> None:
    ids = []
    for _ in range(60):
        ids.append(finished(harness))
        harness.clock.advance(1)
    harness.track(ids)
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        await settle(pilot, lambda: page_loaded(screen))
        await settle(pilot, lambda: not screen.fetching)
        # The page (4x2) and a row below it. The preview downloads the list's selected task's
        # image too (maybe before the gallery opens): the gallery's first, so the same set.
        wanted = {screen.entries[i].url.rsplit("/", 1)[1] for i in range(12)}
        asked = image_requests(harness)
        assert {path.rsplit("/", 1)[1] for path in asked} == wanted
        # The last page: its images, and the row above it, nothing in between.
        await pilot.press("end")
        await settle(pilot, lambda: page_loaded(screen))
        await settle(pilot, lambda: not screen.fetching)
        assert len(set(image_requests(harness))) == 24
        assert not any(r.had_auth for r in harness.state.requests if r.path.startswith("/images/"))


async def test_memory_holds_at_most_the_cap_of_thumbnails(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nbtui.tui.screens.gallery.THUMBNAILS_KEPT", 10)
    ids = []
    for _ in range(40):
        ids.append(finished(harness))
        harness.clock.advance(1)
    harness.track(ids)
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        for _ in range(5):
            await settle(pilot, lambda: page_loaded(screen))
            await pilot.press("pagedown")
        await settle(pilot, lambda: page_loaded(screen))
        await settle(pilot, lambda: not screen.fetching)
        # The cap never goes under a page and a row either side (4x2 + 2x4 here).
        assert screen.thumbnails.cap == 16
        assert len(screen.thumbnails) <= 16 and screen.thumbnails.evicted > 0
        assert 0 not in screen.thumbnails
        # Back to the top: dropped thumbnails come back from the disk cache, not the host.
        await pilot.press("home")
        await settle(pilot, lambda: page_loaded(screen))
        assert 0 in screen.thumbnails and len(screen.thumbnails) <= 16
        per_image = Counter(image_requests(harness))
        assert per_image and max(per_image.values()) == 1


async def test_an_image_that_cannot_load_says_why_in_its_tile(
    harness: Harness, tmp_path: Path
) -> None:
    record: dict[str, Any] = {
        "id": "3f1c2a9e-0000-4000-8000-00000000abcd",
        "request": {"action": "generate", "prompt": "x"},
        "response": {
            "success": True,
            "data": [{"image_url": "http://sim.test/nope/missing.png", "prompt": "x"}],
        },
        "created_at": harness.clock() - 10,
        "finished_at": harness.clock() - 5,
    }
    harness.state.add_raw(record)
    harness.track([record["id"]])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        await settle(pilot, lambda: 0 in screen.problems)
        await pilot.pause()
        assert "HTTP 404" in screen.problems[0]
        assert "could not load:" in screen_text(app)


async def test_an_empty_gallery_says_so(harness: Harness, tmp_path: Path) -> None:
    harness.track([harness.state.add_task(prompt="a kite", outcome="never")])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        screen = await open_gallery(pilot, app)
        assert not screen.entries
        assert "No result images among the 1 task the list shows." in screen_text(app)
        await pilot.press("j", "enter")  # nothing to move to or choose: back to the list
        await settle(pilot, lambda: app.screen is app.main)
        assert not notes(app).count("Gallery")


async def test_the_image_host_never_sees_the_token(tmp_path: Path) -> None:
    """Real sockets: the API on one port (with the token), images on another (never)."""
    token = "gallery-token"
    with SimServer(SimConfig(token=token), separate_image_host=True) as sim:
        ids = [
            sim.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0, count=2)
            for _ in range(3)
        ]
        settings = Settings(
            base_url=sim.base_url, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"
        )
        with Store.open(settings.data_dir) as store:
            store.add(ids, now=0)
            app = make_app(
                settings,
                store=store,
                token=token,
                client_factory=lambda t: NanoBananaClient.from_settings(settings, t),
            )
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(
                    pilot,
                    lambda: (
                        app.main.cycles >= 1
                        and all(app.main.model.rows[i].image_count == 2 for i in ids)
                    ),
                )
                screen = await open_gallery(pilot, app)
                await settle(pilot, lambda: len(screen.thumbnails) == 6, rounds=1000)
        images = [r for r in sim.state.requests if r.path.startswith("/images/")]
        api = sim.state.api_requests()
        # Six images, each downloaded once: the preview pane and the gallery share one client,
        # so the selected task's first image, asked for by both, is fetched once.
        assert len(images) == 6 and not any(r.had_auth for r in images)
        assert len({r.path for r in images}) == 6
        fetcher = app.main.image_client.reset()
        assert fetcher is None  # closed and let go when the app ended
        assert {r.host for r in images}.isdisjoint({r.host for r in api})
        assert api and all(r.had_auth for r in api)


class HeldImages(httpx.AsyncBaseTransport):
    """The simulator's image host, holding every answer until `release`; counts requests."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url.path)
        await self.release.wait()
        return await self._inner.handle_async_request(request)


async def test_the_preview_and_the_gallery_download_a_picture_once(
    harness: Harness, tmp_path: Path
) -> None:
    """The screen has one image client: the gallery asking for the picture the preview is
    still downloading waits for it (and then reads the cache) instead of downloading it too."""
    task_id = finished(harness, count=2)
    harness.track([task_id])
    held = HeldImages(harness.sim.app)
    app = harness.app(fetcher_factory=lambda: ImageFetcher(tmp_path / "img-cache", transport=held))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: len(held.sent) == 1)  # the preview's first picture
        screen = await open_gallery(pilot, app)
        await settle(pilot, lambda: len(held.sent) == 2)  # the gallery's second one
        for _ in range(20):
            await pilot.pause(0.01)  # room for a duplicate request, were there one
        assert len(held.sent) == 2
        held.release.set()
        await settle(pilot, lambda: len(screen.thumbnails) == 2)
    assert sorted(held.sent) == sorted(set(held.sent))  # each picture once
