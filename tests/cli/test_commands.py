"""The command line's contract, in-process through `main()` against the simulator on loopback.

(The same contract is checked as a real subprocess in test_subprocess.py; these are faster.)
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

import nbtui
from nbtui import cli as cli_module
from nbtui.sim import SimServer
from nbtui.tracking.store import Store
from tests.helpers import TOKEN, CliRunner
from tests.keyrings.memory import MemoryKeyring

UNKNOWN = "00000000-0000-4000-8000-000000000000"
GET_KEYS = ["id", "state", "images", "error", "record"]


@pytest.fixture
def api(sim_server: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """The simulator, with nbtui pointed at it and holding its token."""
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim_server.base_url)
    return sim_server


def data_store() -> Store:
    return Store.open(Path(os.environ["NBTUI_DATA_DIR"]))


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("nbtui: error: ")
    return lines[0]


# -- help and parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["get"],
        ["watch"],
        ["add"],
        ["remove"],
        ["list"],
        ["token"],
        ["token", "set"],
        ["token", "status"],
        ["token", "clear"],
        ["sim"],
    ],
)
def test_help_everywhere(cli: CliRunner, args: list[str]) -> None:
    run = cli(*args, "--help")
    assert run.code == 0
    assert run.out.startswith("usage: nbtui")


@pytest.mark.parametrize(
    ("args", "usage", "bad"),
    [
        (["get", "--jsn", "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"], "usage: nbtui get", "--jsn"),
        (["list", "--jsonn"], "usage: nbtui list", "--jsonn"),
        (["token", "status", "--x"], "usage: nbtui token", "--x"),
        (["--bogus"], "usage: nbtui [", "--bogus"),
    ],
)
def test_a_mistyped_option_gets_the_usage_of_its_command(
    cli: CliRunner, args: list[str], usage: str, bad: str
) -> None:
    run = cli(*args)
    assert run.code == 2
    assert run.err.startswith(usage), run.err
    assert f"unrecognized arguments: {bad}" in run.err


def test_version(cli: CliRunner) -> None:
    run = cli("--version")
    assert run.code == 0
    assert run.out.strip() == f"nbtui {nbtui.__version__}"


def test_the_token_is_never_an_argument(cli: CliRunner, memory_keyring: MemoryKeyring) -> None:
    run = cli("token", "set", "my-secret-token")
    assert run.code == 2
    assert memory_keyring.entries == {}
    assert "my-secret-token" not in run.out
    assert cli("get", "--token", "x", UNKNOWN).code == 2


def test_unknown_command_is_a_usage_error(cli: CliRunner) -> None:
    assert cli("frobnicate").code == 2
    assert cli("get").code == 2  # ids are required
    assert cli("watch", UNKNOWN, "--interval", "-1").code == 2


def test_global_options_work_after_the_command_too(
    cli: CliRunner, api: SimServer, tmp_path: Path
) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    data = tmp_path / "elsewhere"
    assert cli("add", task, "--data-dir", str(data)).code == 0
    assert cli("--data-dir", str(data), "list", "--json").code == 0
    assert [
        row["id"] for row in json.loads(cli("list", "--json", "--data-dir", str(data)).out)
    ] == [task]
    assert json.loads(cli("list", "--json").out) == []  # the default data dir is untouched


# -- get ---------------------------------------------------------------------------------


def test_get_json_shape(cli: CliRunner, api: SimServer) -> None:
    ok = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0, count=2)
    bad = api.state.add_task(
        outcome="failed",
        pending_seconds=0,
        running_seconds=0,
        error_code="api_error",
        error_message="fetch failed",
    )
    waiting = api.state.add_task(outcome="succeeded", pending_seconds=1000)
    run = cli("get", "--json", ok, UNKNOWN.upper(), bad, waiting)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert [item["id"] for item in data] == [ok, UNKNOWN, bad, waiting]
    assert all(list(item) == GET_KEYS for item in data)
    by_id: dict[str, dict[str, Any]] = {item["id"]: item for item in data}
    assert by_id[ok]["state"] == "succeeded"
    assert len(by_id[ok]["images"]) == 2
    assert all(url.startswith("http") for url in by_id[ok]["images"])
    assert by_id[ok]["error"] is None
    assert by_id[ok]["record"]["id"] == ok
    assert by_id[ok]["record"]["response"]["success"] is True
    assert by_id[UNKNOWN]["state"] == "not_found"
    assert by_id[UNKNOWN]["record"] is None
    assert by_id[UNKNOWN]["images"] == []
    assert by_id[UNKNOWN]["error"]["code"] == "not_found"
    assert by_id[bad]["state"] == "failed"
    assert by_id[bad]["error"] == {"code": "api_error", "message": "fetch failed"}
    assert by_id[waiting]["state"] == "pending"
    assert by_id[waiting]["error"] is None
    # One batched request for all four ids.
    requests = api.state.api_requests()
    assert len(requests) == 1
    assert requests[0].body["action"] == "retrieve_batch"


def test_get_human_lines(cli: CliRunner, api: SimServer) -> None:
    ok = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    moderated = api.state.add_task(outcome="moderated", pending_seconds=0, running_seconds=0)
    run = cli("get", ok, moderated, UNKNOWN)
    assert run.code == 0
    lines = run.lines
    assert len(lines) == 3
    assert lines[0].startswith(f"{ok}  succeeded  1 image ")
    assert lines[0].rstrip().endswith(".png")
    assert lines[1].startswith(f"{moderated}  failed     0 images  forbidden: ")
    assert lines[2].startswith(f"{UNKNOWN}  not found  0 images  not_found: ")


def test_get_strips_terminal_escapes_from_api_text(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(
        outcome="failed",
        pending_seconds=0,
        running_seconds=0,
        error_code="api_error",
        error_message="boom\x1b]52;c;ZXZpbA==\x07\x1b[31m red\x07",
    )
    run = cli("get", task)
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "boom red" in run.out
    as_json = cli("get", "--json", task)
    assert "\x1b" not in as_json.out  # escaped as \u001b
    assert json.loads(as_json.out)[0]["error"]["message"].startswith("boom\x1b")


def test_get_bad_ids_are_named_and_skipped(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    run = cli("get", "--json", "nope", task, "1234")
    assert run.code == 2
    assert [item["id"] for item in json.loads(run.out)] == [task]
    assert "'nope'" in run.err and "'1234'" in run.err
    assert len(api.state.api_requests()) == 1


def test_get_only_bad_ids_sends_nothing(cli: CliRunner, api: SimServer) -> None:
    run = cli("get", "not-a-uuid", "--json")
    assert run.code == 2
    assert run.out == ""
    assert "not-a-uuid" in run.err
    assert api.state.api_requests() == []


def test_get_answers_once_per_id_asked_for_repeats_included(cli: CliRunner, api: SimServer) -> None:
    a = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    b = api.state.add_task(outcome="failed", pending_seconds=0, running_seconds=0)
    run = cli("get", "--json", a, b, f" {a.upper()} ")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    # One object per requested id, in order: a script can zip its input with the output.
    assert [item["id"] for item in data] == [a, b, a]
    assert [item["state"] for item in data] == ["succeeded", "failed", "succeeded"]
    # ...while each id is fetched once.
    (request,) = api.state.api_requests()
    assert request.body["ids"] == [a, b]


def test_get_and_watch_read_ids_from_stdin(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{a}\n{UNKNOWN}\n"))
    run = cli("get", "--json", "-")
    assert run.code == 0, run.err
    assert [item["id"] for item in json.loads(run.out)] == [a, UNKNOWN]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{a}\n"))
    assert cli("watch", "-").code == 0


@pytest.mark.parametrize("command", ["get", "watch"])
def test_get_and_watch_with_no_ids_say_so(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Used to exit 2 without a word.
    assert one_error_line(cli(command, "").err) == "nbtui: error: no task ids given"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    run = cli(command, "-")
    assert run.code == 2
    assert one_error_line(run.err) == "nbtui: error: no task ids given"
    assert api.state.api_requests() == []


def test_get_without_a_token_is_a_usage_error(
    cli: CliRunner, sim_server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim_server.base_url)
    run = cli("get", UNKNOWN)
    assert run.code == 2
    line = one_error_line(run.err)
    assert "nbtui token set" in line and "ACEDATACLOUD_API_TOKEN" in line
    assert sim_server.state.api_requests() == []


def test_get_uses_the_keyring_token(
    cli: CliRunner, sim_server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim_server.base_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert cli("token", "set").code == 0
    run = cli("get", "--json", UNKNOWN)
    assert run.code == 0, run.err
    assert sim_server.state.api_requests()[0].auth_ok


def test_get_updates_tracked_tasks_only(cli: CliRunner, api: SimServer) -> None:
    tracked = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    other = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    assert cli("add", tracked).code == 0
    assert cli("get", tracked, other).code == 0
    with data_store() as store:
        assert store.ids() == [tracked]
        row = store.get(tracked)
        assert row is not None and row.state.value == "succeeded" and row.raw is not None


def test_get_401_exits_1_with_one_line(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "wrong-token-1234567890")
    run = cli("get", "--json", UNKNOWN)
    assert run.code == 1
    assert run.out == ""
    line = one_error_line(run.err)
    assert "token" in line.lower() and "401" in line
    assert "wrong-token-1234567890" not in run.err
    assert len(api.state.api_requests()) == 1  # never retried


def test_get_retries_a_429_then_succeeds(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    api.state.inject_fault("429", retry_after=0)
    run = cli("get", "--json", task)
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["state"] == "succeeded"
    assert len(api.state.api_requests()) == 2


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("500", "temporary problem"),
        ("502_html", "HTML"),
        ("truncated", "not valid JSON"),
        ("empty", "empty body"),
        ("403_used_up", "balance"),
        ("wrong_shape", "shape"),
        ("reset", "closed the connection"),
        ("504", "temporary problem"),
    ],
)
def test_get_fault_exits_1(
    cli: CliRunner, api: SimServer, fast_failures: Path, fault: str, words: str
) -> None:
    api.state.inject_fault(fault, times=5)
    run = cli("get", "--json", UNKNOWN)
    assert run.code == 1
    assert run.out == ""
    assert words in one_error_line(run.err)
    assert_no_traceback(run.err)
    # Bounded: two attempts for transient faults (max_attempts = 2), one for a refusal.
    assert len(api.state.api_requests()) == (1 if fault == "403_used_up" else 2)


def test_get_with_a_record_it_cannot_attribute_fails_whole(cli: CliRunner, api: SimServer) -> None:
    """All or nothing: a script never gets a partial answer that looks complete."""
    ids = [api.state.add_task(outcome="succeeded", pending_seconds=0) for _ in range(2)]
    api.state.inject_fault("missing_id")
    run = cli("get", "--json", *ids)
    assert run.code == 1
    assert run.out == ""
    assert "without a task id" in one_error_line(run.err)


def test_get_huge_answer_is_read(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    api.state.inject_fault("huge")
    run = cli("get", "--json", task)
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["state"] == "succeeded"


def test_get_slow_answer_times_out(cli: CliRunner, api: SimServer, config_file: Path) -> None:
    config_file.write_text("max_attempts = 1\ntimeout = 0.3\n", encoding="utf-8")
    api.state.inject_fault("slow", delay=1.0)
    run = cli("get", UNKNOWN)
    assert run.code == 1
    assert "within 0.3 s" in one_error_line(run.err)


def test_get_connection_refused(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, fast_failures: Path
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    run = cli("--base-url", "http://127.0.0.1:9", "get", UNKNOWN)
    assert run.code == 1
    assert "connection refused" in one_error_line(run.err)


def test_base_url_flag_beats_the_environment(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    config_file.write_text('base_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", "http://127.0.0.1:9")
    assert cli("--base-url", api.base_url, "get", UNKNOWN).code == 0
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", api.base_url)
    assert cli("get", UNKNOWN).code == 0  # env beats the config file
    assert len(api.state.api_requests()) == 2


def test_plain_http_to_a_remote_host_warns(cli: CliRunner) -> None:
    run = cli("--base-url", "http://api.example.com", "get", UNKNOWN)
    assert "nbtui: warning: http://api.example.com is plain http" in run.err
    assert run.code == 2  # and no token here, so nothing was sent


def test_invalid_config_is_a_usage_error(cli: CliRunner, config_file: Path) -> None:
    config_file.write_text("poll_interval = 0\n", encoding="utf-8")
    run = cli("list")
    assert run.code == 2
    assert "poll_interval" in run.err
    assert_no_traceback(run.err)


@pytest.mark.parametrize(
    "url", ["http://user:pw@127.0.0.1:9", "http:///x", "http://[bad", "http://127.0.0.1:99999"]
)
def test_unusable_base_url_is_a_usage_error_not_a_traceback(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    run = cli("--base-url", url, "get", UNKNOWN)
    assert run.code == 2
    assert "base_url" in run.err
    assert_no_traceback(run.err)


def test_corrupt_database_exits_1_naming_the_file(cli: CliRunner) -> None:
    data = Path(os.environ["NBTUI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    (data / "tasks.db").write_bytes(b"this is not a database" * 10)
    run = cli("list")
    assert run.code == 1
    assert str(data / "tasks.db") in one_error_line(run.err)
    assert (data / "tasks.db").read_bytes().startswith(b"this is not")


def test_interrupt_exits_130(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli_module.COMMANDS, "list", interrupted)
    run = cli("list")
    assert run.code == 130
    assert_no_traceback(run.err)


# -- watch -------------------------------------------------------------------------------


def test_watch_until_all_succeed(cli: CliRunner, api: SimServer) -> None:
    ids = [
        api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0.3)
        for _ in range(3)
    ]
    run = cli("watch", "--interval", "1", "--json", *ids)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert [item["id"] for item in data] == ids
    assert all(list(item) == GET_KEYS for item in data)
    assert {item["state"] for item in data} == {"succeeded"}
    # Progress went to stderr, as plain lines (not a terminal here).
    assert "watching: 3/3 finished (3 succeeded)" in run.err.splitlines()
    assert "\r" not in run.err
    # Batched: one request per cycle, and it stopped as soon as all were done.
    requests = api.state.api_requests()
    assert all(r.body["action"] == "retrieve_batch" for r in requests)
    assert 1 <= len(requests) <= 3


def test_watch_answers_once_per_id_asked_for(cli: CliRunner, api: SimServer) -> None:
    a = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    b = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    run = cli("watch", "--json", b, a, b)
    assert run.code == 0, run.err
    assert [item["id"] for item in json.loads(run.out)] == [b, a, b]


def test_watch_exits_1_when_a_task_fails_or_is_unknown(cli: CliRunner, api: SimServer) -> None:
    ok = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    failed = api.state.add_task(outcome="failed", pending_seconds=0, running_seconds=0)
    run = cli("watch", ok, failed, UNKNOWN)
    assert run.code == 1
    assert [line.split()[1] for line in run.lines] == ["succeeded", "failed", "not"]
    assert len(api.state.api_requests()) == 1  # all finished at the first poll


def test_watch_timeout_exits_1(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="never")
    run = cli("watch", "--timeout", "0.2", "--json", task)
    assert run.code == 1
    assert json.loads(run.out)[0]["state"] in ("pending", "running")
    assert "timed out after 0.2 s with 1 task(s) not finished" in run.err


def test_watch_stops_at_once_on_401(
    cli: CliRunner, api: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "another-wrong-token")
    run = cli("watch", UNKNOWN)
    assert run.code == 1
    assert run.out == ""
    assert "401" in next(line for line in run.err.splitlines() if line.startswith("nbtui: error"))
    assert "press t to" not in run.err  # the app's wording stays in the app
    assert len(api.state.api_requests()) == 1


def test_watch_rides_out_a_transient_fault(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    # The client's own retries (4 attempts) absorb two 5xx answers within one cycle.
    api.state.inject_fault("503_html", times=2)
    run = cli("watch", "--json", task)
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["state"] == "succeeded"
    assert len(api.state.api_requests()) == 3


def test_watch_under_a_persistent_fault_is_bounded_and_times_out(
    cli: CliRunner, api: SimServer, fast_failures: Path
) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    api.state.inject_fault("500", times=100)
    run = cli("watch", "--interval", "1", "--timeout", "1.5", task)
    assert run.code == 1
    assert "server error (HTTP 500), retrying in" in run.err
    assert "timed out after 1.5 s" in run.err
    # Two attempts per cycle (max_attempts = 2), cycles at least 1 s apart.
    assert 2 <= len(api.state.api_requests()) <= 4
    assert_no_traceback(run.err)


def test_progress_is_one_updating_line_on_a_terminal() -> None:
    from nbtui.api.models import TaskState
    from nbtui.cli import _Progress

    stream = io.StringIO()
    progress = _Progress(stream, 2, tty=True)
    progress.show({"a": TaskState.RUNNING, "b": TaskState.PENDING}, None)
    progress.show({"a": TaskState.RUNNING, "b": TaskState.PENDING}, None)  # same: not redrawn
    progress.show({"a": TaskState.SUCCEEDED, "b": TaskState.RUNNING}, None)
    progress.end()
    assert stream.getvalue() == (
        "\r\x1b[2Kwatching: 0/2 finished (1 pending, 1 running)"
        "\r\x1b[2Kwatching: 1/2 finished (1 running, 1 succeeded)\n"
    )


def test_watch_updates_tracked_tasks(cli: CliRunner, api: SimServer) -> None:
    task = api.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    cli("add", task)
    assert cli("watch", task).code == 0
    with data_store() as store:
        row = store.get(task)
        assert row is not None and row.state.value == "succeeded"


# -- add / remove / list -----------------------------------------------------------------


def test_add_list_remove(cli: CliRunner) -> None:
    a = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
    b = "1ebe4f2b-0000-4000-8000-000000000001"
    run = cli("add", "--label", "cats", a, b.upper())
    assert run.code == 0
    assert run.lines == [f"{a}  added", f"{b}  added"]
    assert cli("add", a).lines == [f"{a}  already tracked"]
    listed = json.loads(cli("list", "--json").out)
    assert {row["id"] for row in listed} == {a, b}
    for row in listed:
        assert {"id", "state", "label", "first_seen", "last_refreshed", "images", "error"} <= set(
            row
        )
        assert row["state"] == "pending"
        assert row["label"] == "cats"
        assert row["last_refreshed"] is None
    human = cli("list")
    assert len(human.lines) == 2 and "[cats]" in human.out
    run = cli("remove", a, UNKNOWN)
    assert run.code == 0
    assert run.lines == [f"{a}  removed", f"{UNKNOWN}  not tracked"]
    assert [row["id"] for row in json.loads(cli("list", "--json").out)] == [b]


def test_add_takes_several_labels_and_refuses_a_bad_one_before_writing(cli: CliRunner) -> None:
    task = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
    bad = cli("add", "--label", "ok, bell\x07", task)
    assert bad.code == 2 and "--label: A label cannot contain control" in bad.err
    assert json.loads(cli("list", "--json").out) == []
    assert cli("add", "--label", "draft, client-x", task).code == 0
    (row,) = json.loads(cli("list", "--json").out)
    assert row["label"] == "client-x, draft"


def test_add_from_stdin_with_bad_ids(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    a = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
    b = "1ebe4f2b-0000-4000-8000-000000000001"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{a}, junk\n{b}\n\n{a}"))
    run = cli("add", "-")
    assert run.code == 2
    assert run.lines == [f"{a}  added", f"{b}  added"]
    assert "'junk'" in run.err
    assert cli("add", "junk-only").code == 2
    assert len(json.loads(cli("list", "--json").out)) == 2


def test_list_empty(cli: CliRunner) -> None:
    run = cli("list")
    assert run.code == 0
    assert run.out == ""
    assert "nbtui add" in run.err
    assert cli("list", "--json").out.strip() == "[]"


# -- token -------------------------------------------------------------------------------


def test_token_set_status_clear(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    secret = "tok-abcdefghijklmnop-WXYZ"
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    run = cli("token", "set")
    assert run.code == 0
    assert memory_keyring.entries == {("nbtui", "default"): secret}
    status = cli("token", "status")
    assert status.code == 0
    assert "keyring" in status.out and "WXYZ" in status.out
    clear = cli("token", "clear")
    assert clear.code == 0
    assert memory_keyring.entries == {}
    assert "no token" in cli("token", "status").out
    for output in (run, status, clear):
        assert secret not in output.out + output.err


@pytest.mark.parametrize("backend", ["fail", "null"])
def test_without_a_keyring_the_error_names_only_the_variable(
    cli: CliRunner, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No keyring (none found, or one that keeps nothing): `nbtui token set` would fail too,
    so the error says one thing that works, how to set the variable."""
    import keyring
    from keyring.backends import fail, null

    keyring.set_keyring(fail.Keyring() if backend == "fail" else null.Keyring())
    run = cli("get", UNKNOWN)
    assert run.code == 2
    assert "no OS keyring is available" in run.err
    assert "export ACEDATACLOUD_API_TOKEN=<your token>" in run.err
    assert "token set" not in run.err
    monkeypatch.setattr("sys.stdin", io.StringIO("tok-abcdefghijklmnop-WXYZ\n"))
    stored = cli("token", "set")  # and `token set` says the same way out
    assert stored.code != 0 and "ACEDATACLOUD_API_TOKEN" in stored.err
    assert "no OS keyring is available" in stored.err


def test_token_set_refuses_an_empty_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    run = cli("token", "set")
    assert run.code == 2
    assert memory_keyring.entries == {}


def test_token_profiles_are_separate(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("work-token-123456789\n"))
    run = cli("--profile", "work", "token", "set")
    # A new profile starts as a keyring entry: said, and stored all the same.
    assert run.code == 0 and 'The profile "work" is not in the config file' in run.err
    assert set(memory_keyring.entries) == {("nbtui", "work")}


def test_a_missing_config_file_or_profile_is_named_on_stderr(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "warning" not in cli("list").err
    run = cli("--profile", "nosuch", "list")
    assert run.code == 0 and 'The profile "nosuch" is not in the config file' in run.err
    monkeypatch.setenv("NBTUI_CONFIG", str(tmp_path / "typo.toml"))
    run = cli("list")
    assert run.code == 0
    assert f"NBTUI_CONFIG names {tmp_path / 'typo.toml'}, which does not exist" in run.err


# -- demo --------------------------------------------------------------------------------


def test_demo_commands_need_no_token_and_keep_nothing(cli: CliRunner) -> None:
    listed = json.loads(cli("--demo", "list", "--json").out)
    assert len(listed) >= 10
    states = {row["state"] for row in listed}
    assert {"succeeded", "failed", "running"} <= states
    first = listed[0]["id"]
    run = cli("--demo", "get", "--json", first)
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["id"] == first
    # Nothing reached the real data dir.
    assert json.loads(cli("list", "--json").out) == []


def test_demo_does_not_apply_to_tokens(cli: CliRunner) -> None:
    assert cli("--demo", "token", "status").code == 2


def test_sim_without_a_token_hints_a_command_that_works(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nbtui always wants a token, so the printed `try:` line must set one even when the
    # simulator accepts anything (it used to print a command that exits 2 "no token").
    from nbtui.sim import SimState
    from nbtui.sim.server import SimInfo

    def fake_run_sim(*_args: Any, on_ready: Any = None, **_kw: Any) -> None:
        state = SimState()
        on_ready(SimInfo("http://127.0.0.1:9", None, [], state, lambda: None))

    monkeypatch.setattr("nbtui.sim.server.run_sim", fake_run_sim)
    run = cli("sim", "--token", "")
    assert run.code == 0
    assert "token: (none required)" in run.lines
    assert "try: ACEDATACLOUD_API_TOKEN=any nbtui --base-url http://127.0.0.1:9 get ID" in run.lines


def test_sim_on_every_interface_prints_a_url_a_client_can_use(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtui.sim import SimState
    from nbtui.sim.server import SimInfo

    def fake_run_sim(host: str, port: int, *_args: Any, on_ready: Any = None, **_kw: Any) -> None:
        on_ready(SimInfo(f"http://{host}:{port}", "sim-token", [], SimState(), lambda: None))

    monkeypatch.setattr("nbtui.sim.server.run_sim", fake_run_sim)
    run = cli("sim", "--host", "0.0.0.0", "--port", "9")  # noqa: S104 - run_sim is faked
    assert run.code == 0
    assert "from this machine: http://127.0.0.1:9" in run.lines
    assert not any("http://0.0.0.0" in line for line in run.lines)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--interval", "0"], "must be a positive number of seconds"),
        (["--interval", "nan"], "must be a positive number of seconds"),
        (["--interval", "soon"], "not a number"),
        (["--timeout", "-1"], "must be 0 or a positive number"),
        (["--timeout", "inf"], "must be 0 or a positive number"),
    ],
)
def test_watch_refuses_bad_durations_as_usage_errors(
    cli: CliRunner, flags: list[str], words: str
) -> None:
    run = cli("watch", "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0", *flags)
    assert run.code == 2
    assert words in run.err
