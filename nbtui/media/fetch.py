"""Downloading result images safely: no token, http(s) only, bounded size and time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from nbtui import __version__
from nbtui.api.transport import tls_context
from nbtui.media.cache import FetchedImage, ImageCache
from nbtui.media.kinds import (
    _GENERIC_CONTENT_TYPES,
    _REDIRECT_STATUSES,
    DEFAULT_CACHE_BYTES,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    MAX_REDIRECTS,
    ImageType,
    MediaError,
    Progress,
    sniff_image_type,
)
from nbtui.media.urls import _url_problem, check_image_url, describe_url
from nbtui.textsafe import one_line, truncate

if TYPE_CHECKING:
    from nbtui.config import Settings


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
            verify=tls_context() if transport is None else True,
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
