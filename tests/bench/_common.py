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
import re
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
        # An installed nbtui runs from compiled bytecode; without this every launch would
        # recompile whatever changed since the last .pyc (tens of ms, and noisy).
        and key != "PYTHONDONTWRITEBYTECODE"
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "no-config.toml").touch()  # an empty config: the defaults, nothing to warn about
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

    def capture_escaped(self, session: str) -> str:
        """The screen with its colours (SGR sequences): shows where the cursor is."""
        return self._run("capture-pane", "-p", "-e", "-t", session, check=False)

    def send(self, session: str, *keys: str) -> None:
        self._run("send-keys", "-t", session, *keys)

    def pid(self, session: str) -> int:
        return int(self._run("display", "-p", "-t", session, "#{pane_pid}").strip())

    def dead(self, session: str) -> bool:
        return self._run("display", "-p", "-t", session, "#{pane_dead}", check=False).strip() == "1"

    def wait_for(
        self,
        session: str,
        predicate: Callable[..., bool],  # called with the screen; may bind loop values
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


# -- tasks that finish when the harness says so (B3, B6) ---------------------------------------

NEVER = 1e9  # seconds: a task held "running" until `finish_at` moves its end


def populate_with_running(
    data_dir: Path, background: int, running: int, sim_state: Any, *, newest: bool = False
) -> tuple[list[str], list[str]]:
    """Track `background` finished tasks plus `running` ones held running in the simulator.

    The running tasks are stored as already refreshed (so the app announces their finish like
    a user would see it). `newest=True` makes them the newest tasks (the list's top rows);
    otherwise they are ten minutes old, spread among the others. Returns (background ids,
    running ids). `sim_state` must have been made with zero pending/running seconds, so every
    background task is finished from the start.
    """
    from nbtui.api.models import Task
    from nbtui.tracking.store import Store

    background_ids = sim_state.seed(background)
    now = time.time()
    running_ids = [
        sim_state.add_task(
            prompt=f"held until the benchmark lets it finish #{index}",
            outcome="succeeded",
            model="nano-banana",
            pending_seconds=0.0,
            running_seconds=NEVER,
            created_at=(now + 0.001 * index) if newest else (now - 600 - 0.01 * index),
        )
        for index in range(running)
    ]
    ids = background_ids + running_ids
    with Store.open(data_dir) as store:
        store.add(ids, now=now - 3600)
        records = sim_state.records(ids)
        for start in range(0, len(records), 5000):
            store.apply([Task.from_raw(raw) for raw in records[start : start + 5000]], {}, now)
    return background_ids, running_ids


def hold_running(sim_state: Any, ids: Sequence[str]) -> None:
    """Keep these simulated tasks running until `finish_at`."""
    for task_id in ids:
        sim_state.task(task_id).running_seconds = NEVER


def finish_at(sim_state: Any, ids: Sequence[str], when: float) -> None:
    """Make these simulated tasks finish at `when` (`time.time()` seconds)."""
    for task_id in ids:
        task = sim_state.task(task_id)
        task.running_seconds = max(0.0, when - task.started_at)


# -- key round trips (B3) -------------------------------------------------------------------

#: The list cursor's background (Textual's default theme, DataTable and nbtui's list alike).
CURSOR_BG = "48;2;1;120;212"
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def cursor_key(screen_with_escapes: str, key_pattern: Any) -> str | None:
    """The key (task id / row name) on the line the cursor highlights, or None."""
    for line in screen_with_escapes.splitlines():
        if CURSOR_BG in line:
            match = key_pattern.search(_ESCAPES.sub("", line))
            if match:
                return str(match.group(0))
    return None


@dataclass
class Press:
    """One key press: when it was sent and when its effect was first on screen."""

    sent: float
    seen: float
    screen: str  # plain text of the screen that showed the effect

    @property
    def round_trip(self) -> float:
        return self.seen - self.sent


def press_and_wait(
    server: Tmux, session: str, key: str, key_pattern: Any, *, timeout: float = 10.0
) -> Press:
    """Send `key` and poll (every capture, no sleep) until the cursor's row changes."""
    before = cursor_key(server.capture_escaped(session), key_pattern)
    if before is None:
        raise RuntimeError("no cursor row on screen:\n" + server.capture(session))
    sent = time.perf_counter()
    server.send(session, key)
    deadline = sent + timeout
    while True:
        screen = server.capture_escaped(session)
        now = time.perf_counter()
        current = cursor_key(screen, key_pattern)
        if current is not None and current != before:
            return Press(sent, now, _ESCAPES.sub("", screen))
        if now > deadline:
            raise TimeoutError(f"the cursor did not move in {timeout} s")
