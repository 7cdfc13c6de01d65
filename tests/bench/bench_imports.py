"""Import time: `nbtui --version` and everything the TUI imports before its first paint,
against `import textual.app` (which any Textual app pays). Median of 5 fresh interpreters.

Run: `python -m tests.bench.bench_imports`
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from tests.bench._common import PYTHON, Row, median, report

CASES = {
    "nbtui --version": ["-m", "nbtui", "--version"],
    "TUI start-up imports": ["-c", "import nbtui.cli, nbtui.tui.app, nbtui.tracking.store"],
}
BASELINE = ["-c", "import textual.app"]


def _time(args: list[str], repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        subprocess.run([PYTHON, *args], check=True, capture_output=True)
        runs.append(time.perf_counter() - started)
    return median(runs[1:])


def _lazy_ok() -> list[str]:
    """Modules start-up must not import (checked in a fresh interpreter)."""
    code = (
        "import sys, nbtui.cli, nbtui.tui.app;"
        "lazy=('pydantic','uvicorn','starlette','nbtui.sim','httpx','hypothesis');"
        "bad=[m for m in lazy if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([PYTHON, "-c", code], check=True, capture_output=True, text=True)
    return [name for name in out.stdout.strip().split(",") if name]


def run() -> dict[str, Any]:
    baseline = _time(BASELINE)
    rows = [Row(name, _time(args), "s", baseline) for name, args in CASES.items()]
    eager = _lazy_ok()
    shown = ", ".join(eager) or "none of pydantic, uvicorn, starlette, nbtui.sim, httpx, hypothesis"
    notes = [f"imported eagerly at start-up: {shown}"]
    return report("imports", "Import time (baseline: import textual.app)", rows, notes)


if __name__ == "__main__":
    run()
