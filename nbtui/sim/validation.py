"""Reading requests the way a robust service does: any body, any types, never a crash.

Every problem is a 400 `bad_request` naming the field (docs/openapi/nano-banana.json); fields
the service does not know pass through, and so do models it does not list.
"""

from __future__ import annotations

import json
import math
from typing import Any

from nbtui.sim.answers import Answer, bad_request, error

__all__ = [
    "ASPECT_RATIOS",
    "INVALID",
    "MAX_DEPTH",
    "MAX_IMAGE_URL_BYTES",
    "RESOLUTIONS",
    "optional_int",
    "optional_number",
    "optional_str",
    "parse_body",
    "validate_image_request",
]

ASPECT_RATIOS = ("1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
RESOLUTIONS = ("1K", "2K", "4K")
MAX_IMAGE_URL_BYTES = 10 * 1024 * 1024
#: Deeper JSON than this is refused: it is never a real request, and echoing it back in a
#: task record must not hit the encoder's recursion limit.
MAX_DEPTH = 64


class _Invalid:
    """Marks a request body that is not JSON."""


INVALID = _Invalid()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(node: Any) -> bool:
    stack: list[tuple[Any, int]] = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
    return False


def parse_body(raw: bytes) -> Any:
    """The JSON of a request body, or `INVALID` (not JSON, NaN/Infinity, absurdly deep)."""
    if not raw.strip():
        return INVALID
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return INVALID
    return INVALID if _too_deep(body) else body


def optional_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"`{key}` must be a number.")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"`{key}` is out of range.") from None
    if not math.isfinite(number):
        raise ValueError(f"`{key}` must be a number.")
    return number


def optional_int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{key}` must be a non-negative integer.")
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be a string.")
    return value


def _one_of(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> Answer | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str) or value not in allowed:
        return bad_request(f"`{key}` must be one of {', '.join(allowed)}.")
    return None


def validate_image_request(body: dict[str, Any]) -> Answer | None:
    """The Images API's fields, one by one (docs/api.md, "Images API"); a field that is
    present must have its type (`null` included: no field is nullable)."""
    action = body.get("action")
    if not isinstance(action, str) or action not in ("generate", "edit"):
        return bad_request("`action` is required: `generate` or `edit`.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return bad_request("`prompt` is required.")
    if "model" in body and not isinstance(body["model"], str):
        return bad_request("`model` must be a string (any model name passes through).")
    image_urls = body.get("image_urls")
    if "image_urls" in body:
        if not isinstance(image_urls, list) or not all(isinstance(u, str) for u in image_urls):
            return bad_request("`image_urls` must be a list of URLs.")
        for url in image_urls:
            if not url.startswith(("http://", "https://", "data:image/")):
                return bad_request(
                    "`image_urls` entries must be http(s) URLs or data:image/... URIs."
                )
            if len(url.encode("utf-8", "surrogatepass")) > MAX_IMAGE_URL_BYTES:
                return error(413, "request_too_large", "An image is larger than 10 MB.")
    if action == "edit" and not image_urls:
        return bad_request("`image_urls` is required for `edit`.")
    if "count" in body:
        count = body["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4:
            return bad_request("`count` must be an integer from 1 to 4.")
    problem = _one_of(body, "aspect_ratio", ASPECT_RATIOS) or _one_of(
        body, "resolution", RESOLUTIONS
    )
    if problem is not None:
        return problem
    if "async" in body and not isinstance(body["async"], bool):
        return bad_request("`async` must be true or false.")
    if "callback_url" in body:
        callback = body["callback_url"]
        if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
            return bad_request("`callback_url` must be an http(s) URL.")
    return None
