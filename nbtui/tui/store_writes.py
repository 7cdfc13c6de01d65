"""Store writes the user asked for (add, untrack, create, import), patient with a busy database.

Another nbtui process (`nbtui add`, a second app, `watch`) can hold the database's write
lock for a while, and a full disk can refuse a write until space is freed. Neither may lose
what the user asked for or end the app: the write is kept, the status bar says "waiting for
the database", and it is tried again (off the UI thread) until it goes through. Only errors
no wait can cure (a damaged or closed database) reach the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from nbtui.tracking.store import StoreBusyError, StoreFullError

__all__ = ["RETRY_EVERY", "SHORT_WAIT", "patient_write"]

_T = TypeVar("_T")

#: Seconds one attempt waits for another writer (the store's own lock is held meanwhile,
#: so the UI's reads never wait longer than this).
SHORT_WAIT = 0.25
#: Seconds between attempts while the database stays locked or the disk full.
RETRY_EVERY = 0.5
BUSY_TEXT = "waiting for the database (another nbtui process is writing)"
FULL_TEXT = "waiting for the database: the disk is full, free some space"


async def patient_write(
    write: Callable[[float], _T],
    *,
    waiting: Callable[[str | None], None],
    retry_every: float = RETRY_EVERY,
) -> _T:
    """Run `write(wait)` in a thread until it succeeds; `waiting(text)` while it cannot
    (then `waiting(None)`). `write` gets the seconds one attempt may wait for the lock."""
    shown: str | None = None
    try:
        while True:
            try:
                return await asyncio.to_thread(write, SHORT_WAIT)
            except StoreBusyError:
                text = BUSY_TEXT
            except StoreFullError:
                text = FULL_TEXT
            if text != shown:
                shown = text
                waiting(text)
            await asyncio.sleep(retry_every)
    finally:
        if shown is not None:
            waiting(None)
