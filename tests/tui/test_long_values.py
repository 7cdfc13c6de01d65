"""Values wider than their pane: URLs in the chooser, JSON tree labels, JSON text lines."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.choose_url import ChooseUrlScreen, shorten_middle
from nbtui.tui.widgets.json_view import HangingIndent, JsonTree, _hang
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


LONG_PROMPT = "a lighthouse made entirely of glass on a cliff above a stormy sea " * 4


def track_long_prompt(harness: Harness) -> str:
    task_id = harness.state.add_task(prompt=LONG_PROMPT.strip(), outcome="succeeded")
    harness.track([task_id])
    return task_id


async def long_prompt_shown(pilot: Pilot[Any], app: NbtuiApp, task_id: str) -> None:
    await started(pilot, app)
    app.main.task_list.select_id(task_id)
    await settle(pilot, app.main.panes_settled)
    tree = app.query_one(JsonTree)
    await settle(
        pilot,
        lambda: any("lighthouse" in tree.render_line(y).text for y in range(tree.size.height)),
    )


async def test_json_tree_labels_cut_at_the_pane_say_so(harness: Harness) -> None:
    task_id = track_long_prompt(harness)
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await long_prompt_shown(pilot, app, task_id)
        tree = app.query_one(JsonTree)
        width = tree.scrollable_content_region.width
        lines = [tree.render_line(y).text for y in range(tree.size.height)]
        prompt_lines = [line for line in lines if "prompt:" in line and "lighthouse" in line]
        assert prompt_lines, lines
        for line in prompt_lines:
            assert len(line.rstrip()) <= width and line.rstrip().endswith("…")
        assert tree.virtual_size.width <= width  # nothing hidden off to the right


async def test_wrapped_json_text_lines_keep_their_indentation(harness: Harness) -> None:
    task_id = track_long_prompt(harness)
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await long_prompt_shown(pilot, app, task_id)
        await pilot.press("v")
        text = app.query_one("#json-text", Static)
        await settle(
            pilot,
            lambda: (
                "lighthouse" in str(text.render_line(3).text)
                or any("lighthouse" in text.render_line(y).text for y in range(text.size.height))
            ),
        )
        lines = [text.render_line(y).text.rstrip() for y in range(text.size.height)]
        start = next(n for n, line in enumerate(lines) if '"prompt": "a lighthouse' in line)
        value_column = lines[start].index('"a lighthouse')
        continued = lines[start + 1]
        assert continued.strip() and not continued.lstrip().startswith('"')
        assert len(continued) - len(continued.lstrip()) == value_column


@given(st.text(alphabet=st.sampled_from('ab 漢"/:'), max_size=120), st.integers(2, 40))
def test_wrapped_lines_lose_nothing_and_fit(line: str, width: int) -> None:
    """Every visible character kept, in order; every line within the width, continuation lines
    included (a pane at least two cells wide: one cell cannot show a wide character)."""
    console = Console(width=width, color_system=None)
    with console.capture() as captured:
        console.print(HangingIndent(Text(line)), end="")
    shown = captured.get().split("\n")
    hang = 0 if cell_len(line) <= width else _hang(line, width)
    rebuilt = shown[0] + "".join(part[hang:] for part in shown[1:])
    # Spaces at a break may fall past the edge, as in any word wrap; nothing else is lost.
    assert rebuilt.replace(" ", "") == line.replace(" ", "")
    assert all(cell_len(part.rstrip(" ")) <= width for part in shown)
