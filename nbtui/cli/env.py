"""Where a command's API and data live (the user's, or the demo's throwaway ones), the task
ids it was given, and the shared fetch that refreshes tracked tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtui.api.state import Task, parse_task_ids
from nbtui.cli.output import UsageError, say_error, say_warning
from nbtui.config import ENV_TOKEN, Settings, config_warnings, load_settings
from nbtui.runtime import ClientFactory, build_demo, user_client_factory
from nbtui.textsafe import one_line, truncate

if TYPE_CHECKING:
    import httpx

    from nbtui.api.client import NanoBananaClient
    from nbtui.tracking.store import Store

__all__ = [
    "MAX_NAMED_BAD_IDS",
    "Env",
    "environment",
    "fetch",
    "in_requested_order",
    "remember",
    "requested_ids",
    "require_token",
    "settings_from",
    "valid_ids",
]


#: Bad ids named one by one on stderr; past that, only how many more (binary garbage on stdin
#: would otherwise print a line per word).
MAX_NAMED_BAD_IDS = 20


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the command line asks for, after saying on stderr what could not be
    found (a missing NBTUI_CONFIG file, an unknown profile) before going on without it."""
    settings = load_settings(_overrides(args))
    for warning in setting_warnings(args):
        say_warning(warning)
    return settings


def setting_warnings(args: argparse.Namespace) -> list[str]:
    return config_warnings(_overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "base_url": getattr(args, "base_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "profile": getattr(args, "profile", None),
    }


def require_token(settings: Settings) -> str:
    from nbtui.credentials import resolve_token

    info = resolve_token(settings.profile)
    if not info.token:
        detail = one_line(info.detail)
        if info.keyring_problem is not None:
            # `nbtui token set` needs the keyring that just failed: only the variable helps.
            raise UsageError(detail)
        if "nbtui token set" not in detail or ENV_TOKEN not in detail:
            detail += f" (run `nbtui token set`, or set {ENV_TOKEN})"
        raise UsageError(detail)
    return info.token


def valid_ids(
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
        say_error(f"not a task id (expected a UUID): {truncate(one_line(token), 80)!r}")
    if len(rejected) > MAX_NAMED_BAD_IDS:
        more = len(rejected) - MAX_NAMED_BAD_IDS
        shown = MAX_NAMED_BAD_IDS
        say_error(f"… and {more:,} more that are not task ids (the first {shown} shown)")
    return valid, bool(rejected)


def requested_ids(texts: Sequence[str]) -> tuple[list[str], bool]:
    """The ids `get`/`watch` answer for, one per id asked for (repeats kept, `-` reads stdin).

    Empty input (`""`, an empty stdin) is named as a usage error rather than exiting silently.
    """
    requested, had_bad = valid_ids(texts, allow_stdin=True, unique=False)
    if not requested and not had_bad:
        say_error("no task ids given")
    return requested, had_bad


def in_requested_order(tasks: Sequence[Task], requested: Sequence[str]) -> list[Task]:
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
                say_warning(one_line(line))
        return store

    def client(self) -> NanoBananaClient:
        return self.client_factory(self.token)

    def close(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()


@contextlib.contextmanager
def environment(args: argparse.Namespace, *, needs_token: bool) -> Iterator[Env]:
    settings = settings_from(args)
    if not getattr(args, "demo", False):
        if needs_token and settings.is_insecure_remote:
            say_warning(
                f"{settings.base_url} is plain http to a remote host: the token would travel "
                "unencrypted; use https"
            )
        env = Env(settings=settings, demo=False, client_factory=user_client_factory(settings))
        if needs_token:
            env.token = require_token(settings)
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
        demo.store.apply(asyncio.run(fetch(env, demo.task_ids)), {}, time.time())
        yield env
    finally:
        env.close()


async def fetch(env: Env, ids: list[str]) -> list[Task]:
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
            remember(env, answered)
        result.raise_first()
    return tasks


def remember(env: Env, tasks: Sequence[Task]) -> None:
    """Update the stored record of tracked tasks only; a store problem is only a warning."""
    from nbtui.tracking.store import StoreError

    try:
        store = env.open_store()
        tracked = set(store.ids())
        known = [task for task in tasks if task.id in tracked]
        if known:
            store.apply(known, {}, time.time())
    except StoreError as exc:
        say_warning(f"could not update the tracked tasks: {one_line(exc)}")
