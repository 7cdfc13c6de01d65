"""Labels: the user's own words on a task (several per task), checked in one place.

A label is what a user types beside a task and later filters by (`label:client-x`), so it
must be short, printable, and unambiguous in a comma-separated list: trimmed, inner runs of
whitespace made one space, 1 to 64 characters, no commas and no control characters. Two labels
that differ only in case are the same label (the store compares them case-insensitively).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["MAX_LABEL", "LabelError", "display_labels", "normalize_label", "split_labels"]

#: The longest label, in characters.
MAX_LABEL = 64


class LabelError(ValueError):
    """A label the user typed cannot be stored; the message says why, in their words."""


def normalize_label(text: str) -> str:
    """The label as stored; raises `LabelError` saying what is wrong with it."""
    label = " ".join(text.split())
    if not label:
        raise LabelError("A label cannot be empty.")
    if "," in label:
        raise LabelError(f"A label cannot contain a comma ({label[:MAX_LABEL]!r}).")
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} for char in label):
        raise LabelError("A label cannot contain control or unprintable characters.")
    if len(label) > MAX_LABEL:
        raise LabelError(f"A label has at most {MAX_LABEL} characters ({len(label)} given).")
    return label


def split_labels(text: str) -> list[str]:
    """The labels in a comma-separated list ("client-x, draft"), each checked, without
    repeats (case-insensitively); empty pieces between commas are ignored."""
    labels: list[str] = []
    seen: set[str] = set()
    for piece in text.split(","):
        if not piece.strip():
            continue
        label = normalize_label(piece)
        if label.casefold() not in seen:
            seen.add(label.casefold())
            labels.append(label)
    return labels


def display_labels(labels: Iterable[str]) -> str | None:
    """The labels as one line for the list and the `label` column (None: no labels)."""
    ordered = sorted(set(labels), key=lambda label: (label.casefold(), label))
    return ", ".join(ordered) if ordered else None
