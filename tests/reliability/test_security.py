"""Security: the token stays secret, API text stays data, links stay web links.

- A known token goes through the CLI (in-process and as real processes) and the app, on the
  success path and every error path; stdout, stderr, log records, every file under the test's
  HOME (config, data dir with the SQLite database and its -wal/-shm, cache), SVG screenshots,
  notifications and the exceptions raised (str, repr, hint, formatted traceback) are scanned
  for the token and its base64 forms.
- The token only ever reaches the API host: the simulator serves images on a second port and
  records whether each request carried Authorization; a redirect from the API to another host
  is never followed.
- API text is data: Rich markup is shown literally (never a click action or a link) and
  terminal control sequences are removed, in every formatter and renderable the UI and CLI use
  (a hypothesis property test), and in the running app (task list, detail, JSON, toasts).
- Only http(s) URLs are opened (`o` with `javascript:`/`file:`/`data:` results refuses with a
  message); nothing reaches a shell (the package source is checked for shell use).
- TLS verification is on for the API and image clients; a plain-http remote base URL warns.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nbtui.api.client import NanoBananaClient
from nbtui.api.errors import ApiError
from nbtui.api.models import Task
from nbtui.cli import _prompt_of, task_line, tracked_json
from nbtui.sim import SimConfig, SimServer
from nbtui.sim.server import _ThreadedUvicorn
from nbtui.textsafe import one_line, safe_text
from nbtui.tracking.store import Store
from tests.helpers import CliRunner, examples, run_nbtui

KNOWN = "sk-KNOWN-TOKEN-7f3a9c2e41d8b6a05c3e9d17"
PACKAGE = Path(__file__).resolve().parents[2] / "nbtui"


def secret_forms(token: str = KNOWN) -> list[bytes]:
    """The token as bytes, in base64 (all three alignments) and as a Bearer header value."""
    raw = token.encode()
    forms = {raw, f"Bearer {token}".encode()}
    for pad in (b"", b"x", b"xy"):
        encoded = base64.b64encode(pad + raw)
        # Drop the characters that depend on the padding bytes and the tail.
        skip = {0: 0, 1: 2, 2: 3}[len(pad)]
        forms.add(encoded[skip : len(encoded) - 4])
        forms.add(base64.urlsafe_b64encode(pad + raw)[skip : len(encoded) - 4])
    return sorted(forms)


def assert_no_secret(blob: str | bytes, where: str) -> None:
    data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
    for form in secret_forms():
        assert form not in data, f"the token ({form[:12]!r}...) leaked into {where}"


def scan_tree(root: Path) -> int:
    """Every file under `root` (the test's HOME: config, data, cache, logs): no token."""
    count = 0
    for path in root.rglob("*"):
        if path.is_file():
            assert_no_secret(path.read_bytes(), str(path))
            count += 1
    return count


def assert_error_clean(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))
    assert_no_secret(text, "a traceback")
    assert_no_secret(repr(error), "an exception repr")
    assert_no_secret(str(getattr(error, "hint", "")), "an error hint")
    assert_no_secret(repr(vars(error)) if hasattr(error, "__dict__") else "", "error fields")


def test_the_scanner_finds_the_token_in_any_form(tmp_path: Path) -> None:
    """The leak checks below would catch a leak: raw, in a header, base64 at any offset."""
    for blob in (
        KNOWN.encode(),
        f"authorization: Bearer {KNOWN}".encode(),
        *(base64.b64encode(prefix + KNOWN.encode()) for prefix in (b"", b"u:", b"abc:")),
        base64.urlsafe_b64encode(b"x" + KNOWN.encode()),
    ):
        with pytest.raises(AssertionError, match="leaked"):
            assert_no_secret(b"noise " + blob + b" noise", "a test blob")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "x.log").write_bytes(KNOWN.encode())
    with pytest.raises(AssertionError, match=r"x\.log"):
        scan_tree(tmp_path)


# ============================================================================ hostile server


class Hostile:
    """A loopback server that misbehaves on purpose: echoes the token, redirects to another
    host, answers with escape sequences and markup. `mode` picks the behaviour."""

    def __init__(self) -> None:
        self.mode = "echo"
        self.other_hits: list[dict[str, Any]] = []
        self.other = _ThreadedUvicorn(
            Starlette(routes=[Route("/{p:path}", self._other)]), "127.0.0.1", 0
        )
        self.api = _ThreadedUvicorn(
            Starlette(routes=[Route("/{p:path}", self._api, methods=["GET", "POST"])]),
            "127.0.0.1",
            0,
        )

    async def _other(self, request: Request) -> Response:
        self.other_hits.append({"auth": request.headers.get("authorization")})
        return JSONResponse({"items": []})

    async def _api(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if self.mode == "echo":  # a server that puts the credential in its error message
            return JSONResponse(
                {"success": False, "error": {"code": "bad_request", "message": f"bad {auth}"}},
                400,
            )
        if self.mode == "echo500":
            return Response(f"<html>upstream said {auth}</html>", 502, media_type="text/html")
        if self.mode == "redirect":
            return Response(status_code=307, headers={"location": f"{self.other.url}/steal"})
        return JSONResponse(
            {
                "success": False,
                "error": {
                    "code": "bad_request\x1b[2J",
                    "message": "\x1b]52;c;ZXZpbA==\x07[bold]pwn[/bold] [@click=app.quit]x[/]"
                    "\x9b31m\x07\x1b]0;title\x07",
                },
            },
            400,
        )

    def __enter__(self) -> Hostile:
        self.other.start()
        self.api.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.stop()
        self.other.stop()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


@pytest.fixture(scope="module")
def sim2() -> Iterator[SimServer]:
    """The simulator with the known token; images on a second port."""
    with SimServer(SimConfig(token=KNOWN, seed=3), separate_image_host=True) as server:
        yield server


@pytest.fixture
def token_env(sim2: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    sim2.state.reset()
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", KNOWN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim2.base_url)
    cfg = Path(os.environ["NBTUI_CONFIG"])
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("max_attempts = 2\ntimeout = 0.5\n", encoding="utf-8")
    return sim2


# ============================================================================ the token


CLI_FAULTS = [
    None,
    "401",
    "403_used_up",
    "429",
    "500",
    "502_html",
    "empty",
    "truncated",
    "wrong_shape",
    "missing_id",
    "reset",
    "slow",
    "huge",
]


def test_the_token_never_leaks_through_the_cli(
    token_env: SimServer,
    cli: CliRunner,
    isolated_environment: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    hostile: Hostile,
) -> None:
    caplog.set_level(logging.DEBUG)
    state = token_env.state
    ids = [
        state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0) for _ in range(2)
    ]
    outputs: list[str] = []
    assert cli("add", *ids).code == 0
    for fault in CLI_FAULTS:
        state.clear_faults()
        if fault is not None:
            state.inject_fault(fault, times=2, delay=1.0 if fault == "slow" else 0)
        for command in (["get", *ids], ["get", "--json", *ids]):
            run = cli(*command)
            outputs += [run.out, run.err]
            assert "Traceback" not in run.err
    state.clear_faults()
    state.inject_fault("401")
    watched = cli("watch", "--interval", "1", *ids)
    assert watched.code == 1
    watched_ok = cli("watch", "--interval", "1", "--json", *ids)
    assert watched_ok.code == 0, watched_ok.err
    outputs += [watched.out, watched.err, watched_ok.out, watched_ok.err]
    for command in (["list"], ["list", "--json"], ["token", "status"], ["remove", ids[0]]):
        run = cli(*command)
        outputs += [run.out, run.err]
    # Servers that echo the token, redirect elsewhere, or send a refused connection.
    for mode in ("echo", "echo500", "redirect"):
        hostile.mode = mode
        monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", hostile.api.url)
        run = cli("get", *ids)
        assert run.code == 1 and "Traceback" not in run.err
        outputs += [run.out, run.err]
    assert hostile.other_hits == []  # the redirect was never followed
    assert any("[token hidden]" in text for text in outputs)  # the echo was redacted

    for index, text in enumerate(outputs):
        assert_no_secret(text, f"CLI output #{index}")
    for record in caplog.records:
        assert_no_secret(record.getMessage(), f"log record {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            assert_error_clean(record.exc_info[1])
    files = scan_tree(isolated_environment)
    assert files >= 1  # the database at least (and its -wal while open elsewhere)
    assert (Path(os.environ["NBTUI_DATA_DIR"]) / "tasks.db").exists()


def test_the_token_never_leaks_from_real_processes(
    token_env: SimServer, isolated_environment: Path, tmp_path: Path
) -> None:
    state = token_env.state
    task = state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    env = {"ACEDATACLOUD_API_TOKEN": KNOWN, "ACEDATACLOUD_API_BASE_URL": token_env.base_url}
    runs = [run_nbtui("add", task, env=env), run_nbtui("get", "--json", task, env=env)]
    state.inject_fault("401")
    runs.append(run_nbtui("get", task, env=env))
    state.inject_fault("500", times=10)
    runs.append(run_nbtui("watch", "--interval", "1", "--timeout", "2", task, env=env))
    runs.append(run_nbtui("token", "set", stdin=KNOWN + "\n", env=env))
    runs.append(run_nbtui("token", "status", env=env))
    state.clear_faults()
    assert [r.code for r in runs] == [0, 0, 1, 1, 0, 0]
    for run in runs:
        assert_no_secret(run.out + run.err, "a process's output")
        assert "Traceback" not in run.err
    scan_tree(isolated_environment)


async def test_errors_and_reprs_never_hold_the_token(sim2: SimServer, hostile: Hostile) -> None:
    from nbtui.config import Settings
    from nbtui.credentials import TokenInfo

    errors: list[ApiError] = []
    for kind in ("401", "403_used_up", "429", "500", "502_html", "empty", "truncated", "reset"):
        sim2.state.reset()
        sim2.state.inject_fault(kind, times=3)
        async with NanoBananaClient(sim2.base_url, KNOWN, max_attempts=1, timeout=1) as client:
            assert_no_secret(repr(client), "the client's repr")
            assert_no_secret(repr(vars(client)), "the client's fields")
            with pytest.raises(ApiError) as info:
                await client.retrieve("00000000-0000-4000-8000-000000000000")
            errors.append(info.value)
    for mode in ("echo", "echo500", "redirect"):
        hostile.mode = mode
        async with NanoBananaClient(hostile.api.url, KNOWN, max_attempts=1) as client:
            with pytest.raises(ApiError) as info:
                await client.retrieve("00000000-0000-4000-8000-000000000000")
            errors.append(info.value)
    for error in errors:
        assert_error_clean(error)
    info_repr = repr(TokenInfo(token=KNOWN, source="env", detail="from the environment"))
    assert_no_secret(info_repr, "TokenInfo repr")
    assert_no_secret(repr(Settings()), "Settings repr")


async def test_the_token_never_leaks_through_the_app(
    tmp_path: Path, isolated_environment: Path
) -> None:
    from nbtui.config import Settings
    from nbtui.sim.app import in_process
    from nbtui.tui.app import make_app
    from tests.helpers import SIZE, FakeClock, notes, settle

    clock = FakeClock()
    sim = in_process(SimConfig(token=KNOWN, clock=clock, seed=5))
    ids = [sim.state.add_task(outcome="never", pending_seconds=0) for _ in range(5)]
    ids += [sim.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=3)]
    data = isolated_environment / "data" / "nbtui"
    store = Store.open(data)
    store.add(ids, now=clock())
    settings = Settings(base_url=sim.base_url, data_dir=data, cache_dir=tmp_path / "cache")

    def client_factory(tok: str | None) -> NanoBananaClient:
        return NanoBananaClient.from_settings(
            settings, tok, transport=httpx.ASGITransport(app=sim.app), max_attempts=1
        )

    app = make_app(settings, store=store, client_factory=client_factory, clock=clock, token=KNOWN)
    shots: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        shots.append(app.export_screenshot())
        for fault in ("429", "500", "502_html", "truncated", "reset", "403_used_up", "401"):
            sim.state.inject_fault(fault)
            cycles = app.main.cycles
            await pilot.press("R")
            await settle(pilot, lambda c=cycles: app.main.cycles > c)
            shots.append(app.export_screenshot())
            if fault in ("401", "403_used_up"):
                app.main.start_monitor(KNOWN)
                await settle(pilot, lambda: app.main.status.problem is None)
        clock.advance(10)
        await pilot.press("R")
        app.main.task_list.select_id(ids[-1])
        await pilot.press("enter")
        shots.append(app.export_screenshot())
        await pilot.press("t")  # the token screen: shows where the token is from, never it
        await pilot.pause()
        shots.append(app.export_screenshot())
        (tmp_path / "shots").mkdir()
        saved = app.save_screenshot(path=str(tmp_path / "shots"), filename="token.svg")
        shots.append(Path(saved).read_text(encoding="utf-8"))
        shots.append(notes(app))
        # While the app holds the database open: its -wal and -shm files too.
        assert (data / "tasks.db-wal").exists()
        scan_tree(data)
    store.close()
    for index, shot in enumerate(shots):
        assert_no_secret(shot, f"screenshot/notes #{index}")
    scan_tree(isolated_environment)
    scan_tree(tmp_path / "shots")


async def test_the_token_goes_to_the_api_host_only(sim2: SimServer, tmp_path: Path) -> None:
    """API requests carry it; the image host on the other port never sees an Authorization
    header, whatever the app fetches (see also tests/test_media.py for redirects)."""
    from nbtui.media import ImageFetcher

    sim2.state.reset()
    task_id = sim2.state.add_task(
        outcome="succeeded", pending_seconds=0, running_seconds=0, count=3
    )
    async with NanoBananaClient(sim2.base_url, KNOWN) as client:
        task = await client.retrieve(task_id)
    assert len(task.image_urls) == 3
    assert all(url.startswith(sim2.image_base_url) for url in task.image_urls)
    assert sim2.image_base_url != sim2.base_url
    async with ImageFetcher(tmp_path / "cache") as fetcher:
        for url in task.image_urls:
            await fetcher.fetch(url)
    api = sim2.state.api_requests()
    images = sim2.state.image_requests()
    assert api and all(r.had_auth and r.auth_ok for r in api)
    assert len(images) == 3 and not any(r.had_auth for r in images)
    assert {r.host for r in images}.isdisjoint({r.host for r in api})


async def test_a_redirect_to_another_host_is_never_followed_with_the_token(
    hostile: Hostile,
) -> None:
    hostile.mode = "redirect"
    hostile.other_hits.clear()
    async with NanoBananaClient(hostile.api.url, KNOWN, max_attempts=3) as client:
        result = await client.retrieve_batch(["00000000-0000-4000-8000-000000000000"])
    assert result.errors and "redirect" in str(next(iter(result.errors.values())))
    assert hostile.other_hits == []


# ============================================================================ API text is data

#: Every C0/C1 control, DEL and ESC; newline and tab are layout, not commands.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = [
    "[bold]bold[/bold]",
    "[@click=app.quit]quit[/]",
    "[link=https://evil.test]link[/link]",
    "[/bold] unbalanced",
    "\x1b]52;c;ZXZpbA==\x07clipboard",
    "\x1b[2J\x1b[Hclear",
    "\x9b31mC1 CSI\x9d0;title\x9c",
    "bell\x07 nul\x00 del\x7f",
    "\x1b]8;;https://evil.test\x1b\\hyperlink\x1b]8;;\x1b\\",
]
api_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.lists(st.sampled_from(["[", "]", "@click=", "/", "\x1b", "\x07", "\x9b", "link=", "a"])).map(
        "".join
    ),
)


def _record(text: str) -> dict[str, Any]:
    return {
        "id": "33333333-3333-4333-8333-333333333333",
        "created_at": 1.0,
        "trace_id": text,
        "request": {"action": text, "prompt": text, "model": text, "aspect_ratio": text},
        "response": {
            "success": False,
            "error": {"code": text, "message": text},
            "data": [{"image_url": f"https://cdn.test/{text}.png", "prompt": text}],
        },
        text or "k": text,
    }


def _segments_clean(renderable: Any, where: str) -> str:
    """Render as the terminal would: no control characters from the data, and no style
    that carries a click action or a hyperlink. Returns the plain text."""
    console = Console(file=io.StringIO(), width=100, color_system="truecolor", force_terminal=True)
    plain: list[str] = []
    for segment in console.render(renderable):
        if segment.control:
            continue
        text = segment.text
        assert not CONTROL.search(text), (where, text)
        style = segment.style
        if style is not None:
            assert not style.link, (where, style)
            assert "@click" not in str(style.meta), (where, style)
        plain.append(text)
    return "".join(plain)


@settings(
    max_examples=examples(50, 150), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(text=api_text)
def test_every_display_of_api_text_is_inert(text: str) -> None:
    from rich.text import Text

    from nbtui.tracking.store import TrackedTask
    from nbtui.tui.tasklist_model import row_from_tracked
    from nbtui.tui.widgets.detail import render_detail
    from nbtui.tui.widgets.json_view import _label, _summary
    from nbtui.tui.widgets.status_bar import StatusBar

    raw = _record(text)
    task = Task.from_raw(raw)
    # CLI human output and JSON output.
    for line in (task_line(task), _prompt_of(raw), one_line(text)):
        assert not CONTROL.search(line)
    assert not CONTROL.search(json.dumps(tracked_json_row(raw, text)))
    assert not CONTROL.search(safe_text(text).replace("\n", ""))
    # The TUI's renderables: detail pane, task-list row fields, JSON tree labels, status bar.
    tracked = TrackedTask(
        id=task.id,
        label=text,
        first_seen=1.0,
        last_refreshed=2.0,
        state=task.state,
        raw=raw,
        last_error=text,
    )
    row = row_from_tracked(tracked, 1)
    for field in (row.prompt, row.model):
        assert not CONTROL.search(field)
    shown = _segments_clean(render_detail(task, row, 10.0), "detail")
    assert one_line(text)[:20] in shown.replace("\n", "") or not one_line(text)[:20].strip()
    for key, value in raw.items():
        _segments_clean(_label(key, value), "json label")
        _segments_clean(_summary(value), "json summary")
    bar = StatusBar(lambda: 10.0)
    bar.set_reactive(StatusBar.host, text)
    bar.set_reactive(StatusBar.problem, text)
    _segments_clean(bar.render(), "status bar")
    _segments_clean(Text(safe_text(json.dumps(raw, ensure_ascii=False))), "json text")


def tracked_json_row(raw: dict[str, Any], text: str) -> dict[str, Any]:
    from nbtui.tracking.store import TrackedTask

    task = Task.from_raw(raw)
    return tracked_json(
        TrackedTask(
            id=task.id,
            label=text,
            first_seen=1.0,
            last_refreshed=None,
            state=task.state,
            raw=raw,
            last_error=text,
        )
    )


def test_cli_output_of_hostile_records_is_inert(cli: CliRunner, token_env: SimServer) -> None:
    for index, text in enumerate(HOSTILE):
        record = _record(text)
        record["id"] = f"44444444-4444-4444-8444-{index:012d}"
        token_env.state.add_raw(record)
    ids = [f"44444444-4444-4444-8444-{index:012d}" for index in range(len(HOSTILE))]
    assert cli("add", *ids).code == 0
    for command in (["get", *ids], ["get", "--json", *ids], ["list"], ["list", "--json"]):
        run = cli(*command)
        assert run.code == 0, run.err
        assert not CONTROL.search(run.out.replace("\n", "")), command
        assert "\x1b" not in run.err
    human = cli("get", *ids).out
    assert "[@click=app.quit]quit[/]" in human  # literally, as sent


def test_cli_error_text_from_the_server_is_inert(
    cli: CliRunner, hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile.mode = "escape"
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", KNOWN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", hostile.api.url)
    run = cli("get", "00000000-0000-4000-8000-000000000000")
    assert run.code == 1
    assert not CONTROL.search(run.err.replace("\n", ""))
    assert "[bold]pwn[/bold]" in run.err


MARKUP_PROMPT = "[@click=app.quit]q[/] [b]B"


async def test_markup_in_the_app_is_literal_and_inert(tmp_path: Path) -> None:
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, notes, screen_text, settle

    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    marked = sim.add_task(
        prompt=MARKUP_PROMPT + "\x1b]52;c;ZXZpbA==\x07 [/bold] [link=https://e.test]L[/link]",
        outcome="failed",
        error_message="[@click=app.quit]err[/] [/i]\x1b[31m",
        pending_seconds=0,
        running_seconds=2,
    )
    store.add([marked], now=clock())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        clock.advance(5)
        await pilot.press("R")  # it fails now: a toast with its prompt and error
        await settle(pilot, lambda: "err" in notes(app))
        app.main.task_list.select_id(marked)
        await settle(pilot, app.main.panes_settled)  # the panes follow once the cursor rests
        shown = screen_text(app)
        assert MARKUP_PROMPT in shown  # task list and detail: as written
        assert "[@click=app.quit]err[/]" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        assert all(not n.markup for n in app._notifications)
        assert "[@click=app.quit]err[/] [/i]" in notes(app)
        await pilot.press("v")  # the JSON as text
        await pilot.pause()
        assert "[@click=app.quit]" in screen_text(app)
        # The app is still running: nothing quit it, nothing raised MarkupError.
        assert app.is_running and app.return_code is None


# ============================================================================ links and shells

BAD_URLS = [
    "javascript:alert(1)",
    "file:///etc/passwd",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox",
    "ftp://example.test/x.png",
    "https://ok.test/a.png\x1b]52;c;x\x07",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_web_links_are_opened(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbtui import media
    from nbtui.tui import links

    opened: list[Any] = []
    monkeypatch.setattr("webbrowser.open", lambda u, new=0, autoraise=True: opened.append(u))
    assert links.open_in_browser(url) is False
    assert media.open_in_browser(url) is False
    assert opened == []
    assert links.open_in_browser("https://ok.test/a.png") is not None
    assert opened == ["https://ok.test/a.png"]  # one string argument, no shell


async def test_o_refuses_non_web_image_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, notes, settle

    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda u, new=0, autoraise=True: opened.append(u))
    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    ids = []
    for index, url in enumerate(BAD_URLS[:3]):
        task_id = f"55555555-5555-4555-8555-{index:012d}"
        sim.add_raw(
            {
                "id": task_id,
                "created_at": clock(),
                "finished_at": clock(),
                "request": {"action": "generate", "prompt": "p"},
                "response": {"success": True, "data": [{"image_url": url}]},
            }
        )
        ids.append(task_id)
    store.add(ids, now=clock())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        for task_id in ids:
            app.main.task_list.select_id(task_id)
            await pilot.pause()
            await pilot.press("o")
            await pilot.pause()
        await settle(pilot, lambda: notes(app).count("not an http(s) link") == len(ids))
        assert opened == []


SHELL_PATTERNS = [
    r"shell\s*=\s*True",
    r"\bos\.system\(",
    r"\bos\.popen\(",
    r"\bos\.exec\w*\(",
    r"\bos\.spawn\w*\(",
    r"\beval\(",
    r"\bexec\(",
    r"(?<![\w.])commands\.get\w*output\(",  # Python 2's shell module (not nbtui.tui.commands)
    r"\bpty\.spawn\(",
]


def test_no_api_data_can_reach_a_shell() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for pattern in SHELL_PATTERNS:
            for match in re.finditer(pattern, source):
                line = source.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {match.group()}")
    assert offenders == []
    # subprocess, where used, gets argument lists only.
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"subprocess\.\w+\(\s*([^\s,)]+)", source):
            assert call.group(1).startswith("["), f"{path}: {call.group()}"


# ============================================================================ TLS and http


async def test_tls_verification_is_always_on() -> None:
    import ssl

    from nbtui.config import Settings
    from nbtui.media import ImageFetcher

    client = NanoBananaClient.from_settings(Settings(), KNOWN)
    fetcher = ImageFetcher(None)
    try:
        for http in (client._http, fetcher._client):
            transport = http._transport
            assert isinstance(transport, httpx.AsyncHTTPTransport)
            context = transport._pool._ssl_context
            assert context is not None
            assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    finally:
        await client.aclose()
        await fetcher.aclose()
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"verify\s*=\s*(False|0|None)", source), path
        assert "CERT_NONE" not in source and "_create_unverified_context" not in source, path


async def test_plain_http_to_a_remote_host_warns_in_the_app(tmp_path: Path) -> None:
    from nbtui.config import Settings
    from nbtui.sim.app import in_process
    from nbtui.tui.app import make_app
    from tests.helpers import SIZE, FakeClock, notes, settle

    # (The CLI's warning: tests/cli/test_commands.py::test_plain_http_to_a_remote_host_warns.)
    sim = in_process(SimConfig(token=KNOWN))
    for base, warned in (("http://api.example.com", True), ("http://127.0.0.1:8787", False)):
        settings = Settings(base_url=base, data_dir=tmp_path / base[-4:], cache_dir=tmp_path / "c")
        store = Store.open(settings.data_dir)

        def client_factory(tok: str | None, s: Settings = settings) -> NanoBananaClient:
            return NanoBananaClient.from_settings(s, tok, transport=sim.transport())

        app = make_app(
            settings,
            store=store,
            client_factory=client_factory,
            clock=FakeClock(),
            token=KNOWN,
        )
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda a=app: a.main.loaded)
            assert ("plain http" in notes(app)) is warned
        store.close()
