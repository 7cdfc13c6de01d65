"""`nbtui list --filter Q --format table|json|jsonl|csv`: the app's filter language and the
export columns from the command line; `--json` keeps its shape."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from nbtui.api.state import Task
from nbtui.tracking.export import COLUMNS
from tests.helpers import CliRunner, data_store

IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 5)]


def record(n: int, *, failed: bool = False, model: str = "nano-banana") -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": IDS[n],
        "created_at": 1_700_000_000.0 + n,
        "finished_at": 1_700_000_010.0 + n,
        "request": {"action": "generate", "prompt": f"=cat number {n}", "model": model},
    }
    if failed:
        raw["response"] = {"success": False, "error": {"code": "bad", "message": "no, sorry"}}
    else:
        raw["response"] = {"success": True, "data": [{"image_url": f"https://x/{n}.png"}]}
    return raw


@pytest.fixture
def stored() -> None:
    with data_store() as store:
        store.add(IDS[:2], label="client-x", now=1.0)
        store.add(IDS[2:], now=2.0)
        records = [record(0), record(1, failed=True), record(2, model="nano-banana-pro")]
        store.apply([Task.from_raw(raw) for raw in records], {}, 3.0)  # IDS[3]: no answer yet


def test_filter_in_every_format(cli: CliRunner, stored: None) -> None:
    run = cli("list", "--filter", "label:CLIENT-X state:failed")
    assert run.code == 0
    assert [line.split()[0] for line in run.out.splitlines()] == [IDS[1]]

    as_json = cli("list", "--filter", "model:pro", "--format", "json")
    assert [row["id"] for row in json.loads(as_json.out)] == [IDS[2]]

    lines = cli("list", "--filter=-state:failed -state:pending", "--format", "jsonl").out
    objects = [json.loads(line) for line in lines.splitlines()]
    assert {row["id"] for row in objects} == {IDS[0], IDS[2]}
    assert all(list(row) == list(COLUMNS) for row in objects)

    text = cli("list", "--filter", "images:1 label:client-x", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == [IDS[0]]
    assert rows[0]["prompt"] == "'=cat number 0"  # a formula is never run
    assert rows[0]["labels"] == "client-x" and rows[0]["images"] == "https://x/0.png"


def test_format_json_is_the_json_of_list_json(cli: CliRunner, stored: None) -> None:
    shaped = cli("list", "--json").out
    assert cli("list", "--format", "json").out == shaped
    rows = json.loads(shaped)
    assert len(rows) == 4
    assert all(
        list(row)
        == ["id", "state", "label", "first_seen", "last_refreshed", "images", "error", "last_error"]
        for row in rows
    )


def test_the_default_table_and_every_task_without_a_filter(cli: CliRunner, stored: None) -> None:
    assert len(cli("list").out.splitlines()) == 4
    assert len(list(csv.reader(io.StringIO(cli("list", "--format", "csv").out)))) == 5
    assert cli("list", "--format", "table").out == cli("list").out


def test_nothing_matches(cli: CliRunner, stored: None) -> None:
    run = cli("list", "--filter", "zebra")
    assert (run.code, run.out) == (0, "")
    assert "No tracked task matches the filter." in run.err
    assert json.loads(cli("list", "--filter", "zebra", "--json").out) == []
    assert cli("list", "--filter", "zebra", "--format", "jsonl").out == ""
    header = cli("list", "--filter", "zebra", "--format", "csv").out
    assert header == ",".join(COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("colour:red", 'nbtui: error: --filter: unknown field "colour" (fields: state,'),
        ('"open', "nbtui: error: --filter: unclosed quote"),
        ("images:>x", "nbtui: error: --filter: images: needs a whole number"),
    ],
)
def test_a_bad_filter_is_a_usage_error(cli: CliRunner, query: str, message: str) -> None:
    run = cli("list", "--filter", query)
    assert run.code == 2
    assert run.err.startswith(message)
    assert run.out == ""


def test_json_and_another_format_are_refused(cli: CliRunner) -> None:
    run = cli("list", "--json", "--format", "csv")
    assert run.code == 2
    assert "not allowed with argument --json" in run.err
    assert cli("list", "--format", "xml").code == 2
