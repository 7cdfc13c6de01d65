"""Fixtures shared by every test: nothing here may touch the developer's real files or secrets."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from tests.keyrings.memory import MemoryKeyring

if TYPE_CHECKING:
    from nbtui.sim import InProcessSim, SimServer

# Keep compiled test modules between runs even where PYTHONDONTWRITEBYTECODE is set (as on the
# machines CI runs on): without the cache every xdist worker re-does pytest's assertion rewriting
# of every test module, about 3.5 s of CPU per worker per run. __pycache__/ is git-ignored.
sys.dont_write_bytecode = False

# No example database (it would be written into the working tree, .hypothesis/). The expensive
# properties scale their example counts with NBTUI_THOROUGH (tests/helpers.py).
settings.register_profile("nbtui", database=None)
settings.load_profile("nbtui")


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps caches in .hypothesis/ under the working directory, from collection on:
    give each run (each xdist worker) a temporary one instead, removed at the end."""
    home = Path(tempfile.mkdtemp(prefix="nbtui-hypothesis-"))
    set_hypothesis_home_dir(home)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that take seconds each (the tmux ones, the marked slow ones) run first: xdist
    hands out tests in this order, and one of them started last would keep a worker busy
    after the others have finished."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("tmux") is None and item.get_closest_marker("slow") is None
        )
    )


@pytest.fixture(autouse=True)
def isolated_environment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point config, data, cache and keyring at temporary places; unset the token variables."""
    home = tmp_path / "home"
    for sub in ("config", "data", "cache", "state"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("NBTUI_DATA_DIR", str(home / "data" / "nbtui"))
    config = home / "config" / "nbtui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.touch()  # an empty config: the defaults, and no "NBTUI_CONFIG names a missing file"
    monkeypatch.setenv("NBTUI_CONFIG", str(config))
    for name in ("ACEDATACLOUD_API_TOKEN", "ACEDATACLOUD_API_BASE_URL", "NBTUI_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    if request.node.get_closest_marker("secret_service") is None:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyrings.memory.MemoryKeyring")
        previous = keyring.get_keyring()
        keyring.set_keyring(MemoryKeyring())
        yield home
        keyring.set_keyring(previous)
    else:
        yield home
    _forget_rendered_lines()


def _forget_rendered_lines() -> None:
    """Textual's `StylesCache.get_inner_outer` is an `lru_cache` on a method, so it keeps the
    last 1,024 widgets' caches of rendered lines alive: a few hundred thousand objects per
    worker that every full garbage collection walks again (pytest's own at the end of the
    session does five). Nothing is shared between apps through it but that memory."""
    styles_cache = sys.modules.get("textual._styles_cache")
    if styles_cache is not None:
        styles_cache.StylesCache.get_inner_outer.cache_clear()


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    """The in-memory keyring installed for this test."""
    backend = keyring.get_keyring()
    assert isinstance(backend, MemoryKeyring)
    return backend


# ---------------------------------------------------------------- simulator (owner: sim worker)
# Imports stay inside the fixtures so tests that never use the simulator never load starlette.


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    """The simulator on a free loopback port (token "sim-token"), stopped after the test.

    `.base_url`, `.state` (a `SimState`: `add_task`, `inject_fault`, `requests`, ...).
    """
    from nbtui.sim import SimConfig, SimServer

    with SimServer(SimConfig(token="sim-token")) as server:
        yield server


@pytest.fixture
def sim_app() -> InProcessSim:
    """The simulator in-process (token "sim-token"): `.app`, `.state`, `.base_url`
    ("http://sim.test", where its image URLs point) and `.transport()` for
    `httpx.AsyncClient(transport=sim_app.transport(), base_url=sim_app.base_url)`.
    """
    from nbtui.sim import SimConfig, in_process

    return in_process(SimConfig(token="sim-token"))


# ---------------------------------------------------------------- one CSS parse per process


def _share_parsed_css() -> None:
    """The suite starts several hundred apps in each worker, and Textual parses the same CSS
    (every widget's DEFAULT_CSS, app.tcss) again for each one: about a tenth of an app's
    start-up. Parsing is a pure function of the text, where it was read from and the theme's
    variables, and the rule sets are only read afterwards, so one process-wide cache keyed by
    all of them gives every app the rules it would have parsed itself."""
    from textual.css.model import RuleSet
    from textual.css.stylesheet import Stylesheet
    from textual.css.types import CSSLocation

    parse = Stylesheet._parse_rules
    parsed: dict[tuple[object, ...], list[RuleSet]] = {}

    def parse_once(
        self: Stylesheet,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        key = (
            css,
            read_from,
            is_default_rules,
            tie_breaker,
            scope,
            *sorted(self._variables.items()),
        )
        rules = parsed.get(key)
        if rules is None:
            rules = parsed[key] = parse(self, css, read_from, is_default_rules, tie_breaker, scope)
        return rules

    Stylesheet._parse_rules = parse_once  # type: ignore[method-assign]


_share_parsed_css()


def _finer_idle_checks() -> None:
    """Textual's pilot waits for the app to go idle after every key press, twice, and in
    `pause()`, sampling the process's CPU time every 20 ms: a test typing 70 characters sleeps
    for about 3 s doing nothing. Sampling every 5 ms (idle when under 0.25 ms of CPU was used
    in it, the same ratio) halves a serial TUI run's wall time. A test that needs work to be
    done waits for that with `settle` (tests/helpers.py), never for an idle guess."""
    import textual._wait as wait

    wait.SLEEP_GRANULARITY = 1 / 200
    wait.SLEEP_IDLE = wait.SLEEP_GRANULARITY / 20


_finer_idle_checks()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fewer, cheaper garbage collections in each worker: they took about a sixth of the
    suite's CPU. What collection built (modules, test items) lives to the end, so it is frozen
    out of every later collection; and the youngest generation is collected after 10,000 new
    objects instead of 700, since an app's start makes hundreds of thousands of them. Nothing
    a test checks depends on when the collector runs (`gc.collect()` where one must)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
