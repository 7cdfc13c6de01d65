"""`nbtui label ID... [--add L] [--remove L]`: change tracked tasks' labels from scripts.

Every label given is checked before anything is written (a bad one: its message, exit 2);
then each id is printed with its labels after the change, or "not tracked", as `remove` does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtui.cli.env import environment, valid_ids
from nbtui.cli.output import EXIT_OK, EXIT_USAGE, print_json, say, say_error
from nbtui.textsafe import one_line
from nbtui.tracking.labels import LabelError, split_labels

__all__ = ["cmd_label"]


def _labels(values: Sequence[str] | None, flag: str) -> list[str]:
    """Every label of a repeatable flag, each value possibly a comma list."""
    labels: list[str] = []
    for value in values or ():
        try:
            found = split_labels(value)
        except LabelError as exc:
            raise LabelError(f"{flag}: {exc}") from None
        if not found:
            raise LabelError(f"{flag}: no label given")
        labels += [label for label in found if label.casefold() not in map(str.casefold, labels)]
    return labels


def cmd_label(args: argparse.Namespace) -> int:
    try:
        adding = _labels(args.add, "--add")
        removing = _labels(args.remove, "--remove")
    except LabelError as exc:
        say_error(str(exc))
        return EXIT_USAGE
    ids, had_bad = valid_ids(args.ids, allow_stdin=True)
    if not ids:
        if not had_bad:
            say_error("no task ids given")
        return EXIT_USAGE
    with environment(args, needs_token=False) as env:
        store = env.open_store()
        if adding or removing:
            store.set_labels(ids, add=adding, remove=removing)
        tracked = store.tracked_among(ids)
        labels = {task_id: store.labels(task_id) for task_id in ids if task_id in tracked}
    if args.json:
        print_json(
            [
                {"id": task_id, "tracked": task_id in labels, "labels": labels.get(task_id, [])}
                for task_id in ids
            ]
        )
    else:
        for task_id in ids:
            if task_id not in labels:
                say(sys.stdout, f"{task_id}  not tracked")
            else:
                shown = ", ".join(one_line(label) for label in labels[task_id])
                say(sys.stdout, f"{task_id}  {shown or '(no labels)'}")
    return EXIT_USAGE if had_bad else EXIT_OK
