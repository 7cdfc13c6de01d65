"""API text made safe for a terminal: control sequences and display-order tricks removed."""

from __future__ import annotations

import pytest

from nbtui.textsafe import one_line, safe_text, truncate


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain [bold]markup[/bold] stays literal", "plain [bold]markup[/bold] stays literal"),
        ("red \x1b[31mtext\x1b[0m", "red text"),
        ("clipboard \x1b]52;c;ZXZpbA==\x07grab", "clipboard grab"),
        ("title \x1b]0;pwned\x1b\\set", "title set"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("8-bit csi \x9b2J here", "8-bit csi  here"),
        ("del\x7f", "del"),
        # Trojan Source: overrides and isolates would show the text in another order.
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("a\u2066b\u2069c\u202ad\u202c", "abcd"),
        ("keeps\nnew lines\r\nand CRLF", "keeps\nnew lines\nand CRLF"),
    ],
)
def test_safe_text(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_one_line_folds_whitespace_and_strips() -> None:
    assert one_line("  a\n\tb\r\nc\u202e ") == "a b c"
    assert one_line(42) == "42"


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"
    assert truncate("abc", 0) == ""
