"""A task's result images: the preview in the detail pane (`i`), saving (`S`), opening in a
browser (`o`) and copying a URL (`Y`).

Images are downloaded with the screen's `nbtui.media.ImageFetcher` (`SharedFetcher`: its own
HTTP client, never the token, size limit, timeout, bounded disk cache) and decoded in a thread;
only http(s) URLs are opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.api.state import Task, TaskState
from nbtui.textsafe import one_line, truncate
from nbtui.tui.commands import Host
from nbtui.tui.image_client import SharedFetcher
from nbtui.tui.links import is_openable, open_in_browser
from nbtui.tui.session import Session
from nbtui.tui.widgets.preview import DecodedImage, ImagePreview, decode

# The save dialog and the downloader are imported when first needed: the first paint needs
# neither.
if TYPE_CHECKING:
    from nbtui.tui.screens.save import SavingScreen

__all__ = ["OPEN_AT_MOST", "Images"]

#: At most this many images of a task are previewed.
_PREVIEWED = 4
#: `o` on marked tasks opens at most this many browser tabs (one per task) and says how many
#: it left: dozens of tabs at once is never what anyone wants.
OPEN_AT_MOST = 5


class Images:
    """Preview, save, open and copy the selected task's images (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        session: Session,
        preview: ImagePreview,
        *,
        current_task: Callable[[], Task | None],
        fetcher: SharedFetcher,
        marked: Callable[[], bool] = lambda: False,
        targets: Callable[[], Awaitable[list[str]]] | None = None,
    ) -> None:
        """`current_task()`: the task under the cursor (read now if need be); `marked()`:
        tasks are marked, and then `targets()` says which (saving and opening act on them)."""
        self._host = host
        self._session = session
        self.preview = preview
        self._current_task = current_task
        self._marked = marked
        self._targets = targets
        self._fetcher = fetcher
        #: The user's preview toggle (`i`).
        self.enabled = True
        self._preview_key: tuple[str, tuple[str, ...]] | None = None
        self._saving: set[str] = set()

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
        fetcher = self._fetcher.get()
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
        """`S`: save the selected (or every marked) task's images into the save folder, with
        a progress dialog."""
        if self._marked():
            self._host.run_worker(
                self._save_marked(), group="save", description="save images", exit_on_error=False
            )
            return
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
            fetcher = self._fetcher.get()
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

    async def _marked_tasks(self, limit: int | None = None) -> list[Task] | None:
        """The marked tasks' records, read off the UI thread (the first `limit` with an
        image, when given); None after saying why there are none."""
        from nbtui.tracking.store import StoreError

        if self._targets is None:
            return None
        store = self._session.store

        def read(ids: list[str]) -> list[Task]:
            tasks: list[Task] = []
            for task_id in ids:
                stored = store.get(task_id)
                if stored is None:
                    continue
                task = stored.to_task()
                tasks.append(task)
                if limit is not None and sum(1 for t in tasks if t.image_urls) >= limit:
                    break
            return tasks

        try:
            ids = await self._targets()
            return await asyncio.to_thread(read, ids)
        except StoreError as exc:
            self._host.notify(one_line(exc), severity="error")
            return None

    async def _save_marked(self) -> None:
        from nbtui.media import MediaError, SaveError, default_save_dir, save_images
        from nbtui.tui.commands.marking import plural
        from nbtui.tui.screens.save import SavingScreen

        host = self._host
        tasks = await self._marked_tasks()
        if tasks is None:
            return
        with_images = [task for task in tasks if task.image_urls and task.id not in self._saving]
        without = sum(1 for task in tasks if not task.image_urls)
        if not with_images:
            host.notify(
                f"Nothing to save: none of the {plural(len(tasks), 'marked task')} has an image.",
                severity="warning",
            )
            return
        folder = default_save_dir(self._session.settings)
        count = sum(len(task.image_urls) for task in with_images)
        screen = SavingScreen(f"{len(with_images)} tasks", count, str(folder))
        self._saving.update(task.id for task in with_images)
        host.app.push_screen(screen)
        before = current = 0  # bytes of the tasks saved so far; of the one being saved
        saved: list[Path] = []
        from_tasks = 0
        problems: list[str] = []

        def progress(done: int, total: int | None) -> None:
            nonlocal current
            current = done
            if screen.is_attached:
                screen.progress(before + done, None)

        try:
            fetcher = self._fetcher.get()
            for task in with_images:
                try:
                    paths = await save_images(task, folder, fetcher=fetcher, progress=progress)
                except SaveError as exc:
                    paths = exc.saved
                    problems.append(f"{task.id}: {one_line(exc)}")
                except MediaError as exc:
                    paths = []
                    problems.append(f"{task.id}: {one_line(exc)}")
                saved += paths
                from_tasks += bool(paths)
                before, current = before + current, 0
        finally:
            self._saving.difference_update(task.id for task in with_images)
            if screen.is_attached:
                screen.dismiss(None)
        parts = [
            f"Saved {plural(len(saved), 'image')} from {plural(from_tasks, 'task')} "
            f"to {truncate(one_line(str(folder)), 80)}"
        ]
        if without:
            parts.append(f"{plural(without, 'task')} {'has' if without == 1 else 'have'} no images")
        if problems:
            parts.append(f"{plural(len(problems), 'task')} failed: {problems[0]}")
        host.notify(
            "; ".join(parts) + ".",
            title="Saved images" if not problems else "Some images were not saved",
            severity="error" if problems else "information",
            timeout=15 if problems else 10,
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
        """`o`: open the image in a browser (asking which one when there are several); with
        marked tasks, the first image of each of the first `OPEN_AT_MOST`."""
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        if self._marked():
            self._host.run_worker(
                self._open_marked(), group="browser", description="open the marked images"
            )
            return
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

    async def _open_marked(self) -> None:
        from nbtui.tui.commands.marking import plural

        host = self._host
        if self._targets is None:
            return
        total = len(await self._targets())
        tasks = await self._marked_tasks(limit=OPEN_AT_MOST)
        if tasks is None:
            return
        urls = [
            next(url for url in task.image_urls if is_openable(url))
            for task in tasks
            if any(is_openable(url) for url in task.image_urls)
        ][:OPEN_AT_MOST]
        if not urls:
            host.notify(
                f"None of the {plural(total, 'marked task')} has an image to open.",
                severity="warning",
            )
            return
        failed = [url for url in urls if not await asyncio.to_thread(open_in_browser, url)]
        if failed:
            host.app.copy_to_clipboard("\n".join(failed))
            host.notify(
                "No browser could be started on this machine (over SSH, set $BROWSER). "
                f"The {plural(len(failed), 'URL')} {'was' if len(failed) == 1 else 'were'} "
                "copied to the clipboard instead.",
                title="No browser",
                severity="warning",
                timeout=10,
            )
            return
        left = total - len(tasks) if len(urls) == OPEN_AT_MOST else 0
        note = f"Opened the first image of {plural(len(urls), 'marked task')}"
        if left > 0:
            note += f"; {left:,} more not opened (o opens at most {OPEN_AT_MOST} at once)"
        host.notify(note + ".", timeout=5)

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
