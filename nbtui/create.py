"""What a create request is made of, shared by `nbtui submit` and the TUI's new-task form.

The choices come from docs/api.md ("Images API"). Source images for an edit are http(s) URLs,
passed through, or local files, read and turned into `data:image/...;base64,` URLs after
checking that they are PNG, JPEG or WebP and no larger than the service accepts (10 MB), so
nothing is sent (or billed) for a request that cannot work. Reading files blocks: callers in
an event loop run `resolve_sources` in a thread. `nbtui.media` (httpx) is imported on first
use only, so the form costs the app nothing at start-up.

`rerun_request` and `edit_request` read a task's record back into a request (re-run, edit
from a result): a record is API data, so every field is checked, and what cannot be copied
is said in a note instead of failing.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "ACTIONS",
    "ASPECT_RATIOS",
    "MAX_PREFILL_PROMPT",
    "MAX_SOURCE_BYTES",
    "MODELS",
    "RESOLUTIONS",
    "CreateRequest",
    "Prefill",
    "SourceError",
    "edit_request",
    "rerun_request",
    "resolve_source",
    "resolve_sources",
]

ACTIONS: Final = ("generate", "edit")
#: The models docs/api.md ("Images API") lists; any other name is let through (the service decides).
MODELS: Final = (
    "nano-banana",
    "nano-banana-2-lite",
    "nano-banana-2",
    "nano-banana-2.1",
    "nano-banana-pro",
    "nano-banana:official",
    "nano-banana-2:official",
    "nano-banana-pro:official",
)
ASPECT_RATIOS: Final = ("1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
RESOLUTIONS: Final = ("1K", "2K", "4K")
#: The service refuses larger source images (docs/api.md, "Images API": up to 10 MB each).
MAX_SOURCE_BYTES: Final = 10 * 1024 * 1024
#: A re-run copies at most this much of a record's prompt into the form (a hostile record can
#: hold megabytes; no one edits that in a text box, and the note says it was cut).
MAX_PREFILL_PROMPT: Final = 20_000
#: At most this many of a record's source images are copied into the form.
_MAX_PREFILL_SOURCES = 20


class SourceError(ValueError):
    """A source image that cannot be used; `str(err)` says which one and why."""


@dataclass(frozen=True)
class CreateRequest:
    """One Images API call as the user asked for it (sources not yet read)."""

    prompt: str
    action: str = "generate"
    model: str | None = None
    count: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    #: As typed: http(s) URLs or local file paths.
    sources: tuple[str, ...] = field(default_factory=tuple)

    def problems(self) -> dict[str, str]:
        """Field name -> what is wrong, checked without touching the disk or the network."""
        found: dict[str, str] = {}
        if not self.prompt.strip():
            found["prompt"] = "Write a prompt: it says what the image should show."
        if self.action not in ACTIONS:
            found["action"] = "The action is generate or edit."
        if self.model is not None and (
            not self.model.strip() or any(c.isspace() for c in self.model)
        ):
            found["model"] = "A model name has no spaces (e.g. nano-banana)."
        if self.count is not None and not 1 <= self.count <= 4:
            found["count"] = "The count is 1 to 4 images."
        if self.aspect_ratio is not None and self.aspect_ratio not in ASPECT_RATIOS:
            found["aspect_ratio"] = f"The aspect ratio is one of {', '.join(ASPECT_RATIOS)}."
        if self.resolution is not None and self.resolution not in RESOLUTIONS:
            found["resolution"] = "The resolution is 1K, 2K or 4K."
        if self.action == "edit" and not self.sources:
            found["sources"] = "An edit needs at least one source image: a URL or a file."
        elif self.action == "edit":
            for source in self.sources:
                problem = _syntax_problem(source)
                if problem is not None:
                    found["sources"] = problem
                    break
        return found

    def client_kwargs(self, image_urls: Sequence[str]) -> dict[str, Any]:
        """Keyword arguments for `NanoBananaClient.create_images` with resolved sources."""
        return {
            "prompt": self.prompt,
            "action": self.action,
            "model": self.model or None,
            "image_urls": list(image_urls) if self.action == "edit" else None,
            "count": self.count,
            "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
        }


@dataclass(frozen=True)
class Prefill:
    """A request read back from a task's record, and what could not be copied (in words)."""

    request: CreateRequest
    notes: tuple[str, ...] = ()


def _shown(value: object, width: int = 40) -> str:
    """A record's value quoted in a note: one clean line, cut (before cleaning, so a
    megabyte value costs no more than a short one)."""
    from nbtui.textsafe import clip, one_line, truncate

    return truncate(one_line(clip(value, width * 4)[0]), width)


def _prefill_prompt(request: Mapping[str, Any], fallback: str | None, notes: list[str]) -> str:
    from nbtui.textsafe import safe_text

    value = request.get("prompt")
    if not isinstance(value, str) or not value.strip():
        if value is not None and not isinstance(value, str):
            notes.append("The record's prompt is not text; write one.")
        value = fallback if isinstance(fallback, str) else ""
    if len(value) > MAX_PREFILL_PROMPT:
        notes.append(
            f"The prompt is {len(value):,} characters; the first {MAX_PREFILL_PROMPT:,} "
            "were copied."
        )
        value = value[:MAX_PREFILL_PROMPT]
    # Control characters and escape sequences are no part of a prompt anyone meant to send.
    return safe_text(value).strip()


def _prefill_count(value: Any, notes: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 2:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    notes.append(f"The record's count ({_shown(value)}) is not 1 to 4; the default (1) is used.")
    return None


def _prefill_choice(value: Any, choices: Sequence[str], what: str, notes: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        for choice in choices:
            if value.strip().casefold() == choice.casefold():
                return choice
    notes.append(
        f"The record's {what} ({_shown(value)}) is not one the form offers; the default is used."
    )
    return None


def _prefill_model(value: Any, notes: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and len(value) <= 200 and value.isprintable():
        model = value.strip()
        if not any(ch.isspace() for ch in model):
            return model
    notes.append(f"The record's model ({_shown(value)}) is not a model name; the default is used.")
    return None


def _prefill_sources(value: Any, notes: list[str]) -> tuple[str, ...]:
    from nbtui.media import is_openable_url

    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        notes.append("The record's source images are not a list; add them again.")
        return ()
    kept: list[str] = []
    inline = other = 0
    for item in items:
        if isinstance(item, str) and item.strip().lower().startswith("data:"):
            inline += 1
        elif isinstance(item, str) and is_openable_url(item):
            kept.append(item.strip())
        else:
            other += 1
    if len(kept) > _MAX_PREFILL_SOURCES:
        notes.append(f"Only the first {_MAX_PREFILL_SOURCES} of {len(kept)} sources were copied.")
        kept = kept[:_MAX_PREFILL_SOURCES]
    if inline:
        noun = "source image was" if inline == 1 else "source images were"
        notes.append(
            f"{inline} {noun} sent as an embedded file and cannot be copied: add the file again."
        )
    if other:
        noun = "source is" if other == 1 else "sources are"
        notes.append(f"{other} {noun} not an http(s) URL and left out.")
    return tuple(kept)


def _request_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    request = record.get("request")
    return request if isinstance(request, Mapping) else {}


def _common(record: Mapping[str, Any], notes: list[str]) -> CreateRequest:
    """What a re-run and an edit both copy: the prompt, model, aspect ratio and resolution."""
    from nbtui.api.summary import summarize

    request = _request_of(record)
    return CreateRequest(
        prompt=_prefill_prompt(request, summarize(record).prompt, notes),
        model=_prefill_model(request.get("model"), notes),
        aspect_ratio=_prefill_choice(
            request.get("aspect_ratio"), ASPECT_RATIOS, "aspect ratio", notes
        ),
        resolution=_prefill_choice(request.get("resolution"), RESOLUTIONS, "resolution", notes),
    )


def rerun_request(record: Mapping[str, Any] | None) -> Prefill | None:
    """The request that made the task of `record`, for the form to show again.

    None when there is nothing to re-run: no record yet, or a record with neither a request
    nor a prompt. Odd values (a model with spaces, an aspect ratio the form does not offer,
    a count of 9, a `data:` source) fall back to the default, each with a note.
    """
    if not isinstance(record, Mapping):
        return None
    request = _request_of(record)
    notes: list[str] = []
    common = _common(record, notes)
    if not request and not common.prompt:
        return None
    if not request:
        notes.append("The record does not say how the task was made: only its prompt was copied.")
    sources = _prefill_sources(request.get("image_urls"), notes)
    action = request.get("action")
    if action not in ACTIONS:
        fallback = "edit" if sources else "generate"
        if action is not None:
            notes.append(f"The record's action ({_shown(action)}) is unknown; {fallback} is used.")
        action = fallback
    if action == "edit" and not sources:
        notes.append("No source image could be copied: add one before creating.")
    count = _prefill_count(request.get("count"), notes)
    return Prefill(
        replace(common, action=action, count=count, sources=sources if action == "edit" else ()),
        tuple(notes),
    )


def edit_request(record: Mapping[str, Any] | None, image_url: str) -> Prefill:
    """An edit of the result `image_url` of the task of `record`: its prompt, model, aspect
    ratio and resolution, one image, the result as the only source."""
    notes: list[str] = []
    common = _common(record, notes) if isinstance(record, Mapping) else CreateRequest(prompt="")
    return Prefill(replace(common, action="edit", sources=(image_url,)), tuple(notes))


def _looks_like_url(text: str) -> bool:
    return "://" in text or text.lower().startswith(("data:", "http:", "https:"))


def _syntax_problem(source: str) -> str | None:
    from nbtui.media import describe_url, is_openable_url

    text = source.strip()
    if not text:
        return "A source image is empty."
    if _looks_like_url(text):
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https") and is_openable_url(text):
            return None
        if scheme in ("http", "https"):
            return f"{describe_url(text, 60)} is not a usable http(s) URL (no host, or a password)."
        return f"{describe_url(text, 60)}: use an http(s) URL or the path of a local image file."
    return None


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(n // 1024, 1)} KB"


def resolve_source(source: str, *, base_dir: Path | None = None) -> str:
    """An http(s) URL as is, or a local image file as a `data:` URL (blocking: reads the file).

    Raises `SourceError` for a missing, unreadable, non-image or too large file. Relative
    paths are taken from `base_dir` (default: the current directory).
    """
    from nbtui.media import describe_url, sniff_image_type

    text = source.strip()
    problem = _syntax_problem(text)
    if problem is not None:
        raise SourceError(problem)
    if _looks_like_url(text):
        return text
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    shown = describe_url(text, 60)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError(f"{shown}: no such file.") from None
    except OSError as exc:
        raise SourceError(f"{shown}: {exc.strerror or type(exc).__name__}.") from None
    if not path.is_file():
        raise SourceError(f"{shown} is not a file.")
    if info.st_size > MAX_SOURCE_BYTES:
        raise SourceError(
            f"{shown} is {_size(info.st_size)}; the service accepts source images up to "
            f"{_size(MAX_SOURCE_BYTES)}."
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"{shown}: {exc.strerror or type(exc).__name__}.") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(f"{shown} is larger than {_size(MAX_SOURCE_BYTES)}.")
    kind = sniff_image_type(data)
    if kind is None:
        raise SourceError(f"{shown} is not a PNG, JPEG or WebP image.")
    encoded = base64.b64encode(data).decode("ascii")
    url = f"data:{kind.mime};base64,{encoded}"
    if len(url) > MAX_SOURCE_BYTES:
        # The service counts the URL, and base64 adds a third.
        raise SourceError(
            f"{shown} is {_size(len(data))}, {_size(len(url))} once encoded for sending; the "
            f"service accepts up to {_size(MAX_SOURCE_BYTES)}."
        )
    return url


def resolve_sources(sources: Sequence[str], *, base_dir: Path | None = None) -> list[str]:
    """Every source resolved (see `resolve_source`); the first problem raises."""
    return [resolve_source(source, base_dir=base_dir) for source in sources]
