"""What a command reports: exit codes, usage errors, lines on stderr, and the human and
`--json` shapes of a task (a fixed contract, pinned by tests/cli).

Text from the API is stripped of terminal control sequences before it is printed; `--json`
escapes every control character and writes NaN/Infinity as null.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from nbtui import jsonsafe
from nbtui.api.state import Task
from nbtui.api.summary import summarize
from nbtui.textsafe import clip, one_line, truncate

if TYPE_CHECKING:
    from nbtui.tracking.store import TrackedTask

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "UsageError",
    "bounded",
    "print_json",
    "print_tasks",
    "prompt_of",
    "safe_multiline",
    "say",
    "say_error",
    "say_warning",
    "task_json",
    "task_line",
    "tracked_json",
]


EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class UsageError(Exception):
    """Bad input the user can fix: reported in one line, exit code 2."""


def say(stream: TextIO, text: str) -> None:
    print(text, file=stream, flush=True)


def say_error(text: str) -> None:
    say(sys.stderr, f"nbtui: error: {text}")


def say_warning(text: str) -> None:
    say(sys.stderr, f"nbtui: warning: {text}")


def task_json(task: Task) -> dict[str, Any]:
    """The `get --json` / `watch --json` object for one task."""
    error = task.error
    return {
        "id": task.id,
        "state": task.state.value,
        "images": task.image_urls,
        "error": None if error is None else {"code": error.code, "message": error.message},
        "record": task.raw,
    }


def tracked_json(row: TrackedTask) -> dict[str, Any]:
    """The `list --json` object for one tracked task."""
    task = row.to_task()
    base = task_json(task)
    return {
        "id": row.id,
        "state": row.state.value,
        "label": row.label,
        "first_seen": row.first_seen,
        "last_refreshed": row.last_refreshed,
        "images": base["images"],
        "error": base["error"],
        "last_error": row.last_error,
    }


def print_json(data: Any) -> None:
    # ensure_ascii keeps every control character escaped: nothing the API sent can drive
    # the terminal. `jsonsafe` writes NaN/Infinity as null: the output is always RFC 8259.
    sys.stdout.write(jsonsafe.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def print_tasks(tasks: Sequence[Task], *, as_json: bool) -> None:
    """The result of `watch` and `submit --watch`: a JSON array or a line per task."""
    if as_json:
        print_json([task_json(task) for task in tasks])
    else:
        for task in tasks:
            say(sys.stdout, task_line(task))


def task_line(task: Task) -> str:
    """One human line: id, state word, image count, first URL or the error."""
    count = len(task.image_urls)
    images = f"{count} image" + ("" if count == 1 else "s")
    if task.image_urls:
        detail = bounded(task.image_urls[0])
    elif task.error is not None:
        code = bounded(task.error.code)
        message = bounded(task.error.message)
        detail = f"{code}: {message}" if message else code
    elif not task.state.is_finished and (percent := summarize(task.raw).progress) is not None:
        detail = f"{percent}% done"
    else:
        detail = "-"
    return f"{task.id}  {task.state.label:<9}  {images:<8}  {detail}"


def prompt_of(raw: Mapping[str, Any] | None) -> str:
    prompt = summarize(raw).prompt
    return truncate(bounded(prompt), 50) if prompt else ""


def bounded(value: object, limit: int = 500) -> str:
    """One safe line of a value the service sent, at most `limit` characters (a record can
    hold megabytes in any field: cleaning is bounded by cutting first)."""
    text, more = clip(value, limit)
    return one_line(text) + ("…" if more else "")


def safe_multiline(text: str) -> str:
    from nbtui.textsafe import safe_text

    return safe_text(text)
