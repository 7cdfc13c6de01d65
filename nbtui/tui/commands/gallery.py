"""The gallery (`b`): the result images of the tasks the list shows, in list order.

Which images those are is read off the UI thread (the list holds rows, not records: each task
with images has its record read once); the screen then loads thumbnails lazily itself. Enter
on a thumbnail comes back here and puts the list's cursor on its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nbtui.api.state import extract_images
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.image_client import SharedFetcher
from nbtui.tui.session import Session
from nbtui.tui.tasklist_model import TaskListModel

# The screen (and what it draws with) is imported when the gallery first opens.
if TYPE_CHECKING:
    from nbtui.tracking.store import Store
    from nbtui.tui.screens.gallery import GalleryEntry

__all__ = ["Gallery", "collect_entries"]


def collect_entries(store: Store, rowids: Sequence[int]) -> list[GalleryEntry]:
    """Blocking (a thread): one entry per result image of the tasks `rowids` name, in
    their order; tasks without images are left out without reading their records."""
    from nbtui.tui.screens.gallery import GalleryEntry

    position = {rowid: index for index, rowid in enumerate(rowids)}
    rows = [row for row in store.listing(rowids) if row.image_count > 0]
    rows.sort(key=lambda row: position[row.rowid])
    entries: list[GalleryEntry] = []
    for row in rows:
        stored = store.get(row.id)
        if stored is None:
            continue  # untracked meanwhile
        urls = [image.image_url for image in extract_images(stored.raw) if image.image_url]
        entries += [
            GalleryEntry(row.id, url, index, len(urls), row.state, row.prompt)
            for index, url in enumerate(urls)
        ]
    return entries


class Gallery:
    """Opens the gallery over what the list shows and follows the user's choice back."""

    def __init__(
        self,
        host: Host,
        session: Session,
        model: TaskListModel,
        *,
        select: Callable[[str], None],
        fetcher: SharedFetcher,
    ) -> None:
        """`select(task_id)`: put the list's cursor on that task."""
        self._host = host
        self._session = session
        self._model = model
        self._select = select
        self._fetcher = fetcher
        self._opening = False

    def open(self) -> None:
        """Read the shown tasks' images (in a thread), then show the grid."""
        if self._opening:
            return
        self._opening = True
        self._host.run_worker(
            self._open(self._model.shown_rowids, self._model.filter_text),
            group="gallery",
            description="open the gallery",
            exit_on_error=False,
        )

    async def _open(self, rowids: Sequence[int], filter_text: str) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.screens.gallery import GalleryScreen

        try:
            entries = await asyncio.to_thread(collect_entries, self._session.store, rowids)
        except StoreError as exc:
            self._host.notify(
                one_line(exc), title="Gallery not opened", severity="error", timeout=10
            )
            return
        finally:
            self._opening = False
        screen = GalleryScreen(
            entries,
            tasks_shown=len(rowids),
            fetcher=self._fetcher.get,
            filter_text=filter_text,
        )
        self._host.app.push_screen(screen, self._chosen)

    def _chosen(self, entry: GalleryEntry | None) -> None:
        if entry is not None:
            self._select(entry.task_id)
