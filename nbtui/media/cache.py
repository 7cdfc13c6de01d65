"""The bounded on-disk image cache, so the preview and a later save do not download twice."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbtui.media.kinds import (
    _EXTENSIONS,
    _STALE_TEMP_SECONDS,
    _TEMP_PREFIX,
    _TEMP_SUFFIX,
    DEFAULT_CACHE_BYTES,
    ImageType,
    sniff_image_type,
)


@dataclass(frozen=True, slots=True)
class FetchedImage:
    """A downloaded (or cached) image, already checked to be PNG, JPEG or WebP."""

    url: str
    data: bytes = field(repr=False)
    kind: ImageType
    #: Where the cache holds it, if it is cached.
    path: Path | None = None
    from_cache: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


def _write_atomically(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half."""
    temp = target.with_name(f"{_TEMP_PREFIX}{secrets.token_hex(8)}{_TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


class ImageCache:
    """Images on disk keyed by the SHA-256 of their URL, bounded in total size.

    Least recently used files go first: a cache hit refreshes the file's mtime and eviction
    removes the oldest mtimes. All methods are blocking; `ImageFetcher` runs them in threads.
    Cache failures (disk full, read-only) never fail a download: the cache is an optimisation.
    """

    def __init__(self, root: Path, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.root = root
        self.max_bytes = max_bytes

    @staticmethod
    def key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()

    def path_for(self, url: str, kind: ImageType) -> Path:
        return self.root / f"{self.key(url)}.{kind.ext}"

    def get(self, url: str) -> FetchedImage | None:
        """The cached image for `url` (and mark it recently used), or None."""
        key = self.key(url)
        for ext in _EXTENSIONS:
            path = self.root / f"{key}.{ext}"
            try:
                data = path.read_bytes()
            except OSError:
                continue
            kind = sniff_image_type(data)
            if kind is None or kind.ext != ext:
                # Damaged or tampered with: drop it and download again.
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            with contextlib.suppress(OSError):
                os.utime(path)
            return FetchedImage(url=url, data=data, kind=kind, path=path, from_cache=True)
        return None

    def put(self, url: str, data: bytes, kind: ImageType) -> Path | None:
        """Store an image; None when it cannot be (too big for the cache, or a disk problem)."""
        if len(data) > self.max_bytes:
            return None
        path = self.path_for(url, kind)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data)
        except OSError:
            return None
        self.evict(keep=path)
        return path

    def entries(self) -> list[tuple[Path, os.stat_result]]:
        """Cached image files with their stat, oldest use first."""
        found: list[tuple[Path, os.stat_result]] = []
        try:
            children = list(self.root.iterdir())
        except OSError:
            return found
        now = time.time()
        for path in children:
            try:
                info = path.stat()
            except OSError:
                continue
            if path.name.startswith(_TEMP_PREFIX):
                if now - info.st_mtime > _STALE_TEMP_SECONDS:
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            if path.suffix.lstrip(".") in _EXTENSIONS and path.is_file():
                found.append((path, info))
        found.sort(key=lambda item: (item[1].st_mtime, item[0].name))
        return found

    def total_bytes(self) -> int:
        return sum(info.st_size for _, info in self.entries())

    def evict(self, keep: Path | None = None) -> int:
        """Remove least recently used files until the total fits; returns bytes removed."""
        entries = self.entries()
        total = sum(info.st_size for _, info in entries)
        removed = 0
        for path, info in entries:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            try:
                path.unlink()
            except OSError:
                continue
            total -= info.st_size
            removed += info.st_size
        return removed

    def clear(self) -> None:
        for path, _ in self.entries():
            with contextlib.suppress(OSError):
                path.unlink()
