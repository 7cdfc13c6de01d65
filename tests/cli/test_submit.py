"""`nbtui submit` and `nbtui get --save`, in-process against the simulator on loopback.

Images are served from a second port, so these also show that downloads never carry the token.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtui.sim import SimConfig, SimServer
from nbtui.tracking.store import Store
from tests.helpers import TOKEN, CliRunner

GET_KEYS = ["id", "state", "images", "error", "record"]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    config = SimConfig(token=TOKEN, pending_seconds=0.0, running_seconds=0.0, seed=3)
    with SimServer(config, separate_image_host=True) as server:
        monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
        monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", server.base_url)
        yield server


def creates(api: SimServer) -> list[dict[str, object]]:
    return [r.body for r in api.state.requests if r.path == "/nano-banana/images"]


def tracked() -> list[str]:
    store = Store.open(Path(os.environ["NBTUI_DATA_DIR"]))
    try:
        return store.ids()
    finally:
        store.close()


def test_submit_prints_the_id_and_tracks_it(cli: CliRunner, api: SimServer) -> None:
    run = cli("submit", "a paper crane", "--count", "2", "--aspect-ratio", "3:2")
    assert run.code == 0, run.err
    task_id = run.out.strip()
    assert tracked() == [task_id]
    assert creates(api) == [
        {
            "action": "generate",
            "prompt": "a paper crane",
            "async": True,
            "count": 2,
            "aspect_ratio": "3:2",
        }
    ]
    assert f"created task {task_id}" in run.err


def test_submit_json_has_the_get_shape(cli: CliRunner, api: SimServer) -> None:
    run = cli("submit", "a paper crane", "--json")
    assert run.code == 0, run.err
    [obj] = json.loads(run.out)
    assert list(obj) == GET_KEYS
    assert obj["state"] == "pending" and obj["images"] == [] and obj["id"] in tracked()


def test_submit_watch_waits_for_the_result(cli: CliRunner, api: SimServer) -> None:
    run = cli("submit", "sim:succeed a kite", "--watch", "--json")
    assert run.code == 0, run.err
    [obj] = json.loads(run.out)
    assert list(obj) == GET_KEYS and obj["state"] == "succeeded" and obj["images"]
    failed = cli("submit", "sim:fail a kite", "--watch")
    assert failed.code == 1 and "failed" in failed.out


def test_submit_edit_sends_a_local_file_as_a_data_url(
    cli: CliRunner, api: SimServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(PNG)
    run = cli("submit", "add a hat", "--edit", str(source), "https://example.com/b.png")
    assert run.code == 0, run.err
    [body] = creates(api)
    assert body["action"] == "edit"
    assert body["image_urls"] == [
        "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "https://example.com/b.png",
    ]


def test_submit_takes_the_prompt_after_the_sources_too(
    cli: CliRunner, api: SimServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(PNG)
    run = cli("submit", "--edit", "https://example.com/a.png", str(source), "add a hat")
    assert run.code == 0, run.err
    [body] = creates(api)
    assert body["action"] == "edit" and body["prompt"] == "add a hat"
    urls = body["image_urls"]
    assert isinstance(urls, list) and len(urls) == 2 and urls[0] == "https://example.com/a.png"


@pytest.mark.parametrize(
    "args",
    [
        ["--edit", "https://example.com/a.png"],
        ["--edit", "https://example.com/a.png", "https://example.com/b.png"],
    ],
)
def test_submit_without_a_prompt_says_where_to_put_it(
    cli: CliRunner, api: SimServer, args: list[str]
) -> None:
    run = cli("submit", *args)
    assert run.code == 2
    assert "the prompt is missing: --edit takes every value after it as a source" in run.err
    assert creates(api) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "Write a prompt"),
        (["x", "--count", "5"], "1 to 4"),
        (["x", "--aspect-ratio", "5:1"], "aspect ratio"),
        (["x", "--edit", "/nonexistent/file.png"], "no such file"),
        (["x", "--edit", "ftp://host/a.png"], "http(s) URL"),
    ],
)
def test_submit_refuses_bad_input_before_sending(
    cli: CliRunner, api: SimServer, args: list[str], message: str
) -> None:
    run = cli("submit", *args)
    assert run.code == 2 and message in run.err
    assert creates(api) == []


def test_submit_lost_answer_is_not_retried_and_says_so(cli: CliRunner, api: SimServer) -> None:
    api.state.inject_fault("reset", times=3)
    run = cli("submit", "a lighthouse")
    assert run.code == 1
    assert "may or may not have been created" in run.err and "recent tasks" in run.err
    assert len(creates(api)) == 1


def test_submit_in_the_demo(cli: CliRunner) -> None:
    run = cli("--demo", "submit", "sim:succeed a demo cat", "--watch", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["state"] == "succeeded"


def test_get_save_writes_the_images_without_the_token(
    cli: CliRunner, api: SimServer, tmp_path: Path
) -> None:
    task_id = api.state.add_task(prompt="two moons", outcome="succeeded", count=2)
    folder = tmp_path / "out"
    run = cli("get", task_id, "--save", str(folder), "--json")
    assert run.code == 0, run.err
    [obj] = json.loads(run.out)
    names = sorted(Path(p).name for p in obj["saved"])
    assert names == [f"{task_id}-1.png", f"{task_id}-2.png"]
    for name in names:
        assert (folder / name).read_bytes().startswith(b"\x89PNG")
    image_requests = [r for r in api.state.requests if r.path.startswith("/images/")]
    assert len(image_requests) == 2 and not any(r.had_auth for r in image_requests)
    assert {r.host for r in image_requests} != {api.base_url.split("//")[1]}


def test_get_save_fails_for_a_task_without_images(
    cli: CliRunner, api: SimServer, tmp_path: Path
) -> None:
    task_id = api.state.add_task(prompt="x", outcome="failed")
    run = cli("get", task_id, "--save", str(tmp_path / "out"))
    assert run.code == 1 and "nothing to save" in run.err
    assert task_id in run.out  # the state line is still printed


def test_get_save_in_the_demo(cli: CliRunner, tmp_path: Path) -> None:
    listing = cli("--demo", "list", "--json")
    done = [o["id"] for o in json.loads(listing.out) if o["state"] == "succeeded"][:1]
    run = cli("--demo", "get", *done, "--save", str(tmp_path))
    assert run.code == 0, run.err
    assert any(line.startswith("saved ") for line in run.lines)
    assert list(tmp_path.glob(f"{done[0]}-1.*"))


def test_submit_watch_waits_for_a_task_the_service_lists_late(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Right after an async create the service may not know the task yet: "not found" then
    # must not end the watch (plain `watch` of an unknown id still ends at once).
    api.state.config.listing_delay = 1.5
    monkeypatch.setenv("NBTUI_POLL_INTERVAL", "1")
    run = cli("submit", "sim:succeed a late kite", "--watch", "--json")
    assert run.code == 0, run.err
    [obj] = json.loads(run.out)
    assert obj["state"] == "succeeded"
    asked = [r for r in api.state.api_requests() if r.body.get("action") == "retrieve_batch"]
    assert len(asked) >= 2  # at least one "not found" answer was waited through
