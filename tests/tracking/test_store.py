"""The SQLite store: tracking semantics, durability, concurrency, damage and migration."""

from __future__ import annotations

import copy
import json
import os
import pickle
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from nbtui.api.models import RULES_VERSION, Task, TaskState
from nbtui.tracking.store import (
    DB_NAME,
    SCHEMA_VERSION,
    Store,
    StoreCorruptError,
    StoreError,
    TrackedTask,
)

ROOT = Path(__file__).resolve().parents[2]


def new_id() -> str:
    return str(uuid.uuid4())


def record(task_id: str, outcome: str = "succeeded", **extra: Any) -> dict[str, Any]:
    """A task record shaped like docs/api.md ("The task record")."""
    raw: dict[str, Any] = {
        "id": task_id,
        "type": "images",
        "created_at": 1757183036.5,
        "started_at": 1757183037.0,
        "request": {"action": "generate", "prompt": "a white siamese cat", "model": "nano-banana"},
    }
    if outcome == "running":
        raw["response"] = {"task_id": task_id}
    elif outcome == "succeeded":
        raw["finished_at"] = 1757183048.0
        raw["response"] = {
            "success": True,
            "task_id": task_id,
            "data": [
                {
                    "prompt": "a white siamese cat",
                    "image_url": f"https://cdn.example/{task_id}.png",
                },
                {
                    "prompt": "a white siamese cat",
                    "image_url": f"https://cdn.example/{task_id}b.png",
                },
            ],
        }
    elif outcome == "failed":
        raw["finished_at"] = 1757183048.0
        raw["response"] = {
            "success": False,
            "error": {"code": "forbidden", "message": "refused by the safety filter"},
        }
    raw.update(extra)
    return raw


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nbtui"


@pytest.fixture
def store(data_dir: Path) -> Any:
    with Store.open(data_dir) as opened:
        yield opened


# -- opening ----------------------------------------------------------------------------------


def test_open_creates_a_private_data_dir_and_a_wal_database(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        assert store.path == data_dir / DB_NAME
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert store.all() == []
    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_reopening_keeps_everything(data_dir: Path) -> None:
    a, b = new_id(), new_id()
    with Store.open(data_dir) as store:
        store.add([a, b], label="cats", now=10.0)
        store.apply([Task.from_raw(record(a))], {}, now=20.0)
    with Store.open(data_dir) as store:
        rows = {row.id: row for row in store.all()}
        assert set(rows) == {a, b}
        assert rows[a].state is TaskState.SUCCEEDED
        assert rows[a].raw == record(a)
        assert rows[a].label == "cats"
        assert rows[b].state is TaskState.PENDING and rows[b].raw is None


def test_closed_store_refuses_with_a_message_naming_the_file(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed") as info:
        store.all()
    assert str(store.path) in str(info.value)


# -- add / remove / list ----------------------------------------------------------------------


def test_add_returns_only_new_ids_normalized_and_deduplicated(store: Store) -> None:
    a, b = new_id(), new_id()
    assert store.add([a, f"  {a.upper()} ", b], now=1.0) == [a, b]
    assert store.add([b, a], now=2.0) == []
    assert sorted(store.ids()) == sorted([a, b])
    assert store.get(f" {a.upper()}") == store.get(a) is not None  # ids are normalized


def test_label_applies_to_new_ids_only(store: Store) -> None:
    a, b = new_id(), new_id()
    store.add([a], label="first", now=1.0)
    store.add([a, b], label="second", now=2.0)
    assert store.get(a).label == "first"  # type: ignore[union-attr]
    assert store.get(b).label == "second"  # type: ignore[union-attr]


def test_all_is_newest_first_and_a_pasted_batch_keeps_its_order(store: Store) -> None:
    old = [new_id() for _ in range(3)]
    new = [new_id() for _ in range(2)]
    store.add(old, now=100.0)
    store.add(new, now=200.0)
    assert [row.id for row in store.all()] == new + old


def test_remove_returns_what_was_tracked(store: Store) -> None:
    a, b = new_id(), new_id()
    store.add([a, b], now=1.0)
    assert store.remove([a, new_id()]) == [a]
    assert store.remove([a]) == []
    assert store.ids() == [b]
    assert store.get(a) is None


def test_untracking_many_and_then_every_task_is_seen_and_can_be_undone(data_dir: Path) -> None:
    """Some of many tasks, then all that are left (emptied at once): each returns what was
    tracked in the order given, takes the labels along, and another connection's change
    feed lists every removed id; a removed id can be tracked again, starting clean."""
    ids = [new_id() for _ in range(1200)]  # more than one parameter chunk
    with Store.open(data_dir) as store, Store.open(data_dir) as other:
        store.add(ids, label="batch", now=1.0)
        token = other.change_token()
        first = ids[::2]
        unknown = new_id()
        assert store.remove([unknown, *reversed(first), first[0].upper()]) == first[::-1]
        assert sorted(store.ids()) == sorted(ids[1::2])
        rest = ids[1::2]
        assert store.remove([*rest, unknown, *first], now=2.0) == rest
        assert store.ids() == []
        assert store.all_labels() == {}
        changes = other.changed_since(token)
        assert sorted(changes.removed) == sorted(ids)
        assert changes.rows == []
        assert store.add([ids[0]], now=3.0) == [ids[0]]
        assert store.labels(ids[0]) == []
        assert other.changed_since(changes.token).removed == []
        assert [row.id for row in other.changed_since(changes.token).rows] == [ids[0]]


def test_untracking_exactly_every_task_empties_at_once_and_logs_each(data_dir: Path) -> None:
    """The given ids are exactly the tracked ones (every task marked): the tables are emptied
    at once, and the answer and the change feed are the same as a row-by-row removal's."""
    ids = [new_id() for _ in range(700)]
    with Store.open(data_dir) as store, Store.open(data_dir) as other:
        store.add(ids, label="batch", now=1.0)
        token = other.change_token()
        given = ids[::-1]
        assert store.remove(given, now=2.0) == given
        assert store.ids() == [] and store.all_labels() == {}
        assert sorted(other.changed_since(token).removed) == sorted(ids)
        store.add(ids[:2], now=3.0)
        # Two of them given with a third, untracked: not every given id is tracked.
        assert store.remove([ids[1], new_id()], now=4.0) == [ids[1]]
        assert store.ids() == [ids[0]]


def test_unfinished_ids_are_pending_and_running_only(store: Store) -> None:
    ids = {outcome: new_id() for outcome in ("pending", "running", "succeeded", "failed")}
    gone = new_id()
    store.add([*ids.values(), gone], now=1.0)
    store.apply(
        [Task.from_raw(record(ids[o], o)) for o in ("running", "succeeded", "failed")]
        + [Task.not_found(gone)],
        {},
        now=2.0,
    )
    assert sorted(store.unfinished_ids()) == sorted([ids["pending"], ids["running"]])


# -- apply ------------------------------------------------------------------------------------


def test_apply_returns_only_rows_whose_state_or_record_changed(store: Store) -> None:
    a, b = new_id(), new_id()
    store.add([a, b], now=1.0)
    changed = store.apply(
        [Task.from_raw(record(a, "running")), Task.from_raw(record(b, "running"))], {}, now=2.0
    )
    assert [row.id for row in changed] == [a, b]
    assert all(row.state is TaskState.RUNNING for row in changed)

    # The same answers again: nothing changed, only the refresh time moves.
    again = store.apply(
        [Task.from_raw(record(a, "running")), Task.from_raw(record(b, "running"))], {}, now=3.0
    )
    assert again == []
    assert store.get(a).last_refreshed == 3.0  # type: ignore[union-attr]

    # Key order of the JSON does not count as a change.
    shuffled = dict(reversed(list(record(a, "running").items())))
    assert store.apply([Task.from_raw(shuffled)], {}, now=4.0) == []
    # The record reads back in the service's own key order (what the JSON viewer shows).
    assert list(store.get(a).raw) == list(record(a, "running"))  # type: ignore[union-attr, arg-type]

    done = store.apply([Task.from_raw(record(a, "succeeded"))], {}, now=5.0)
    assert [(row.id, row.state) for row in done] == [(a, TaskState.SUCCEEDED)]
    row = done[0]
    assert row.raw == record(a, "succeeded")
    assert row.image_count == 2
    assert row.prompt == "a white siamese cat"
    assert row.model == "nano-banana"
    assert row.action == "generate"
    assert (row.created_at, row.started_at, row.finished_at) == (
        1757183036.5,
        1757183037.0,
        1757183048.0,
    )
    assert row == store.get(a)


def test_a_changed_record_with_the_same_state_is_reported(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    store.apply([Task.from_raw(record(a, "running"))], {}, now=2.0)
    changed = store.apply([Task.from_raw(record(a, "running", elapsed=3.0))], {}, now=3.0)
    assert [row.id for row in changed] == [a]
    assert changed[0].raw is not None and changed[0].raw["elapsed"] == 3.0


def test_errors_never_overwrite_the_last_good_record(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    store.apply([Task.from_raw(record(a))], {}, now=2.0)

    assert store.apply([], {a: "HTTP 502: bad gateway"}, now=3.0) == []
    row = store.get(a)
    assert row is not None
    assert row.state is TaskState.SUCCEEDED
    assert row.raw == record(a)
    assert row.last_error == "HTTP 502: bad gateway"
    assert row.last_refreshed == 2.0  # the failed attempt is not a refresh
    assert row.last_error_at == 3.0

    # A good answer clears the error, even when the record itself is unchanged.
    assert store.apply([Task.from_raw(record(a))], {}, now=4.0) == []
    row = store.get(a)
    assert row is not None and row.last_error is None and row.last_refreshed == 4.0


def test_an_answer_beats_an_error_for_the_same_id(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    changed = store.apply([Task.from_raw(record(a))], {a: "timeout"}, now=2.0)
    assert [row.id for row in changed] == [a]
    assert store.get(a).last_error is None  # type: ignore[union-attr]


def test_not_found_keeps_the_last_good_record(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    store.apply([Task.from_raw(record(a, "running"))], {}, now=2.0)
    changed = store.apply([Task.not_found(a)], {}, now=3.0)
    assert [row.state for row in changed] == [TaskState.NOT_FOUND]
    row = store.get(a)
    assert row is not None
    assert row.raw == record(a, "running")
    assert row.error_code == "not_found"
    task = row.to_task()
    assert task.state is TaskState.NOT_FOUND and task.raw == record(a, "running")
    assert task.error is not None and task.error.code == "not_found"


def test_failed_task_keeps_its_error_in_columns_and_in_to_task(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    store.apply([Task.from_raw(record(a, "failed"))], {}, now=2.0)
    row = store.get(a)
    assert row is not None
    assert (row.error_code, row.error_message) == ("forbidden", "refused by the safety filter")
    task = row.to_task()
    assert task.state is TaskState.FAILED
    assert task.error is not None and task.error.is_moderation


def test_apply_ignores_ids_that_are_not_tracked(store: Store) -> None:
    """A task removed while its refresh was in flight must not come back."""
    a, b = new_id(), new_id()
    store.add([a, b], now=1.0)
    store.remove([b])
    changed = store.apply(
        [Task.from_raw(record(a)), Task.from_raw(record(b)), Task.from_raw(record(new_id()))],
        {b: "boom"},
        now=2.0,
    )
    assert [row.id for row in changed] == [a]
    assert store.ids() == [a]


def test_apply_is_one_transaction(store: Store, data_dir: Path) -> None:
    """Another connection sees all of a refresh or none of it."""
    ids = [new_id() for _ in range(1200)]  # more than one parameter chunk
    store.add(ids, now=1.0)
    watcher = sqlite3.connect(data_dir / DB_NAME)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
    try:
        store.apply([Task.from_raw(record(i)) for i in ids], {}, now=2.0)
    finally:
        store._conn.set_trace_callback(None)  # type: ignore[union-attr]
    transactions = [s for s in statements if s.split()[0].upper() in ("BEGIN", "COMMIT")]
    assert transactions == ["BEGIN IMMEDIATE", "COMMIT"]
    counts = watcher.execute("SELECT state, count(*) FROM tasks GROUP BY state").fetchall()
    assert counts == [("succeeded", 1200)]
    watcher.close()


def test_a_failing_write_rolls_back_everything(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)

    class Exploding(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("boom")

    good = Task.from_raw(record(a))
    bad = Task(id=a, raw=Exploding(id=a), state=TaskState.SUCCEEDED)
    with pytest.raises(RuntimeError):
        store.apply([good, bad], {}, now=2.0)
    row = store.get(a)
    assert row is not None and row.state is TaskState.PENDING and row.raw is None
    # The store is still usable afterwards.
    assert [r.id for r in store.apply([good], {}, now=3.0)] == [a]


def test_odd_records_are_stored_verbatim(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    odd = {"id": a, "created_at": "yesterday", "request": "not an object", "ünïcode": "猫"}
    store.apply([Task.from_raw(odd)], {}, now=2.0)
    row = store.get(a)
    assert row is not None and row.raw == odd
    assert row.created_at is None and row.prompt is None and row.image_count == 0


# -- TrackedTask --------------------------------------------------------------------------------


def test_tracked_task_is_immutable_and_its_repr_stays_short(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    store.apply([Task.from_raw(record(a))], {}, now=2.0)
    row = store.all()[0]
    with pytest.raises(AttributeError):
        row.label = "x"  # type: ignore[misc, unused-ignore]  # read-only: the point
    assert "siamese" not in repr(row) and a in repr(row)
    assert "has_raw=True" in repr(row)
    changed = row.replace(label="new")
    assert changed.label == "new" and changed.raw == row.raw and row.label is None


def test_tracked_task_copies_and_pickles(store: Store) -> None:
    a = new_id()
    store.add([a], label="l", now=1.0)
    store.apply([Task.from_raw(record(a))], {}, now=2.0)
    row = store.all()[0]
    assert copy.copy(row) is row
    for clone in (copy.deepcopy(row), pickle.loads(pickle.dumps(row))):  # noqa: S301
        assert clone == row and clone.raw == record(a) and clone.image_count == 2


def test_tracked_task_built_by_hand_works_like_a_stored_one() -> None:
    a = new_id()
    row = TrackedTask(a, "lbl", 1.0, None, TaskState.SUCCEEDED, record(a), None)
    assert row.raw == record(a) and row.to_task().image_urls
    bare = TrackedTask(a, None, 1.0, None, TaskState.PENDING)
    assert bare.raw is None and "has_raw=False" in repr(bare)
    assert bare.to_task().state is TaskState.PENDING


# -- change detection across connections --------------------------------------------------------


def test_changed_since_sees_another_connections_adds_changes_and_removals(data_dir: Path) -> None:
    a, b, c = new_id(), new_id(), new_id()
    with Store.open(data_dir) as viewer, Store.open(data_dir) as other:
        viewer.add([a, b], now=1.0)
        token = viewer.change_token()
        assert not viewer.changed_since(token)

        other.add([c], now=2.0)
        other.remove([b])
        other.apply([Task.from_raw(record(a))], {}, now=3.0)

        changes = viewer.changed_since(token)
        assert {row.id for row in changes.rows} == {a, c}
        assert changes.removed == [b]
        assert changes.token == viewer.change_token() > token
        assert not viewer.changed_since(changes.token)

        # Refreshes that change nothing do not move the token (no needless reloads).
        other.apply([Task.from_raw(record(a))], {}, now=4.0)
        assert viewer.change_token() == changes.token

        # A token from some other (e.g. replaced) database means: resynchronise everything.
        assert {row.id for row in viewer.changed_since(10**9).rows} == {a, c}

        # Re-adding a removed id drops it from the removal log.
        other.add([b], now=5.0)
        again = viewer.changed_since(changes.token)
        assert [row.id for row in again.rows] == [b] and again.removed == []


def test_error_changes_are_visible_to_other_views(store: Store) -> None:
    a = new_id()
    store.add([a], now=1.0)
    token = store.change_token()
    store.apply([], {a: "HTTP 500"}, now=2.0)
    changes = store.changed_since(token)
    assert [(row.id, row.last_error) for row in changes.rows] == [(a, "HTTP 500")]
    same = store.change_token()
    store.apply([], {a: "HTTP 500"}, now=3.0)  # the same error again is not news
    assert store.change_token() == same


# -- concurrency ------------------------------------------------------------------------------


def test_worker_thread_writes_while_the_main_thread_reads(store: Store) -> None:
    ids = [new_id() for _ in range(300)]
    store.add(ids, now=1.0)
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for start in range(0, len(ids), 30):
                chunk = ids[start : start + 30]
                store.apply([Task.from_raw(record(i)) for i in chunk], {}, now=2.0)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        assert len(store.all()) == 300
    thread.join()
    assert failures == []
    assert store.unfinished_ids() == []


def test_a_writer_waits_for_another_connections_transaction(data_dir: Path) -> None:
    a, b = new_id(), new_id()
    with Store.open(data_dir) as first, Store.open(data_dir) as second:
        first.add([a], now=1.0)
        holding = threading.Event()
        release = threading.Event()
        results: list[list[str]] = []

        def hold(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE tasks SET label = 'held' WHERE id = ?", (a,))
            holding.set()
            release.wait(30)

        holder = threading.Thread(target=lambda: first._write(hold))
        holder.start()
        assert holding.wait(30)
        adder = threading.Thread(target=lambda: results.append(second.add([b], now=2.0)))
        adder.start()
        release.set()
        holder.join()
        adder.join()
        assert results == [[b]]
        assert sorted(second.ids()) == sorted([a, b])
        assert second.get(a).label == "held"  # type: ignore[union-attr]


ADD_SCRIPT = """
import sys
from pathlib import Path
from nbtui.tracking.store import Store
with Store.open(Path(sys.argv[1])) as store:
    print("opened", flush=True)
    sys.stdin.readline()
    print(" ".join(store.add(sys.argv[2:], label="from cli", now=50.0)), flush=True)
"""


def test_another_process_adds_while_this_one_holds_the_store(data_dir: Path) -> None:
    """The TUI (here) keeps the store open and even holds a write; `nbtui add` still works."""
    mine, theirs = new_id(), [new_id(), new_id()]
    with Store.open(data_dir) as store:
        store.add([mine], now=1.0)
        token = store.change_token()
        proc = subprocess.Popen(
            [sys.executable, "-c", ADD_SCRIPT, str(data_dir), *theirs],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "opened"
        held = threading.Event()
        release = threading.Event()

        def hold(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE tasks SET last_refreshed = 5.0 WHERE id = ?", (mine,))
            held.set()
            release.wait(30)

        holder = threading.Thread(target=lambda: store._write(hold))
        holder.start()
        assert held.wait(30)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        release.set()  # the other process waits on the busy timeout, then goes ahead
        holder.join()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.split() == theirs

        changes = store.changed_since(token)
        assert sorted(row.id for row in changes.rows) == sorted(theirs)
        assert all(row.label == "from cli" for row in changes.rows)
        assert len(store.all()) == 3


KILL_SCRIPT = """
import sys, json
from pathlib import Path
from nbtui.api.models import Task
from nbtui.tracking.store import Store
ids = json.loads(sys.stdin.readline())
store = Store.open(Path(sys.argv[1]))
store.add(ids, now=1.0)
round = 0
while True:
    round += 1
    tasks = [Task.from_raw({"id": i, "round": round, "response": {"success": True,
             "data": [{"image_url": "https://cdn.example/" + i + ".png"}]}}) for i in ids]
    store.apply(tasks, {}, now=float(round))
    print(round, flush=True)
"""


def test_kill_9_in_the_middle_of_refreshes_loses_nothing_committed(data_dir: Path) -> None:
    ids = [new_id() for _ in range(2000)]
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(ids) + "\n")
    proc.stdin.flush()
    committed = 0
    while committed < 3:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        committed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stdin.close()
    if proc.stderr:
        proc.stderr.close()

    with Store.open(data_dir) as store:
        rows = store.all()
        assert sorted(row.id for row in rows) == sorted(ids)
        rounds = {row.raw["round"] for row in rows if row.raw is not None}
        assert all(row.state is TaskState.SUCCEEDED for row in rows)
        # One transaction per refresh: every row carries the same round, never a mixture.
        assert len(rounds) == 1 and rounds.pop() >= committed


# -- damage -----------------------------------------------------------------------------------


def _populated(data_dir: Path, n: int = 400) -> list[str]:
    ids = [new_id() for _ in range(n)]
    with Store.open(data_dir) as store:
        store.add(ids, now=1.0)
        store.apply([Task.from_raw(record(i)) for i in ids], {}, now=2.0)
    assert not (data_dir / f"{DB_NAME}-wal").exists()  # checkpointed on close
    return ids


def _assert_corrupt_and_untouched(data_dir: Path, content: bytes) -> StoreCorruptError:
    path = data_dir / DB_NAME
    with pytest.raises(StoreCorruptError) as info:
        Store.open(data_dir)
    error = info.value
    assert str(path) in str(error)
    assert error.path == path and error.moved_to is None
    assert path.read_bytes() == content  # never silently replaced
    assert not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))
    return error


def test_garbage_file_is_reported_and_left_alone(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    garbage = b"this is not a database at all\n" * 200
    (data_dir / DB_NAME).write_bytes(garbage)
    error = _assert_corrupt_and_untouched(data_dir, garbage)
    assert "not an SQLite database" in str(error)


def test_recover_keeps_the_damaged_file_aside_and_starts_anew(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    garbage = os.urandom(8192)
    (data_dir / DB_NAME).write_bytes(garbage)
    (data_dir / f"{DB_NAME}-wal").write_bytes(b"stale wal")
    with Store.open(data_dir, recover=True, clock=lambda: 1_700_000_000.0) as store:
        recovery = store.recovered
        assert recovery is not None
        assert recovery.path == data_dir / DB_NAME
        assert recovery.moved_to.name.startswith(f"{DB_NAME}.corrupt-")
        assert recovery.moved_to.read_bytes() == garbage
        assert (data_dir / f"{recovery.moved_to.name}-wal").read_bytes() == b"stale wal"
        assert str(recovery.path) in recovery.message
        assert str(recovery.moved_to) in recovery.message
        assert store.all() == []
        store.add([new_id()])
    # A healthy store opened with recover=True is simply opened.
    with Store.open(data_dir, recover=True) as store:
        assert store.recovered is None and len(store.all()) == 1
    # A second recovery in the same second does not overwrite the first kept file.
    (data_dir / DB_NAME).write_bytes(garbage)
    for name in (f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        (data_dir / name).unlink(missing_ok=True)
    with Store.open(data_dir, recover=True, clock=lambda: 1_700_000_000.0) as store:
        assert store.recovered is not None
        assert store.recovered.moved_to != recovery.moved_to
    assert len(list(data_dir.glob(f"{DB_NAME}.corrupt-*[0-9]"))) == 2


def test_truncated_file_is_reported(data_dir: Path) -> None:
    _populated(data_dir)
    path = data_dir / DB_NAME
    content = path.read_bytes()
    truncated = content[: len(content) // 2]
    path.write_bytes(truncated)
    error = _assert_corrupt_and_untouched(data_dir, truncated)
    assert "truncated" in error.reason


def test_scribbled_pages_are_reported(data_dir: Path) -> None:
    _populated(data_dir)
    path = data_dir / DB_NAME
    content = bytearray(path.read_bytes())
    page_size = int.from_bytes(content[16:18], "big")
    for page in range(1, len(content) // page_size):
        start = page * page_size
        content[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(content))
    _assert_corrupt_and_untouched(data_dir, bytes(content))


def test_tiny_non_database_file_is_reported(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / DB_NAME).write_bytes(b"SQLite")
    _assert_corrupt_and_untouched(data_dir, b"SQLite")


def test_zero_length_file_becomes_an_empty_store(data_dir: Path) -> None:
    """An empty file holds nothing to lose: SQLite itself treats it as a new database."""
    data_dir.mkdir(parents=True)
    (data_dir / DB_NAME).write_bytes(b"")
    with Store.open(data_dir) as store:
        assert store.all() == [] and store.recovered is None
        store.add([new_id()])


def test_a_directory_in_place_of_the_file_is_an_error_not_damage(data_dir: Path) -> None:
    (data_dir / DB_NAME).mkdir(parents=True)
    with pytest.raises(StoreError, match="directory") as info:
        Store.open(data_dir, recover=True)
    assert not isinstance(info.value, StoreCorruptError)
    assert str(data_dir / DB_NAME) in str(info.value)
    assert (data_dir / DB_NAME).is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_names_the_file_and_the_cause(data_dir: Path) -> None:
    _populated(data_dir, n=3)
    path = data_dir / DB_NAME
    path.chmod(0)
    try:
        with pytest.raises(StoreError) as info:
            Store.open(data_dir, recover=True)
        assert not isinstance(info.value, StoreCorruptError)
        assert str(path) in str(info.value) and "Permission denied" in str(info.value)
        assert path.exists() and not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))
    finally:
        path.chmod(0o600)


def test_an_unusable_data_dir_names_the_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(StoreError) as info:
        Store.open(blocker / "nbtui")
    assert str(blocker / "nbtui") in str(info.value)


def test_a_newer_schema_is_refused_without_moving_it(data_dir: Path) -> None:
    _populated(data_dir, n=3)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer nbtui") as info:
        Store.open(data_dir, recover=True)
    assert not isinstance(info.value, StoreCorruptError)
    assert not list(data_dir.glob(f"{DB_NAME}.corrupt-*"))


def test_some_other_programs_database_is_refused(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.execute("CREATE TABLE invoices (n INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not nbtui's"):
        Store.open(data_dir, recover=True)
    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]
    conn.close()


# -- migration ----------------------------------------------------------------------------------

#: The first schema nbtui shipped, written out literally so that changing the code's copy by
#: accident does not make this test pass vacuously.
V1_SCHEMA = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    label TEXT,
    first_seen REAL NOT NULL,
    last_refreshed REAL,
    state TEXT NOT NULL DEFAULT 'pending',
    raw_json TEXT,
    last_error TEXT
);
"""


def test_a_version_1_database_migrates_with_everything_kept(data_dir: Path) -> None:
    done, waiting, broken, odd = new_id(), new_id(), new_id(), new_id()
    data_dir.mkdir(parents=True)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.execute(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (done, "cats", 10.0, 20.0, "succeeded", json.dumps(record(done)), None),
            (waiting, None, 30.0, None, "pending", None, "HTTP 503"),
            (broken, None, 40.0, 41.0, "running", "{not json", None),
            (odd, None, 50.0, 51.0, "mystery", json.dumps(record(odd, "failed")), None),
        ],
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    with Store.open(data_dir) as store:
        rows = {row.id: row for row in store.all()}
        assert [row.id for row in store.all()] == [odd, broken, waiting, done]
        assert rows[done].raw == record(done) and rows[done].label == "cats"
        assert rows[done].state is TaskState.SUCCEEDED
        assert rows[done].image_count == 2 and rows[done].prompt == "a white siamese cat"
        assert rows[done].last_refreshed == 20.0
        assert rows[waiting].last_error == "HTTP 503" and rows[waiting].raw is None
        assert rows[broken].state is TaskState.RUNNING and rows[broken].raw is None
        assert rows[odd].state is TaskState.FAILED  # unknown word: derived from the record
        assert rows[odd].error_code == "forbidden"
        assert store.change_token() >= 1
        assert sorted(store.unfinished_ids()) == sorted([waiting, broken])
        # The migrated store works like a new one.
        changed = store.apply([Task.from_raw(record(waiting))], {}, now=60.0)
        assert [row.id for row in changed] == [waiting]

    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_database_without_the_list_order_index_gets_it_at_open(data_dir: Path) -> None:
    """Older files, and files an older nbtui rebuilt: the index is no schema change."""
    task = new_id()
    with Store.open(data_dir) as store:
        store.add([task], now=1.0)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.execute("DROP INDEX tasks_newest")
    conn.commit()
    conn.close()
    with Store.open(data_dir) as store:
        assert list(store.ordered_rowids("created", descending=True)) == [store.rowid_of(task)]
    conn = sqlite3.connect(data_dir / DB_NAME)
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "tasks_newest" in indexes
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- scale --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_thousand_tasks_smoke(store: Store) -> None:
    """Scale without timing: bulk paths (chunked IN lists, executemany) handle 50k rows."""
    ids = [new_id() for _ in range(50_000)]
    assert len(store.add(ids, now=1.0)) == 50_000
    tasks = [
        Task.from_raw(
            {
                "id": i,
                "request": {"prompt": f"p{n}"},
                "finished_at": 2,
                "response": {"success": True},
            }
        )
        for n, i in enumerate(ids)
    ]
    assert len(store.apply(tasks, {i: "late" for i in ids[:10]}, now=2.0)) == 50_000
    rows = store.all()
    assert len(rows) == 50_000
    assert rows[0].id == ids[0] and rows[-1].id == ids[-1]
    assert rows[123].prompt == "p123"
    assert store.unfinished_ids() == []
    assert store.apply(tasks[:1000], {}, now=3.0) == []
    assert len(store.remove(ids[:25_000])) == 25_000
    assert len(store.changed_since(0).removed) == 25_000


# -- re-deriving stored tasks when the rules change (docs/api.md, "Stored tasks") -------------


def _as_the_previous_nbtui_left_it(data_dir: Path, rows: list[tuple[str, str, Any]]) -> None:
    """A v2 file as nbtui wrote it before the rules got their own revision: no `rules` stamp,
    no `progress` column, and each row's state as the old rules derived it."""
    with Store.open(data_dir) as store:
        store.add([task_id for task_id, _, _ in rows], now=10.0)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.executemany(
        "UPDATE tasks SET state = ?, raw_json = ?, last_refreshed = 20.0, image_count = 0, "
        "error_code = NULL, error_message = NULL WHERE id = ?",
        [
            (state, None if raw is None else json.dumps(raw), task_id)
            for task_id, state, raw in rows
        ],
    )
    conn.execute("ALTER TABLE tasks DROP COLUMN progress")
    conn.execute("DELETE FROM meta WHERE key = 'rules'")
    conn.commit()
    conn.close()


def test_an_accepted_task_stored_as_succeeded_is_running_again_after_the_upgrade(
    data_dir: Path,
) -> None:
    accepted, failover, worded, done, gone, unanswered = (new_id() for _ in range(6))
    accepted_raw = {"id": accepted, "response": {"success": True, "task_id": accepted}}
    failover_raw = {
        "id": failover,
        "response": {"task_id": failover, "data": [{"image_url": "https://cdn.example/f.png"}]},
    }
    worded_raw = {"id": worded, "response": {"status": "processing", "progress": "45%"}}
    _as_the_previous_nbtui_left_it(
        data_dir,
        [
            (accepted, "succeeded", accepted_raw),
            (failover, "running", failover_raw),
            (worded, "running", worded_raw),
            (done, "succeeded", record(done)),
            (gone, "not_found", record(gone, "running")),
            (unanswered, "pending", None),
        ],
    )
    conn = sqlite3.connect(data_dir / DB_NAME)
    token_before = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
    conn.close()

    with Store.open(data_dir) as store:
        rows = {row.id: row for row in store.all()}
        assert rows[accepted].state is TaskState.RUNNING
        assert rows[accepted].error_code is None
        assert rows[failover].state is TaskState.SUCCEEDED and rows[failover].image_count == 1
        assert rows[worded].state is TaskState.RUNNING and rows[worded].progress == 45
        assert rows[done].state is TaskState.SUCCEEDED and rows[done].image_count == 2
        assert rows[gone].state is TaskState.NOT_FOUND  # a batch's answer, not the record's
        assert rows[unanswered].state is TaskState.PENDING
        assert sorted(store.unfinished_ids()) == sorted([accepted, worded, unanswered])
        # Another process's list sees the re-derived rows as changes.
        changed = {row.id for row in store.changed_since(token_before).rows}
        assert {accepted, failover, worded, done} <= changed
        assert unanswered not in changed

    conn = sqlite3.connect(data_dir / DB_NAME)
    # New rules are no schema change: the version is just this nbtui's schema.
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    stamp = conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()[0]
    assert stamp == RULES_VERSION
    conn.close()


def test_rules_are_re_derived_once_per_revision(data_dir: Path) -> None:
    """With the stamp current, opening reads no record; an older stamp re-derives again, a
    newer one (a newer nbtui's) is left alone."""
    task_id = new_id()
    raw = {"id": task_id, "response": {"success": True, "task_id": task_id}}
    _as_the_previous_nbtui_left_it(data_dir, [(task_id, "succeeded", raw)])
    Store.open(data_dir).close()

    def set_row_and_stamp(state: str, stamp: int) -> None:
        conn = sqlite3.connect(data_dir / DB_NAME)
        conn.execute("UPDATE tasks SET state = ?", (state,))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'rules'", (stamp,))
        conn.commit()
        conn.close()

    set_row_and_stamp("succeeded", RULES_VERSION)
    with Store.open(data_dir) as store:
        assert store.get(task_id).state is TaskState.SUCCEEDED  # type: ignore[union-attr]
    set_row_and_stamp("succeeded", RULES_VERSION + 1)
    with Store.open(data_dir) as store:
        assert store.get(task_id).state is TaskState.SUCCEEDED  # type: ignore[union-attr]
    set_row_and_stamp("succeeded", RULES_VERSION - 1)
    with Store.open(data_dir) as store:
        assert store.get(task_id).state is TaskState.RUNNING  # type: ignore[union-attr]


def test_a_refresh_keeps_the_progress_column(store: Store) -> None:
    task_id = new_id()
    store.add([task_id], now=1.0)
    running = {"id": task_id, "response": {"task_id": task_id, "progress": 0.3}}
    (row,) = store.apply([Task.from_raw(running)], {}, now=2.0)
    assert row.progress == 30
    assert store.get(task_id).progress == 30  # type: ignore[union-attr]
    (row,) = store.apply([Task.from_raw(record(task_id))], {}, now=3.0)
    assert row.progress is None and store.get(task_id).progress is None  # type: ignore[union-attr]
