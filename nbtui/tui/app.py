"""The nbtui application: app-wide keys, start-up, the token, the demo switch and quitting.

Built by `make_app` from settings, a store, a client factory and a clock, so `run_app` (the
`nbtui` command) and the tests assemble it the same way. What the user watches and works on
is the `MainScreen` (`get_default_screen`, posting's pattern); what the app is connected to is
one `Session`, shared with the screen and its commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider

from nbtui.config import Settings
from nbtui.textsafe import one_line
from nbtui.tui.commands.theme import ThemeMemory
from nbtui.tui.commands.views import ViewsProvider
from nbtui.tui.image_client import FetcherFactory
from nbtui.tui.keys import APP_BINDINGS, HelpEntry, help_entries
from nbtui.tui.screens.main import MainScreen
from nbtui.tui.screens.token import TokenOutcome, TokenScreen
from nbtui.tui.session import ClientFactory, PlatformFactory, Session
from nbtui.tui.threads import in_thread

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.credentials import TokenInfo
    from nbtui.tracking.store import Store
    from nbtui.tui.screens.create import CreateTaskScreen

__all__ = ["ClientFactory", "DemoSession", "NbtuiApp", "make_app", "prepare_terminal_graphics"]


class DemoSession(Protocol):
    """What the first-run "try the demo" switch needs (built by `nbtui.runtime.build_demo`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def client_factory(self) -> ClientFactory: ...
    @property
    def spare_ids(self) -> list[str]: ...
    @property
    def platform_factory(self) -> PlatformFactory | None: ...
    def close(self) -> None: ...


#: A UUID nobody owns: asking for it checks a token with one cheap request.
_PROBE_ID = "00000000-0000-4000-8000-000000000000"
#: The exit status after SIGTERM (128 + 15, what a shell reports for a process it killed).
EXIT_TERMINATED = 143
_T = TypeVar("_T")


class ActionsProvider(Provider):
    """Every key binding of the app, by name, in the command palette."""

    def _commands(self) -> list[HelpEntry]:
        app = self.app
        assert isinstance(app, NbtuiApp)
        return [entry for entry in app.help_rows() if entry.action]

    async def discover(self) -> Hits:
        for entry in self._commands():
            yield DiscoveryHit(
                Text(entry.description),
                partial(self._run, entry),
                text=entry.description,
                help=entry.keys,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._commands():
            score = matcher.match(entry.description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(entry.description),
                    partial(self._run, entry),
                    text=entry.description,
                    help=entry.keys,
                )

    def _run(self, entry: HelpEntry) -> None:
        app = self.app
        assert isinstance(app, NbtuiApp)
        target = app if entry.app_wide else app.main
        app.call_later(app.run_action, entry.action, target)


class NbtuiApp(App[int]):
    """Watch Nano Banana image tasks: see `nbtui.tui.app` for how it is put together."""

    TITLE = "nbtui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ActionsProvider, ViewsProvider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    #: Dialogs lose their air under 30 lines (`-compact`), and their hints under 24 (`-short`).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-compact"), (30, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        client_factory: ClientFactory,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        token: str | None = None,
        resolve_token: bool = True,
        demo_factory: Callable[[], DemoSession] | None = None,
        suggested_ids: Sequence[str] = (),
        fetcher_factory: FetcherFactory | None = None,
        platform_factory: PlatformFactory | None = None,
        config_path: Path | None = None,
        freeze_after_load: bool = False,
    ) -> None:
        """`config_path`: the file saved views and the theme are written to (None: the
        one `nbtui.config.config_file_path` names, as the settings were read from).
        `freeze_after_load`: see `_main_loaded` (the `nbtui` command; not for a process that
        starts many apps, such as the tests)."""
        super().__init__()
        self._freeze_after_load = freeze_after_load
        #: What the app is connected to; shared (and changed in place) with the main screen.
        self.session = Session(
            settings=settings,
            store=store,
            client_factory=client_factory,
            clock=clock,
            demo=demo,
            token=token,
            suggested_ids=list(suggested_ids),
            platform_factory=platform_factory,
            config_path=config_path,
        )
        #: Problems found before the app started (a damaged database kept aside, an insecure
        #: base URL), shown as lasting warnings once the screen is up.
        self.startup_warnings: list[str] = []
        self._resolve_token = resolve_token and not demo and token is None
        #: The configured theme, applied now (no first frame in the default theme).
        self.theme_memory = ThemeMemory(self, self.session)
        theme_warning = self.theme_memory.apply(self)
        if theme_warning is not None:
            self.startup_warnings.append(theme_warning)
        #: Builds the demo for the first-run "try the demo" button (None: that button quits).
        self.demo_factory = demo_factory
        self._demo_env: DemoSession | None = None
        # Built now, not at first compose: it starts reading the first screenful at once.
        self._main = MainScreen(
            self.session,
            write_to_terminal=self.write_to_terminal,
            fetcher_factory=fetcher_factory,
        )

    @property
    def main(self) -> MainScreen:
        """The task list and its panes (the default screen)."""
        return self._main

    @property
    def settings(self) -> Settings:
        return self.session.settings

    @property
    def demo(self) -> bool:
        return self.session.demo

    def get_default_screen(self) -> MainScreen:
        return self._main

    def write_to_terminal(self, text: str) -> None:
        """Raw escape sequences to the terminal between frames (as Textual's `bell` does)."""
        driver = self._driver
        if driver is not None:
            driver.write(text)

    # -- start-up ------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._catch_sigterm()
        self.theme_changed_signal.subscribe(self, self.theme_memory.changed)
        settings = self.session.settings
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))
        if settings.is_insecure_remote and not self.session.demo:
            self.startup_warnings.append(
                f"The base URL {settings.base_url} uses plain http: your token would "
                "cross the network unencrypted. Use https unless this is a local proxy."
            )
        self.startup_warnings.extend(self._main.user_commands.problems)
        store = self.session.store
        notice = store.notice  # a damaged file set aside, at this start or an earlier one
        if notice is not None:
            for line in notice.splitlines():
                if line not in self.startup_warnings:
                    self.startup_warnings.append(line)
        for warning in self.startup_warnings:
            self.notify(one_line(warning), title="Warning", severity="warning", timeout=30)
        if notice is not None:
            store.acknowledge_notice()

    @on(MainScreen.Loaded)
    def _main_loaded(self) -> None:
        if self._freeze_after_load:
            # What start-up built (Textual's widgets and caches, the list) stays for the
            # session: leave it out of every later full garbage collection. Each walked it
            # all again, 40-100 ms with the UI loop (or a worker holding the GIL) stopped,
            # a stall keys felt, e.g. while 50,000 marked tasks were untracked.
            gc.freeze()
        self.begin_watching()

    def begin_watching(self) -> None:
        """The stored list is shown: start the monitor, or find (or ask for) a token first."""
        if self.session.demo:
            self._main.start_monitor(None)
        elif self._resolve_token:
            self._find_token()
        else:
            self._main.start_monitor(self.session.token)

    @work(exclusive=True, group="keyring", description="read the token from the keyring")
    async def _find_token(self) -> None:
        """Read the token off the UI thread: a locked keyring can hold the call forever.

        `resolve_token` gives up after its timeout (its stuck call is left in a daemon
        thread, so `q` still ends the process); with no token the token screen offers a
        token for this session, or the demo.
        """
        from nbtui.credentials import resolve_token

        info = await self._keyring_call(resolve_token, self.session.settings.profile)
        self.session.token = info.token
        self.session.credential_origin = info.origin
        if info.token is None:
            self._open_token_screen(
                first_run=True, status=_status(info), keyring_problem=info.keyring_problem
            )
            return
        self._main.start_monitor(info.token)

    async def _keyring_call(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)` in a daemon thread, the status bar saying what is awaited."""
        self._main.show_waiting("the keyring")
        try:
            return await asyncio.wrap_future(in_thread(function, *args))
        finally:
            self._main.show_waiting(None)

    # -- token ---------------------------------------------------------------------------

    def action_token(self) -> None:
        if self.session.demo:
            self.notify(
                "The demo needs no token. Run nbtui without --demo to use your own.",
                title="Demo",
            )
            return
        self._show_token_screen()

    @work(exclusive=True, group="keyring", description="read the token from the keyring")
    async def _show_token_screen(self) -> None:
        """The token in use and where it came from (a token typed this session is in no
        keyring: the app remembers its origin); the keyring is read for whether one works."""
        from nbtui.credentials import resolve_token

        session = self.session
        info = await self._keyring_call(resolve_token, session.settings.profile)
        status = _status(info)
        if session.token is not None and session.credential_origin:
            status = session.credential_origin
        self._open_token_screen(
            first_run=False, status=status, keyring_problem=info.keyring_problem
        )

    def _open_token_screen(
        self, *, first_run: bool, status: str, keyring_problem: str | None = None
    ) -> None:
        host = self.session.settings.api_host
        screen = TokenScreen(
            first_run=first_run, status=status, host=host, keyring_problem=keyring_problem
        )
        self.push_screen(screen, self._token_screen_closed)

    def _token_screen_closed(self, outcome: TokenOutcome | None) -> None:
        if outcome == "quit":
            self.exit(0)
        elif outcome == "demo":
            self._switch_to_demo()

    @on(TokenScreen.Submitted)
    def _token_submitted(self, message: TokenScreen.Submitted) -> None:
        screen = self.screen
        if isinstance(screen, TokenScreen):
            self._check_token(screen, message.token)

    @work(exclusive=True, group="token", description="check a token")
    async def _check_token(self, screen: TokenScreen, token: str) -> None:
        """One request with the new token; keep it only if the service accepts it."""
        from nbtui.api.errors import ApiError, AuthError
        from nbtui.credentials import CredentialError, save_token, validate_token

        settings = self.session.settings
        try:
            token = validate_token(token)
        except CredentialError as exc:
            screen.show_result(str(exc), error=True)
            return
        try:
            async with self.session.client_factory(token) as client:
                await client.retrieve(_PROBE_ID)
        except AuthError as exc:
            screen.show_result(
                f"{settings.api_host} rejected this token: {one_line(exc.short)}", error=True
            )
            return
        except ApiError as exc:
            screen.show_result(f"Could not check the token: {one_line(exc)}", error=True)
            return
        warning = None
        screen.show_result("The token works; saving it in the OS keyring…", error=False)
        try:
            await self._keyring_call(save_token, token, settings.profile)
        except CredentialError as exc:
            warning = one_line(exc)
        screen.dismiss("saved")
        self.session.token = token
        if warning:
            self.session.credential_origin = "typed here, for this session only (not saved)"
            self.notify(
                f"The token works but was not saved: {warning}\nIt is used for this session only.",
                title="Token not saved",
                severity="warning",
                timeout=15,
            )
        else:
            self.session.credential_origin = (
                f"typed here and saved in the OS keyring for profile {settings.profile}"
            )
            self.notify("Token saved to the OS keyring.", title="Token")
        self._main.start_monitor(token)

    def _switch_to_demo(self) -> None:
        """Leave the empty first-run app for the demo (the user's store is left untouched)."""
        if self.demo_factory is None:
            self.exit(0)
            return
        env = self.demo_factory()
        self._demo_env = env
        session = self.session
        session.settings = env.settings
        session.store = env.store
        session.client_factory = env.client_factory
        session.demo = True
        session.token = None
        session.credential_origin = None
        session.suggested_ids = list(env.spare_ids)
        session.platform_factory = env.platform_factory
        self._main.session_switched()
        self._main.start_monitor(None)

    def on_create_task_screen_submitted(self, message: CreateTaskScreen.Submitted) -> None:
        """A dialog's messages bubble to the App (its parent), not to the screen beneath:
        the create form's submit goes on to the main screen's creator."""
        message.stop()
        self._main.creator.submitted(message.form, message.request)

    # -- help ----------------------------------------------------------------------------

    def help_rows(self) -> list[HelpEntry]:
        """Every binding (with remapped keys), grouped, for the help screen and the palette."""
        return help_entries(self._keymap, self._main.user_commands.help_rows())

    def action_help(self) -> None:
        from nbtui.tui.screens.help import HelpRow, HelpScreen

        rows = [HelpRow(entry.group, entry.keys, entry.description) for entry in self.help_rows()]
        self.push_screen(HelpScreen(rows))

    # -- quitting ------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.exit(0)

    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's reminder that it does not quit) in plain words: Textual's own
        text is markup, which our literal toasts would show as `[b]ctrl+q[/b]`."""
        keys = sorted(
            (
                key
                for key, active in self.active_bindings.items()
                if active.binding.action in ("quit", "app.quit")
            ),
            key=len,  # the plain key first: "q or ctrl+q"
        )
        if keys:
            self.notify(f"Press {' or '.join(keys)} to quit.", title="Do you want to quit?")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts show prompts, URLs and errors from the API: literal text by default, so
        `[@click=app.quit]` is never run and a stray `[/bold]` never raises MarkupError."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _catch_sigterm(self) -> None:
        """SIGTERM ends the app like `q` (the terminal restored: no alternate screen, mouse
        reporting or hidden cursor left behind), with status 143."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Not on Windows, nor outside the main thread: the default action stays.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._terminated)

    def _terminated(self) -> None:
        self.exit(return_code=EXIT_TERMINATED)

    def on_unmount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        self._main.monitor.stop()
        if self._demo_env is not None:
            self._demo_env.close()


def _status(info: TokenInfo) -> str:
    """The token screen's "Current:": where the token comes from; without a keyring just
    "no token" (the screen's text says what to do then)."""
    return "no token" if info.token is None and info.keyring_problem else info.origin


#: The factory `run_app` and the tests build the app with (posting's `make_app`): the class
#: itself, so its options are declared once. A `token` skips the keyring look-up (tests);
#: without it a real-mode app resolves the token on start and asks for one if there is none.
make_app = NbtuiApp


def prepare_terminal_graphics() -> None:
    """Pick Kitty/Sixel image drawing where the terminal has it (must run before `app.run`)."""
    from nbtui.tui.widgets.preview import graphics_mode, prepare_graphics

    prepare_graphics(graphics_mode())
