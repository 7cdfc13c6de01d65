"""The balance in the header and the price behind the create form's estimate, read from the
provider's platform host only when the user opted in (`[platform] host`; docs/platform.md).

Reads run in a worker, never on the UI's path: at start, after each created task, every
`REFRESH_SECONDS`, and on the balance key. The price list is read once (it is the public
catalog) and kept. A failed read keeps the last balance on screen, marked stale, and says why
once in a toast (again only when the reason changes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from rich.text import Text

from nbtui.api.errors import ApiError
from nbtui.api.pricing import format_amount
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.session import Session

if TYPE_CHECKING:
    from nbtui.api.platform import Balance
    from nbtui.api.pricing import PriceList

__all__ = ["OFF_HINT", "REFRESH_SECONDS", "BalanceWatcher"]

#: How often the balance is read again while the app runs.
REFRESH_SECONDS: Final = 300.0
#: What the balance key says while the feature is off: how to turn it on.
OFF_HINT: Final = (
    'The balance is off. To show it, add [platform] host = "https://platform.acedata.cloud" '
    "to config.toml and set ACEDATACLOUD_PLATFORM_TOKEN to an account token."
)


class BalanceWatcher:
    """Keeps the last balance and the price list (see the module docstring)."""

    def __init__(self, host: Host, session: Session, *, changed: Callable[[], None]) -> None:
        """`changed()` runs on the UI thread after each read (the header redraws)."""
        self._host = host
        self._session = session
        self._changed = changed
        self.balance: Balance | None = None
        self.prices: PriceList | None = None
        #: Why the last balance read failed (None: it did not).
        self.problem: str | None = None
        self._told: str | None = None
        #: Reads finished (tests wait on it).
        self.reads = 0

    @property
    def enabled(self) -> bool:
        return self._session.platform_factory is not None

    def refresh(self) -> None:
        """Read again in a worker (a read in flight is replaced by the newer one)."""
        if not self.enabled:
            return
        self._host.run_worker(
            self._read(),
            group="balance",
            description="read the balance",
            exclusive=True,
            exit_on_error=False,
        )

    def show(self) -> None:
        """The balance key: say how to turn it on, or read it now and say what it is."""
        if not self.enabled:
            self._host.notify(OFF_HINT, title="Balance", timeout=12)
            return
        self._told = None  # asked for: a failure is worth saying again
        self.refresh()
        if self.balance is not None:
            self._host.notify(self.describe(), title="Balance", timeout=6)

    def describe(self) -> str:
        balance = self.balance
        if balance is None:
            return "The balance has not been read yet."
        source = "the Nano Banana application" if balance.source != "global" else "global"
        return f"{format_amount(balance.amount)} {balance.unit} left ({source} balance)."

    def header(self) -> Text:
        """The header's words: "balance 12.34 credits", dim "balance ?" before a first read,
        "(stale)" after a failed one."""
        text = Text(no_wrap=True)
        if not self.enabled:
            return text
        balance = self.balance
        if balance is None:
            text.append("balance ?", style="dim" if self.problem is None else "yellow")
        else:
            text.append(f"balance {format_amount(balance.amount)} {balance.unit}", style="bold")
            if self.problem is not None:
                text.append(" (stale)", style="yellow")
        text.append("  ")
        return text

    async def _read(self) -> None:
        factory = self._session.platform_factory
        if factory is None:
            return
        try:
            async with factory() as client:
                if self.prices is None:
                    try:
                        self.prices = await client.price_list()
                    except ApiError:
                        self.prices = None  # no estimate in the form; the balance still reads
                try:
                    self.balance = await client.balance()
                    self.problem = None
                    self._told = None
                except ApiError as exc:
                    self._failed(exc)
        finally:
            self.reads += 1
            self._changed()

    def _failed(self, error: ApiError) -> None:
        self.problem = one_line(error.short)
        if self._told != self.problem:
            self._told = self.problem
            self._host.notify(
                one_line(str(error)), title="Balance not read", severity="warning", timeout=15
            )
