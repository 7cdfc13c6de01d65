"""A task's result images: the preview in the detail pane (`i`), saving (`S`), opening in a
browser (`o`) and copying a URL (`Y`).

Images are downloaded with `nbtui.media.ImageFetcher` (its own HTTP client, never the token,
size limit, timeout, bounded disk cache) and decoded in a thread; only http(s) URLs are opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.api.state import Task, TaskState
from nbtui.textsafe import one_line, truncate
from nbtui.tui.commands import Host
from nbtui.tui.links import is_openable, open_in_browser
from nbtui.tui.session import Session
from nbtui.tui.widgets.preview import DecodedImage, ImagePreview, decode

# The save dialog and the downloader are imported when first needed: the first paint needs
# neither.
if TYPE_CHECKING:
    from nbtui.media import ImageFetcher
    from nbtui.tui.screens.save import SavingScreen

__all__ = ["FetcherFactory", "Images"]

#: Builds the image downloader; whoever gets one closes it.
FetcherFactory = Callable[[], "ImageFetcher"]
#: At most this many images of a task are previewed.
_PREVIEWED = 4


class Images:
    """Preview, save, open and copy the selected task's images (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        session: Session,
        preview: ImagePreview,
        *,
        current_task: Callable[[], Task | None],
        fetcher_factory: FetcherFactory | None = None,
    ) -> None:
        """`current_task()`: the task under the cursor (read now if need be)."""
        self._host = host
        self._session = session
        self.preview = preview
        self._current_task = current_task
        self._fetcher_factory = fetcher_factory
        #: The user's preview toggle (`i`).
        self.enabled = True
        self._preview_key: tuple[str, tuple[str, ...]] | None = None
        self._saving: set[str] = set()

    def _make_fetcher(self) -> ImageFetcher:
        if self._fetcher_factory is not None:
            return self._fetcher_factory()
        from nbtui.media import ImageFetcher

        return ImageFetcher.from_settings(self._session.settings)

    # -- preview -------------------------------------------------------------------------

    def toggle_preview(self, selected: Task | None) -> None:
        """`i`: the preview on or off; when on again, show `selected`'s images."""
        self.enabled = not self.enabled
        self.preview.set_enabled(self.enabled)
        if self.enabled:
            self._preview_key = None
            self.show(selected)
        self._host.notify(
            "Image preview on (i hides it)." if self.enabled else "Image preview off.",
            timeout=2,
        )

    def show(self, task: Task | None) -> None:
        """Show (downloading if needed) the images of the selected task."""
        preview = self.preview
        urls = tuple(task.image_urls) if task is not None else ()
        if task is None or not urls:
            self._preview_key = None
            preview.clear()
            return
        key = (task.id, urls)
        if key == self._preview_key or not self.enabled:
            return
        self._preview_key = key
        preview.show_loading(task.id, len(urls))
        self._host.run_worker(
            self._load_preview(task.id, urls),
            group="preview",
            description="load the preview",
            exclusive=True,
            exit_on_error=False,
        )

    async def _load_preview(self, task_id: str, urls: tuple[str, ...]) -> None:
        from nbtui.media import MediaError

        images: list[DecodedImage] = []
        problems: list[str] = []
        async with self._make_fetcher() as fetcher:
            for url in urls[:_PREVIEWED]:
                try:
                    fetched = await fetcher.fetch(url)
                    images.append(await asyncio.to_thread(decode, fetched.data))
                except (MediaError, ValueError) as exc:
                    problems.append(one_line(exc))
        if self._preview_key != (task_id, urls):
            return  # the selection moved on
        note = ""
        if problems:
            note = f"No preview: {problems[0]}" if not images else f"{len(problems)} not shown"
        if len(urls) > _PREVIEWED:
            note = (note + " · " if note else "") + f"first {_PREVIEWED} of {len(urls)} shown"
        if images:
            self.preview.show_images(task_id, images, note)
        else:
            self.preview.show_message(task_id, note or "No preview.")

    # -- save ----------------------------------------------------------------------------

    def save(self) -> None:
        """`S`: save the selected task's images into the save folder, with a progress dialog."""
        task = self._current_task()
        if task is None:
            self._host.notify("No task selected.", severity="warning")
            return
        if not task.image_urls:
            self._host.notify(f"Nothing to save: {_no_images(task)}", severity="warning")
            return
        if task.id in self._saving:
            self._host.notify("Already saving this task's images.", timeout=3)
            return
        from nbtui.media import default_save_dir
        from nbtui.tui.screens.save import SavingScreen

        folder = default_save_dir(self._session.settings)
        screen = SavingScreen(task.id, len(task.image_urls), str(folder))
        self._saving.add(task.id)
        self._host.app.push_screen(screen)
        self._host.run_worker(
            self._save(task, folder, screen),
            group="save",
            description="save images",
            exit_on_error=False,
        )

    async def _save(self, task: Task, folder: Path, screen: SavingScreen) -> None:
        from nbtui.media import MediaError, SaveError, save_images

        host = self._host

        def progress(done: int, total: int | None) -> None:
            if screen.is_attached:
                screen.progress(done, total)

        try:
            async with self._make_fetcher() as fetcher:
                paths = await save_images(task, folder, fetcher=fetcher, progress=progress)
        except SaveError as exc:
            saved = "\n".join(str(path) for path in exc.saved)
            host.notify(
                one_line(exc) + (f"\nSaved:\n{saved}" if saved else ""),
                title="Some images were not saved",
                severity="error",
                timeout=15,
            )
            return
        except MediaError as exc:
            host.notify(one_line(exc), title="Images not saved", severity="error", timeout=15)
            return
        finally:
            self._saving.discard(task.id)
            if screen.is_attached:
                screen.dismiss(None)
        noun = "image" if len(paths) == 1 else "images"
        host.notify(
            "\n".join(str(path) for path in paths),
            title=f"Saved {len(paths)} {noun}",
            timeout=10,
        )

    # -- open and copy -------------------------------------------------------------------

    def _image_urls(self) -> list[str] | None:
        task = self._current_task()
        if task is None:
            self._host.notify("No task selected.", severity="warning")
            return None
        urls = task.image_urls
        if not urls:
            self._host.notify(_no_images(task), severity="warning")
            return None
        return urls

    def open(self) -> None:
        """`o`: open the image in a browser (asking which one when there are several)."""
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        urls = self._image_urls()
        if urls is None:
            return
        openable = [url for url in urls if is_openable(url)]
        if not openable:
            self._host.notify(
                "The result is not an http(s) link, so it is not opened; see the detail pane.",
                severity="warning",
            )
            return
        if len(openable) == 1:
            self._open_url(openable[0])
        else:
            self._host.app.push_screen(
                ChooseUrlScreen("Open which image?", openable), self._chosen_open
            )

    def _chosen_open(self, url: str | None) -> None:
        if url:
            self._open_url(url)

    def _open_url(self, url: str) -> None:
        self._host.run_worker(
            self._open_in_thread(url), group="browser", description="open a browser"
        )

    async def _open_in_thread(self, url: str) -> None:
        # A browser can take seconds to start: never on the UI thread.
        if await asyncio.to_thread(open_in_browser, url):
            self._host.notify(f"Opened {truncate(one_line(url), 80)}", timeout=3)
            return
        self._host.app.copy_to_clipboard(url)
        self._host.notify(
            "No browser could be started on this machine (over SSH, set $BROWSER). "
            "The URL was copied to the clipboard instead.",
            title="No browser",
            severity="warning",
            timeout=10,
        )

    def copy_url(self) -> None:
        """`Y`: copy the image URL (asking which one when there are several)."""
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        urls = self._image_urls()
        if urls is None:
            return
        if len(urls) == 1:
            self._copy_url(urls[0])
        else:
            self._host.app.push_screen(
                ChooseUrlScreen("Copy which image URL?", urls), self._copy_url
            )

    def _copy_url(self, url: str | None) -> None:
        if url:
            self._host.app.copy_to_clipboard(url)
            self._host.notify("Copied image URL.", timeout=2)


def _no_images(task: Task) -> str:
    """Why a task has no image to open, copy or save, as the user would say it."""
    if not task.state.is_finished:
        return "This task has not finished yet."
    if task.state is TaskState.SUCCEEDED:
        return "This task finished without images."
    if task.state is TaskState.NOT_FOUND:
        return "This task was not found: it has no images."
    return "This task failed: it has no images."
