"""The task commands: `get` (fetch once, optionally save the images), `watch` (poll until
finished, with progress on stderr), `add`, `remove` and `list` (the tracked tasks).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from nbtui.api.state import Task, TaskState
from nbtui.cli.env import (
    Env,
    environment,
    fetch,
    in_requested_order,
    remember,
    requested_ids,
    valid_ids,
)
from nbtui.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    print_json,
    print_tasks,
    prompt_of,
    say,
    say_error,
    task_json,
    task_line,
    tracked_json,
)
from nbtui.textsafe import one_line
from nbtui.tracking.labels import LabelError, split_labels

if TYPE_CHECKING:
    from nbtui.tracking.monitor import MonitorProblem, TaskUpdate

__all__ = [
    "Progress",
    "WatchOutcome",
    "cmd_add",
    "cmd_get",
    "cmd_list",
    "cmd_remove",
    "cmd_watch",
    "watch_tasks",
]


def cmd_get(args: argparse.Namespace) -> int:
    requested, had_bad = requested_ids(args.ids)
    if not requested:
        return EXIT_USAGE
    ids = list(dict.fromkeys(requested))
    with environment(args, needs_token=True) as env:
        tasks = asyncio.run(fetch(env, ids))
        remember(env, tasks)
        saved: dict[str, list[str]] = {}
        save_failed = False
        if args.save is not None:
            saved, save_failed = asyncio.run(_save_all(env, tasks, args.save))
    tasks = in_requested_order(tasks, requested)
    if args.json:
        objects = [task_json(task) for task in tasks]
        if args.save is not None:
            for obj in objects:
                obj["saved"] = saved.get(obj["id"], [])
        print_json(objects)
    else:
        for task in tasks:
            say(sys.stdout, task_line(task))
        for paths in saved.values():
            for path in paths:
                say(sys.stdout, f"saved {path}")
    if had_bad:
        return EXIT_USAGE
    return EXIT_FAILURE if save_failed else EXIT_OK


async def _save_all(
    env: Env, tasks: Sequence[Task], folder: Path
) -> tuple[dict[str, list[str]], bool]:
    """Save every task's images (downloads without the token); problems go to stderr."""
    from nbtui.media import ImageFetcher, MediaError, SaveError, save_images

    saved: dict[str, list[str]] = {}
    failed = False
    # The demo's images live in the in-process simulator: reach them through its transport,
    # and keep them out of the user's cache.
    cache = None if env.demo else env.settings.cache_dir / "images"
    async with ImageFetcher(
        cache, timeout=env.settings.timeout, transport=env.image_transport
    ) as fetcher:
        for task in tasks:
            if not task.image_urls:
                say_error(f"{task.id}: nothing to save ({task.state.label}, no result image)")
                failed = True
                continue
            try:
                paths = await save_images(task, folder, fetcher=fetcher)
            except SaveError as exc:
                paths = exc.saved
                say_error(f"{task.id}: {one_line(exc)}")
                failed = True
            except MediaError as exc:
                say_error(f"{task.id}: {one_line(exc)}")
                failed = True
                continue
            saved[task.id] = [str(path) for path in paths]
    return saved, failed


@dataclass
class Progress:
    """Progress on stderr: one updating line on a terminal, a plain line per change otherwise."""

    stream: TextIO
    total: int
    tty: bool
    last: str = ""
    dirty: bool = False

    def show(self, states: Mapping[str, TaskState], problem: MonitorProblem | None) -> None:
        finished = sum(1 for state in states.values() if state.is_finished)
        counts: dict[str, int] = {}
        for state in states.values():
            counts[state.label] = counts.get(state.label, 0) + 1
        order = [s.label for s in TaskState]
        summary = ", ".join(f"{counts[label]} {label}" for label in order if label in counts)
        line = f"watching: {finished}/{self.total} finished ({summary})"
        if problem is not None:
            line += f" — {one_line(problem.message)}"
        if line == self.last:
            return
        self.last = line
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.dirty:
            self.stream.write("\n")
            self.stream.flush()
            self.dirty = False


def cmd_watch(args: argparse.Namespace) -> int:
    requested, had_bad = requested_ids(args.ids)
    if not requested:
        return EXIT_USAGE
    ids = list(dict.fromkeys(requested))
    with environment(args, needs_token=True) as env:
        interval = args.interval if args.interval is not None else env.settings.poll_interval
        outcome = asyncio.run(
            watch_tasks(env, ids, interval=interval, give_up_after=args.timeout or None)
        )
    if outcome.fatal is not None:
        say_error(one_line(outcome.fatal))
        return EXIT_FAILURE
    print_tasks(in_requested_order(outcome.tasks, requested), as_json=args.json)
    if outcome.timed_out:
        waiting = sum(1 for task in outcome.tasks if not task.state.is_finished)
        say_error(f"timed out after {args.timeout:g} s with {waiting} task(s) not finished")
    all_ok = not outcome.timed_out and all(
        task.state is TaskState.SUCCEEDED for task in outcome.tasks
    )
    if had_bad:
        return EXIT_USAGE
    return EXIT_OK if all_ok else EXIT_FAILURE


@dataclass
class WatchOutcome:
    tasks: list[Task]
    timed_out: bool
    fatal: str | None


async def watch_tasks(
    env: Env,
    ids: list[str],
    *,
    interval: float,
    give_up_after: float | None,
    not_found_grace: float = 0.0,
) -> WatchOutcome:
    """Run the shared Monitor over a private store holding just these ids.

    `not_found_grace`: for that many seconds, "not found" is not an answer to stop on (a
    task created a moment ago may not be listed yet); 0 stops on it at once (a typo).
    """
    from nbtui.tracking.monitor import Monitor
    from nbtui.tracking.store import Store

    done = asyncio.Event()
    states: dict[str, TaskState] = dict.fromkeys(ids, TaskState.PENDING)
    progress = Progress(sys.stderr, len(ids), sys.stderr.isatty())
    fatal: list[str] = []
    current_problem: list[MonitorProblem | None] = [None]

    def on_update(updates: list[TaskUpdate]) -> None:
        for update in updates:
            states[update.task.id] = update.task.state

    started = time.monotonic()

    def settled(state: TaskState) -> bool:
        if state is TaskState.NOT_FOUND:
            return time.monotonic() - started >= not_found_grace
        return state.is_finished

    def on_cycle(_report: object) -> None:
        progress.show(states, current_problem[0])
        if all(settled(state) for state in states.values()):
            done.set()

    def on_problem(problem: MonitorProblem | None) -> None:
        if problem is not None and problem.kind in ("auth", "rejected"):
            # Fatal: reported once as the error line (the monitor's words are the app's,
            # "press t ...", which mean nothing here).
            fatal.append(str(problem.error) if problem.error is not None else problem.message)
            done.set()
            return
        current_problem[0] = problem

    with tempfile.TemporaryDirectory(prefix="nbtui-watch-") as tmp:
        store = await asyncio.to_thread(Store.open, Path(tmp))
        try:
            await asyncio.to_thread(store.add, ids)
            async with env.client() as client:
                monitor = Monitor(
                    client,
                    store,
                    interval=interval,
                    on_update=on_update,
                    on_cycle=on_cycle,
                    on_problem=on_problem,
                    store_check_every=None,
                    not_found_grace=not_found_grace,
                )
                runner = asyncio.create_task(monitor.run())
                timed_out = False
                try:
                    await asyncio.wait_for(done.wait(), give_up_after)
                except TimeoutError:
                    timed_out = True
                finally:
                    monitor.stop()
                    await runner
                    progress.end()
            rows = {row.id: row for row in await asyncio.to_thread(store.all)}
        finally:
            await asyncio.to_thread(store.close)
    tasks = [
        rows[task_id].to_task() if task_id in rows else Task.not_found(task_id) for task_id in ids
    ]
    if not fatal:
        remember(env, [task for task in tasks if task.raw is not None or task.state.is_finished])
    return WatchOutcome(tasks=tasks, timed_out=timed_out, fatal=fatal[0] if fatal else None)


def cmd_add(args: argparse.Namespace) -> int:
    ids, had_bad = valid_ids(args.ids, allow_stdin=True)
    try:
        labels = split_labels(args.label) if args.label else []
    except LabelError as exc:
        say_error(f"--label: {exc}")
        return EXIT_USAGE
    if ids:
        with environment(args, needs_token=False) as env:
            store = env.open_store()
            added = store.add(ids, label=", ".join(labels) or None)
        fresh = set(added)
        for task_id in ids:
            note = "added" if task_id in fresh else "already tracked"
            say(sys.stdout, f"{task_id}  {note}")
        say(sys.stderr, f"{len(added)} added, {len(ids) - len(added)} already tracked")
    elif not had_bad:
        say_error("no task ids given")
        return EXIT_USAGE
    return EXIT_USAGE if had_bad else EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    ids, had_bad = valid_ids(args.ids, allow_stdin=True)
    if ids:
        with environment(args, needs_token=False) as env:
            store = env.open_store()
            removed = set(store.remove(ids))
        for task_id in ids:
            say(sys.stdout, f"{task_id}  {'removed' if task_id in removed else 'not tracked'}")
    elif not had_bad:
        say_error("no task ids given")
        return EXIT_USAGE
    return EXIT_USAGE if had_bad else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from nbtui.tracking.query import QueryError, compile_query, parse

    try:
        query = parse(args.filter)
    except QueryError as exc:
        raise UsageError(f"--filter: {exc}") from exc
    fmt = "json" if args.json else (args.format or "table")
    with environment(args, needs_token=False) as env:
        where = compile_query(query, time.time()) if query else None
        rows = env.open_store().all(where)
    if fmt == "json":
        print_json([tracked_json(row) for row in rows])
        return EXIT_OK
    if fmt in ("jsonl", "csv"):
        from nbtui.tracking.export import write_export

        write_export(rows, sys.stdout, "csv" if fmt == "csv" else "jsonl")
        sys.stdout.flush()
        return EXIT_OK
    if not rows:
        if query:
            say(sys.stderr, "No tracked task matches the filter.")
        else:
            say(sys.stderr, "No tracked tasks. Add some with `nbtui add ID...`.")
        return EXIT_OK
    for row in rows:
        task = row.to_task()
        count = len(task.image_urls)
        label = f"[{one_line(row.label)}]  " if row.label else ""
        prompt = prompt_of(row.raw)
        images = f"{count} image" + ("" if count == 1 else "s")
        say(sys.stdout, f"{row.id}  {row.state.label:<9}  {images:<8}  {label}{prompt}".rstrip())
    return EXIT_OK
