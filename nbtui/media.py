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

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import secrets
import time
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import httpx
import platformdirs

from nbtui import __version__
from nbtui.textsafe import one_line, truncate

if TYPE_CHECKING:
    from nbtui.api.state import Task
    from nbtui.config import Settings

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


# ------------------------------------------------------------------------------------- URLs


def describe_url(url: str, width: int = 80) -> str:
    """A URL as it may appear in a message: control characters removed, shortened."""
    return truncate(one_line(url), width)


def _url_problem(url: str) -> str | None:
    """Why `url` must not be fetched or opened, or None when it is a plain http(s) link."""
    if not isinstance(url, str) or not url.strip():
        return "it is empty"
    text = url.strip()
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        return f"only http and https links are allowed, not {truncate(one_line(shown), 20)}"
    if not parts.hostname:
        return "it has no host"
    if parts.username is not None or parts.password is not None:
        return "it carries a user name or password"
    return None


def is_openable_url(url: str) -> bool:
    """True only for http(s) URLs with a host and no embedded credentials.

    `file:`, `javascript:`, `data:` and every other scheme are refused: an API record could
    carry anything, and a browser or viewer would act on it.
    """
    return _url_problem(url) is None


def check_image_url(url: str) -> str:
    """`url` stripped of surrounding whitespace, or a `MediaError` saying why it is refused."""
    problem = _url_problem(url)
    if problem is not None:
        raise MediaError(f"Refusing the URL {describe_url(str(url))!r}: {problem}.")
    return url.strip()


def open_in_browser(url: str) -> bool:
    """Ask the system browser to open `url`; False when refused or no browser is available.

    Blocking (a browser may take a moment to start): call it from a worker thread. The URL is
    handed to `webbrowser`, which starts programs without a shell.
    """
    if not is_openable_url(url):
        return False
    try:
        return bool(webbrowser.open(url.strip(), new=2))
    except (webbrowser.Error, OSError):
        return False


# ------------------------------------------------------------------------------------ cache


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


# ---------------------------------------------------------------------------------- fetcher


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _http_problem(status: int) -> str:
    if status == 404 or status == 410:
        return f"the image is not there any more (HTTP {status}); result links may expire"
    if status in (401, 403):
        return f"the image host refused access (HTTP {status}); the link may have expired"
    if status == 429:
        return "the image host is rate limiting (HTTP 429); try again in a moment"
    if status >= 500:
        return f"the image host had a problem (HTTP {status}); try again later"
    return f"the image host answered HTTP {status}"


class ImageFetcher:
    """Downloads result images without the token; an async context manager over one client.

    `cache_dir` None disables the disk cache. `transport` is for tests (e.g. an ASGI app).
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cache_max_bytes: int = DEFAULT_CACHE_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.cache = ImageCache(cache_dir, cache_max_bytes) if cache_dir is not None else None
        #: HTTP requests sent (redirect hops included); tests and benchmarks read it.
        self.request_count = 0
        self._locks: dict[str, asyncio.Lock] = {}
        # Deliberately no `auth`, no Authorization header, and manual redirects: the client
        # cannot leak the token because it never had it, and every hop is checked.
        self._client = httpx.AsyncClient(
            headers={
                "accept": "image/png, image/jpeg, image/webp;q=0.9, image/*;q=0.5",
                "user-agent": f"nbtui/{__version__}",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cache_max_bytes: int = DEFAULT_CACHE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ImageFetcher:
        """A fetcher caching in `settings.cache_dir / "images"` with the settings' timeout."""
        return cls(
            settings.cache_dir / "images",
            max_bytes=max_bytes,
            cache_max_bytes=cache_max_bytes,
            timeout=settings.timeout,
            transport=transport,
        )

    async def __aenter__(self) -> ImageFetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, progress: Progress | None = None) -> FetchedImage:
        """The image at `url`, from the cache when possible; `MediaError` when it cannot be."""
        url = check_image_url(url)
        lock = self._locks.setdefault(url, asyncio.Lock())
        try:
            async with lock:  # the preview and a save asking at once download once
                return await self._fetch_locked(url, progress)
        finally:
            if not lock.locked():
                self._locks.pop(url, None)

    async def _fetch_locked(self, url: str, progress: Progress | None) -> FetchedImage:
        cache = self.cache
        if cache is not None:
            cached = await asyncio.to_thread(cache.get, url)
            if cached is not None and cached.size <= self.max_bytes:
                if progress is not None:
                    progress(cached.size, cached.size)
                return cached
        try:
            async with asyncio.timeout(self.timeout):
                data, kind = await self._download(url, progress)
        except TimeoutError:
            raise MediaError(
                f"Downloading {describe_url(url)} took longer than {self.timeout:g} s."
            ) from None
        path = await asyncio.to_thread(cache.put, url, data, kind) if cache is not None else None
        return FetchedImage(url=url, data=data, kind=kind, path=path)

    async def _download(self, url: str, progress: Progress | None) -> tuple[bytes, ImageType]:
        current = url
        for _hop in range(self.max_redirects + 1):
            request = self._client.build_request("GET", current)
            # Belt and braces: nothing above adds one, and nothing ever may.
            request.headers.pop("authorization", None)
            request.headers.pop("proxy-authorization", None)
            self.request_count += 1
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise MediaError(
                    f"Downloading {describe_url(url)} took longer than {self.timeout:g} s."
                ) from None
            except httpx.InvalidURL:
                # httpx parses the Location even when not following; `javascript:x` fails.
                raise MediaError(
                    f"The image host redirected {describe_url(url)} to a location that is not "
                    "a valid http(s) URL; refused."
                ) from None
            except httpx.HTTPError as exc:
                host = urlsplit(current).hostname or "the image host"
                raise MediaError(
                    f"Could not download {describe_url(url)}: cannot reach {host} "
                    f"({type(exc).__name__})."
                ) from None
            try:
                if response.status_code in _REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise MediaError(
                            f"The image host redirected {describe_url(url)} without a location."
                        )
                    try:
                        target = str(httpx.URL(current).join(location))
                    except (httpx.InvalidURL, ValueError):
                        target = location
                    problem = _url_problem(target)
                    if problem is not None:
                        raise MediaError(
                            f"The image host redirected {describe_url(url)} to "
                            f"{describe_url(target)!r}, which is refused: {problem}."
                        )
                    current = target
                    continue
                return await self._read_image(url, response, progress)
            finally:
                await response.aclose()
        raise MediaError(f"Too many redirects while downloading {describe_url(url)}.")

    async def _read_image(
        self, url: str, response: httpx.Response, progress: Progress | None
    ) -> tuple[bytes, ImageType]:
        shown = describe_url(url)
        if response.status_code >= 400 or response.status_code < 200:
            raise MediaError(f"Could not download {shown}: {_http_problem(response.status_code)}.")
        content_type = _content_type(response)
        if content_type and not (
            content_type.startswith("image/") or content_type in _GENERIC_CONTENT_TYPES
        ):
            raise MediaError(
                f"{shown} is not an image (the host sent {truncate(one_line(content_type), 40)})."
            )
        total = _declared_length(response)
        if total is not None and total > self.max_bytes:
            raise MediaError(
                f"{shown} is too large ({_size(total)}; the limit is {_size(self.max_bytes)})."
            )
        buffer = bytearray()
        if progress is not None:
            progress(0, total)
        try:
            async for chunk in response.aiter_bytes():
                buffer += chunk
                if len(buffer) > self.max_bytes:
                    raise MediaError(
                        f"{shown} is too large (more than {_size(self.max_bytes)}); "
                        "download stopped."
                    )
                if len(buffer) >= 12 and len(buffer) - len(chunk) < 12:
                    _require_image(buffer, shown)
                if progress is not None:
                    progress(len(buffer), total)
        except httpx.TimeoutException:
            raise MediaError(f"Downloading {shown} took longer than {self.timeout:g} s.") from None
        except httpx.HTTPError as exc:
            raise MediaError(
                f"The download of {shown} broke off ({type(exc).__name__}); try again."
            ) from None
        kind = _require_image(buffer, shown)
        return bytes(buffer), kind


def _require_image(data: bytes | bytearray, shown: str) -> ImageType:
    kind = sniff_image_type(bytes(data[:12]))
    if kind is None:
        raise MediaError(f"{shown} is not a PNG, JPEG or WebP image.")
    return kind


def _declared_length(response: httpx.Response) -> int | None:
    """Content-Length as the decoded size, when it can be trusted to be that."""
    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    try:
        value = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


# ------------------------------------------------------------------------------------- save


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
