"""nbtui: watch AceData Cloud Nano Banana image tasks from a terminal."""

import sys as _sys

__version__ = "0.1.0"

# httpx imports its own command-line client (click, pygments, rich.syntax) whenever click is
# installed, which uvicorn brings: ~15 ms and ~3 MB that nbtui never uses. A None entry
# makes that one optional import fail the way httpx expects when its CLI extras are absent.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
