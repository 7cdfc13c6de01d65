"""Durability of what the user tracks, with real processes.

- `kill -9` of a process running the refresh pipeline (Monitor + client + store, as the TUI
  runs it) over a loopback simulator with 3,000 tasks, in the middle of a cycle: on reopening,
  every tracked id is there, every task that had a good record still has one, each stored
  record is a whole record of its own task, and the database passes `integrity_check`.
  (tests/tracking/test_store.py kills a bare `apply` loop; this kills the whole pipeline.)
- Two processes at once: the real app (`App.run_test`) refreshing while `nbtui add` runs as a
  subprocess on the same data dir: both succeed and the app shows and refreshes the new ids.
- A corrupt database through the CLI: exit 1, one line naming the file and the way out, the
  bad file byte-for-byte untouched and nothing new written over it. (The app's start-up path
  keeps it aside: `open_user_store`, tested with the TUI; `Store.open(recover=True)` in
  tests/tracking/test_store.py.)
- A version-1 database is migrated by the CLI and its tasks listed (the store-level migration
  test in tests/tracking/test_store.py checks every column).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nbtui.api.models import TaskState, derive_state
from nbtui.sim import SimConfig, SimServer
from nbtui.tracking.store import DB_NAME, Store
from tests.helpers import ROOT, TOKEN, CliRunner, run_nbtui

REFRESHER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from nbtui.api.client import NanoBananaClient
    from nbtui.tracking.monitor import Monitor
    from nbtui.tracking.store import Store

    async def main() -> None:
        store = Store.open(Path(sys.argv[2]))
        cycles = 0
        def cycled(report) -> None:
            nonlocal cycles
            cycles += 1
            print(cycles, report.requested, flush=True)
        async with NanoBananaClient(sys.argv[1], "sim-token", max_attempts=2) as client:
            await Monitor(client, store, interval=1.0, on_cycle=cycled).run()

    asyncio.run(main())
    """
)


def test_kill_9_mid_refresh_of_3000_tasks_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = SimConfig(token=TOKEN, latency=0.01, seed=11)
    with SimServer(config) as sim:
        # Tasks keep changing for the whole test: each refresh writes many rows.
        ids = [
            sim.state.add_task(pending_seconds=0.5, running_seconds=1.0 + (n % 40) * 0.5)
            for n in range(2_900)
        ]
        ids += [sim.state.add_task(outcome="never", pending_seconds=0) for _ in range(100)]
        with Store.open(data) as store:
            store.add(ids)
        proc = subprocess.Popen(
            [sys.executable, "-c", REFRESHER, sim.base_url, str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # two whole cycles (the first answers all 3,000)
                if int(line.split()[0]) >= 2:
                    break
            # Then kill it in the middle of the next cycle: once that cycle's requests started.
            seen = len(sim.state.api_requests())
            for _ in range(2_000):
                if len(sim.state.api_requests()) >= seen + 2:
                    break
                time.sleep(0.005)
            with Store.open(data) as view:
                had_record = {row.id for row in view.all() if row.raw is not None}
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        assert proc.returncode == -signal.SIGKILL
        assert len(had_record) == len(ids)  # every task had a good record before the kill

        conn = sqlite3.connect(data / DB_NAME)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        with Store.open(data) as store:
            rows = {row.id: row for row in store.all()}
            assert sorted(rows) == sorted(ids)
            for task_id in had_record:
                raw = rows[task_id].raw
                assert raw is not None and raw["id"] == task_id
                assert derive_state(raw) is rows[task_id].state
            assert {rows[i].state for i in ids[-100:]} == {TaskState.RUNNING}


async def test_app_sees_ids_added_by_another_process(tmp_path: Path) -> None:
    """The TUI runs; `nbtui add` runs in another process on the same database."""
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, settle

    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    fresh = [
        sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0) for _ in range(5)
    ]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        before = len(app.main.model.rows)
        env = {"NBTUI_DATA_DIR": str(tmp_path / "data")}
        added = run_nbtui("add", *fresh, "--label", "from elsewhere", env=env)
        assert added.code == 0, added.err
        # The monitor looks at the store once a second of its clock (here a fake one), sees
        # the new ids and refreshes them at once.
        clock.advance(1.5)
        await settle(
            pilot,
            lambda: all(
                i in app.main.model.rows and app.main.model.rows[i].state is TaskState.SUCCEEDED
                for i in fresh
            ),
            rounds=1_000,
        )
        assert len(app.main.model.rows) == before + 5
        assert app.main.model.rows[fresh[0]].label == "from elsewhere"
        # And the other process's later change (a removal) shows too; both stores still work.
        removed = run_nbtui("remove", fresh[0], env=env)
        assert removed.code == 0, removed.err
        clock.advance(1.5)
        await settle(pilot, lambda: fresh[0] not in app.main.model.rows, rounds=1_000)
    rows = {row.id: row for row in store.all()}
    assert all(rows[i].state is TaskState.SUCCEEDED for i in fresh[1:])


@pytest.mark.parametrize("command", ["list", "add", "remove", "get"])
def test_corrupt_database_via_the_cli_names_it_and_keeps_it(
    command: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = Path(os.environ["NBTUI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    db = data / DB_NAME
    junk = b"SQLite format 3\x00" + os.urandom(4000)  # looks like a database, is not one
    db.write_bytes(junk)
    task = "11111111-1111-4111-8111-111111111111"
    if command == "get":
        with SimServer(SimConfig(token=TOKEN)) as sim:
            sim.state.add_task(
                task_id=task, outcome="succeeded", pending_seconds=0, running_seconds=0
            )
            monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
            monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim.base_url)
            run = cli("get", task)
        # get did its job (the answer is printed) and only warns that tracking was not updated
        assert run.code == 0 and "succeeded" in run.out
        assert str(db) in run.err and "warning" in run.err
    else:
        run = cli(command, *([] if command == "list" else [task]))
        assert run.code == 1
        lines = [line for line in run.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("nbtui: error: ")
        assert str(db) in lines[0] and "damaged" in lines[0] and "nbtui" in lines[0]
        assert run.out == ""
    assert "Traceback" not in run.err
    assert db.read_bytes() == junk  # never overwritten ...
    # ... nor joined by a new one (the lock file that says who has it open is not data)
    assert sorted(p.name for p in data.iterdir() if p.name != f"{DB_NAME}.lock") == [DB_NAME]


def test_a_version_1_database_migrates_through_the_cli(cli: CliRunner) -> None:
    from nbtui.tracking.store import _SCHEMA_V1

    data = Path(os.environ["NBTUI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    task = "22222222-2222-4222-8222-222222222222"
    record = {
        "id": task,
        "request": {"action": "generate", "prompt": "old cat"},
        "response": {"success": True, "data": [{"image_url": "https://cdn.test/a.png"}]},
    }
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute(_SCHEMA_V1)
    conn.execute(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
        (task, "old", 10.0, 20.0, "succeeded", json.dumps(record), None),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    run = cli("list", "--json")
    assert run.code == 0, run.err
    [row] = json.loads(run.out)
    assert (row["id"], row["state"], row["label"]) == (task, "succeeded", "old")
    assert row["images"] == ["https://cdn.test/a.png"]
