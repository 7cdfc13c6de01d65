"""The user's own commands (`[commands]` in the config) on the main screen: which keys they
get, running one on the tasks an action applies to, and the log of recent runs (`O`).

Running is `nbtui.usercommands`' job (no shell, a timeout, output capped, no token in the
environment); this module fills a template in with a task's values, saves the image first
for `{image_path}` (into the save folder, as `S` does), says how it went in a toast and keeps
the output for the log screen.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.keys import Keys, key_to_character

from nbtui.api.state import Task
from nbtui.config import Placeholder, UserCommand
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.formatting import short_id
from nbtui.tui.image_client import SharedFetcher
from nbtui.tui.keys import USER_COMMANDS_GROUP, HelpEntry, normal_key, taken_keys
from nbtui.tui.links import is_openable
from nbtui.tui.session import Session
from nbtui.usercommands import ExpandError, RunResult, child_environment, expand, run_argv

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.tracking.store import TrackedTask

__all__ = ["LOG_SIZE", "RunRecord", "UserCommands", "check_keys"]

#: Runs the log screen keeps (the oldest are dropped).
LOG_SIZE = 30
_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_KEY_NAMES = frozenset(key.value.rpartition("+")[2] for key in Keys)
_IMAGE = frozenset({Placeholder.IMAGE_URL, Placeholder.IMAGE_PATH})


def _is_key_name(key: str) -> bool:
    """`ctrl+u`, `f5`, `U`, `question_mark`: a key Textual can report."""
    *modifiers, base = key.split("+")
    if any(modifier not in _MODIFIERS for modifier in modifiers) or not base:
        return False
    return len(base) == 1 or base in _KEY_NAMES or key_to_character(base) is not None


def check_keys(
    commands: tuple[UserCommand, ...], keymap: dict[str, str]
) -> tuple[list[UserCommand], list[str]]:
    """The commands whose keys are free, and why the others are refused: a key that is not
    a key name, or one nbtui, `[keymap]` or an earlier command already uses."""
    taken = taken_keys(keymap)
    accepted: list[UserCommand] = []
    problems: list[str] = []
    for command in commands:
        keys = [normal_key(key) for key in (command.key or "").split(",") if key.strip()]
        problem = None
        for key in keys:
            if not _is_key_name(key):
                problem = f'key "{key}" is not a key name (e.g. "ctrl+u", "f5", "F")'
            elif key in taken:
                problem = f'key "{key}" is already used by "{taken[key]}"'
            if problem:
                break
        if problem is not None:
            problems.append(f"Command {one_line(command.name)!r} refused: {problem}")
            continue
        accepted.append(command)
        taken.update({key: f"the command {command.name}" for key in keys})
    return accepted, problems


@dataclass(frozen=True)
class RunRecord:
    """One run, for the log screen."""

    command: str
    task_id: str
    result: RunResult
    #: When it finished (the app's clock).
    finished: float


class UserCommands:
    """The accepted commands, running them, and the log (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        session: Session,
        *,
        target_ids: Callable[[], list[str]],
        fetcher: SharedFetcher,
    ) -> None:
        """`target_ids()`: the tasks an action applies to, read when a command starts."""
        self._host = host
        self._session = session
        self._target_ids = target_ids
        self._fetcher = fetcher
        configured = session.settings.commands
        accepted, refused = check_keys(configured.commands, dict(session.settings.keymap))
        #: The commands that may run, in config order (the action's argument is the index).
        self.commands = accepted
        #: Why some were refused (shown at start-up).
        self.problems = [*configured.problems, *refused]
        self.log: deque[RunRecord] = deque(maxlen=LOG_SIZE)
        self._running: set[str] = set()

    def bindings(self) -> list[tuple[str, str, str]]:
        """(keys, action, description) for each command with a key, to bind on the screen."""
        return [
            (
                ",".join(normal_key(key) for key in command.key.split(",")),
                f"run_user_command({index})",
                command.name,
            )
            for index, command in enumerate(self.commands)
            if command.key
        ]

    def help_rows(self) -> list[HelpEntry]:
        """A row per command for the help screen and the palette ("Your commands")."""
        return [
            HelpEntry(
                USER_COMMANDS_GROUP,
                f"Run {command.name}",
                ", ".join(part for part in (command.key or "").split(",")) or "(palette)",
                f"run_user_command({index})",
            )
            for index, command in enumerate(self.commands)
        ]

    # -- running -------------------------------------------------------------------------

    def run(self, index: int) -> None:
        """Run command `index` once per target task (per image for the image placeholders)."""
        if not 0 <= index < len(self.commands):
            return
        command = self.commands[index]
        ids = self._target_ids()
        if not ids:
            self._host.notify("No task selected.", severity="warning")
            return
        if command.name in self._running:
            self._host.notify(f"{command.name} is already running.", timeout=3)
            return
        self._running.add(command.name)
        self._host.run_worker(
            self._run_all(command, ids),
            group="user-command",
            description=f"run {command.name}",
            exit_on_error=False,
        )

    async def _run_all(self, command: UserCommand, ids: list[str]) -> None:
        results: list[RunResult] = []
        skipped: list[str] = []
        try:
            for task_id in ids:
                try:
                    results.extend(await self._run_task(command, task_id))
                except ExpandError as exc:
                    skipped.append(f"{short_id(task_id)}: {exc}")
        finally:
            self._running.discard(command.name)
        self._summarize(command, results, skipped)

    async def _run_task(self, command: UserCommand, task_id: str) -> list[RunResult]:
        """Every run for one task, one after the other; `ExpandError` when it cannot run."""
        tracked = await asyncio.to_thread(self._session.store.get, task_id)
        if tracked is None:
            raise ExpandError("no longer tracked")
        values = {
            Placeholder.ID: tracked.id,
            Placeholder.PROMPT: tracked.prompt or "",
            Placeholder.LABELS: tracked.label or "",
        }
        needed = command.placeholders & _IMAGE
        per_image: list[dict[Placeholder, str]] = [{}]
        if needed:
            per_image = await self._image_values(tracked, needed)
        results: list[RunResult] = []
        environment = child_environment(os.environ, self._session.token)
        for image_values in per_image:
            argv = expand(command.argv, {**values, **image_values})
            result = await run_argv(argv, time_limit=command.timeout, env=environment)
            self.log.appendleft(RunRecord(command.name, task_id, result, self._session.clock()))
            results.append(result)
        return results

    async def _image_values(
        self, tracked: TrackedTask, needed: frozenset[Placeholder]
    ) -> list[dict[Placeholder, str]]:
        """{image_url} and {image_path} for each result image: the command runs per image."""
        task = await asyncio.to_thread(tracked.to_task)
        urls = task.image_urls
        if not urls:
            why = "it has not finished" if not task.state.is_finished else "it has no image"
            raise ExpandError(f"no result image ({why})")
        if not all(is_openable(url) for url in urls):
            raise ExpandError("an image URL is not an http(s) link, so it is not passed on")
        values: list[dict[Placeholder, str]] = [{Placeholder.IMAGE_URL: url} for url in urls]
        if Placeholder.IMAGE_PATH in needed:
            for entry, path in zip(values, await self._save(task), strict=True):
                entry[Placeholder.IMAGE_PATH] = str(path)
        return values

    async def _save(self, task: Task) -> list[Path]:
        """The task's images saved into the save folder, as `S` saves them (never the token)."""
        from nbtui.media import MediaError, default_save_dir, save_images

        folder = default_save_dir(self._session.settings)
        try:
            return await save_images(task, folder, fetcher=self._fetcher.get())
        except MediaError as exc:
            raise ExpandError(f"image not saved: {one_line(exc)}") from None

    def _summarize(
        self, command: UserCommand, results: list[RunResult], skipped: list[str]
    ) -> None:
        """One toast for the whole action: `upscale: done (exit 0)`, or counts for several."""
        failed = [result for result in results if not result.ok]
        if len(results) == 1 and not skipped:
            message = f"{command.name}: {one_line(results[0].outcome)}"
        else:
            done = len(results) - len(failed)
            noun = "run" if len(results) == 1 else "runs"
            message = f"{command.name}: {len(results)} {noun}, {done} done"
            if failed:
                message += f", {len(failed)} failed (first: {one_line(failed[0].outcome)})"
        if skipped:
            message += "\nNot run for " + "; ".join(one_line(item) for item in skipped[:3])
            if len(skipped) > 3:
                message += f" and {len(skipped) - 3} more"
        if results:
            key = self._session.settings.keymap.get("app.command_log", "O")
            message += f"\n{one_line(key)} shows the output."
        severity: SeverityLevel = "error" if failed or (skipped and not results) else "information"
        if skipped and results and not failed:
            severity = "warning"
        self._host.notify(message, title="Your command", severity=severity, timeout=8)
