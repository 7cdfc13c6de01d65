"""`submit`: create an image task (sent once, never retried), track it, and optionally
watch it to the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.api.state import TaskState, normalize_task_id
from nbtui.cli.env import Env, environment
from nbtui.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    UsageError,
    print_json,
    print_tasks,
    say,
    say_error,
    say_warning,
)
from nbtui.cli.tasks import watch_tasks
from nbtui.textsafe import one_line

if TYPE_CHECKING:
    from nbtui.create import CreateRequest

__all__ = ["SUBMIT_NOT_FOUND_GRACE", "cmd_submit"]


#: Seconds during which `submit --watch` keeps asking for a task the service does not list
#: yet (it was created a moment ago); plain `watch` takes "not found" at once.
SUBMIT_NOT_FOUND_GRACE = 60.0


def submit_prompt(prompt: str | None, edit: list[str] | None) -> tuple[str, list[str]]:
    """The prompt and the sources, in either order: `submit "prompt" --edit URL` or
    `submit --edit URL "prompt"` (where `--edit` took the prompt as its last source).

    The last `--edit` value is the prompt when no prompt came on its own and it is neither
    a URL nor an existing file; otherwise the prompt is missing, and the message says how
    to give it."""
    sources = list(edit or [])
    if prompt is not None:
        return prompt, sources
    if len(sources) > 1 and not _looks_like_source(sources[-1]):
        return sources[-1], sources[:-1]
    if sources:
        raise UsageError(
            "the prompt is missing: --edit takes every value after it as a source image, "
            'so put the prompt first (nbtui submit "a prompt" --edit URL) or last, after '
            "the sources"
        )
    raise UsageError('the prompt is missing: nbtui submit "what the image should show"')


def _looks_like_source(value: str) -> bool:
    if "://" in value or value.startswith("data:"):
        return True
    try:
        return Path(value).expanduser().is_file()
    except (OSError, ValueError):
        return False


def cmd_submit(args: argparse.Namespace) -> int:
    from nbtui.create import CreateRequest, SourceError, resolve_sources

    prompt, sources = submit_prompt(args.prompt, args.edit)
    request = CreateRequest(
        prompt=prompt.strip(),
        action="edit" if sources else "generate",
        model=args.model,
        count=args.count,
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        sources=tuple(sources),
    )
    problems = request.problems()
    if problems:
        raise UsageError(" ".join(problems.values()))
    try:
        urls = resolve_sources(request.sources)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    with environment(args, needs_token=True) as env:
        task_id = asyncio.run(_create(env, request, urls))
        say(sys.stderr, f"created task {task_id}")
        _track(env, task_id)
        if not args.watch:
            if args.json:
                fresh = {"id": task_id, "state": TaskState.PENDING.value, "images": []}
                print_json([{**fresh, "error": None, "record": None}])
            else:
                say(sys.stdout, task_id)
            return EXIT_OK
        outcome = asyncio.run(
            watch_tasks(
                env,
                [task_id],
                interval=env.settings.poll_interval,
                give_up_after=args.timeout or None,
                not_found_grace=SUBMIT_NOT_FOUND_GRACE,
            )
        )
    if outcome.fatal is not None:
        say_error(one_line(outcome.fatal))
        return EXIT_FAILURE
    print_tasks(outcome.tasks, as_json=args.json)
    if outcome.timed_out:
        say_error(f"timed out after {args.timeout:g} s; the task goes on: nbtui watch {task_id}")
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
        say_warning(f"the task was created but could not be tracked: {one_line(exc)}")
