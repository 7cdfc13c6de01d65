"""Result images in the terminal: coloured half-blocks everywhere, graphics where available.

Each image is decoded and shrunk to a small thumbnail once, in a worker thread (`decode`);
drawing then only resamples that thumbnail to the cells available, which is cheap enough for
the UI thread. The half-block renderer is ours and deterministic (snapshots rely on it): one
cell shows two pixels, the upper one as the foreground of `▀`, the lower one as its
background. On terminals that speak the Kitty graphics protocol or Sixel, `textual-image`
draws the image instead (chosen before the app starts, see `graphics_mode`).

The widget draws only what it is given; the app downloads (with `nbtui.media.ImageFetcher`,
never with the token) and decodes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from nbtui.textsafe import one_line

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "ENV_GRAPHICS",
    "MAX_ROWS",
    "MIN_PANE_HEIGHT",
    "MIN_PANE_WIDTH",
    "THUMBNAIL_PIXELS",
    "DecodedImage",
    "GraphicsMode",
    "HalfBlockImage",
    "ImagePreview",
    "decode",
    "graphics_mode",
    "graphics_widget",
    "prepare_graphics",
]

#: Images are shrunk to fit this many pixels per side right after decoding.
THUMBNAIL_PIXELS: Final = 160
#: At most this many rows of the detail pane go to the preview.
MAX_ROWS: Final = 10
#: Below these the detail pane has no room for a preview: it turns itself off.
MIN_PANE_WIDTH: Final = 30
MIN_PANE_HEIGHT: Final = 12
#: `NBTUI_GRAPHICS=halfblock|auto|none` overrides the detection (see `graphics_mode`).
ENV_GRAPHICS: Final = "NBTUI_GRAPHICS"

GraphicsMode = Literal["halfblock", "auto", "none"]


def graphics_mode(env: Mapping[str, str] | None = None) -> GraphicsMode:
    """How to draw images: `auto` lets textual-image probe for Kitty/Sixel support.

    Probing writes queries to the terminal and waits for answers before the app starts, so it
    is done only for terminals known to have a graphics protocol, and never inside tmux or
    screen (their panes would garble the graphics). Everything else gets half-blocks.
    """
    env = os.environ if env is None else env
    forced = env.get(ENV_GRAPHICS, "").strip().lower()
    if forced in ("halfblock", "auto", "none"):
        return forced  # type: ignore[return-value]
    if env.get("TMUX") or env.get("STY") or env.get("TERM", "").startswith(("screen", "tmux")):
        return "halfblock"
    program = env.get("TERM_PROGRAM", "").lower()
    term = env.get("TERM", "").lower()
    if (
        program in ("wezterm", "ghostty", "iterm.app")
        or env.get("KITTY_WINDOW_ID")
        or term in ("xterm-kitty", "xterm-ghostty", "foot", "mlterm")
        or term.startswith("foot-")
    ):
        return "auto"
    return "halfblock"


#: The textual-image widget class chosen by `prepare_graphics`, if any.
_graphics_widget: Callable[[io.BytesIO], Widget] | None = None


def prepare_graphics(mode: GraphicsMode) -> bool:
    """Before the app runs: let textual-image find the terminal's protocol (`auto` only).

    Must be called before Textual starts (textual-image reads the terminal's answers from
    stdin). Returns True when a graphics protocol (Kitty or Sixel) will be used.
    """
    global _graphics_widget
    if mode != "auto":
        _graphics_widget = None
        return False
    try:
        from textual_image.renderable import Image as chosen
        from textual_image.renderable.sixel import Image as SixelRenderable
        from textual_image.renderable.tgp import Image as TGPRenderable
        from textual_image.widget import Image as ImageWidget
    except Exception:  # no terminal, closed stdout, a broken install: half-blocks do
        _graphics_widget = None
        return False
    if chosen is SixelRenderable or chosen is TGPRenderable:
        _graphics_widget = ImageWidget
        return True
    _graphics_widget = None
    return False


def graphics_widget() -> Callable[[io.BytesIO], Widget] | None:
    """The Kitty/Sixel image widget `prepare_graphics` chose (None: draw half-blocks), for
    other views of images (the gallery) to draw the way the preview does."""
    return _graphics_widget


@dataclass(frozen=True)
class DecodedImage:
    """A thumbnail ready to draw (RGB), with the original's size for the caption."""

    thumbnail: PILImage
    width: int
    height: int
    #: The downloaded bytes, for a graphics widget that draws the full image.
    data: bytes


def decode(data: bytes) -> DecodedImage:
    """Decode and shrink (blocking, CPU: run in a thread). Raises ValueError if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (THUMBNAIL_PIXELS * 2, THUMBNAIL_PIXELS * 2))
            width, height = opened.size
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the image cannot be decoded ({type(exc).__name__})") from None
    # Transparent parts over a dark grey, as a dark terminal would show them.
    background = Image.new("RGBA", image.size, (30, 30, 30, 255))
    flat = Image.alpha_composite(background, image).convert("RGB")
    flat.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.BOX)
    return DecodedImage(flat, width, height, data)


def fit_cells(pixel_width: int, pixel_height: int, max_cols: int, max_rows: int) -> tuple[int, int]:
    """Columns and rows for an image drawn with half-blocks (a cell is 1x2 pixels)."""
    if pixel_width <= 0 or pixel_height <= 0 or max_cols <= 0 or max_rows <= 0:
        return 0, 0
    cols = max_cols
    rows = max(1, round(pixel_height * cols / pixel_width / 2))
    if rows > max_rows:
        rows = max_rows
        cols = max(1, round(pixel_width * rows * 2 / pixel_height))
    return min(cols, max_cols), rows


class HalfBlockImage:
    """A Rich renderable: the image as `▀` cells, fitted to `max_cols` x `max_rows`."""

    def __init__(self, image: PILImage, max_cols: int, max_rows: int) -> None:
        self.image = image
        self.cols, self.rows = fit_cells(image.width, image.height, max_cols, max_rows)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.cols, self.cols)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from PIL import Image

        if self.cols <= 0 or self.rows <= 0:
            return
        scaled = self.image.resize((self.cols, self.rows * 2), Image.Resampling.BOX)
        pixels: Any = scaled.load()
        new_line = Segment.line()
        for row in range(self.rows):
            for col in range(self.cols):
                top = pixels[col, row * 2]
                bottom = pixels[col, row * 2 + 1]
                yield Segment(
                    "▀",
                    Style(
                        color=f"rgb({top[0]},{top[1]},{top[2]})",
                        bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})",
                    ),
                )
            yield new_line


class _HalfBlockView(Static):
    """One image drawn with half-blocks, sized to its cells."""

    DEFAULT_CSS = """
    _HalfBlockView { width: auto; height: auto; margin-right: 1; }
    """

    def __init__(self, image: DecodedImage, max_cols: int, max_rows: int) -> None:
        self.picture = HalfBlockImage(image.thumbnail, max_cols, max_rows)
        super().__init__(self.picture)


class ImagePreview(Widget):
    """The selected task's images, side by side, with a one-line caption.

    The app calls `show_loading`, `show_images` or `show_message`; `enabled` is the user's
    toggle. When the pane is too small the preview hides itself and says why in one line.
    """

    DEFAULT_CSS = """
    ImagePreview { height: auto; width: 100%; margin-bottom: 1; }
    ImagePreview.-off { display: none; }
    ImagePreview > Horizontal { height: auto; width: 100%; }
    ImagePreview > .preview-caption { color: $text-muted; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.enabled = True
        self.task_id: str | None = None
        self.images: list[DecodedImage] = []
        self.message: str | None = None
        self.too_small = False
        self._row = Horizontal(id="preview-images")
        self._caption = Static("", classes="preview-caption", id="preview-caption")
        self._drawn_for: tuple[Any, ...] | None = None

    def compose(self) -> Any:
        yield self._row
        yield self._caption

    # -- what the app tells it ------------------------------------------------------------

    def clear(self) -> None:
        self.task_id = None
        self.images = []
        self.message = None
        self._redraw()

    def show_loading(self, task_id: str, count: int) -> None:
        self.task_id = task_id
        self.images = []
        noun = "image" if count == 1 else "images"
        self.message = f"Loading {count} {noun}…"
        self._redraw()

    def show_images(self, task_id: str, images: Sequence[DecodedImage], note: str = "") -> None:
        self.task_id = task_id
        self.images = list(images)
        self.message = note or None
        self._redraw()

    def show_message(self, task_id: str, message: str) -> None:
        self.task_id = task_id
        self.images = []
        self.message = message
        self._redraw()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._redraw()

    # -- drawing -------------------------------------------------------------------------

    def _room(self) -> tuple[int, int]:
        """Columns and rows the images may take in the pane this widget sits in."""
        pane = self.parent if isinstance(self.parent, Widget) else None
        width = pane.content_region.width if pane is not None else self.size.width
        height = pane.content_region.height if pane is not None else MAX_ROWS * 2
        if width <= 0:
            width = self.app.size.width // 2
        if height <= 0:
            height = self.app.size.height // 3
        return width, height

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        width, height = self._room()
        self.too_small = width < MIN_PANE_WIDTH or height < MIN_PANE_HEIGHT
        visible = (
            self.enabled
            and self.task_id is not None
            and (bool(self.images) or self.message is not None)
        )
        if visible and self.too_small:
            # Off where it would not fit: one dim line instead of a squashed picture.
            self.set_class(False, "-off")
            self._set_images([], width, 0)
            self._caption.update(Text("(no room for an image preview here)", style="dim italic"))
            return
        self.set_class(not visible, "-off")
        if not visible:
            return
        rows = min(MAX_ROWS, max(3, height // 2))
        self._set_images(self.images, width, rows)
        caption = Text(no_wrap=True, overflow="ellipsis")
        if self.images:
            sizes = ", ".join(f"{image.width}x{image.height}" for image in self.images)
            caption.append(sizes, style="dim")
            caption.append("  i hides · S saves · o opens", style="dim")
        if self.message:
            if caption:
                caption.append("  ")
            caption.append(one_line(self.message), style="italic")
        self._caption.update(caption)

    def _set_images(self, images: Sequence[DecodedImage], width: int, rows: int) -> None:
        key = (tuple(id(image) for image in images), width, rows)
        if key == self._drawn_for:
            return
        self._drawn_for = key
        self._row.remove_children()
        if not images or rows <= 0:
            self._row.display = False
            return
        self._row.display = True
        each = max(4, (width - (len(images) - 1)) // len(images))
        graphics = _graphics_widget
        views: list[Widget] = []
        for image in images:
            if graphics is not None:
                view: Widget = graphics(io.BytesIO(image.data))
                cols, used_rows = fit_cells(image.width, image.height, each, rows)
                view.styles.width = cols
                view.styles.height = used_rows
                view.styles.margin = (0, 1, 0, 0)
            else:
                view = _HalfBlockView(image, each, rows)
            views.append(view)
        self._row.mount_all(views)
