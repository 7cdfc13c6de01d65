"""What a record says about its task in a few fields: prompt, model, action, times, images.

One reading for every caller (the store's list columns, the CLI's lines, the detail pane,
notifications), so a prompt or a time never reads differently in two places. Lenient like
the rest of the API layer: a field of the wrong type is simply absent, and times may be Unix
seconds or ISO 8601 strings (docs/api.md, "The task record").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nbtui.api.state import extract_images, extract_progress

__all__ = ["Summary", "summarize", "timestamp"]


@dataclass(frozen=True, slots=True)
class Summary:
    """The fields of a record that lists, lines and notifications show."""

    #: The request's prompt, else the first result image's; the whole text, uncleaned.
    prompt: str | None = None
    model: str | None = None
    action: str | None = None
    image_count: int = 0
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    #: The percent done the record reports, or None where it gives no figure.
    progress: int | None = None


_EMPTY = Summary()


def timestamp(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 string; None for anything else.

    Records can hold NaN, infinities, integers too big for a float and absurd strings: one
    such value must not fail its row, its batch or a formatter.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str) and 0 < len(value) <= 64:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _time(record: Mapping[str, Any], key: str) -> float | None:
    """A time at the top level, else in `response` (some records keep `finished_at` there)."""
    value = timestamp(record.get(key))
    if value is None:
        response = record.get("response")
        if isinstance(response, Mapping):
            value = timestamp(response.get(key))
    return value


def summarize(record: Mapping[str, Any] | None) -> Summary:
    """The summary of a raw record; an empty one for a task with no record yet."""
    if record is None:
        return _EMPTY
    request = record.get("request")
    request = request if isinstance(request, Mapping) else {}
    images = extract_images(record)
    prompt = _text(request.get("prompt"))
    if prompt is None:
        prompt = next((image.prompt for image in images if _text(image.prompt)), None)
    return Summary(
        prompt=prompt,
        model=_text(request.get("model")),
        action=_text(request.get("action")),
        image_count=len(images),
        created_at=_time(record, "created_at"),
        started_at=_time(record, "started_at"),
        finished_at=_time(record, "finished_at"),
        progress=extract_progress(record),
    )
