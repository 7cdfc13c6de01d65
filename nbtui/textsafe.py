"""Text from the API is data: make it safe to put on a terminal.

Terminal control sequences (ESC/CSI/OSC, BEL, other C0 and C1 controls, DEL) could move the
cursor, retitle the window, write the clipboard or hide text; they are removed and the
surrounding text kept. Rich markup is never interpreted by callers (they build `Text` objects
or print plainly), so brackets need no escaping here.
"""

from __future__ import annotations

import re

__all__ = ["as_text", "clip", "more_characters", "one_line", "safe_text", "truncate"]

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte
# escapes; then C1 introducers written as single code points (U+0080-U+009F).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated by BEL or ST (or unterminated)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]?"  # other escapes, and a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC
)
# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) make text display in
# an order other than the one it has ("Trojan Source"): dropped like the C0/C1 controls.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROL_KEEP_NEWLINES = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_BIDI}]")
_WHITESPACE_RUN = re.compile(r"[\t\r\n]+")


def as_text(value: object) -> str:
    """`str(value)`, never raising: an integer of more than 4,300 digits, a structure nested
    past the recursion limit or an object with a broken `__str__` gets a description."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except (ValueError, RecursionError, OverflowError):
        if isinstance(value, int):
            return f"(a number of about {int(value.bit_length() * 0.30103)} digits)"
        return f"(a {type(value).__name__} too large to show)"
    except Exception:  # a hostile __str__: show what it is, not what it says
        return f"(a {type(value).__name__})"


def clip(value: object, limit: int) -> tuple[str, int]:
    """The first `limit` characters of `value` as text, and how many more there are.

    Cutting before cleaning keeps every later step (regexes, wrapping, highlighting) bounded
    by `limit` whatever the size of the value.
    """
    text = as_text(value)
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def more_characters(count: int) -> str:
    """The notice after a clipped value: `…12,345 more characters`."""
    return f"…{count:,} more character{'s' if count != 1 else ''}"


def safe_text(value: object, *, keep_newlines: bool = True) -> str:
    """`value` as text with every terminal control sequence and control character removed."""
    text = as_text(value)
    text = _ESCAPE_SEQUENCE.sub("", text)
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _CONTROL_KEEP_NEWLINES.sub("", text)
    return _CONTROL.sub("", _WHITESPACE_RUN.sub(" ", text))


def one_line(value: object) -> str:
    """Safe text on a single line: newlines and tabs become spaces."""
    if isinstance(value, str) and value.isprintable():
        # Nothing to remove or replace (controls, escapes, tabs, newlines and bidi
        # overrides are all unprintable): the common case, and 10x faster than the regexes.
        return value.strip()
    return safe_text(value, keep_newlines=False).strip()


def truncate(text: str, width: int) -> str:
    """Cut `text` to `width` characters, marking the cut with an ellipsis."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
