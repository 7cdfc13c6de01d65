"""Export the tasks the list shows (`X`): a dialog asks where and in which format, then the
file is written off the UI thread (`nbtui.tracking.export`)."""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Callable
from pathlib import Path

from nbtui.tracking.export import ExportError, ExportFormat, write_export_file
from nbtui.tracking.store import StoreError
from nbtui.tui.commands import Host
from nbtui.tui.session import Session

__all__ = ["Exporter", "default_export_path"]


def default_export_path(now: float, fmt: ExportFormat = "csv") -> Path:
    """`~/Downloads/nbtui-export-<date>-<time>.csv` (the home folder when there is no
    Downloads folder)."""
    home = Path.home()
    folder = home / "Downloads" if (home / "Downloads").is_dir() else home
    return folder / time.strftime(f"nbtui-export-%Y%m%d-%H%M%S.{fmt}", time.localtime(now))


class Exporter:
    """Opens the export dialog for the tasks `shown()` lists (rowids: the marked tasks when
    there are any, else the list's, in its order)."""

    def __init__(self, host: Host, session: Session, *, shown: Callable[[], array[int]]) -> None:
        self._host = host
        self._session = session
        self._shown = shown

    def open(self) -> None:
        """`X`: ask where to export the tasks the list shows now."""
        rowids = array("q", self._shown())
        if not rowids:
            self._host.notify("Nothing to export: the list shows no task.", severity="warning")
            return
        from nbtui.tui.screens.export import ExportScreen

        store = self._session.store

        async def write(path: Path, fmt: ExportFormat) -> int:
            def work() -> int:
                try:
                    tasks = store.tasks_at(rowids)
                except StoreError as exc:
                    raise ExportError(f"Could not read the tasks: {exc}") from exc
                return write_export_file(path, tasks, fmt)

            return await asyncio.to_thread(work)

        def done(path: Path | None) -> None:
            if path is not None:
                self._host.notify(f"Exported to {path}", title="Export", timeout=10)

        default = default_export_path(self._session.clock())
        self._host.app.push_screen(ExportScreen(len(rowids), default, write), done)
