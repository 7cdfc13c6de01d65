"""Export: the columns a spreadsheet expects, CSV that cannot run formulas, valid JSON, and
files written whole or not at all, with the reason in words."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from nbtui.api.state import Task
from nbtui.tracking.export import (
    COLUMNS,
    ExportError,
    export_row,
    write_export,
    write_export_file,
)
from nbtui.tracking.store import Store, TrackedTask

ID_A = "00000000-0000-4000-8000-000000000001"
ID_B = "00000000-0000-4000-8000-000000000002"


def record_a() -> dict[str, Any]:
    return {
        "id": ID_A,
        "created_at": 1_700_000_000.0,
        "started_at": 1_700_000_002.0,
        "finished_at": 1_700_000_012.5,
        "request": {"action": "generate", "prompt": '=HYPERLINK("x")\nline two', "model": "m"},
        "response": {
            "success": True,
            "data": [{"image_url": "https://x/1.png"}, {"image_url": "https://x/2.png"}],
        },
    }


def record_b() -> dict[str, Any]:
    return {
        "id": ID_B,
        "created_at": 1_700_000_100.0,
        "request": {"action": "edit", "prompt": '@cat, "quoted"', "model": "nano-banana-pro"},
        "response": {"success": False, "error": {"code": "forbidden", "message": "-refused"}},
    }


@pytest.fixture
def tracked(tmp_path: Path) -> list[TrackedTask]:
    with Store.open(tmp_path / "data") as store:
        store.add([ID_A], label="client-x, Draft", now=1.0)
        store.add([ID_B], now=2.0)
        store.apply([Task.from_raw(record_a()), Task.from_raw(record_b())], {}, 3.0)
        return sorted(store.all(), key=lambda task: task.id)


def test_a_row_has_the_columns_a_spreadsheet_expects(tracked: list[TrackedTask]) -> None:
    row = export_row(tracked[0])
    assert list(row) == list(COLUMNS)
    assert row == {
        "id": ID_A,
        "state": "succeeded",
        "prompt": '=HYPERLINK("x") line two',
        "model": "m",
        "action": "generate",
        "created": "2023-11-14T22:13:20Z",
        "finished": "2023-11-14T22:13:32Z",
        "elapsed": 10.5,
        "images": ["https://x/1.png", "https://x/2.png"],
        "labels": ["client-x", "Draft"],
        "error_code": None,
        "error_message": None,
    }
    failed = export_row(tracked[1])
    assert (failed["state"], failed["error_code"], failed["error_message"]) == (
        "failed",
        "forbidden",
        "-refused",
    )
    assert failed["finished"] is None and failed["elapsed"] is None and failed["images"] == []


def test_csv_is_rfc_4180_and_formula_safe(tracked: list[TrackedTask]) -> None:
    out = io.StringIO(newline="")
    assert write_export(tracked, out, "csv") == 2
    text = out.getvalue()
    assert text.endswith("\r\n") and "\r\n" in text.split("\n")[0] + "\n"
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["prompt"] == '\'=HYPERLINK("x") line two'
    assert rows[0]["images"] == "https://x/1.png https://x/2.png"
    assert rows[0]["labels"] == "client-x, Draft"
    assert rows[0]["elapsed"] == "10.5"
    assert rows[1]["prompt"] == '\'@cat, "quoted"'
    assert rows[1]["error_message"] == "'-refused"
    assert rows[1]["finished"] == ""


def test_json_and_json_lines_are_valid_and_keep_lists(tracked: list[TrackedTask]) -> None:
    out = io.StringIO()
    write_export(tracked, out, "json")
    parsed = json.loads(out.getvalue())
    assert [row["id"] for row in parsed] == [ID_A, ID_B]
    assert parsed[0]["images"] == ["https://x/1.png", "https://x/2.png"]
    lines = io.StringIO()
    assert write_export(tracked, lines, "jsonl") == 2
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == parsed


def test_a_file_is_written_whole_and_never_over_another(
    tracked: list[TrackedTask], tmp_path: Path
) -> None:
    path = tmp_path / "out.csv"
    assert write_export_file(path, tracked, "csv") == 2
    assert len(list(csv.reader(path.open(newline="")))) == 3
    with pytest.raises(ExportError, match="already exists; choose another name"):
        write_export_file(path, tracked, "json")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["out.csv"]


def test_a_missing_folder_is_named(tracked: list[TrackedTask], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"The folder .*nowhere does not exist\."):
        write_export_file(tmp_path / "nowhere" / "out.csv", tracked, "csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the mode")
def test_no_permission_is_said_in_words(tracked: list[TrackedTask], tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="No permission to write in"):
            write_export_file(folder / "out.csv", tracked, "csv")
    finally:
        folder.chmod(0o700)


def test_a_failed_write_leaves_no_half_file(
    tracked: list[TrackedTask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC from the write) is said in words and leaves nothing behind."""
    import nbtui.tracking.export as export

    def full(*args: Any, **kwargs: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_export", full)
    with pytest.raises(ExportError, match="No space left on device"):
        write_export_file(tmp_path / "out.json", tracked, "json")
    assert list(tmp_path.glob("*out.json*")) == []


def test_a_refused_write_is_said_in_words(
    tracked: list[TrackedTask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a folder without write permission answers (root is never refused, so the
    refusal is made here): the folder is named."""
    import tempfile

    def refused(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(ExportError, match=r"No permission to write in .* \(Permission denied\)"):
        write_export_file(tmp_path / "out.csv", tracked, "csv")
