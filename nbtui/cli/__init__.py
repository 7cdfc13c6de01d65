"""The `nbtui` command line: scriptable, stable output, no business logic of its own.

Every subcommand is a thin layer over the client, the store and the monitor that the TUI uses
too. Output contract (checked from outside, keep it stable):

- exit 0: done; 1: the API or the network failed (token rejected included), or a watched
  task did not succeed; 2: usage or bad input (bad ids, no token configured, invalid config);
  130: interrupted; 143: terminated (SIGTERM), after cleaning up as on an interrupt.
- `--json` output is always a JSON array on stdout; messages and progress go to stderr.
- Text from the API is stripped of terminal control sequences before it is printed, and the
  token never appears in any output.

`--demo` runs get/watch/add/remove/label/list against an in-process simulator seeded with the demo
tasks and a throwaway data dir (nothing is kept, no token or network needed); with no
subcommand it opens the app in demo mode.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from nbtui import __version__
from nbtui.api.errors import ApiError
from nbtui.cli.app import cmd_app
from nbtui.cli.app import imports_without_gc as _imports_without_gc
from nbtui.cli.labels import cmd_label
from nbtui.cli.output import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageError,
    safe_multiline,
    say,
    say_error,
    task_json,
    task_line,
    tracked_json,
)
from nbtui.cli.output import prompt_of as _prompt_of
from nbtui.cli.parser import build_parser, command_parser
from nbtui.cli.sim import SimStartError, cmd_sim
from nbtui.cli.submit import cmd_submit
from nbtui.cli.tasks import Progress as _Progress
from nbtui.cli.tasks import cmd_add, cmd_get, cmd_list, cmd_remove, cmd_watch
from nbtui.cli.token import cmd_token
from nbtui.config import ConfigError
from nbtui.textsafe import one_line

# The private names are those tests reach for under their old home (cli.py was one module).
__all__ = [
    "COMMANDS",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "UsageError",
    "_Progress",
    "__version__",
    "_imports_without_gc",
    "_prompt_of",
    "build_parser",
    "main",
    "task_json",
    "task_line",
    "tracked_json",
]

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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "get": cmd_get,
    "watch": cmd_watch,
    "submit": cmd_submit,
    "add": cmd_add,
    "remove": cmd_remove,
    "label": cmd_label,
    "list": cmd_list,
    "token": cmd_token,
    "sim": cmd_sim,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 on bad usage itself)."""
    from nbtui.credentials import CredentialError
    from nbtui.tracking.store import StoreError

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # e.g. `get --jsn`: say so with `get`'s usage, not the top-level one
        command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extras)}")
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
        say(sys.stderr, "")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`nbtui list | head`): stop quietly, as Python's docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except UsageError as exc:
        say_error(str(exc))
        return EXIT_USAGE
    except ConfigError as exc:
        say_error(safe_multiline(str(exc)))
        return EXIT_USAGE
    except ApiError as exc:
        say_error(one_line(exc.final()))  # nothing retries after this: no "nbtui will retry"
        return EXIT_FAILURE
    except (StoreError, CredentialError, SimStartError) as exc:
        say_error(one_line(exc))
        return EXIT_FAILURE
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
