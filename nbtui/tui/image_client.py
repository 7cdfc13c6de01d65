"""One image downloader for the main screen: the preview, saving, opening, the gallery and the
user's own commands all download through it.

Each of them used to make an `ImageFetcher` (an HTTP client) per use, so every preview opened
new connections to the image host, and the preview and the gallery could download the same
picture at once. One client keeps its connections between downloads, and its per-URL lock
makes a picture asked for twice at once download once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtui.tui.session import Session

# The downloader (httpx) is imported when first needed: the first paint does not need it.
if TYPE_CHECKING:
    from nbtui.media import ImageFetcher

__all__ = ["FetcherFactory", "SharedFetcher"]

#: Builds the image downloader (tests give one over the simulator's ASGI app).
FetcherFactory = Callable[[], "ImageFetcher"]


class SharedFetcher:
    """The screen's `ImageFetcher`, made on first use from the session's settings (or the
    factory); `reset()` when the session changes, `aclose()` when the screen goes."""

    def __init__(self, session: Session, factory: FetcherFactory | None = None) -> None:
        self._session = session
        self._factory = factory
        self._fetcher: ImageFetcher | None = None

    def get(self) -> ImageFetcher:
        """The downloader; callers never close it."""
        if self._fetcher is None:
            if self._factory is not None:
                self._fetcher = self._factory()
            else:
                from nbtui.media import ImageFetcher

                self._fetcher = ImageFetcher.from_settings(self._session.settings)
        return self._fetcher

    def reset(self) -> ImageFetcher | None:
        """Forget the downloader (the settings changed); returns it for the caller to close."""
        fetcher, self._fetcher = self._fetcher, None
        return fetcher

    async def aclose(self) -> None:
        fetcher = self.reset()
        if fetcher is not None:
            await fetcher.aclose()
