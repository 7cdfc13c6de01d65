"""Tracked tasks as rows a spreadsheet (or a script) reads: CSV, JSON and JSON lines.

One row a task, with the columns of `COLUMNS`. Text is on one line with control characters
removed (what the list shows, the prompt in full); times are ISO 8601 in UTC; `elapsed` is
seconds from start (or creation) to finish, empty while unfinished. In CSV the result image
URLs are joined with a space (a URL has none) and the labels with ", " (a label has no
comma); JSON keeps both as arrays. CSV follows RFC 4180 (quoted where needed, CRLF line
ends, UTF-8), and a text cell that a spreadsheet would run as a formula (starting with
= + - @, a tab or a carriage return) gets a leading apostrophe. JSON is RFC 8259 (`nbtui.jsonsafe`).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from nbtui import jsonsafe
from nbtui.api.summary import summarize
from nbtui.textsafe import one_line
from nbtui.tracking.rows import TrackedTask

__all__ = [
    "COLUMNS",
    "FORMATS",
    "ExportError",
    "ExportFormat",
    "export_row",
    "write_export",
    "write_export_file",
]

ExportFormat = Literal["csv", "json", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "jsonl")

COLUMNS = (
    "id",
    "state",
    "prompt",
    "model",
    "action",
    "created",
    "finished",
    "elapsed",
    "images",
    "labels",
    "error_code",
    "error_message",
)

#: What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """The file could not be written; the message says why, in words."""


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    try:
        return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None  # a time no calendar holds


def _text(value: object) -> str | None:
    return one_line(value) if value else None


def export_row(task: TrackedTask) -> dict[str, Any]:
    """The export columns of one tracked task (images and labels as lists)."""
    record = task.to_task()
    summary = summarize(task.raw)
    created = task.created_at if task.created_at is not None else task.first_seen
    start = task.started_at if task.started_at is not None else created
    elapsed = None
    if task.finished_at is not None:
        elapsed = round(max(0.0, task.finished_at - start), 3)
    return {
        "id": task.id,
        "state": task.state.value,
        "prompt": _text(summary.prompt or task.prompt),
        "model": _text(task.model),
        "action": _text(task.action),
        "created": _iso(created),
        "finished": _iso(task.finished_at),
        "elapsed": elapsed,
        "images": [one_line(url) for url in record.image_urls],
        "labels": [label for label in (task.label or "").split(", ") if label],
        "error_code": _text(task.error_code),
        "error_message": _text(task.error_message),
    }


def _csv_cell(value: Any, joiner: str = " ") -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        value = joiner.join(value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _write_csv(rows: Iterable[dict[str, Any]], stream: TextIO) -> int:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(
            [_csv_cell(row[name], ", " if name == "labels" else " ") for name in COLUMNS]
        )
        count += 1
    return count


def write_export(tasks: Iterable[TrackedTask], stream: TextIO, fmt: ExportFormat) -> int:
    """Write the tasks to `stream` in `fmt`; returns how many rows were written."""
    rows: Iterator[dict[str, Any]] = (export_row(task) for task in tasks)
    if fmt == "csv":
        return _write_csv(rows, stream)
    if fmt == "jsonl":
        count = 0
        for row in rows:
            stream.write(jsonsafe.dumps(row, indent=None, compact=True) + "\n")
            count += 1
        return count
    listed = list(rows)
    stream.write(jsonsafe.dumps(listed, indent=2) + "\n")
    return len(listed)


def write_export_file(path: Path, tasks: Iterable[TrackedTask], fmt: ExportFormat) -> int:
    """Write the tasks to a new file at `path` (never over an existing one); returns how
    many rows were written. Written to a temporary file beside it and renamed, so a failure
    (a full disk) leaves no half file. Raises ExportError saying what went wrong."""
    path = Path(path).expanduser()
    if path.exists():
        raise ExportError(f"{path} already exists; choose another name.")
    if not path.parent.is_dir():
        raise ExportError(f"The folder {path.parent} does not exist.")
    temporary: Path | None = None
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        temporary = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write_export(tasks, stream, fmt)
        os.replace(temporary, path)
        temporary = None
    except PermissionError as exc:
        raise ExportError(f"No permission to write in {path.parent} ({exc.strerror}).") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportError(f"Could not write {path}: {reason}.") from exc
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return count
