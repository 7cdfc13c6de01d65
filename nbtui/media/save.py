"""Saving a task's result images into the user's folder, never overwriting a different file."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from nbtui.textsafe import one_line

if TYPE_CHECKING:
    from nbtui.api.state import Task

from nbtui.media.fetch import ImageFetcher
from nbtui.media.kinds import (
    _TEMP_PREFIX,
    _TEMP_SUFFIX,
    _UNSAFE_NAME_CHARS,
    MediaError,
    Progress,
    SaveError,
)
from nbtui.media.urls import describe_url

if TYPE_CHECKING:
    from nbtui.config import Settings


def default_save_dir(settings: Settings) -> Path:
    """Where `S` saves: the configured `save_dir`, else Pictures/nbtui, else Downloads/nbtui."""
    if settings.save_dir is not None:
        return settings.save_dir
    for finder in (platformdirs.user_pictures_dir, platformdirs.user_downloads_dir):
        try:
            base = Path(finder())
        except (OSError, RuntimeError, ValueError):
            continue
        if base.is_dir():
            return base / "nbtui"
    return Path(platformdirs.user_pictures_dir()) / "nbtui"


def _safe_stem(task_id: str) -> str:
    """A file-name stem from a task id that cannot escape the folder or hide itself."""
    stem = _UNSAFE_NAME_CHARS.sub("_", one_line(task_id)).strip("._-")[:100]
    return stem or "task"


def _os_problem(exc: OSError, folder: Path) -> str:
    where = describe_url(str(folder), 120)
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", None):
        return f"Not enough disk space to save images in {where}."
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied: cannot write to {where}."
    if exc.errno == errno.EROFS:
        return f"Cannot save in {where}: the file system is read-only."
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return f"Cannot save in {where}: it (or a parent) is a file, not a folder."
    return f"Cannot save in {where}: {exc.strerror or type(exc).__name__}."


def _ensure_folder(folder: Path) -> Path:
    folder = folder.expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(_os_problem(exc, folder)) from None
    if not folder.is_dir():
        raise MediaError(f"Cannot save in {describe_url(str(folder), 120)}: it is not a folder.")
    return folder


def _same_content(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_unique(folder: Path, stem: str, ext: str, data: bytes) -> Path:
    """Write `stem.ext`, or `stem_2.ext`, ... : never replace a different existing file.

    A file already holding exactly these bytes is reused, so saving twice does not duplicate.
    The name is claimed with O_EXCL, then the fully written temp file is renamed over the claim.
    """
    temp = folder / f"{_TEMP_PREFIX}{secrets.token_hex(8)}{_TEMP_SUFFIX}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        for number in range(1, 1000):
            name = f"{stem}.{ext}" if number == 1 else f"{stem}_{number}.{ext}"
            target = folder / name
            if _same_content(target, data):
                return target
            try:
                claim = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            os.close(claim)
            os.replace(temp, target)
            return target
        raise MediaError(f"Too many files named {stem}_N.{ext} in {folder}.")
    except OSError as exc:
        raise MediaError(_os_problem(exc, folder)) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


class _ProgressTotals:
    """Combines per-image progress into one `(done, total)` for the whole save."""

    def __init__(self, count: int, callback: Progress | None) -> None:
        self.done = [0] * count
        self.totals: list[int | None] = [None] * count
        self.callback = callback

    def reporter(self, index: int) -> Progress:
        def report(done: int, total: int | None) -> None:
            self.done[index] = done
            self.totals[index] = total
            if self.callback is not None:
                known = [t for t in self.totals if t is not None]
                overall = sum(known) if len(known) == len(self.totals) else None
                self.callback(sum(self.done), overall)

        return report


async def save_images(
    task: Task,
    folder: Path,
    *,
    fetcher: ImageFetcher,
    progress: Progress | None = None,
) -> list[Path]:
    """Save every result image of `task` into `folder` as `<task_id>-<n>.<ext>` (n from 1).

    The folder is created if needed. Returns the paths in image order. If some images fail,
    the others are still saved and a `SaveError` (with `.saved`) explains each failure.
    """
    urls = task.image_urls
    if not urls:
        raise MediaError(f"Task {_safe_stem(task.id)} has no result image to save.")
    folder = await asyncio.to_thread(_ensure_folder, Path(folder))
    stem = _safe_stem(task.id)
    totals = _ProgressTotals(len(urls), progress)

    async def save_one(index: int, url: str) -> Path:
        image = await fetcher.fetch(url, progress=totals.reporter(index))
        return await asyncio.to_thread(
            _write_unique, folder, f"{stem}-{index + 1}", image.kind.ext, image.data
        )

    results = await asyncio.gather(
        *(save_one(i, url) for i, url in enumerate(urls)), return_exceptions=True
    )
    saved: list[Path] = []
    failures: list[str] = []
    for index, result in enumerate(results, start=1):
        if isinstance(result, Path):
            saved.append(result)
        elif isinstance(result, MediaError):
            failures.append(f"image {index}: {result}")
        else:
            raise result
    if failures:
        if len(urls) == 1:
            raise SaveError(str(results[0]), saved=saved, failures=failures)
        raise SaveError(
            f"Saved {len(saved)} of {len(urls)} images. " + " ".join(failures),
            saved=saved,
            failures=failures,
        )
    return saved
