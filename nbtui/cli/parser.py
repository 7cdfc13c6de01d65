"""The whole command line as argparse sees it: commands, flags and their checks.

Names, flags and help are part of the contract: scripts call them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nbtui import __version__
from nbtui.config import ENV_TOKEN

__all__ = ["DEFAULT_WATCH_TIMEOUT", "build_parser"]


#: `watch` gives up after this many seconds unless `--timeout` says otherwise (0: never).
DEFAULT_WATCH_TIMEOUT = 600.0


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
    # Optional here so `--edit URL "prompt"` works too: `--edit` takes every value after it,
    # and `cmd_submit` takes the prompt back from its end (`submit_prompt`).
    submit.add_argument("prompt", metavar="PROMPT", nargs="?", help="what the image should show")
    submit.add_argument(
        "--edit",
        nargs="+",
        metavar="URL_OR_FILE",
        help="edit these source images (http(s) URLs or local PNG/JPEG/WebP files up to 10 MB); "
        "the prompt may come before or after them",
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
    add.add_argument(
        "--label", help="labels for the newly added tasks (several: separated by commas)"
    )

    remove = sub.add_parser(
        "remove",
        parents=[common],
        help="stop tracking task ids",
        description="Remove task ids from the tracked list ('-' reads them from stdin).",
    )
    remove.add_argument("ids", nargs="+", metavar="ID", help="task ids, or - for stdin")

    label = sub.add_parser(
        "label",
        parents=[common],
        help="add or remove labels on tracked tasks",
        description="Add and remove labels on tracked tasks, then print each id with its "
        "labels ('not tracked' for an id that is not). With neither --add nor --remove, only "
        "prints them. A label is 1-64 characters without commas or control characters; a bad "
        "one is named and nothing is written (exit 2). '-' reads ids from stdin.",
    )
    label.add_argument("ids", nargs="+", metavar="ID", help="task ids, or - for stdin")
    label.add_argument(
        "--add",
        action="append",
        metavar="L",
        help="a label to add (repeatable; or several separated by commas)",
    )
    label.add_argument(
        "--remove",
        action="append",
        metavar="L",
        help="a label to take off (repeatable; or several separated by commas; a label in "
        "both --add and --remove is added)",
    )
    label.add_argument("--json", action="store_true", help="print a JSON array instead")

    list_ = sub.add_parser(
        "list",
        parents=[common],
        help="show the tracked tasks",
        description="Show the tracked tasks as last refreshed (no network request).",
    )
    list_.add_argument(
        "--filter",
        metavar="Q",
        default="",
        help="only the tasks the query matches, in the app's filter language (e.g. "
        "'state:failed label:client-x', 'cat -model:pro', 'images:>1 age:<1d'; see README)",
    )
    shape = list_.add_mutually_exclusive_group()
    shape.add_argument(
        "--format",
        choices=("table", "json", "jsonl", "csv"),
        default=None,
        help="table (the default), json (the same array as --json), or the export columns "
        "as jsonl (one object a line) or csv",
    )
    shape.add_argument("--json", action="store_true", help="print a JSON array (--format json)")

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


def command_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand `name` (the top-level one where there is none), so a bad
    option is reported with the usage of the command it was given to."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name is not None:
            found = action.choices.get(name)
            if isinstance(found, argparse.ArgumentParser):
                return found
    return parser
