"""Beyond watching: create tasks, preview and save their images, notify, import recent tasks.

A mixin of `NbtuiApp` (kept apart so the app module stays about watching). Every network and
disk step runs in a worker; widgets only draw what they are handed. The rules that matter:

- A create call is sent once: the form ignores submits while one is in flight, the app keeps
  its own `creating` guard, the worker is never cancelled by a newer one, and the client never
  retries it. A lost answer is reported as "may or may not exist" with how to look for it.
- Images are downloaded with `nbtui.media.ImageFetcher` (its own HTTP client, never the
  token, size limit, timeout, bounded disk cache) and decoded in a thread.
- Terminal notifications are raw escape sequences written through Textual's driver, the way
  Textual itself writes the bell and OSC 52.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from nbtui.api.errors import ApiError, CreateOutcomeUnknown, RequestRejected
from nbtui.api.state import Task
from nbtui.config import Settings
from nbtui.notify import Notifier
from nbtui.textsafe import one_line, truncate
from nbtui.tui.formatting import short_id
from nbtui.tui.widgets.preview import DecodedImage, ImagePreview, decode

# The create and save dialogs are imported when first opened: the first paint needs neither
# (the create form alone, with TextArea and Select, is ~6 ms of start-up).
if TYPE_CHECKING:
    from nbtui.api.client import NanoBananaClient
    from nbtui.create import CreateRequest
    from nbtui.media import ImageFetcher
    from nbtui.tracking.monitor import Monitor
    from nbtui.tracking.store import Store, TrackedTask
    from nbtui.tui.screens.create import CreateTaskScreen
    from nbtui.tui.screens.save import SavingScreen
    from nbtui.tui.tasklist_model import TaskListModel
    from nbtui.tui.widgets.detail import TaskDetail
    from nbtui.tui.widgets.task_list import TaskList

__all__ = ["IMPORT_LIMIT", "FeaturesMixin", "FetcherFactory"]

#: Builds the image downloader; the app closes what it gets.
FetcherFactory = Callable[[], "ImageFetcher"]
#: How many recent tasks one import asks for.
IMPORT_LIMIT = 50


class FeaturesMixin(App[int]):
    """Create, preview, save, notify, import; see the module docstring."""

    # Provided by NbtuiApp.
    settings: Settings
    store: Store
    model: TaskListModel
    monitor: Monitor | None
    clock: Callable[[], float]
    demo: bool
    client_factory: Callable[[str | None], NanoBananaClient]
    _token: str | None
    _selected_task: Task | None

    if TYPE_CHECKING:

        @property
        def task_list(self) -> TaskList: ...

        @property
        def detail(self) -> TaskDetail: ...

        def _update_counts(self) -> None: ...

        def reorder(self, select: str | None = None) -> None: ...

        def store_waiting(self, text: str | None) -> None: ...

        def flush_panes(self) -> None: ...

        def _current_task(self) -> Task | None: ...

    def _init_features(self, fetcher_factory: FetcherFactory | None) -> None:
        self.fetcher_factory = fetcher_factory
        #: The user's preview toggle (`i`).
        self.preview_enabled = True
        #: Why the service refused to list recent tasks (then import stays off).
        self.listing_refused: str | None = None
        #: A create request is on its way (second guard beside the form's own).
        self.creating = False
        #: Creates sent to the service this session (tests read it).
        self.create_requests = 0
        self.notifier: Notifier | None = None
        self._preview_key: tuple[str, tuple[str, ...]] | None = None
        self._saving: set[str] = set()
        self._preview: ImagePreview | None = None

    def _mount_features(self) -> None:
        """On mount: the notifier and the preview inside the detail pane."""
        self.notifier = Notifier(self.settings, self.write_to_terminal)
        self._preview = ImagePreview(id="preview")
        self.detail.mount(self._preview, before=0)

    @property
    def preview(self) -> ImagePreview:
        # Kept, not queried: a query only searches the active screen, and work finishing
        # while a dialog is open (a create, a download) must still reach the panes.
        assert self._preview is not None, "the preview is mounted in on_mount"
        return self._preview

    def _make_fetcher(self) -> ImageFetcher:
        if self.fetcher_factory is not None:
            return self.fetcher_factory()
        from nbtui.media import ImageFetcher

        return ImageFetcher.from_settings(self.settings)

    def _rows_changed(self, select: str | None = None) -> None:
        self.task_list.rows_changed()
        self.reorder(select=select)

    # -- terminal notifications ----------------------------------------------------------

    def write_to_terminal(self, text: str) -> None:
        """Raw escape sequences to the terminal between frames (as Textual's `bell` does)."""
        driver = self._driver
        if driver is not None:
            driver.write(text)

    def notify_finished(self, task: Task) -> None:
        """The terminal notification and/or bell for one finished task, as configured."""
        if self.notifier is not None:
            self.notifier.task_finished(task)

    def notify_summary(self, title: str, body: str) -> None:
        if self.notifier is not None:
            self.notifier.notify(f"nbtui: {title}", body)

    # -- create --------------------------------------------------------------------------

    def action_new_task(self) -> None:
        if not self.demo and self._token is None and self.monitor is None:
            self.notify("Set a token first (t): creating a task needs one.", severity="warning")
            return
        from nbtui.tui.screens.create import CreateTaskScreen

        self.push_screen(CreateTaskScreen(demo=self.demo), self._new_task_closed)

    def _new_task_closed(self, task_id: str | None) -> None:
        if task_id is not None:
            self.task_list.focus()

    def on_create_task_screen_submitted(self, message: CreateTaskScreen.Submitted) -> None:
        message.stop()
        if self.creating:
            return  # one create at a time: a second would be a second, billed task
        self.creating = True
        self._create_task(message.form, message.request)

    @work(group="create", description="create an image task", exit_on_error=False)
    async def _create_task(self, form: CreateTaskScreen, request: CreateRequest) -> None:
        """Read the sources, send the create once, track the new id; report into the form."""
        from nbtui.create import SourceError, resolve_sources

        try:
            try:
                urls = await asyncio.to_thread(resolve_sources, request.sources)
            except SourceError as exc:
                form.failed(str(exc), field="sources")
                return
            form.creating("Sending the request…")
            self.create_requests += 1
            try:
                async with self.client_factory(self._token) as client:
                    created = await client.create_images(**request.client_kwargs(urls))
            except ValueError as exc:
                form.failed(f"Not sent: {exc}.")
                return
            except ApiError as exc:
                form.failed(str(exc), maybe_created=isinstance(exc, CreateOutcomeUnknown))
                return
            await self._track_created(created.task_id)
            form.dismiss(created.task_id)
            self.notify(
                f"{truncate(one_line(request.prompt), 80)}\nWatching it; it appears at the top.",
                title=f"Created {short_id(created.task_id)}…",
                timeout=6,
            )
        finally:
            self.creating = False

    async def _track_created(self, task_id: str) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.store_writes import patient_write

        now = self.clock()
        try:
            new = await patient_write(
                lambda wait: self.store.add([task_id], None, now, wait=wait),
                waiting=self.store_waiting,
            )
        except StoreError as exc:
            self.notify(
                f"{one_line(exc)}\nAdd it by hand (a): {task_id}",
                title="Created, but not tracked",
                severity="error",
                timeout=30,
            )
            return
        row = await asyncio.to_thread(self.store.get, task_id)
        if row is not None:
            self.model.upsert([row])
        self._rows_changed(select=task_id)
        if self.monitor is not None and new:
            self.monitor.request_refresh(new)

    # -- preview -------------------------------------------------------------------------

    def action_toggle_preview(self) -> None:
        self.preview_enabled = not self.preview_enabled
        self.preview.set_enabled(self.preview_enabled)
        if self.preview_enabled:
            self._preview_key = None
            self.flush_panes()
            self.update_preview(self._selected_task)
        self.notify(
            "Image preview on (i hides it)." if self.preview_enabled else "Image preview off.",
            timeout=2,
        )

    def update_preview(self, task: Task | None) -> None:
        """Show (downloading if needed) the images of the selected task."""
        if self._preview is None:
            return
        preview = self._preview
        urls = tuple(task.image_urls) if task is not None else ()
        if task is None or not urls:
            self._preview_key = None
            preview.clear()
            return
        key = (task.id, urls)
        if key == self._preview_key or not self.preview_enabled:
            return
        self._preview_key = key
        preview.show_loading(task.id, len(urls))
        self._load_preview(task.id, urls)

    @work(exclusive=True, group="preview", description="load the preview", exit_on_error=False)
    async def _load_preview(self, task_id: str, urls: tuple[str, ...]) -> None:
        from nbtui.media import MediaError

        images: list[DecodedImage] = []
        problems: list[str] = []
        async with self._make_fetcher() as fetcher:
            for url in urls[:4]:
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
        if len(urls) > 4:
            note = (note + " · " if note else "") + f"first 4 of {len(urls)} shown"
        if images:
            self.preview.show_images(task_id, images, note)
        else:
            self.preview.show_message(task_id, note or "No preview.")

    # -- save ----------------------------------------------------------------------------

    def action_save_images(self) -> None:
        task = self._current_task()
        if task is None:
            self.notify("No task selected.", severity="warning")
            return
        if not task.image_urls:
            why = "it has not finished" if not task.state.is_finished else "it has no image"
            self.notify(f"Nothing to save: {why}.", severity="warning")
            return
        if task.id in self._saving:
            self.notify("Already saving this task's images.", timeout=3)
            return
        from nbtui.media import default_save_dir
        from nbtui.tui.screens.save import SavingScreen

        folder = default_save_dir(self.settings)
        screen = SavingScreen(task.id, len(task.image_urls), str(folder))
        self._saving.add(task.id)
        self.push_screen(screen)
        self._save_images(task, folder, screen)

    @work(group="save", description="save images", exit_on_error=False)
    async def _save_images(self, task: Task, folder: Path, screen: SavingScreen) -> None:
        from nbtui.media import MediaError, SaveError, save_images

        def progress(done: int, total: int | None) -> None:
            if screen.is_attached:
                screen.progress(done, total)

        try:
            async with self._make_fetcher() as fetcher:
                paths = await save_images(task, folder, fetcher=fetcher, progress=progress)
        except SaveError as exc:
            saved = "\n".join(str(path) for path in exc.saved)
            self.notify(
                one_line(exc) + (f"\nSaved:\n{saved}" if saved else ""),
                title="Some images were not saved",
                severity="error",
                timeout=15,
            )
            return
        except MediaError as exc:
            self.notify(one_line(exc), title="Images not saved", severity="error", timeout=15)
            return
        finally:
            self._saving.discard(task.id)
            if screen.is_attached:
                screen.dismiss(None)
        noun = "image" if len(paths) == 1 else "images"
        self.notify(
            "\n".join(str(path) for path in paths),
            title=f"Saved {len(paths)} {noun}",
            timeout=10,
        )

    # -- import recent tasks --------------------------------------------------------------

    def action_import_recent(self) -> None:
        if self.listing_refused is not None:
            self.notify(
                "Importing recent tasks is off for this session: the service refused the list "
                "request. Add task ids by hand (a).",
                severity="warning",
                timeout=5,
            )
            return
        if not self.demo and self._token is None and self.monitor is None:
            self.notify("Set a token first (t).", severity="warning")
            return
        self.notify("Asking the service for your recent tasks…", timeout=3)
        self._import_recent()

    @work(exclusive=True, group="import", description="import recent tasks", exit_on_error=False)
    async def _import_recent(self) -> None:
        try:
            async with self.client_factory(self._token) as client:
                tasks = await client.list_recent(limit=IMPORT_LIMIT)
        except RequestRejected as exc:
            self.listing_refused = one_line(exc)
            self.notify(
                f"{one_line(exc)}\nImport stays off for this session; add ids by hand (a).",
                title="The service does not list recent tasks",
                severity="warning",
                timeout=15,
            )
            return
        except ApiError as exc:
            self.notify(one_line(exc), title="Could not import", severity="error", timeout=10)
            return
        ids = [task.id for task in tasks]
        now = self.clock()

        from nbtui.tracking.store import StoreError
        from nbtui.tui.store_writes import patient_write

        fresh = {task.id: task for task in tasks}
        added: list[str] | None = None

        def attempt(wait: float) -> tuple[list[str], list[TrackedTask]]:
            # Two writes: a retry after the add went through (and the apply waited) only
            # applies, as `add` would now call every id already tracked.
            nonlocal added
            if added is None:
                added = self.store.add(ids, None, now, wait=wait)
            if added:
                self.store.apply([fresh[i] for i in added if i in fresh], {}, now, wait=wait)
            rows = [self.store.get(i) for i in added]
            return added, [row for row in rows if row is not None]

        try:
            new, rows = await patient_write(attempt, waiting=self.store_waiting)
        except StoreError as exc:
            self.notify(one_line(exc), title="Could not import", severity="error", timeout=10)
            return
        self.model.upsert(rows)
        self._rows_changed(select=new[0] if new else None)
        known = len(ids) - len(new)
        if not ids:
            self.notify("The service lists no recent image tasks.", timeout=5)
            return
        more = f"; {known} already tracked" if known else ""
        self.notify(f"Imported {len(new)} task{'s' if len(new) != 1 else ''}{more}.", timeout=5)
