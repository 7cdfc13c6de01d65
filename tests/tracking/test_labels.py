"""Labels: the rules for one label, several per task in the store, and the v2 -> v3 upgrade."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from nbtui.tracking.labels import (
    MAX_LABEL,
    LabelError,
    display_labels,
    normalize_label,
    split_labels,
)
from nbtui.tracking.schema import _V2_COLUMNS
from nbtui.tracking.store import DB_NAME, SCHEMA_VERSION, Store


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_a_label_is_trimmed_and_its_inner_space_made_one() -> None:
    assert normalize_label("  client   x\t") == "client x"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a,b", "comma"),
        ("bell\x07", "control"),
        ("zero\u200bwidth", "control"),
        ("x" * (MAX_LABEL + 1), f"at most {MAX_LABEL}"),
    ],
)
def test_a_bad_label_is_refused_saying_why(text: str, words: str) -> None:
    with pytest.raises(LabelError, match=words):
        normalize_label(text)


def test_a_list_of_labels_splits_at_commas_without_repeats() -> None:
    assert split_labels("client-x, draft,, Client-X ,final") == ["client-x", "draft", "final"]
    assert display_labels(["draft", "Client-x", "alpha"]) == "alpha, Client-x, draft"
    assert display_labels([]) is None


def test_tasks_carry_several_labels_added_and_removed(data_dir: Path) -> None:
    one, two, untracked = new_id(), new_id(), new_id()
    with Store.open(data_dir) as store:
        store.add([one, two], label="client-x, draft", now=1.0)
        assert store.labels(one) == ["client-x", "draft"]
        assert store.get(one) is not None and store.get(one).label == "client-x, draft"  # type: ignore[union-attr]
        token = store.change_token()

        changed = store.set_labels([one, two, untracked], add=["final"], remove=["DRAFT"], now=2.0)
        assert changed == [one, two]
        assert store.labels(two) == ["client-x", "final"]
        row = store.get(two)
        assert row is not None and row.label == "client-x, final" and row.updated_at == 2.0
        # Another process's list sees the change.
        assert {row.id for row in store.changed_since(token).rows} == {one, two}

        # Nothing to change: nothing written, no new change number.
        token = store.change_token()
        assert store.set_labels([one], add=["Final"], remove=["absent"]) == []
        assert store.change_token() == token
        assert store.all_labels() == {"client-x": 2, "final": 2}


def test_a_bad_label_writes_nothing(data_dir: Path) -> None:
    task = new_id()
    with Store.open(data_dir) as store:
        store.add([task], label="keep")
        with pytest.raises(LabelError):
            store.set_labels([task], add=["fine", "not,fine"])
        with pytest.raises(LabelError):
            store.add([new_id()], label="x" * 100)
        assert store.labels(task) == ["keep"]
        assert len(store.ids()) == 1


def test_untracking_forgets_the_labels_and_tracking_again_starts_clean(data_dir: Path) -> None:
    task = new_id()
    with Store.open(data_dir) as store:
        store.add([task], label="old")
        store.remove([task])
        assert store.all_labels() == {}
        store.add([task])
        assert store.labels(task) == []
        assert store.get(task).label is None  # type: ignore[union-attr]


def test_a_task_remembers_the_task_it_was_made_from(data_dir: Path) -> None:
    parent, child = new_id(), new_id()
    with Store.open(data_dir) as store:
        store.add([parent])
        store.add([child], parent_id=parent.upper())
        row = store.get(child)
        assert row is not None and row.parent_id == parent
        assert store.get(parent).parent_id is None  # type: ignore[union-attr]


def test_a_version_2_database_keeps_its_labels_as_labels(data_dir: Path) -> None:
    plain, listed, odd, none = new_id(), new_id(), new_id(), new_id()
    data_dir.mkdir(parents=True)
    conn = sqlite3.connect(data_dir / DB_NAME)
    conn.execute(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, label TEXT, first_seen REAL NOT NULL, "
        "last_refreshed REAL, state TEXT NOT NULL DEFAULT 'pending', raw_json TEXT, "
        "last_error TEXT)"
    )
    for name, decl in _V2_COLUMNS:
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {decl}")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('seq', 1)")
    conn.execute(
        "CREATE TABLE removed (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, removed_at REAL)"
    )
    conn.executemany(
        "INSERT INTO tasks (id, label, first_seen, seq) VALUES (?, ?, ?, 1)",
        [
            (plain, "client x", 1.0),
            (listed, "a, b,a", 2.0),
            (odd, "tab\there\x1b[31m" + "y" * 80, 3.0),
            (none, None, 4.0),
        ],
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    with Store.open(data_dir) as store:
        assert store.labels(plain) == ["client x"]
        assert store.labels(listed) == ["a", "b"]
        assert store.get(listed).label == "a, b"  # type: ignore[union-attr]
        (salvaged,) = store.labels(odd)
        assert salvaged.startswith("tab here [31m") and len(salvaged) == MAX_LABEL
        assert store.labels(none) == []
        assert store.get(plain).parent_id is None  # type: ignore[union-attr]

    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()
