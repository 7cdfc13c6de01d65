"""JSON that is always JSON (RFC 8259), whatever a record holds.

Python's `json.dumps` writes `NaN` and `Infinity`, which no other JSON reader accepts, raises on
integers of more than 4,300 digits and on nesting past the recursion limit (its indenting
encoder recurses once per level). Records come from a service nbtui does not control, so
everything written as JSON (`--json` output, the JSON viewer, copies) goes through `clean`
first: non-finite numbers and numbers no JSON reader can hold become null, containers nested
past `MAX_DEPTH` are replaced by a note, and the walk itself never recurses.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from nbtui.textsafe import as_text, more_characters

__all__ = ["MAX_DEPTH", "TOO_DEEP", "clean", "dumps"]

#: Deeper containers are replaced by `TOO_DEEP` (real records are a few levels deep).
MAX_DEPTH: Final = 200
TOO_DEEP: Final = "(nested too deeply to show)"


def _scalar(value: Any, clip: int | None) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if clip is not None and len(value) > clip:
            return value[:clip] + more_characters(len(value) - clip)
        return value
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:  # beyond any double: a JSON reader could not hold it
            return None
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return as_text(value)


def clean(value: Any, *, clip: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of `value` that `json.dumps(..., allow_nan=False)` always accepts.

    `clip`: strings longer than this are cut and end with "…N more characters" (for display
    only; copies and `--json` keep every character).
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]
    while stack:
        source, parent, key, depth = stack.pop()
        if isinstance(source, dict | list | tuple) and depth > max_depth:
            parent[key] = TOO_DEEP
        elif isinstance(source, dict):
            mapping: dict[str, Any] = {}
            parent[key] = mapping
            for name, child in source.items():
                text = name if isinstance(name, str) else as_text(name)
                mapping[text] = None
                stack.append((child, mapping, text, depth + 1))
        elif isinstance(source, list | tuple):
            items: list[Any] = [None] * len(source)
            parent[key] = items
            stack.extend((child, items, index, depth + 1) for index, child in enumerate(source))
        else:
            parent[key] = _scalar(source, clip)
    return root[0]


def dumps(
    value: Any, *, indent: int | None = 2, ensure_ascii: bool = True, compact: bool = False
) -> str:
    """`value` as RFC 8259 JSON (see `clean`); `compact`: no spaces after `,` and `:`."""
    return json.dumps(
        clean(value),
        indent=indent,
        ensure_ascii=ensure_ascii,
        allow_nan=False,
        separators=(",", ":") if compact else None,
    )
