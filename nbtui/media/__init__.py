"""Result images: download them safely, cache them on disk, save them where the user wants.

Image URLs come from API records, so they are untrusted data. The fetcher therefore:
- has its own HTTP client that never carries the API token or any Authorization header (the
  token belongs to the API host only; image hosts are CDNs or, in tests, a second port);
- accepts only http(s) URLs without credentials, and checks every redirect hop the same way;
- stops reading past a size limit and past an overall deadline (a slow drip cannot hang it);
- keeps only PNG, JPEG and WebP, recognised by their magic bytes, not by what the host claims.

Downloads land in a bounded disk cache (`<cache_dir>/images/`, least recently used evicted) so
the preview and a later save do not download twice. File I/O runs in worker threads so the
TUI's event loop never waits for the disk.
"""

from __future__ import annotations

from nbtui.media.cache import FetchedImage, ImageCache
from nbtui.media.fetch import ImageFetcher
from nbtui.media.kinds import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    IMAGE_TYPES,
    ImageType,
    MediaError,
    Progress,
    SaveError,
    sniff_image_type,
)
from nbtui.media.save import default_save_dir, save_images
from nbtui.media.urls import check_image_url, describe_url, is_openable_url, open_in_browser

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "IMAGE_TYPES",
    "FetchedImage",
    "ImageCache",
    "ImageFetcher",
    "ImageType",
    "MediaError",
    "Progress",
    "SaveError",
    "check_image_url",
    "default_save_dir",
    "describe_url",
    "is_openable_url",
    "open_in_browser",
    "save_images",
    "sniff_image_type",
]
