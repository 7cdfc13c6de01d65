"""A blocking call in a daemon thread whose result is awaited as a future.

For calls that may never return (a locked OS keyring): a daemon thread does not keep the
process alive at quit, where `asyncio.to_thread`'s pool would be joined.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any, TypeVar

__all__ = ["in_thread"]

_T = TypeVar("_T")


def in_thread(function: Callable[..., _T], *args: Any) -> Future[_T]:
    """Run `function(*args)` in a new daemon thread; its result (or error) in a future."""
    future: Future[_T] = Future()

    def run() -> None:
        # The waiter may have given up (cancelled the future, e.g. the app quit meanwhile).
        try:
            result = function(*args)
        except BaseException as exc:  # handed to whoever awaits the future
            with contextlib.suppress(InvalidStateError):
                future.set_exception(exc)
        else:
            with contextlib.suppress(InvalidStateError):
                future.set_result(result)

    name = getattr(function, "__name__", "call")
    threading.Thread(target=run, name=f"nbtui-{name}", daemon=True).start()
    return future
