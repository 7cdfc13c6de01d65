"""The list model's off-thread full load: `begin_prepare` / `prepare` / `install`."""

from __future__ import annotations

from nbtui.api.models import TaskState
from nbtui.tracking.store import TrackedTask
from nbtui.tui.tasklist_model import SortKey, TaskListModel, row_from_tracked


def tracked(
    n: int, *, created: float | None = None, state: TaskState = TaskState.SUCCEEDED, **kw: object
) -> TrackedTask:
    return TrackedTask(
        f"00000000-0000-4000-8000-{n:012d}",
        None,
        1_000.0,
        2_000.0,
        state,
        None,
        created_at=float(n) if created is None else created,
        prompt=f"prompt {n}",
        **kw,  # type: ignore[arg-type]
    )


def ids(model: TaskListModel) -> list[int]:
    return [int(task_id[-12:]) for task_id in model.order]


def test_prepare_is_pure_and_install_matches_load() -> None:
    model = TaskListModel(lambda: 10_000.0)
    model.load([tracked(1), tracked(2)], complete=False)
    prepared = model.prepare([row_from_tracked(tracked(n)) for n in range(1, 6)])
    assert ids(model) == [2, 1] and not model.complete  # untouched until installed
    model.install(prepared)
    assert ids(model) == [5, 4, 3, 2, 1] and model.complete
    assert model.position(tracked(3).id) == 2
    reference = TaskListModel(lambda: 10_000.0)
    reference.load([tracked(n) for n in range(1, 6)])
    assert model.order == reference.order


def test_changes_during_an_in_flight_load_are_reapplied() -> None:
    model = TaskListModel(lambda: 10_000.0)
    model.load([tracked(n) for n in (8, 9)], complete=False)
    model.begin_prepare()
    # The worker reads the store before these changes...
    stale = [tracked(n) for n in range(1, 10)]
    # ...which reach the model while it prepares.
    model.upsert([tracked(4, state=TaskState.FAILED), tracked(20)])
    model.remove([tracked(9).id, tracked(2).id])
    model.install(model.prepare(map(row_from_tracked, stale)))
    assert ids(model) == [20, 8, 7, 6, 5, 4, 3, 1]
    assert model.rows[tracked(4).id].state is TaskState.FAILED
    assert tracked(9).id not in model.rows and tracked(2).id not in model.rows
    # The next change is not remembered for a load that is no longer in flight.
    model.upsert([tracked(30)])
    assert model._since_prepare is None


def test_install_re_sorts_when_the_view_changed_meanwhile() -> None:
    model = TaskListModel(lambda: 10_000.0)
    model.load([tracked(1)], complete=False)
    model.begin_prepare()
    prepared = model.prepare([row_from_tracked(tracked(n)) for n in range(1, 5)])
    model.set_sort(SortKey.CREATED, descending=False)
    model.set_filter("prompt 3")
    model.install(prepared)
    assert ids(model) == [3]
    model.set_filter("")
    assert ids(model) == [1, 2, 3, 4]


def test_rows_answered_without_change_are_marked_refreshed() -> None:
    model = TaskListModel(lambda: 10_000.0)
    model.load([tracked(n) for n in (1, 2, 3)])
    model.set_sort(SortKey.REFRESHED, descending=True)
    model.mark_refreshed([tracked(2).id, "not-tracked"], 3_000.0)
    assert model.rows[tracked(2).id].last_refreshed == 3_000.0
    assert model.rows[tracked(1).id].last_refreshed == 2_000.0
    assert ids(model)[0] == 2  # the sort by refresh time follows
    model.mark_refreshed([tracked(2).id], 2_500.0)  # an older time never goes backwards
    assert model.rows[tracked(2).id].last_refreshed == 3_000.0
