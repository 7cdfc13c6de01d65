"""The key footer, fitted to the terminal: whole keys only, the most useful kept first.

Textual's Footer lays every shown key in one row and cuts the one at the edge in half
(`p Pause/resu▏^p palette` at 80 columns). This one hides whole keys instead, least useful
first (the order its screen gives), until the rest fit beside the palette key.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FittedFooter"]


def _width(key: FooterKey) -> int:
    """Cells the key takes in the row: its text, padding, border and margin."""
    return key.render().cell_len + key.styles.gutter.width + key.styles.margin.width


class FittedFooter(Footer):
    """A Footer that drops whole keys, lowest priority first, when the row is too narrow."""

    def __init__(self, priority: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Actions, most useful first; keys whose action is not listed come after them.
        self._rank = {action: rank for rank, action in enumerate(priority)}
        #: The bindings the keys shown were built from (`recompose` skips when unchanged).
        self._composed: tuple[object, ...] | None = None

    async def recompose(self) -> None:
        """Build the keys again only when the ones to show changed: Textual asks after every
        focus change and every dialog closed, and remounting ~20 keys then cost the UI loop
        tens of ms (keys pressed meanwhile waited)."""
        shown = self._shown_bindings()
        if shown is not None and shown == self._composed:
            return
        await super().recompose()
        self._composed = shown
        self.fit()

    def _shown_bindings(self) -> tuple[object, ...] | None:
        """What `compose` builds the keys from (None: nothing yet)."""
        if not self._bindings_ready or not self.is_attached:
            return None
        return tuple(
            (key, active.binding, active.enabled, active.tooltip)
            for key, active in self.screen.active_bindings.items()
        )

    def on_resize(self, event: events.Resize) -> None:
        self.fit()

    def fit(self) -> None:
        """Show the keys that fit whole, by priority (then in their order); hide the rest."""
        keys = list(self.query_children(FooterKey))
        palette = [key for key in keys if key.has_class("-command-palette")]
        keys = [key for key in keys if key not in palette]
        room = self.size.width - sum(_width(key) for key in palette)
        ranked = sorted(
            enumerate(keys),
            key=lambda item: (self._rank.get(item[1].action, len(self._rank)), item[0]),
        )
        shown: set[FooterKey] = set()
        for _, key in ranked:
            width = _width(key)
            if width > room:
                break  # strictly by priority: a less useful key never displaces a more useful one
            room -= width
            shown.add(key)
        for key in keys:
            key.display = key in shown
