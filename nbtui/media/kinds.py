"""Image formats, limits and the errors every part of `nbtui.media` shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: Largest image accepted (bytes after any transfer decoding). Nano Banana 4K PNGs are ~10 MB.
DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024
#: Bound on the disk cache's total size.
DEFAULT_CACHE_BYTES: Final = 200 * 1024 * 1024
#: Seconds for a whole download, redirects included.
DEFAULT_TIMEOUT: Final = 30.0
MAX_REDIRECTS: Final = 5
#: Temporary files older than this in the cache are leftovers of a crash and are removed.
_STALE_TEMP_SECONDS: Final = 3600.0
_TEMP_PREFIX: Final = ".nbtui-"
_TEMP_SUFFIX: Final = ".part"
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_GENERIC_CONTENT_TYPES: Final = frozenset(
    {"application/octet-stream", "binary/octet-stream", "application/binary"}
)
_UNSAFE_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]+")

#: `progress(done_bytes, total_bytes)`; `total_bytes` is None while the size is unknown.
Progress = Callable[[int, int | None], None]


class MediaError(Exception):
    """A download, cache or save problem; `str(err)` is a complete sentence for the user."""


class SaveError(MediaError):
    """Some images of a task could not be saved. `saved` lists the ones that were."""

    def __init__(self, message: str, *, saved: Sequence[Path], failures: Sequence[str]) -> None:
        super().__init__(message)
        self.saved = list(saved)
        self.failures = list(failures)


@dataclass(frozen=True, slots=True)
class ImageType:
    """An accepted image format: the extension files get and its MIME type."""

    ext: str
    mime: str


IMAGE_TYPES: Final = {
    "png": ImageType("png", "image/png"),
    "jpeg": ImageType("jpg", "image/jpeg"),
    "webp": ImageType("webp", "image/webp"),
}
_EXTENSIONS: Final = tuple(kind.ext for kind in IMAGE_TYPES.values())


def sniff_image_type(data: bytes) -> ImageType | None:
    """The format the bytes really are (PNG, JPEG or WebP), or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return IMAGE_TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return IMAGE_TYPES["jpeg"]
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return IMAGE_TYPES["webp"]
    return None
