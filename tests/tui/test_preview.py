"""The image preview in the detail pane: half-blocks, downloads without the token, `i` toggle."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console

from nbtui.tui.app import NbtuiApp
from nbtui.tui.widgets.preview import HalfBlockImage, decode, fit_cells, graphics_mode
from tests.helpers import Harness, app_with, select_when_done, settle


def png(pixels: list[list[tuple[int, int, int]]]) -> bytes:
    image = Image.new("RGB", (len(pixels[0]), len(pixels)))
    for y, row in enumerate(pixels):
        for x, value in enumerate(row):
            image.putpixel((x, y), value)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_half_blocks_put_two_pixels_in_each_cell() -> None:
    red, blue, green, white = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 255)
    decoded = decode(png([[red, green], [blue, white]]))
    console = Console(width=20, color_system="truecolor", force_terminal=True)
    segments = list(console.render(HalfBlockImage(decoded.thumbnail, 2, 1)))
    cells = [s for s in segments if s.text == "▀"]
    assert len(cells) == 2
    first, second = (cell.style for cell in cells)
    assert first is not None and second is not None
    assert first.color is not None and first.color.triplet == red
    assert first.bgcolor is not None and first.bgcolor.triplet == blue
    assert second.color is not None and second.color.triplet == green
    assert second.bgcolor is not None and second.bgcolor.triplet == white


def test_fit_keeps_the_aspect_ratio() -> None:
    assert fit_cells(64, 64, 40, 10) == (20, 10)  # square: 2 pixel rows per cell
    assert fit_cells(160, 90, 40, 20) == (40, 11)
    assert fit_cells(100, 10, 20, 10) == (20, 1)
    assert fit_cells(0, 10, 20, 10) == (0, 0)


def test_unreadable_bytes_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot be decoded"):
        decode(b"\x89PNG\r\n\x1a\n broken")


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "halfblock"),
        ({"TERM": "xterm-kitty"}, "auto"),
        ({"TERM_PROGRAM": "WezTerm"}, "auto"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfblock"),
        ({"TERM": "screen-256color", "KITTY_WINDOW_ID": "1"}, "halfblock"),
        ({"TERM": "xterm-256color"}, "halfblock"),
        ({"NBTUI_GRAPHICS": "none"}, "none"),
        ({"NBTUI_GRAPHICS": "auto", "TMUX": "x"}, "auto"),
    ],
)
def test_graphics_mode(env: dict[str, str], mode: str) -> None:
    assert graphics_mode(env) == mode


async def test_preview_shows_the_selected_tasks_images(harness: Harness, tmp_path: Path) -> None:
    task_id = harness.state.add_task(
        prompt="two kites", outcome="succeeded", pending_seconds=0, running_seconds=0, count=2
    )
    harness.track([task_id])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 44)) as pilot:
        await select_when_done(pilot, app, task_id)
        await settle(pilot, lambda: len(app.main.images.preview.images) == 2)
        assert not app.main.images.preview.has_class("-off")
        assert app.main.images.preview.task_id == task_id
        assert "512x512, 512x512" in str(app.query_one("#preview-caption").render())
        images = [r for r in harness.state.requests if r.path.startswith("/images/")]
        assert len(images) == 2 and not any(r.had_auth for r in images)
        # `i` hides it and brings it back; the images come from the cache the second time.
        await pilot.press("i")
        assert app.main.images.preview.has_class("-off") and not app.main.images.enabled
        await pilot.press("i")
        await settle(pilot, lambda: len(app.main.images.preview.images) == 2)
        assert not app.main.images.preview.has_class("-off")


async def test_no_preview_for_a_task_without_images(harness: Harness, tmp_path: Path) -> None:
    task_id = harness.state.add_task(prompt="a kite", outcome="never")
    harness.track([task_id])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 44)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        app.main.task_list.select_id(task_id)
        await settle(pilot, app.main.panes_settled)  # panes redraw once the cursor rests
        assert app.main.images.preview.has_class("-off")


async def test_preview_turns_itself_off_where_it_does_not_fit(
    harness: Harness, tmp_path: Path
) -> None:
    task_id = harness.state.add_task(
        prompt="a kite", outcome="succeeded", pending_seconds=0, running_seconds=0
    )
    harness.track([task_id])
    app: NbtuiApp = app_with(harness, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_when_done(pilot, app, task_id)
        await settle(pilot, lambda: bool(app.main.images.preview.images))
        assert app.main.images.preview.too_small
        assert "no room for an image preview" in str(app.query_one("#preview-caption").render())
        assert not app.query("#preview-images > *")


async def test_a_broken_image_says_so_in_the_preview(harness: Harness, tmp_path: Path) -> None:
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
    async with app.run_test(size=(120, 44)) as pilot:
        await select_when_done(pilot, app, record["id"])
        await settle(
            pilot, lambda: (app.main.images.preview.message or "").startswith("No preview")
        )
        assert "HTTP 404" in (app.main.images.preview.message or "")
