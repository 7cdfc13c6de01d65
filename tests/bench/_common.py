"""Shared machinery for the benchmarks: tmux driving, data dirs, results, tables.

Every benchmark measures nbtui *and* a baseline in the same invocation and reports the ratio,
because these machines are noisy: absolute figures move by 30 % from one minute to the next,
ratios much less. Nothing here touches the developer's keyring, config or data dir: each
process gets a throwaway HOME and a null keyring backend.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / ".bench-results"
PYTHON = sys.executable
NBTUI = str(Path(PYTHON).with_name("nbtui"))
BARE_APP = str(Path(__file__).with_name("bare_app.py"))
TOKEN = "bench-token"
COLS, ROWS = 120, 40


def quick() -> bool:
    """`--quick` (or NBTUI_BENCH_QUICK=1): fewer sizes and repeats, for a ~2 minute run."""
    return "--quick" in sys.argv or os.environ.get("NBTUI_BENCH_QUICK") == "1"


# -- environment ------------------------------------------------------------------------


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with nothing of the developer's: temp HOME/XDG, null keyring."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NBTUI_", "ACEDATACLOUD_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        NBTUI_CONFIG=str(home / "no-config.toml"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        TERM="xterm-256color",
        COLORTERM="truecolor",
        TEXTUAL_ANIMATIONS="none",
    )
    env.update(extra)
    return env


# -- data ---------------------------------------------------------------------------------


@dataclass
class Populated:
    """A data dir holding `n` tracked tasks, and the simulator that knows the same tasks."""

    data_dir: Path
    ids: list[str]
    first_id: str  # the task the list shows on its first row (newest created first)


def populate(data_dir: Path, n: int, sim_state: Any | None = None) -> Populated:
    """Track `n` tasks with realistic records (what a refresh would have stored).

    The tasks come from the simulator's `seed` (mixed states, ~10 % still running), so a
    real refresh against `sim_state` then sees the same tasks.
    """
    from nbtui.api.models import Task
    from nbtui.sim import SimConfig
    from nbtui.sim.state import SimState
    from nbtui.tracking.store import Store

    state = sim_state if sim_state is not None else SimState(SimConfig(token=TOKEN))
    ids = state.seed(n)
    now = time.time()
    with Store.open(data_dir) as store:
        store.add(ids, now=now - 60)
        records = state.records(ids)
        for start in range(0, len(records), 5000):
            store.apply([Task.from_raw(raw) for raw in records[start : start + 5000]], {}, now)
        rows = store.all()
    first = max(rows, key=lambda row: (row.created_at or row.first_seen, row.id))
    return Populated(data_dir, ids, first.id)


# -- tmux -----------------------------------------------------------------------------------


class Tmux:
    """A private tmux server (`-L`), one session per launch, always cleaned up."""

    def __init__(self) -> None:
        self.socket = f"nbtui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._count = 0
        # A session that lives as long as the harness keeps the server warm between launches.
        self._run("new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-s", "keep", "cat")

    def _run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def launch(self, argv: Sequence[str], env: dict[str, str]) -> tuple[str, float]:
        """Start `argv` in a new 120x40 session; returns (session, start time)."""
        self._count += 1
        name = f"s{self._count}"
        command = "exec " + " ".join(shlex.quote(arg) for arg in argv)
        env_args: list[str] = []
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            env_args += ["-e", f"{key}={env[key]}"]
        for key, value in env.items():
            if key.startswith(("NBTUI_", "ACEDATACLOUD_", "PYTHON", "TEXTUAL")):
                env_args += ["-e", f"{key}={value}"]
        env_args += ["-e", f"TERM={env['TERM']}", "-e", f"COLORTERM={env['COLORTERM']}"]
        started = time.perf_counter()
        self._run(
            "new-session",
            "-d",
            "-x",
            str(COLS),
            "-y",
            str(ROWS),
            "-s",
            name,
            *env_args,
            command,
        )
        self._run("set-option", "-t", name, "remain-on-exit", "on", check=False)
        return name, started

    def capture(self, session: str) -> str:
        return self._run("capture-pane", "-p", "-t", session, check=False)

    def send(self, session: str, *keys: str) -> None:
        self._run("send-keys", "-t", session, *keys)

    def pid(self, session: str) -> int:
        return int(self._run("display", "-p", "-t", session, "#{pane_pid}").strip())

    def dead(self, session: str) -> bool:
        return self._run("display", "-p", "-t", session, "#{pane_dead}", check=False).strip() == "1"

    def wait_for(
        self,
        session: str,
        predicate: Callable[[str], bool],
        *,
        timeout: float = 30.0,
        poll: float = 0.002,
    ) -> tuple[float, str]:
        """Poll the screen until `predicate(screen)`; returns (perf_counter when seen, screen)."""
        deadline = time.perf_counter() + timeout
        while True:
            screen = self.capture(session)
            now = time.perf_counter()
            if predicate(screen):
                return now, screen
            if now > deadline:
                raise TimeoutError(f"screen never matched in {timeout} s; last screen:\n{screen}")
            if self.dead(session):
                raise RuntimeError(f"the program exited; last screen:\n{screen}")
            time.sleep(poll)

    def kill(self, session: str) -> None:
        self._run("kill-session", "-t", session, check=False)

    def close(self) -> None:
        self._run("kill-server", check=False)


@contextlib.contextmanager
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def nbtui_argv(data_dir: Path, base_url: str) -> list[str]:
    return [NBTUI, "--data-dir", str(data_dir), "--base-url", base_url]


def bare_argv(rows: int, *extra: str) -> list[str]:
    return [PYTHON, BARE_APP, "--rows", str(rows), *extra]


def bare_first_row() -> str:
    """The text of the bare app's first data row (see bare_app.py)."""
    return "row-00000"


# -- results --------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a benchmark's table."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: str = ""
    ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g}{(' ' + unit) if unit else ''}"


def report(bench: str, title: str, rows: list[Row], notes: Sequence[str] = ()) -> dict[str, Any]:
    """Print the table and write `.bench-results/<bench>.json`; returns the JSON document."""
    print(f"\n{title}")
    header = ("case", "nbtui", "baseline", "ratio", "target", "met")
    lines = [header]
    for row in rows:
        met = "—" if row.ok is None else ("yes" if row.ok else "NO")
        lines.append(
            (
                row.name,
                fmt(row.value, row.unit),
                fmt(row.baseline, row.unit),
                fmt(row.ratio, "x"),
                row.target,
                met,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    for note in notes:
        print(f"  note: {note}")
    document = {
        "bench": bench,
        "title": title,
        "quick": quick(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": [
            {
                "case": row.name,
                "value": row.value,
                "unit": row.unit,
                "baseline": row.baseline,
                "ratio": row.ratio,
                "target": row.target,
                "met": row.ok,
                **row.extra,
            }
            for row in rows
        ],
        "notes": list(notes),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{bench}.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
