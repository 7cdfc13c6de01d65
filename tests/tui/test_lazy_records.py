"""Past the first page, the list holds rows without records; the detail reads its own."""

from __future__ import annotations

from nbtui.api.models import Task
from nbtui.tui.screens.main import FIRST_PAGE as _FIRST_PAGE
from tests.helpers import SIM_TOKEN, Harness, settle


async def test_detail_reads_the_record_of_a_row_listed_without_it(harness: Harness) -> None:
    now = harness.clock()
    ids = [
        harness.state.add_task(
            prompt=f"lazy record {n}",
            outcome="succeeded",
            created_at=now - 1_000 - n,
            pending_seconds=0,
            running_seconds=1,
        )
        for n in range(_FIRST_PAGE + 20)
    ]
    harness.track(ids)
    harness.store.apply(
        [Task.from_raw(raw) for raw in harness.state.records(ids)], {}, harness.clock()
    )
    app = harness.app(token=SIM_TOKEN)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        target = ids[-1]  # the oldest: not on the first page
        before = app.main.selected_task()
        assert before is None or before.id != target
        app.main.task_list.select_id(target)
        # The panes follow the cursor once it rests, reading the record off the UI thread.
        await settle(pilot, app.main.panes_settled)
        shown = app.main.detail.shown_task
        assert shown is not None and shown.id == target and shown.raw is not None
        assert shown.raw["request"]["prompt"] == f"lazy record {len(ids) - 1}"
        whole = app.main.json_view.whole()
        assert whole is not None and target in whole
        assert app.main.selected_task().image_urls  # type: ignore[union-attr]
        # The list itself still holds the row without its record.
        row = app.main.model.rows[target]
        assert not any(isinstance(getattr(row, name), dict) for name in row._fields)
