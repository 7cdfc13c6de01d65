"""The `nbtui` command line: scriptable, stable output, no business logic of its own.

Every subcommand is a thin layer over the client, the store and the monitor that the TUI uses
too. Output contract (checked from outside, keep it stable):

- exit 0: done; 1: the API or the network failed (token rejected included), or a watched
  task did not succeed; 2: usage or bad input (bad ids, no token configured, invalid config);
  130: interrupted; 143: terminated (SIGTERM), after cleaning up as on an interrupt.
- `--json` output is always a JSON array on stdout; messages and progress go to stderr.
- Text from the API is stripped of terminal control sequences before it is printed, and the
  token never appears in any output.

`--demo` runs get/watch/add/remove/list against an in-process simulator seeded with the demo
tasks and a throwaway data dir (nothing is kept, no token or network needed); with no
subcommand it opens the app in demo mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import getpass
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from nbtui import __version__, jsonsafe
from nbtui.api.errors import ApiError
from nbtui.api.state import (
    Task,
    TaskState,
    normalize_task_id,
    parse_task_ids,
)
from nbtui.api.summary import summarize
from nbtui.config import ENV_TOKEN, ConfigError, Settings, load_settings
from nbtui.runtime import ClientFactory, build_demo, user_client_factory
from nbtui.textsafe import clip, one_line, truncate

if TYPE_CHECKING:
    import httpx

    from nbtui.api.client import NanoBananaClient
    from nbtui.create import CreateRequest
    from nbtui.tracking.monitor import MonitorProblem, TaskUpdate
    from nbtui.tracking.store import Store, TrackedTask

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: `watch` gives up after this many seconds unless `--timeout` says otherwise (0: never).
DEFAULT_WATCH_TIMEOUT = 600.0
#: Seconds during which `submit --watch` keeps asking for a task the service does not list
#: yet (it was created a moment ago); plain `watch` takes "not found" at once.
SUBMIT_NOT_FOUND_GRACE = 60.0
#: Bad ids named one by one on stderr; past that, only how many more (binary garbage on stdin
#: would otherwise print a line per word).
MAX_NAMED_BAD_IDS = 20


class UsageError(Exception):
    """Bad input the user can fix: reported in one line, exit code 2."""


#: Set by SIGTERM: the interrupt that follows ends the command with 143, not 130.
_terminated = False


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds the command exactly as Ctrl-C does (temporary stores closed and
    removed, a progress line ended), then exits 143: it raises SIGINT, whose handler is
    Python's or, inside `asyncio.run`, asyncio's (which cancels the main task cleanly; an
    exception raised from a signal handler inside the loop would be swallowed or orphaned)."""
    global _terminated
    _terminated = True
    signal.raise_signal(signal.SIGINT)


# -- argument parsing ---------------------------------------------------------------------


def _seconds(text: str, *, allow_zero: bool) -> float:
    """A finite number of seconds: positive, or also 0 where 0 means "no limit"."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    in_range = value >= 0 if allow_zero else value > 0  # False for NaN too
    if not in_range or value == float("inf"):
        wanted = "0 or a positive number" if allow_zero else "a positive number of seconds"
        raise argparse.ArgumentTypeError(f"must be {wanted}: {text!r}")
    return value


def _positive_float(text: str) -> float:
    return _seconds(text, allow_zero=False)


def _non_negative_float(text: str) -> float:
    return _seconds(text, allow_zero=True)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before and after the subcommand (`nbtui --demo list` = `list --demo`)."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="API base URL (default: $ACEDATACLOUD_API_BASE_URL, the config file, "
        "or https://api.acedata.cloud)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="where the tracked-task database lives (default: $NBTUI_DATA_DIR or the "
        "platform's user data dir)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="settings profile and keyring entry to use (default: $NBTUI_PROFILE or 'default')",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="use a built-in simulator with demo tasks and throwaway data (no token, no network)",
    )


def _timeout_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=DEFAULT_WATCH_TIMEOUT,
        metavar="S",
        help=f"{what} (default {DEFAULT_WATCH_TIMEOUT:.0f}; 0 waits forever)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; `--help` works at every level."""
    parser = argparse.ArgumentParser(
        prog="nbtui",
        description="Watch AceData Cloud Nano Banana image tasks. With no command, opens the "
        "terminal app.",
        epilog="Exit codes: 0 ok, 1 API/network failure or a watched task that did not "
        "succeed, 2 usage or bad input, 130 interrupted. The API token comes from "
        f"${ENV_TOKEN} or the OS keyring (`nbtui token set`); it is never taken as an argument.",
    )
    parser.add_argument("--version", action="version", version=f"nbtui {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    get = sub.add_parser(
        "get",
        parents=[common],
        help="fetch tasks once and print their state",
        description="Fetch the tasks once (batched) and print a line per id: state, image "
        "count, first image URL or the error. Exits 0 when the service answered, whatever "
        "the tasks' states; tracked tasks get their stored record updated.",
    )
    get.add_argument(
        "ids", nargs="+", metavar="ID", help="task ids (UUIDs), or - to read them from stdin"
    )
    get.add_argument("--json", action="store_true", help="print a JSON array instead")
    get.add_argument(
        "--save",
        metavar="DIR",
        type=Path,
        help="also save each task's result images into DIR as <id>-<n>.<ext> (exit 1 if any "
        "task has none or a download fails); downloads never carry the token",
    )

    watch = sub.add_parser(
        "watch",
        parents=[common],
        help="poll tasks until every one has finished",
        description="Poll the tasks (batched) until all have finished, showing progress on "
        "stderr. Exits 0 if all succeeded, 1 if any failed, was not found or timed out.",
    )
    watch.add_argument(
        "ids", nargs="+", metavar="ID", help="task ids (UUIDs), or - to read them from stdin"
    )
    watch.add_argument(
        "--interval",
        type=_positive_float,
        metavar="S",
        help="seconds between polls (default: the configured poll interval, 5; minimum 1)",
    )
    _timeout_option(watch, "give up after S seconds")
    watch.add_argument("--json", action="store_true", help="print the final states as JSON")

    submit = sub.add_parser(
        "submit",
        parents=[common],
        help="create an image task (and optionally watch it)",
        description="Create a Nano Banana image task with the Images API (async) and track "
        "its id. Prints the new id (or, with --watch, the final state). The create request is "
        "sent once and never retried: if its answer is lost, the task may or may not exist.",
    )
    submit.add_argument("prompt", metavar="PROMPT", help="what the image should show")
    submit.add_argument(
        "--edit",
        nargs="+",
        metavar="URL_OR_FILE",
        help="edit these source images (http(s) URLs or local PNG/JPEG/WebP files up to 10 MB)",
    )
    submit.add_argument("--model", metavar="M", help="model name (default: the service's)")
    submit.add_argument("--count", type=int, metavar="N", help="number of images, 1-4")
    submit.add_argument("--aspect-ratio", metavar="R", help="1:1 3:2 2:3 16:9 9:16 4:3 3:4")
    submit.add_argument("--resolution", metavar="R", help="1K, 2K or 4K")
    submit.add_argument("--watch", action="store_true", help="wait until the task finishes")
    _timeout_option(submit, "with --watch: give up after S seconds")
    submit.add_argument("--json", action="store_true", help="print a JSON array instead")

    add = sub.add_parser(
        "add",
        parents=[common],
        help="track task ids",
        description="Add task ids to the tracked list. Use '-' to read ids from stdin "
        "(separated by spaces, commas or newlines). Bad ids are named and skipped (exit 2).",
    )
    add.add_argument("ids", nargs="+", metavar="ID", help="task ids, or - for stdin")
    add.add_argument("--label", help="a label shown beside the newly added tasks")

    remove = sub.add_parser(
        "remove",
        parents=[common],
        help="stop tracking task ids",
        description="Remove task ids from the tracked list ('-' reads them from stdin).",
    )
    remove.add_argument("ids", nargs="+", metavar="ID", help="task ids, or - for stdin")

    list_ = sub.add_parser(
        "list",
        parents=[common],
        help="show the tracked tasks",
        description="Show the tracked tasks as last refreshed (no network request).",
    )
    list_.add_argument("--json", action="store_true", help="print a JSON array instead")

    token = sub.add_parser(
        "token",
        parents=[common],
        help="manage the API token",
        description="Manage the API token in the OS keyring. The token is never accepted as "
        f"an argument; ${ENV_TOKEN}, when set, takes precedence over the keyring.",
    )
    token_sub = token.add_subparsers(dest="what", metavar="ACTION", required=True)
    token_sub.add_parser(
        "set",
        help="store a token (hidden prompt on a terminal, else one line from stdin)",
        description="Store a token in the keyring: a hidden prompt on a terminal, otherwise "
        "the first line of stdin (e.g. `pass show acedata | nbtui token set`).",
    )
    token_sub.add_parser(
        "status", help="say where the token comes from (never shows it)", description=None
    )
    token_sub.add_parser("clear", help="remove the stored token from the keyring")

    sim = sub.add_parser(
        "sim",
        parents=[common],
        help="run the API simulator on this machine",
        description="Serve the built-in Nano Banana simulator over HTTP until Ctrl-C; prints "
        "its URL and token. Point nbtui (or any client) at it with --base-url.",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    sim.add_argument("--port", type=_port, default=8787, help="port (8787; 0 picks a free one)")
    sim.add_argument(
        "--token",
        default=None,
        metavar="T",
        help="the bearer token the simulator accepts (a test value, not your API token; "
        "default sim-token, or the scenario's)",
    )
    sim.add_argument(
        "--seed-tasks",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="start with N tasks in mixed states",
    )
    sim.add_argument(
        "--scenario",
        type=Path,
        default=None,
        metavar="FILE",
        help="play the tasks, record shapes and faults of a scenario file (TOML or JSON; "
        "see docs/simulator.md)",
    )
    return parser


# -- output helpers -----------------------------------------------------------------------


def _say(stream: TextIO, text: str) -> None:
    print(text, file=stream, flush=True)


def _error(text: str) -> None:
    _say(sys.stderr, f"nbtui: error: {text}")


def _warn(text: str) -> None:
    _say(sys.stderr, f"nbtui: warning: {text}")


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


def _print_json(data: Any) -> None:
    # ensure_ascii keeps every control character escaped: nothing the API sent can drive
    # the terminal. `jsonsafe` writes NaN/Infinity as null: the output is always RFC 8259.
    sys.stdout.write(jsonsafe.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def _print_tasks(tasks: Sequence[Task], *, as_json: bool) -> None:
    """The result of `watch` and `submit --watch`: a JSON array or a line per task."""
    if as_json:
        _print_json([task_json(task) for task in tasks])
    else:
        for task in tasks:
            _say(sys.stdout, task_line(task))


def task_line(task: Task) -> str:
    """One human line: id, state word, image count, first URL or the error."""
    count = len(task.image_urls)
    images = f"{count} image" + ("" if count == 1 else "s")
    if task.image_urls:
        detail = _bounded(task.image_urls[0])
    elif task.error is not None:
        code = _bounded(task.error.code)
        message = _bounded(task.error.message)
        detail = f"{code}: {message}" if message else code
    elif not task.state.is_finished and (percent := summarize(task.raw).progress) is not None:
        detail = f"{percent}% done"
    else:
        detail = "-"
    return f"{task.id}  {task.state.label:<9}  {images:<8}  {detail}"


def _prompt_of(raw: Mapping[str, Any] | None) -> str:
    prompt = summarize(raw).prompt
    return truncate(_bounded(prompt), 50) if prompt else ""


def _bounded(value: object, limit: int = 500) -> str:
    """One safe line of a value the service sent, at most `limit` characters (a record can
    hold megabytes in any field: cleaning is bounded by cutting first)."""
    text, more = clip(value, limit)
    return one_line(text) + ("…" if more else "")


# -- settings, token and environment ------------------------------------------------------


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        "base_url": getattr(args, "base_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "profile": getattr(args, "profile", None),
    }
    return load_settings(overrides)


def _require_token(settings: Settings) -> str:
    from nbtui.credentials import resolve_token

    info = resolve_token(settings.profile)
    if not info.token:
        detail = one_line(info.detail)
        if "nbtui token set" not in detail or ENV_TOKEN not in detail:
            detail += f" (run `nbtui token set`, or set {ENV_TOKEN})"
        raise UsageError(detail)
    return info.token


def _valid_ids(
    texts: Sequence[str], *, allow_stdin: bool = False, unique: bool = True
) -> tuple[list[str], bool]:
    """Validated ids, and whether any were bad (each bad one is named on stderr)."""
    sources: list[str] = []
    for text in texts:
        if allow_stdin and text == "-":
            sources.append(sys.stdin.read())
        else:
            sources.append(text)
    valid, rejected = parse_task_ids(sources, unique=unique)
    for token in rejected[:MAX_NAMED_BAD_IDS]:
        _error(f"not a task id (expected a UUID): {truncate(one_line(token), 80)!r}")
    if len(rejected) > MAX_NAMED_BAD_IDS:
        more = len(rejected) - MAX_NAMED_BAD_IDS
        _error(f"… and {more:,} more that are not task ids (the first {MAX_NAMED_BAD_IDS} shown)")
    return valid, bool(rejected)


def _requested_ids(texts: Sequence[str]) -> tuple[list[str], bool]:
    """The ids `get`/`watch` answer for, one per id asked for (repeats kept, `-` reads stdin).

    Empty input (`""`, an empty stdin) is named as a usage error rather than exiting silently.
    """
    requested, had_bad = _valid_ids(texts, allow_stdin=True, unique=False)
    if not requested and not had_bad:
        _error("no task ids given")
    return requested, had_bad


def _in_requested_order(tasks: Sequence[Task], requested: Sequence[str]) -> list[Task]:
    by_id = {task.id: task for task in tasks}
    return [by_id[task_id] for task_id in requested]


@dataclass
class Env:
    """Where a command's API and data live: the real ones, or the demo's throwaway ones."""

    settings: Settings
    demo: bool
    client_factory: ClientFactory
    #: How downloads reach the demo's in-process images (None: the network).
    image_transport: httpx.AsyncBaseTransport | None = None
    token: str | None = None
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def open_store(self) -> Store:
        from nbtui.tracking.store import Store

        store = Store.open(self.settings.data_dir)
        self._cleanup.append(store.close)
        notice = store.notice  # a damaged file set aside: said until the app has shown it
        if notice is not None:
            for line in notice.splitlines():
                _warn(one_line(line))
        return store

    def client(self) -> NanoBananaClient:
        return self.client_factory(self.token)

    def close(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()


@contextlib.contextmanager
def _environment(args: argparse.Namespace, *, needs_token: bool) -> Iterator[Env]:
    settings = _settings_from(args)
    if not getattr(args, "demo", False):
        if needs_token and settings.is_insecure_remote:
            _warn(
                f"{settings.base_url} is plain http to a remote host: the token would travel "
                "unencrypted; use https"
            )
        env = Env(settings=settings, demo=False, client_factory=user_client_factory(settings))
        if needs_token:
            env.token = _require_token(settings)
        try:
            yield env
        finally:
            env.close()
        return

    demo = build_demo(settings, serve_images=False, label="demo")
    env = Env(
        settings=demo.settings,
        demo=True,
        client_factory=demo.client_factory,
        image_transport=demo.image_transport,
    )
    env._cleanup.append(demo.close)
    try:
        # One refresh, so the demo list shows tasks in every state from the start.
        demo.store.apply(asyncio.run(_fetch(env, demo.task_ids)), {}, time.time())
        yield env
    finally:
        env.close()


# -- commands -----------------------------------------------------------------------------


def cmd_get(args: argparse.Namespace) -> int:
    requested, had_bad = _requested_ids(args.ids)
    if not requested:
        return EXIT_USAGE
    ids = list(dict.fromkeys(requested))
    with _environment(args, needs_token=True) as env:
        tasks = asyncio.run(_fetch(env, ids))
        _remember(env, tasks)
        saved: dict[str, list[str]] = {}
        save_failed = False
        if args.save is not None:
            saved, save_failed = asyncio.run(_save_all(env, tasks, args.save))
    tasks = _in_requested_order(tasks, requested)
    if args.json:
        objects = [task_json(task) for task in tasks]
        if args.save is not None:
            for obj in objects:
                obj["saved"] = saved.get(obj["id"], [])
        _print_json(objects)
    else:
        for task in tasks:
            _say(sys.stdout, task_line(task))
        for paths in saved.values():
            for path in paths:
                _say(sys.stdout, f"saved {path}")
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
                _error(f"{task.id}: nothing to save ({task.state.label}, no result image)")
                failed = True
                continue
            try:
                paths = await save_images(task, folder, fetcher=fetcher)
            except SaveError as exc:
                paths = exc.saved
                _error(f"{task.id}: {one_line(exc)}")
                failed = True
            except MediaError as exc:
                _error(f"{task.id}: {one_line(exc)}")
                failed = True
                continue
            saved[task.id] = [str(path) for path in paths]
    return saved, failed


def cmd_submit(args: argparse.Namespace) -> int:
    from nbtui.create import CreateRequest, SourceError, resolve_sources

    request = CreateRequest(
        prompt=args.prompt.strip(),
        action="edit" if args.edit else "generate",
        model=args.model,
        count=args.count,
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        sources=tuple(args.edit or ()),
    )
    problems = request.problems()
    if problems:
        raise UsageError(" ".join(problems.values()))
    try:
        urls = resolve_sources(request.sources)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    with _environment(args, needs_token=True) as env:
        task_id = asyncio.run(_create(env, request, urls))
        _say(sys.stderr, f"created task {task_id}")
        _track(env, task_id)
        if not args.watch:
            if args.json:
                fresh = {"id": task_id, "state": TaskState.PENDING.value, "images": []}
                _print_json([{**fresh, "error": None, "record": None}])
            else:
                _say(sys.stdout, task_id)
            return EXIT_OK
        outcome = asyncio.run(
            _watch(
                env,
                [task_id],
                interval=env.settings.poll_interval,
                give_up_after=args.timeout or None,
                not_found_grace=SUBMIT_NOT_FOUND_GRACE,
            )
        )
    if outcome.fatal is not None:
        _error(one_line(outcome.fatal))
        return EXIT_FAILURE
    _print_tasks(outcome.tasks, as_json=args.json)
    if outcome.timed_out:
        _error(f"timed out after {args.timeout:g} s; the task goes on: nbtui watch {task_id}")
        return EXIT_FAILURE
    return EXIT_OK if all(t.state is TaskState.SUCCEEDED for t in outcome.tasks) else EXIT_FAILURE


async def _create(env: Env, request: CreateRequest, image_urls: list[str]) -> str:
    """Send the create once (the client never retries it); the new task's id."""
    async with env.client() as client:
        try:
            created = await client.create_images(**request.client_kwargs(image_urls))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    # The id is API text: printed and stored, so made safe and normalised like any other id.
    return normalize_task_id(one_line(created.task_id))


def _track(env: Env, task_id: str) -> None:
    from nbtui.tracking.store import StoreError

    try:
        env.open_store().add([task_id], now=time.time())
    except StoreError as exc:
        _warn(f"the task was created but could not be tracked: {one_line(exc)}")


async def _fetch(env: Env, ids: list[str]) -> list[Task]:
    async with env.client() as client:
        result = await client.retrieve_batch(ids)
    tasks: list[Task] = []
    for task_id in ids:
        task = result.tasks.get(task_id) or Task.not_found(task_id)
        # Report under the id asked for (normalized), whatever spelling the record used.
        tasks.append(task if task.id == task_id else dataclasses.replace(task, id=task_id))
    if result.errors:
        # Output stays all or nothing, but the records that did arrive (the rest of a batch
        # with one unreadable record, other chunks) still refresh the tracked tasks.
        answered = [task for task in tasks if task.id in result.tasks]
        if answered and not env.demo:
            _remember(env, answered)
        result.raise_first()
    return tasks


def _remember(env: Env, tasks: Sequence[Task]) -> None:
    """Update the stored record of tracked tasks only; a store problem is only a warning."""
    from nbtui.tracking.store import StoreError

    try:
        store = env.open_store()
        tracked = set(store.ids())
        known = [task for task in tasks if task.id in tracked]
        if known:
            store.apply(known, {}, time.time())
    except StoreError as exc:
        _warn(f"could not update the tracked tasks: {one_line(exc)}")


@dataclass
class _Progress:
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
    requested, had_bad = _requested_ids(args.ids)
    if not requested:
        return EXIT_USAGE
    ids = list(dict.fromkeys(requested))
    with _environment(args, needs_token=True) as env:
        interval = args.interval if args.interval is not None else env.settings.poll_interval
        outcome = asyncio.run(
            _watch(env, ids, interval=interval, give_up_after=args.timeout or None)
        )
    if outcome.fatal is not None:
        _error(one_line(outcome.fatal))
        return EXIT_FAILURE
    _print_tasks(_in_requested_order(outcome.tasks, requested), as_json=args.json)
    if outcome.timed_out:
        waiting = sum(1 for task in outcome.tasks if not task.state.is_finished)
        _error(f"timed out after {args.timeout:g} s with {waiting} task(s) not finished")
    all_ok = not outcome.timed_out and all(
        task.state is TaskState.SUCCEEDED for task in outcome.tasks
    )
    if had_bad:
        return EXIT_USAGE
    return EXIT_OK if all_ok else EXIT_FAILURE


@dataclass
class _WatchOutcome:
    tasks: list[Task]
    timed_out: bool
    fatal: str | None


async def _watch(
    env: Env,
    ids: list[str],
    *,
    interval: float,
    give_up_after: float | None,
    not_found_grace: float = 0.0,
) -> _WatchOutcome:
    """Run the shared Monitor over a private store holding just these ids.

    `not_found_grace`: for that many seconds, "not found" is not an answer to stop on (a
    task created a moment ago may not be listed yet); 0 stops on it at once (a typo).
    """
    from nbtui.tracking.monitor import Monitor
    from nbtui.tracking.store import Store

    done = asyncio.Event()
    states: dict[str, TaskState] = dict.fromkeys(ids, TaskState.PENDING)
    progress = _Progress(sys.stderr, len(ids), sys.stderr.isatty())
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
        _remember(env, [task for task in tasks if task.raw is not None or task.state.is_finished])
    return _WatchOutcome(tasks=tasks, timed_out=timed_out, fatal=fatal[0] if fatal else None)


def cmd_add(args: argparse.Namespace) -> int:
    ids, had_bad = _valid_ids(args.ids, allow_stdin=True)
    if ids:
        with _environment(args, needs_token=False) as env:
            store = env.open_store()
            label = one_line(args.label) if args.label else None
            added = store.add(ids, label=label or None)
        fresh = set(added)
        for task_id in ids:
            note = "added" if task_id in fresh else "already tracked"
            _say(sys.stdout, f"{task_id}  {note}")
        _say(sys.stderr, f"{len(added)} added, {len(ids) - len(added)} already tracked")
    elif not had_bad:
        _error("no task ids given")
        return EXIT_USAGE
    return EXIT_USAGE if had_bad else EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    ids, had_bad = _valid_ids(args.ids, allow_stdin=True)
    if ids:
        with _environment(args, needs_token=False) as env:
            store = env.open_store()
            removed = set(store.remove(ids))
        for task_id in ids:
            _say(sys.stdout, f"{task_id}  {'removed' if task_id in removed else 'not tracked'}")
    elif not had_bad:
        _error("no task ids given")
        return EXIT_USAGE
    return EXIT_USAGE if had_bad else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    with _environment(args, needs_token=False) as env:
        rows = env.open_store().all()
    if args.json:
        _print_json([tracked_json(row) for row in rows])
        return EXIT_OK
    if not rows:
        _say(sys.stderr, "No tracked tasks. Add some with `nbtui add ID...`.")
        return EXIT_OK
    for row in rows:
        task = row.to_task()
        count = len(task.image_urls)
        label = f"[{one_line(row.label)}]  " if row.label else ""
        prompt = _prompt_of(row.raw)
        images = f"{count} image" + ("" if count == 1 else "s")
        _say(sys.stdout, f"{row.id}  {row.state.label:<9}  {images:<8}  {label}{prompt}".rstrip())
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from nbtui.credentials import (
        CredentialError,
        clear_token,
        mask_token,
        save_token,
        token_status,
        validate_token,
    )

    if getattr(args, "demo", False):
        raise UsageError("--demo needs no token; `nbtui token` manages your real one")
    settings = _settings_from(args)
    profile = settings.profile
    action = args.what
    if action == "status":
        _say(sys.stdout, token_status(profile, os.environ))
        return EXIT_OK
    if action == "clear":
        if clear_token(profile):
            _say(sys.stdout, f"Removed the stored token for profile {profile!r}.")
        else:
            _say(sys.stdout, f"No token was stored for profile {profile!r}.")
        if os.environ.get(ENV_TOKEN):
            _warn(f"${ENV_TOKEN} is set and still provides a token")
        return EXIT_OK
    # set
    if sys.stdin.isatty():
        token = getpass.getpass("API token (input hidden): ")
    else:
        token = sys.stdin.readline()
    try:
        token = validate_token(token)
    except CredentialError as exc:
        raise UsageError(
            f"{str(exc).rstrip('.')} (type it at the prompt or pipe one line)"
        ) from None
    save_token(token, profile)
    _say(sys.stdout, f"Token {mask_token(token)} saved in the keyring for profile {profile!r}.")
    if os.environ.get(ENV_TOKEN):
        _warn(f"${ENV_TOKEN} is set and takes precedence over the keyring")
    return EXIT_OK


def cmd_sim(args: argparse.Namespace) -> int:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimInfo, run_sim

    def ready(info: SimInfo) -> None:
        base_url = info.base_url
        if args.host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 - naming it, not binding it
            # Every interface: a URL with 0.0.0.0 in it is not one a client can use.
            base_url = base_url.replace(f"//{args.host}:", "//127.0.0.1:").replace(
                "//[::]:", "//127.0.0.1:"
            )
            _say(sys.stdout, f"Nano Banana simulator listening on all interfaces ({args.host})")
            _say(sys.stdout, f"from this machine: {base_url}")
        else:
            _say(sys.stdout, f"Nano Banana simulator listening on {base_url}")
        _say(sys.stdout, f"token: {info.token}" if info.token else "token: (none required)")
        if info.task_ids:
            _say(sys.stdout, f"{len(info.task_ids)} seeded task(s):")
            for task_id in info.task_ids:
                _say(sys.stdout, f"  {task_id}")
        # nbtui itself always wants a token: with none required, any value will do.
        token_hint = f"{ENV_TOKEN}={info.token or 'any'} "
        _say(sys.stdout, f"try: {token_hint}nbtui --base-url {base_url} get ID")
        _say(sys.stdout, "Press Ctrl-C to stop.")

    from nbtui.sim.config import REAL_SHAPE_MIX
    from nbtui.sim.scenario import ScenarioError, load_scenario

    scenario = None
    config = SimConfig(shapes=REAL_SHAPE_MIX)
    if args.scenario is not None:
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            _error(str(exc))
            return EXIT_USAGE
        config = scenario.config(config)
    if args.token is not None:
        config.token = args.token or None
    try:
        run_sim(
            args.host,
            args.port,
            config,
            seed_tasks=args.seed_tasks,
            demo=False,
            on_ready=ready,
            scenario=scenario,
        )
    except OSError as exc:
        raise SimStartError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from exc
    except KeyboardInterrupt:
        pass
    return EXIT_OK


class SimStartError(Exception):
    """The simulator could not bind its address (exit 1)."""


def cmd_app(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    if not args.demo and settings.is_insecure_remote:
        _warn(
            f"{settings.base_url} is plain http to a remote host: the token would travel "
            "unencrypted; use https"
        )
    with _imports_without_gc():
        import nbtui.tui.app  # noqa: F401  (the TUI's imports, with the collector off)
        from nbtui.runtime import run_app

    return run_app(settings, demo=bool(args.demo))


@contextlib.contextmanager
def _imports_without_gc() -> Iterator[None]:
    """Import the TUI without the cyclic GC, then freeze what the imports made.

    Importing Textual and the app makes ~40k tracked objects that live as long as the process,
    and next to no garbage (a few hundred objects); collecting meanwhile only scans them over
    and over, and every later collection would again. Frozen, collections skip them: ~35 ms
    less to the first painted row (B1, 1k tasks), the same peak RSS.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "get": cmd_get,
    "watch": cmd_watch,
    "submit": cmd_submit,
    "add": cmd_add,
    "remove": cmd_remove,
    "list": cmd_list,
    "token": cmd_token,
    "sim": cmd_sim,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 on bad usage itself)."""
    from nbtui.credentials import CredentialError
    from nbtui.tracking.store import StoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim" and getattr(args, "demo", False):
        parser.error("--demo does not apply to `sim`")
    # The app and the simulator handle SIGTERM themselves (the app restores the terminal).
    global _terminated
    _terminated = False
    previous_handler: Any = None
    if args.command not in (None, "sim"):
        with contextlib.suppress(ValueError):  # not the main thread: keep the default
            previous_handler = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        command = COMMANDS.get(args.command or "", cmd_app)
        return command(args)
    except KeyboardInterrupt:
        if _terminated:
            return EXIT_TERMINATED
        _say(sys.stderr, "")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`nbtui list | head`): stop quietly, as Python's docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except ConfigError as exc:
        _error(safe_multiline(str(exc)))
        return EXIT_USAGE
    except ApiError as exc:
        _error(one_line(exc.final()))  # nothing retries after this: no "nbtui will retry"
        return EXIT_FAILURE
    except (StoreError, CredentialError, SimStartError) as exc:
        _error(one_line(exc))
        return EXIT_FAILURE
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def safe_multiline(text: str) -> str:
    from nbtui.textsafe import safe_text

    return safe_text(text)
