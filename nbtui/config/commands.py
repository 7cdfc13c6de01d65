"""`[commands]`: the user's own commands, each checked into a template of whole arguments."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbtui.config.rules import _Bad, _number
from nbtui.textsafe import one_line


class Placeholder(enum.StrEnum):
    """A value a command template may name, as a whole argument: `{id}`, `{prompt}`..."""

    ID = "id"
    IMAGE_URL = "image_url"
    IMAGE_PATH = "image_path"
    PROMPT = "prompt"
    LABELS = "labels"


#: One argument of a command template: literal text, or a placeholder filled in at run time.
TemplateArg = str | Placeholder

DEFAULT_COMMAND_TIMEOUT = 60.0
_COMMAND_FIELDS = ("key", "argv", "timeout")
_COMMAND_TIMEOUT = _number(gt=0, le=3600)
_BRACES = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")
_NAMES = ", ".join(f"{{{name}}}" for name in Placeholder)


@dataclass(frozen=True)
class UserCommand:
    """One `[commands.NAME]` table that passed every check: its template already split into
    literal arguments and whole-argument placeholders."""

    name: str
    #: The keys that run it on the main screen (None: from the command palette only).
    key: str | None
    argv: tuple[TemplateArg, ...]
    #: Seconds before a run is killed.
    timeout: float = DEFAULT_COMMAND_TIMEOUT

    @property
    def placeholders(self) -> frozenset[Placeholder]:
        return frozenset(arg for arg in self.argv if isinstance(arg, Placeholder))


@dataclass(frozen=True)
class UserCommands:
    """The `[commands]` table: the commands that may run, and why any others were refused.

    A refused command never stops nbtui: the app says why at start-up and runs the rest.
    """

    commands: tuple[UserCommand, ...] = ()
    problems: tuple[str, ...] = ()


def _template_arg(element: str) -> TemplateArg:
    """One argv element: `{name}` alone is a placeholder; `{{` and `}}` are literal braces.

    Raises `ValueError` saying what is wrong: a placeholder inside other text (the value would
    be parsed by whatever reads that text, a shell for `sh -c`), an unknown name, a lone brace.
    """
    parts = _BRACES.findall(element)
    names = [part[1:-1] for part in parts if part not in ("{{", "}}") and len(part) > 1]
    if any(part in ("{", "}") for part in parts):
        raise ValueError("has a lone { or }: write {{ and }} for literal braces")
    for name in names:
        if name not in Placeholder.__members__.values():
            raise ValueError(f"names an unknown placeholder {{{name}}} (known: {_NAMES})")
    if names and (len(parts) != 1 or element != parts[0]):
        raise ValueError(
            f"puts {{{names[0]}}} inside other text: a placeholder must be a whole argument, "
            "so the value is passed as data and never parsed (by a shell or anything else)"
        )
    if names:
        return Placeholder(names[0])
    return element.replace("{{", "{").replace("}}", "}")


def _user_command(name: str, table: Any) -> UserCommand:
    """Check one `[commands.NAME]` table; `ValueError` says why it is refused."""
    if not name.strip() or not name.isprintable() or len(name) > 40:
        raise ValueError("its name must be 1 to 40 printable characters")
    if not isinstance(table, Mapping):
        raise ValueError('must be a table with key and argv, e.g. argv = ["echo", "{id}"]')
    unknown = [str(field) for field in table if field not in _COMMAND_FIELDS]
    if unknown:
        raise ValueError(
            f"has an unknown setting {unknown[0]!r} (known: {', '.join(_COMMAND_FIELDS)})"
        )
    key = table.get("key")
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ValueError('key must be text naming a key, e.g. key = "ctrl+u"')
    argv = table.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError('argv must be a list of text, the program first: argv = ["echo", "{id}"]')
    args: list[TemplateArg] = []
    for index, element in enumerate(argv):
        try:
            args.append(_template_arg(element))
        except ValueError as exc:
            raise ValueError(f"argv element {index + 1} {element!r} {exc}") from None
    if isinstance(args[0], Placeholder) or not args[0].strip():
        raise ValueError(
            "the program (the first argv element) must be written out, not a placeholder"
        )
    try:
        timeout = _COMMAND_TIMEOUT(table.get("timeout", DEFAULT_COMMAND_TIMEOUT))
    except _Bad as bad:
        raise ValueError(f"timeout {table.get('timeout')!r}: {bad}") from None
    keys = ",".join(part.strip() for part in key.split(",")) if key is not None else None
    return UserCommand(name, keys, tuple(args), timeout)


def _commands(value: Any) -> UserCommands:
    """`[commands]`: every valid command kept, every other one refused with its reason."""
    if isinstance(value, UserCommands):
        return value
    if not isinstance(value, Mapping):
        return UserCommands(problems=("[commands] must be a table of [commands.NAME] tables",))
    commands: list[UserCommand] = []
    problems: list[str] = []
    for name, table in value.items():
        try:
            commands.append(_user_command(str(name), table))
        except ValueError as exc:
            problems.append(f"Command {one_line(name)!r} refused: {one_line(exc)}")
    return UserCommands(tuple(commands), tuple(problems))
