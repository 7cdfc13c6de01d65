"""The database file under other processes, a full disk and a read-only mount (issue 11 §1).

- Several processes writing (commits, checkpoints, VACUUM: the file grows and shrinks) while
  this one opens the store again and again: no open calls the healthy file damaged, and every
  id a writer was told was stored is there at the end.
- A damaged file is set aside only when no other nbtui process has it open, and the notice
  of a set-aside is repeated (CLI and app) until the app has shown it.
- A full disk (a 200 KB tmpfs, as root; skipped where it cannot be mounted): `nbtui add`
  either reports success and another process reads every id, or says "disk full" and exits
  1; the store is never called damaged and nothing is set aside once space is back.
- A read-only mount holding an existing database: the CLI names "read-only file system".
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sqlite3
import subprocess
import uuid
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest

from nbtui.tracking.store import (
    DB_NAME,
    Store,
    StoreCorruptError,
    StoreError,
)
from tests.helpers import run_nbtui

# -- several processes at once ---------------------------------------------------------------


#: Thirty labels of 64 characters: about 2 KB per task, in `tasks` and in `task_labels`.
BIG_LABELS = ", ".join(f"{n:02d}" + "x" * 62 for n in range(30))


def _churn(data_dir: str, stop: Event, done: mp.Queue[list[str]], rounds: Any) -> None:
    """A writer: adds ids (big labels so the file grows), checkpoints after each commit, and
    now and then removes its extra ids and VACUUMs (so the file shrinks and grows again).
    Sends back the ids it keeps, all of which were reported stored."""
    store = Store.open(Path(data_dir))
    side = sqlite3.connect(Path(data_dir) / DB_NAME, isolation_level=None, timeout=30)
    kept: list[str] = []
    extra: list[str] = []
    while not stop.is_set():
        ids = [str(uuid.uuid4()) for _ in range(40)]
        try:
            store.add(ids, label=BIG_LABELS)
        except StoreError:
            continue  # busy for longer than the timeout: not stored, not counted
        kept.append(ids[0])
        extra += ids[1:]
        with rounds.get_lock():
            rounds.value += 1
        try:
            side.execute("PRAGMA wal_checkpoint(PASSIVE)")
            if len(kept) % 25 == 0:
                store.remove(extra)
                extra = []
                side.execute("VACUUM")
        except (sqlite3.Error, StoreError):
            pass
    side.close()
    store.close()
    done.put(kept)


@pytest.mark.slow
def test_concurrent_writers_never_make_a_healthy_database_look_damaged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store.open(data_dir).close()
    context = mp.get_context("spawn")
    stop = context.Event()
    done: mp.Queue[list[str]] = context.Queue()
    rounds = context.Value("i", 0)
    writers = [
        context.Process(target=_churn, args=(str(data_dir), stop, done, rounds)) for _ in (1, 2)
    ]
    for writer in writers:
        writer.start()
    damaged: list[str] = []
    opens = 0
    try:
        # The writers start slowly (a fresh interpreter each): open until both have written
        # for a while as well as 150 times.
        while opens < 150 or rounds.value < 100:
            try:
                with Store.open(data_dir) as store:
                    store.ids()
            except StoreCorruptError as exc:
                damaged.append(str(exc))
            opens += 1
    finally:
        stop.set()
        kept = [done.get(timeout=60) for _ in writers]
        for writer in writers:
            writer.join(timeout=60)
    assert damaged == [], f"{len(damaged)} of {opens} opens called it damaged: {damaged[0]}"
    with Store.open(data_dir, recover=True) as store:
        assert store.recovered is None
        missing = {task_id for ids in kept for task_id in ids} - set(store.ids())
    assert sum(map(len, kept)) > 0 and not missing
    assert not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))


# -- setting aside -----------------------------------------------------------------------------


def test_a_damaged_file_is_not_set_aside_while_another_store_has_it_open(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    other = Store.open(data_dir)  # another nbtui (the flock is per open file, as per process)
    try:
        other.add([str(uuid.uuid4())])
        side = sqlite3.connect(data_dir / DB_NAME)
        side.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all in the file, none in the WAL
        side.close()
        garbage = b"not a database any more" * 400
        (data_dir / DB_NAME).write_bytes(garbage)
        with pytest.raises(StoreCorruptError, match="another nbtui process has it open"):
            Store.open(data_dir, recover=True)
        assert (data_dir / DB_NAME).read_bytes() == garbage
        assert not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))
    finally:
        other.close()
    with Store.open(data_dir, recover=True) as store:  # alone now: kept aside
        assert store.recovered is not None


def test_a_set_aside_is_told_on_every_start_until_the_app_showed_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / DB_NAME).write_bytes(b"garbage, not a database" * 300)
    with Store.open(data_dir, recover=True) as store:
        assert store.recovered is not None
        moved_to = store.recovered.moved_to
    # A later start (the first one may have died right after the rename) still says so.
    with Store.open(data_dir) as store:
        assert store.notice is not None and str(moved_to) in store.notice
    env = {"NBTUI_DATA_DIR": str(data_dir)}
    for _ in range(2):
        run = run_nbtui("list", env=env)
        assert run.code == 0 and str(moved_to) in run.err
    with Store.open(data_dir) as store:
        store.acknowledge_notice()
    run = run_nbtui("list", env=env)
    assert run.code == 0 and str(moved_to) not in run.err


# -- a full disk and a read-only mount ---------------------------------------------------------


def test_add_on_a_full_disk_reports_disk_full_or_is_durable(tmpfs: Path) -> None:
    data_dir = tmpfs / "data"
    env = {"NBTUI_DATA_DIR": str(data_dir)}
    Store.open(data_dir).close()
    stored: set[str] = set()
    outcomes: list[int] = []
    for _ in range(12):
        ids = [str(uuid.uuid4()) for _ in range(300)]
        run = run_nbtui("add", "-", env=env, stdin="\n".join(ids) + "\n")
        outcomes.append(run.code)
        assert "damaged" not in run.err
        if run.code == 0:
            assert "300 added" in run.err
            stored.update(ids)
        else:
            assert run.code == 1 and "disk full" in run.err, run.err
        # Another process reads every id it was told was added, and nothing is damaged.
        listed = run_nbtui("list", "--json", env=env)
        assert listed.code == 0 and "damaged" not in listed.err, listed.err
        assert stored <= {row["id"] for row in json.loads(listed.out)}
    assert 0 in outcomes and 1 in outcomes  # some batches fitted, the disk filled up
    # Space back (a bigger mount over the same files): the app's open keeps everything.
    subprocess.run(["mount", "-o", "remount,size=4m", str(tmpfs)], check=True)
    with Store.open(data_dir, recover=True) as store:
        assert store.recovered is None and stored <= set(store.ids())
        assert store.add([str(uuid.uuid4())])
    assert not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))


def test_a_read_only_mount_is_named(tmpfs: Path) -> None:
    data_dir = tmpfs / "data"
    with Store.open(data_dir) as store:
        store.add([str(uuid.uuid4())])
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    env = {"NBTUI_DATA_DIR": str(data_dir)}
    for args in (("list",), ("add", str(uuid.uuid4()))):
        run = run_nbtui(*args, env=env)
        assert run.code == 1, run
        assert "read-only file system" in run.err and str(data_dir) in run.err
        assert "damaged" not in run.err and "Traceback" not in run.err
    assert os.path.exists(data_dir / DB_NAME)
