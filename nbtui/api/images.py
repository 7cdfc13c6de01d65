"""The Images API request, checked before it is sent (nothing is billed for a typo), and
where its answer keeps the new task's id (docs/api.md, "Images API")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["create_body", "created_task_id"]

_ACTIONS: Final = ("generate", "edit")
_IMAGE_URL_PREFIXES: Final = ("http://", "https://", "data:image/")


def created_task_id(data: Mapping[str, Any]) -> str | None:
    """The id of a created task: `task_id`, then `data.task_id`, then `id` (docs/api.md,
    "Images API")."""
    candidates: list[Any] = [data.get("task_id")]
    inner = data.get("data")
    if isinstance(inner, Mapping):
        candidates.append(inner.get("task_id"))
    candidates.append(data.get("id"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def create_body(
    *,
    prompt: str,
    action: str,
    model: str | None,
    image_urls: Sequence[str] | None,
    count: int | None,
    aspect_ratio: str | None,
    resolution: str | None,
) -> dict[str, Any]:
    """The Images API body, validated locally (docs/api.md, "Images API") so nothing is billed
    for a typo."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt must not be empty")
    if action not in _ACTIONS:
        raise ValueError(f"action must be 'generate' or 'edit', not {action!r}")
    urls = list(image_urls or [])
    if isinstance(image_urls, str):
        raise ValueError("image_urls must be a list of URLs, not one string")
    if action == "edit" and not urls:
        raise ValueError("an edit needs at least one image URL (image_urls)")
    for url in urls:
        if not isinstance(url, str) or not url.startswith(_IMAGE_URL_PREFIXES):
            raise ValueError(
                f"image URLs must be http(s) URLs or data:image/... URLs, not {str(url)[:60]!r}"
            )
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise ValueError("count must be a whole number from 1 to 4")
    if count is not None and not 1 <= count <= 4:
        raise ValueError(f"count must be from 1 to 4, not {count}")
    body: dict[str, Any] = {"action": action, "prompt": prompt, "async": True}
    if model:
        body["model"] = model
    if urls:
        body["image_urls"] = urls
    if count is not None:
        body["count"] = count
    if aspect_ratio:
        body["aspect_ratio"] = aspect_ratio
    if resolution:
        body["resolution"] = resolution
    return body
