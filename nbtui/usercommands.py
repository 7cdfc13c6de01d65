"""Running the user's own commands (`[commands]` in the config): argv in, exit status out.

The template was checked when the config was read (`nbtui.config.UserCommand`): every
placeholder is a whole argument and the program is written out. Here a template is filled in
with a task's values, each value becoming exactly one argument, and the program is started
without a shell (`create_subprocess_exec`), its stdin closed, its output captured up to a cap,
killed with its process group when it outlasts its timeout. The child's environment never
holds the API token.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass

from nbtui.config import ENV_TOKEN, Placeholder, TemplateArg

__all__ = [
    "OUTPUT_LIMIT",
    "ExpandError",
    "RunResult",
    "child_environment",
    "expand",
    "run_argv",
]

#: Bytes of stdout and of stderr kept per run; the rest is read and dropped.
OUTPUT_LIMIT = 64 * 1024
#: After the command exits, how long what it started may keep its output open.
_DRAIN_AFTER_EXIT = 2.0
_CHUNK = 16 * 1024
#: How often a running command's exit status is looked at (seconds).
_POLL = 0.05


class ExpandError(ValueError):
    """A value cannot be passed as an argument (the message says which and why)."""


def expand(argv: tuple[TemplateArg, ...], values: Mapping[Placeholder, str]) -> list[str]:
    """The argv for one run: each placeholder replaced by its value, as one whole argument.

    Nothing is split, quoted or interpreted: a prompt with spaces, quotes or `$(...)` is one
    argument holding exactly that text. A value the template needs but `values` lacks, or one
    holding a NUL character (which no argument can carry), raises `ExpandError`.
    """
    args: list[str] = []
    for arg in argv:
        if isinstance(arg, Placeholder):
            if arg not in values:
                raise ExpandError(f"no value for {{{arg.value}}}")
            value = values[arg]
            if "\0" in value:
                raise ExpandError(f"{{{arg.value}}} holds a NUL character, which no argument can")
            args.append(value)
        else:
            args.append(arg)
    return args


def child_environment(environ: Mapping[str, str], token: str | None) -> dict[str, str]:
    """The environment a command runs with: nbtui's own, without the API token.

    Dropped: the token's variable (`ACEDATACLOUD_API_TOKEN`) and any variable whose value
    holds the token in use (exported under another name), so a command never sees it.
    """
    secret = token if token and len(token) >= 8 else None
    return {
        name: value
        for name, value in environ.items()
        if name != ENV_TOKEN and (secret is None or secret not in value)
    }


@dataclass(frozen=True)
class RunResult:
    """How one run ended. `exit_code` is None when it never started or was killed on timeout;
    `problem` then says why (not found, not executable, timed out)."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    seconds: float
    problem: str | None = None
    #: Bytes of output read beyond `OUTPUT_LIMIT` and dropped (stdout, stderr).
    dropped: tuple[int, int] = (0, 0)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.problem is None

    @property
    def outcome(self) -> str:
        """A few words for a toast: `done (exit 0)`, `failed (exit 2)`, `timed out after 60 s`."""
        if self.problem is not None:
            return self.problem
        if self.exit_code == 0:
            return "done (exit 0)"
        if self.exit_code is not None and self.exit_code < 0:
            return f"killed by signal {-self.exit_code}"
        return f"failed (exit {self.exit_code})"


async def _read_capped(stream: asyncio.StreamReader | None, kept: bytearray) -> int:
    """Read `stream` to its end, keeping the first `OUTPUT_LIMIT` bytes; return the dropped."""
    dropped = 0
    if stream is None:
        return 0
    while chunk := await stream.read(_CHUNK):
        room = OUTPUT_LIMIT - len(kept)
        kept += chunk[:room]
        dropped += max(0, len(chunk) - room)
    return dropped


def _kill_group(process: asyncio.subprocess.Process, *, even_after_exit: bool = False) -> None:
    """Kill the command and whatever it started in its process group (the group's id is the
    command's pid: `start_new_session`)."""
    if process.returncode is not None and not even_after_exit:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            process.kill()


def _start_problem(program: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"program not found: {program} (is it installed and on PATH?)"
    if isinstance(exc, PermissionError):
        return f"cannot run {program}: it is not executable (permission denied)"
    return f"cannot run {program}: {exc.strerror or type(exc).__name__}"


async def run_argv(argv: list[str], *, time_limit: float, env: Mapping[str, str]) -> RunResult:
    """Run `argv` without a shell and wait for it, at most `time_limit` seconds.

    stdin is closed (`/dev/null`); stdout and stderr are captured up to `OUTPUT_LIMIT` each.
    The command gets its own process group, killed as a whole on timeout or if the caller
    is cancelled (the app quitting), so nothing it started is left running.
    """
    started = time.monotonic()
    shown = tuple(argv)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        failed = _start_problem(argv[0], exc)
        return RunResult(shown, None, b"", b"", time.monotonic() - started, failed)
    out, err = bytearray(), bytearray()
    readers = asyncio.gather(_read_capped(process.stdout, out), _read_capped(process.stderr, err))
    # `Process.wait()` also waits for the pipes, which something the command started in the
    # background may hold open: its exit status is watched instead.
    exited = asyncio.ensure_future(process.wait())
    problem: str | None = None
    dropped = (0, 0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    try:
        while process.returncode is None and not exited.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                problem = f"timed out after {time_limit:g} s (killed)"
                _kill_group(process)
                break
            await asyncio.wait([exited], timeout=min(_POLL, remaining))
        try:
            # The pipes close once the command and what it started have exited.
            async with asyncio.timeout(_DRAIN_AFTER_EXIT):
                dropped = tuple(await asyncio.shield(readers))  # type: ignore[assignment]
        except TimeoutError:
            _kill_group(process, even_after_exit=True)  # something it started kept them open
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_AFTER_EXIT):
                    await asyncio.wait([readers])
                    await asyncio.wait([exited])
            if problem is None:
                problem = (
                    f"exit {process.returncode}, but a process it started kept its output "
                    "open and was killed"
                )
    finally:
        _kill_group(process)
        for waiting in (readers, exited):
            if not waiting.done():
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
    exit_code = None if problem is not None else process.returncode
    return RunResult(
        shown, exit_code, bytes(out), bytes(err), time.monotonic() - started, problem, dropped
    )
