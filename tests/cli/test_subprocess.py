"""`nbtui` as users and scripts run it: a real process, against the simulator over loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nbtui.sim import SimServer
from tests.helpers import ROOT, TOKEN, run_nbtui

UNKNOWN = "00000000-0000-4000-8000-000000000000"
SECRET = "sk-known-secret-token-0123456789"


@pytest.fixture
def env(sim_server: SimServer) -> dict[str, str]:
    return {"ACEDATACLOUD_API_TOKEN": TOKEN, "ACEDATACLOUD_API_BASE_URL": sim_server.base_url}


def test_python_dash_m_version() -> None:
    run = run_nbtui("--version")
    assert run.code == 0
    assert run.out.startswith("nbtui 0.")


def test_get_json_and_exit_codes(sim_server: SimServer, env: dict[str, str]) -> None:
    ok = sim_server.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    run = run_nbtui("get", "--json", ok, UNKNOWN, env=env)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert [(d["id"], d["state"]) for d in data] == [(ok, "succeeded"), (UNKNOWN, "not_found")]
    assert [list(d) for d in data] == [["id", "state", "images", "error", "record"]] * 2
    bad = run_nbtui("get", "nope", env=env)
    assert bad.code == 2
    assert bad.out == ""
    assert "'nope'" in bad.err


def test_add_from_stdin_then_watch(sim_server: SimServer, env: dict[str, str]) -> None:
    ids = [
        sim_server.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0.2)
        for _ in range(2)
    ]
    added = run_nbtui("add", "-", "--label", "batch", stdin=f"{ids[0]},{ids[1]}\n", env=env)
    assert added.code == 0, added.err
    watched = run_nbtui("watch", "--interval", "1", "--json", *ids, env=env)
    assert watched.code == 0, watched.err
    assert [d["state"] for d in json.loads(watched.out)] == ["succeeded", "succeeded"]
    listed = json.loads(run_nbtui("list", "--json", env=env).out)
    assert {(row["id"], row["state"], row["label"]) for row in listed} == {
        (ids[0], "succeeded", "batch"),
        (ids[1], "succeeded", "batch"),
    }


def test_failures_are_one_line_without_traceback(sim_server: SimServer) -> None:
    config = Path(os.environ["NBTUI_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("max_attempts = 1\n", encoding="utf-8")
    bad_token = {
        "ACEDATACLOUD_API_TOKEN": "wrong-token-abcdefghijk",
        "ACEDATACLOUD_API_BASE_URL": sim_server.base_url,
    }
    run = run_nbtui("get", UNKNOWN, env=bad_token)
    assert run.code == 1
    assert run.err.count("\n") == 1 and run.err.startswith("nbtui: error: ")
    assert "wrong-token-abcdefghijk" not in run.err
    refused = run_nbtui(
        "get",
        UNKNOWN,
        env={"ACEDATACLOUD_API_TOKEN": TOKEN, "ACEDATACLOUD_API_BASE_URL": "http://127.0.0.1:9"},
    )
    assert refused.code == 1
    assert "Traceback" not in refused.err
    assert "connection refused" in refused.err


def test_the_token_never_appears_in_any_output(sim_server: SimServer, tmp_path: Path) -> None:
    """Success and error paths, with a known token: stdout and stderr never hold it."""
    sim_server.state.config.token = SECRET
    env = {"ACEDATACLOUD_API_TOKEN": SECRET, "ACEDATACLOUD_API_BASE_URL": sim_server.base_url}
    task = sim_server.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    outputs = [
        run_nbtui("get", task, env=env),
        run_nbtui("get", "--json", task, env=env),
        run_nbtui("watch", task, env=env),
        run_nbtui("add", task, env=env),
        run_nbtui("list", "--json", env=env),
        run_nbtui("token", "status", env=env),
    ]
    sim_server.state.inject_fault("401")
    outputs.append(run_nbtui("get", task, env=env))
    sim_server.state.inject_fault("403_used_up")
    outputs.append(run_nbtui("watch", task, env=env))
    outputs.append(run_nbtui("token", "set", stdin=SECRET + "\n", env=env))
    assert [o.code for o in outputs] == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    for output in outputs:
        assert SECRET not in output.out
        assert SECRET not in output.err
    data_dir = Path(os.environ["NBTUI_DATA_DIR"])
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_sim_command_serves_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nbtui",
            "sim",
            "--port",
            "0",
            "--seed-tasks",
            "3",
            "--token",
            "T0k",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = proc.stdout.readline()
            assert line, f"sim exited early: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line.rstrip("\n"))
        url = lines[0].rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert "token: T0k" in lines
        ids = [line.strip() for line in lines if line.startswith("  ")]
        assert len(ids) == 3
        run = run_nbtui(
            "get",
            "--json",
            *ids,
            env={"ACEDATACLOUD_API_TOKEN": "T0k", "ACEDATACLOUD_API_BASE_URL": url},
        )
        assert run.code == 0, run.err
        assert [d["id"] for d in json.loads(run.out)] == ids
        assert all(d["state"] != "not_found" for d in json.loads(run.out))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_port_in_use_is_one_line(sim_server: SimServer) -> None:
    run = run_nbtui("sim", "--port", str(sim_server.port))
    assert run.code == 1
    assert run.err.startswith("nbtui: error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in run.err


def test_demo_get_as_a_process() -> None:
    listed = run_nbtui("--demo", "list", "--json")
    assert listed.code == 0
    first = json.loads(listed.out)[0]["id"]
    run = run_nbtui("--demo", "get", first)
    assert run.code == 0
    assert run.out.startswith(first)
