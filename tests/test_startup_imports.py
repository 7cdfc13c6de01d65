"""Start-up stays light (B1): what `nbtui` needs before its first painted row, in a fresh
interpreter, imports none of the heavy modules it can do without.

pydantic alone (importing it and building the models) is ~50 ms and ~10 MB; the dialogs, the
keyring (the token comes from the environment here), tomllib (there is no config file) and
the HTTP stack are not needed to show the stored list either.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from nbtui.cli import _imports_without_gc

#: Never imported before the first paint.
NOT_BEFORE_PAINT = (
    "pydantic",
    "tomllib",
    "keyring",
    "httpx",
    "uvicorn",
    "starlette",
    "hypothesis",
    "PIL",
    "nbtui.sim",
    "nbtui.media",
    "nbtui.create",
    "nbtui.tui.screens.add_tasks",
    "nbtui.tui.screens.choose_url",
    "nbtui.tui.screens.confirm",
    "nbtui.tui.screens.create",
    "nbtui.tui.screens.help",
    "nbtui.tui.screens.save",
    "textual.widgets._text_area",
)
#: Not imported by the running app at all, as long as nobody reads `Task.record`.
NEVER = ("pydantic",)

SCRIPT = """
import asyncio, sys
from pathlib import Path

def loaded(names):
    return sorted(name for name in names if name in sys.modules)

from nbtui.cli import main  # what the `nbtui` script imports
from nbtui.api.state import Task
from nbtui.config import ENV_TOKEN, load_settings
from nbtui.credentials import resolve_token
from nbtui.runtime import open_user_store
from nbtui.tui.app import NbtuiApp

data_dir, not_before_paint, never = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
task_id = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
env = {ENV_TOKEN: "start-up-test-token"}
settings = load_settings(
    {"data_dir": str(data_dir)}, env=env, config_path=data_dir / "none.toml"
)  # no config file
token = resolve_token(settings.profile, env)
assert token.source == "env", token
store, warnings = open_user_store(settings.data_dir)
store.add([task_id], now=1.0)
record = {
    "id": task_id,
    "created_at": 1.0,
    "finished_at": 2.0,
    "request": {"action": "generate", "prompt": "a cat"},
    "response": {"success": True, "data": [{"image_url": "https://example.com/a.png"}]},
}
store.apply([Task.from_raw(record)], {}, 2.0)
assert store.all()[0].to_task().image_urls
early = loaded(not_before_paint)
assert not early, f"imported before the first paint: {early}"

def no_client(token):
    raise RuntimeError("no network in this test")

async def first_paint():
    app = NbtuiApp(settings, store=store, client_factory=no_client, token=token.token)
    async with app.run_test(size=(120, 36)) as pilot:
        while not app.main.loaded or not app.main.panes_settled():
            await pilot.pause(0.01)
        assert task_id[:8] in "".join(strip.text for strip in app.main.task_list.render_lines(
            app.main.task_list.region.reset_offset)), "the stored task is not on the list"

asyncio.run(first_paint())
late = loaded(never.split(","))
assert not late, f"imported by the running app: {late}"
"""


def test_start_up_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "data"),
            ",".join(NOT_BEFORE_PAINT),
            ",".join(NEVER),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_tui_is_imported_without_the_gc_then_frozen() -> None:
    assert gc.isenabled()
    try:
        with _imports_without_gc():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_http_client_comes_without_the_httpx_command_line() -> None:
    """httpx would import its CLI (click, pygments) whenever click is installed."""
    code = "import sys, nbtui.api.client; print(sorted({'click', 'pygments'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
