"""The raw record two ways: a folding tree and pretty-printed, highlighted text.

The tree fills children in only when a node is first expanded, so a huge record costs
nothing until someone opens it. The text view uses Rich's JSON highlighter (no tree-sitter).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from nbtui.textsafe import one_line, safe_text, truncate

__all__ = ["JsonNode", "JsonTree", "JsonView", "dump_json", "value_to_copy"]

#: Text view cut-off: highlighting megabytes on every selection would stall the UI.
_TEXT_LIMIT = 200_000
#: Containers with at most this many children open by themselves on the first levels.
_AUTO_OPEN_CHILDREN = 24
_AUTO_OPEN_DEPTH = 3

JsonMode = Literal["tree", "text"]


def dump_json(value: Any) -> str:
    """Pretty JSON as it should be copied: indented, non-ASCII kept readable."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def value_to_copy(value: Any) -> str:
    """A string is copied bare; anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


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
        return Text(truncate(json.dumps(one_line(value), ensure_ascii=False), 300), style="green")
    if value is None:
        return Text("null", style="italic magenta")
    if isinstance(value, bool):
        return Text("true" if value else "false", style="italic magenta")
    return Text(one_line(value), style="cyan")


def _label(key: str, value: Any) -> Text:
    return Text.assemble((one_line(key), "bold blue"), ": ", _summary(value))


class JsonTree(Tree[JsonNode]):
    """A folding view of a JSON value; children are built on first expansion."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("no record", style="dim"), id=id)
        self.show_root = True
        self.auto_expand = True

    def load(self, value: Any) -> None:
        """Show `value` (None: no record yet)."""
        self.reset(Text("record", style="bold"), JsonNode("$", value))
        if value is None:
            self.root.set_label(Text("no record yet (never answered)", style="dim italic"))
            return
        self._populate(self.root, depth=0)
        self.root.expand()

    def _populate(self, node: TreeNode[JsonNode], depth: int) -> None:
        data = node.data
        if data is None or node.children:
            return
        for key, child in _children(data.value):
            path = f"{data.path}{key}" if key.startswith("[") else f"{data.path}.{key}"
            if isinstance(child, dict | list) and child:
                sub = node.add(_label(key, child), JsonNode(path, child), allow_expand=True)
                if depth + 1 < _AUTO_OPEN_DEPTH and len(child) <= _AUTO_OPEN_CHILDREN:
                    self._populate(sub, depth + 1)
                    sub.expand()
            else:
                node.add_leaf(_label(key, child), JsonNode(path, child))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[JsonNode]) -> None:
        self._populate(event.node, depth=_AUTO_OPEN_DEPTH)


class JsonView(Vertical):
    """The JSON pane: the tree or the text, switched with `toggle_mode()`."""

    DEFAULT_CSS = """
    JsonView > JsonTree { height: 1fr; }
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
        self.json_tree.load(value if present else None)
        self._text_stale = True
        if self.mode == "text":
            self._render_text()

    def _render_text(self) -> None:
        self._text_stale = False
        text_widget = self._text
        if not self._has_value or self._value is None:
            text_widget.update(Text("no record yet", style="dim italic"))
            return
        dumped = safe_text(dump_json(self._value))
        note = ""
        if len(dumped) > _TEXT_LIMIT:
            dumped = dumped[:_TEXT_LIMIT]
            note = "\n… (cut here; copy the whole JSON with C, or use the tree)"
        text = Text(dumped)
        JSONHighlighter().highlight(text)
        if note:
            text.append(note, style="dim italic")
        text_widget.update(text)

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
