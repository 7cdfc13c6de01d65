"""The raw record two ways: a folding tree and pretty-printed, highlighted text.

The tree fills children in only when a node is first expanded, so a huge record costs
nothing until someone opens it. The text view uses Rich's JSON highlighter (no tree-sitter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.highlighter import JSONHighlighter
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from nbtui import jsonsafe
from nbtui.textsafe import clip, one_line, safe_text, truncate

__all__ = ["JsonNode", "JsonTree", "JsonView", "dump_json", "render_text", "value_to_copy"]

#: Text view cut-off: highlighting megabytes on every selection would stall the UI.
_TEXT_LIMIT = 100_000
#: In the text view each string shows this many characters, then "…N more characters".
_TEXT_STRING_CHARS = 2_000
#: One expansion adds at most this many children (then a "…N more" leaf): a list of a
#: million items must not add a million nodes in one go.
_MAX_CHILDREN = 1_000
#: Containers with at most this many children open by themselves on the first levels.
_AUTO_OPEN_CHILDREN = 24
_AUTO_OPEN_DEPTH = 3

JsonMode = Literal["tree", "text"]


def dump_json(value: Any) -> str:
    """Pretty JSON as it should be copied: indented, non-ASCII kept readable, always valid
    (non-finite numbers become null, see `nbtui.jsonsafe`)."""
    return jsonsafe.dumps(value, indent=2, ensure_ascii=False)


def value_to_copy(value: Any) -> str:
    """A string is copied bare; anything else as JSON."""
    if isinstance(value, str):
        return value
    return jsonsafe.dumps(value, indent=None, ensure_ascii=False)


def render_text(value: Any) -> Text:
    """The highlighted text view of `value`, bounded whatever its size: every string cut to
    `_TEXT_STRING_CHARS`, the whole to `_TEXT_LIMIT` (runs off the UI thread)."""
    shown = jsonsafe.clean(value, clip=_TEXT_STRING_CHARS)
    dumped = safe_text(json.dumps(shown, indent=2, ensure_ascii=False))
    note = ""
    if len(dumped) > _TEXT_LIMIT:
        dumped = dumped[:_TEXT_LIMIT]
        note = "\n… (cut here; copy the whole JSON with C, or use the tree)"
    text = Text(dumped)
    JSONHighlighter().highlight(text)
    if note:
        text.append(note, style="dim italic")
    return text


_TOKEN = re.compile(r" *[^ ]* *")


class HangingIndent:
    """The JSON text wrapped to the pane with each continuation line indented to where its
    value starts (Rich wraps to column 0, which breaks the shape of the JSON).

    A value that fits a continuation line moves there whole; one longer than that is cut
    where the line ends (a URL or a token has no spaces to break at)."""

    def __init__(self, text: Text) -> None:
        self._text = text
        self._lines = text.split("\n", allow_blank=True)

    def __str__(self) -> str:
        return self._text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        shown: list[Text] = []
        for line in self._lines:
            if line.cell_len <= width:
                shown.append(line)
                continue
            hang = _hang(line.plain, width)
            pieces = line.divide(_breaks(line.plain, width, width - hang))
            shown.append(pieces[0])
            shown.extend(Text.assemble(" " * hang, piece) for piece in pieces[1:])
        yield Text("\n", no_wrap=True, overflow="crop").join(shown)


def _hang(plain: str, width: int) -> int:
    """Where continuation lines start: under the value (after `"key": `), or two cells in
    from the line's own indent when that would leave less than half the width."""
    indent = len(plain) - len(plain.lstrip(" "))
    found = re.match(r' *"(?:[^"\\]|\\.)*": ', plain)
    column = cell_len(found.group()) if found else indent
    if column > width // 2:
        column = indent + 2
    return min(column, max(0, (width - 2) // 2))  # room for a wide character after it


def _breaks(plain: str, first: int, rest: int) -> list[int]:
    """Character offsets where `plain` breaks: words kept whole where a line has room for
    them, a word longer than a continuation line cut where the line is full."""
    offsets: list[int] = []
    room, used, at = first, 0, 0
    for found in _TOKEN.finditer(plain):
        token = found.group()
        if not token:
            continue
        size = cell_len(token.rstrip(" "))
        if used + size <= room:  # fits here (its trailing spaces may run past the edge)
            used += cell_len(token)
            at = found.end()
            continue
        if used and size <= rest:  # fits a fresh line: move it there whole
            offsets.append(at)
            room, used, at = rest, cell_len(token), found.end()
            continue
        for char in token:  # longer than any line: cut where the line is full
            char_size = cell_len(char)
            if used + char_size > room and used:
                offsets.append(at)
                room, used = rest, 0
            used += char_size
            at += 1
    return offsets


def _nothing_to_show(present: bool) -> str:
    """What the pane says without a record: no task selected, or one not answered yet."""
    if not present:
        return "No task selected: the record of the task under the cursor shows here."
    return "No record yet: the service has not answered for this task."


@dataclass(frozen=True, slots=True)
class JsonNode:
    """What a tree node stands for: its path in the record and its value."""

    path: str
    value: Any


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield str(key), child
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield f"[{index}]", child


def _summary(value: Any) -> Text:
    if isinstance(value, dict):
        return Text(f"{{…}} {len(value)} keys", style="dim")
    if isinstance(value, list):
        return Text(f"[…] {len(value)} items", style="dim")
    if isinstance(value, str):
        head, _ = clip(value, 300)
        return Text(truncate(json.dumps(one_line(head), ensure_ascii=False), 300), style="green")
    if isinstance(value, float) and value != value:
        return Text("NaN", style="cyan")
    if value is None:
        return Text("null", style="italic magenta")
    if isinstance(value, bool):
        return Text("true" if value else "false", style="italic magenta")
    head, more = clip(value, 300)
    return Text(one_line(head) + ("…" if more else ""), style="cyan")


def _label(key: str, value: Any) -> Text:
    return Text.assemble((one_line(key), "bold blue"), ": ", _summary(value))


class JsonTree(Tree[JsonNode]):
    """A folding view of a JSON value; children are built on first expansion."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("no record", style="dim"), id=id)
        self.show_root = True
        self.auto_expand = True

    def load(self, value: Any, *, present: bool = True) -> None:
        """Show `value` (None: no record yet; `present` False: no task selected at all)."""
        self._release()
        self.reset(Text("record", style="bold"), JsonNode("$", value))
        if value is None:
            self.root.set_label(Text(_nothing_to_show(present), style="dim italic"))
            return
        self._populate(self.root, depth=0)
        self.root.expand()

    def _release(self) -> None:
        """Drop the old record from the old nodes: nodes and tree refer to each other, so they
        wait for the cyclic GC, which could keep megabytes of records alive for a long time."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            node.data = None
            stack.extend(node.children)

    def _populate(self, node: TreeNode[JsonNode], depth: int) -> None:
        data = node.data
        if data is None or node.children:
            return
        value = data.value
        for key, child in islice(_children(value), _MAX_CHILDREN):
            path = f"{data.path}{key}" if key.startswith("[") else f"{data.path}.{key}"
            if isinstance(child, dict | list) and child:
                sub = node.add(_label(key, child), JsonNode(path, child), allow_expand=True)
                if depth + 1 < _AUTO_OPEN_DEPTH and len(child) <= _AUTO_OPEN_CHILDREN:
                    self._populate(sub, depth + 1)
                    sub.expand()
            else:
                node.add_leaf(_label(key, child), JsonNode(path, child))
        extra = len(value) - _MAX_CHILDREN if isinstance(value, dict | list) else 0
        if extra > 0:
            more = Text(f"…{extra:,} more (copy the whole JSON with C)", style="dim italic")
            node.add_leaf(more, None)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[JsonNode]) -> None:
        self._populate(event.node, depth=_AUTO_OPEN_DEPTH)

    def render_label(self, node: TreeNode[JsonNode], base_style: Style, style: Style) -> Text:
        """The label cut to the pane's width with "…" (a long value was cut off at the edge
        with nothing to say so); `f` and `c` still show and copy the whole value."""
        label = super().render_label(node, base_style, style)
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = self.scrollable_content_region.width - depth * self.guide_depth
        if room > 1 and label.cell_len > room:
            label.truncate(room, overflow="ellipsis")
        return label


class JsonView(Vertical):
    """The JSON pane: the tree or the text, switched with `toggle_mode()`."""

    DEFAULT_CSS = """
    JsonView > JsonTree { height: 1fr; scrollbar-gutter: stable; }  /* labels cut to one width */
    JsonView > #json-text-scroll { height: 1fr; padding: 0 1; }
    JsonView.-text > JsonTree { display: none; }
    JsonView.-tree > #json-text-scroll { display: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._value: Any = None
        self._has_value = False
        #: The text view is rendered only while it shows: in tree mode `show()` skips it.
        self._text_stale = True
        #: Bumped on every text render, so a late result for another task is dropped.
        self._generation = 0
        self.mode: JsonMode = "tree"
        self.add_class("-tree")
        # Kept rather than queried: redraws can come while the pane is being unmounted.
        self._tree = JsonTree(id="json-tree")
        self._text_scroll = VerticalScroll(id="json-text-scroll", can_focus=True)
        self._text = Static(id="json-text")

    def compose(self) -> ComposeResult:
        yield self._tree
        with self._text_scroll:
            yield self._text

    @property
    def json_tree(self) -> JsonTree:
        return self._tree

    def show(self, value: Any, *, present: bool) -> None:
        """Show a task's raw record; `present` is False when there is no task at all."""
        self._value = value
        self._has_value = present
        self.json_tree.load(value if present else None, present=present)
        self._text_stale = True
        if self.mode == "text":
            self._render_text()

    def _render_text(self) -> None:
        self._text_stale = False
        self._generation += 1
        if not self._has_value or self._value is None:
            self._text.update(Text(_nothing_to_show(self._has_value), style="dim italic"))
            return
        self._text.update(Text("formatting…", style="dim italic"))
        self._format_text(self._value, self._generation)

    @work(thread=True, exclusive=True, group="json-text", description="format the JSON text")
    def _format_text(self, value: Any, generation: int) -> None:
        """Dump, clean and highlight off the UI thread: keys never wait on a record's size."""
        try:
            text = render_text(value)
        except Exception as exc:  # a record no formatter foresaw must not end the app
            text = Text(f"This record cannot be shown as text ({type(exc).__name__})")
        with suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._formatted, text, generation)

    def _formatted(self, text: Text, generation: int) -> None:
        if generation == self._generation:  # not overtaken by another task meanwhile
            self._text.update(HangingIndent(text))

    def toggle_mode(self) -> JsonMode:
        """Switch between the tree and the text; returns the new mode."""
        self.mode = "text" if self.mode == "tree" else "tree"
        self.set_class(self.mode == "text", "-text")
        self.set_class(self.mode == "tree", "-tree")
        if self.mode == "text" and self._text_stale:
            self._render_text()
        return self.mode

    def focus_view(self) -> None:
        """Focus whichever view is showing."""
        if self.mode == "tree":
            self.json_tree.focus()
        else:
            self._text_scroll.focus()

    def whole(self) -> str | None:
        """The whole record as pretty JSON, or None when there is none."""
        if not self._has_value or self._value is None:
            return None
        return dump_json(self._value)

    def selected(self) -> tuple[str, str] | None:
        """(path, text to copy) of the tree's cursor node; the whole record in text mode."""
        if not self._has_value or self._value is None:
            return None
        if self.mode == "tree":
            node = self.json_tree.cursor_node
            if node is not None and node.data is not None:
                return node.data.path, value_to_copy(node.data.value)
        return "$", dump_json(self._value)
