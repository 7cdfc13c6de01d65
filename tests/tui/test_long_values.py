"""Values wider than their pane: URLs in the chooser, JSON tree labels, JSON text lines."""

from __future__ import annotations

from nbtui.tui.screens.choose_url import ChooseUrlScreen, shorten_middle
from tests.helpers import Harness, screen_text, settle, started

LONG_URLS = [
    "https://cdn.example.org/generations/2026/12/02/" + "a" * 60 + "/first-image.png",
    "https://cdn.example.org/generations/2026/12/02/" + "b" * 60 + "/second-image.png",
]


def test_shorten_middle_keeps_both_ends() -> None:
    assert shorten_middle("https://x.test/a.png", 40) == "https://x.test/a.png"
    short = shorten_middle(LONG_URLS[0], 30)
    assert len(short) == 30 and short.startswith("https://cdn.ex") and short.endswith("-image.png")
    assert "…" in short
    assert shorten_middle("漢字漢字漢字漢字", 7) == "漢…漢字"  # cells, not characters
    assert shorten_middle("abc", 1) == "…" and shorten_middle("abc", 0) == ""


async def test_the_chooser_shows_each_url_on_one_line(harness: Harness) -> None:
    app = harness.app()
    chosen: list[str | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        app.push_screen(ChooseUrlScreen("Open which image?", LONG_URLS), chosen.append)
        await settle(pilot, lambda: isinstance(app.screen, ChooseUrlScreen))
        lines = [line for line in screen_text(app).splitlines() if "cdn.example" in line]
        assert len(lines) == 2  # one line each: no URL wrapped mid-word
        assert all("…" in line for line in lines)
        assert "1. https://cdn.example.org/" in lines[0]  # the host and the file name stay
        assert "/first-image.png " in lines[0] and "/second-image.png " in lines[1]
        await pilot.press("down", "enter")
        await settle(pilot, lambda: bool(chosen))
    assert chosen == [LONG_URLS[1]]  # the whole URL, not what fitted
