"""Gallery key round trip: an arrow key in a 500-image gallery -> the highlight moved on screen,
the real `nbtui` in tmux 120x40.

The data dir tracks 125 finished tasks of 4 images each (the loopback simulator serves the
images). nbtui starts, `b` opens the gallery, and once the first page's thumbnails are drawn
each press is timed from `send-keys` until `capture-pane -e` shows the highlighted caption
(`1a2b3c4d ✔ 3/4 …`) change. `Right` mostly moves the highlight within the page and re-binds
the page when it leaves it (every sixth press once on the last row); `Down` re-binds the page
on every press once the cursor is on the last row. Thumbnails of new pages load meanwhile,
as they would for a user. Baseline: the bare Textual app's `j` in a 500-row DataTable, same
harness, same number of presses.

Run: `python -m tests.bench.bench_gallery [--quick]`
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.bench._common import (
    CURSOR_BG,
    TOKEN,
    Press,
    Row,
    Tmux,
    bare_argv,
    bare_first_row,
    isolated_env,
    median,
    nbtui_argv,
    press_and_wait,
    quick,
    report,
    temp_dir,
    tmux,
)

TARGET = 1.5
TASKS, PER_TASK = 125, 4
IMAGES = TASKS * PER_TASK
BARE_KEY = re.compile(r"row-\d{5}")
#: One SGR sequence and the text after it.
_SGR_RUN = re.compile(r"\x1b\[([0-9;]*)m([^\x1b]*)")
GAP = 0.005


def highlighted_caption(screen_with_escapes: str) -> str | None:
    """The text drawn on the cursor's background (the gallery's highlighted caption).

    tmux sends only what changes, so the background is followed through each line's SGR
    sequences: set by a `48;...`, cleared by a reset (`0`, empty) or `49`."""
    for line in screen_with_escapes.splitlines():
        if CURSOR_BG not in line:
            continue
        on_cursor = False
        runs: list[str] = []
        for sgr, text in _SGR_RUN.findall(line):
            params = sgr.split(";")
            if not sgr or params[0] in ("0", "00") or "49" in params:
                on_cursor = False
            if "48" in params:
                on_cursor = CURSOR_BG in sgr
            if on_cursor:
                runs.append(text)
        caption = "".join(runs).strip()
        if caption:
            return caption
    return None


def press_gallery(server: Tmux, session: str, key: str, *, timeout: float = 10.0) -> Press:
    """Send `key`; poll until the highlighted caption is another one."""
    before = highlighted_caption(server.capture_escaped(session))
    if before is None:
        raise RuntimeError("no highlighted tile on screen:\n" + server.capture(session))
    sent = time.perf_counter()
    server.send(session, key)
    while True:
        screen = server.capture_escaped(session)
        now = time.perf_counter()
        current = highlighted_caption(screen)
        if current is not None and current != before:
            return Press(sent, now, screen)
        if now > sent + timeout:
            raise TimeoutError(f"the highlight did not move in {timeout} s")


def populate(data_dir: Path, sim_state: Any) -> str:
    """Track TASKS finished tasks of PER_TASK images; returns the newest task's id."""
    from nbtui.api.models import Task
    from nbtui.sim.images import png_for_name
    from nbtui.tracking.store import Store

    now = time.time()
    ids = [
        sim_state.add_task(
            prompt=f"a lighthouse of sea glass, variation {index}",
            outcome="succeeded",
            pending_seconds=0.0,
            running_seconds=0.0,
            count=PER_TASK,
            created_at=now - 600 + index,
        )
        for index in range(TASKS)
    ]
    records = sim_state.records(ids)
    with Store.open(data_dir) as store:
        store.add(ids, now=now - 3600)
        store.apply([Task.from_raw(raw) for raw in records], {}, now)
    # The simulator draws each PNG on first request (~40 ms here); a CDN would not make
    # nbtui wait for that, so draw them all now, before anything is timed.
    for raw in records:
        for image in raw["response"]["data"]:
            name = image["image_url"].rsplit("/", 1)[1].removesuffix(".png")
            png_for_name(name, sim_state.config.image_size)
    return str(ids[-1])


def gallery_round_trips(
    server: Tmux, env: dict[str, str], data_dir: Path, base_url: str, newest: str, presses: int
) -> dict[str, list[float]]:
    session, _ = server.launch(nbtui_argv(data_dir, base_url), env)
    try:
        server.wait_for(session, lambda s: newest[:8] in s, timeout=60)
        server.send(session, "b")
        server.wait_for(session, lambda s: f"{IMAGES} images from {TASKS} tasks" in s, timeout=60)
        # The first page drawn: its captions are there and none of its tiles is loading.
        server.wait_for(
            session, lambda s: f"✔ 1/{PER_TASK}" in s and "loading…" not in s, timeout=60
        )
        for _ in range(5):  # warm-up
            press_gallery(server, session, "Right")
        times: dict[str, list[float]] = {"Right": [], "Down": []}
        for key, count in (("Right", presses), ("Down", presses // 2)):
            for _ in range(count):
                times[key].append(press_gallery(server, session, key).round_trip)
                time.sleep(GAP)
        return times
    finally:
        server.kill(session)


def bare_round_trips(server: Tmux, env: dict[str, str], presses: int) -> list[float]:
    session, _ = server.launch(bare_argv(IMAGES), env)
    try:
        server.wait_for(session, lambda screen: bare_first_row() in screen, timeout=60)
        for _ in range(5):  # warm-up
            press_and_wait(server, session, "j", BARE_KEY)
        times = []
        for _ in range(presses):
            times.append(press_and_wait(server, session, "j", BARE_KEY).round_trip)
            time.sleep(GAP)
        return times
    finally:
        server.kill(session)


def run() -> dict[str, Any]:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer

    presses = 40 if quick() else 90
    with temp_dir("nbtui-bench-gallery-") as tmp, tmux() as server:
        env = isolated_env(tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN, NBTUI_POLL_INTERVAL="5")
        config = SimConfig(token=TOKEN, pending_seconds=0.0, running_seconds=0.0)
        with SimServer(config) as sim:
            newest = populate(tmp / "data", sim.state)
            times = gallery_round_trips(server, env, tmp / "data", sim.base_url, newest, presses)
        baseline_runs = bare_round_trips(server, env, presses)
    baseline = median(baseline_runs)
    rows = []
    for key, label in (("Right", "Right (highlight moves)"), ("Down", "Down (page re-bound)")):
        value = median(times[key])
        rows.append(
            Row(
                f"{IMAGES} images, {label}",
                value,
                "s",
                baseline,
                f"≤ {TARGET}x",
                value / baseline <= TARGET,
                {"presses": times[key], "max": max(times[key])},
            )
        )
    return report(
        "gallery",
        f"Gallery key round trip (tmux 120x40, {TASKS} tasks x {PER_TASK} images, median of "
        f"{presses} Right and {presses // 2} Down presses; baseline: bare app `j`, "
        f"{IMAGES}-row DataTable)",
        rows,
        [
            f"baseline runs: {len(baseline_runs)}, max {max(baseline_runs) * 1000:.0f} ms; "
            "each press timed by polling capture-pane -e for the highlighted caption",
        ],
    )


if __name__ == "__main__":
    run()
