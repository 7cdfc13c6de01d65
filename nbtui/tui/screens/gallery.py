"""The gallery: the result images of the tasks the list shows, as a grid of thumbnails.

The grid is a fixed pool of tiles, one per cell the screen has room for (columns = width //
`TILE_WIDTH`, rows = height // `TILE_HEIGHT`); the entries scroll through that pool. A key
that keeps the cursor on the same page only moves the highlight (two tiles change class);
one that leaves the page re-binds the pool, as a table redraws its rows when it scrolls.

Thumbnails load lazily: only the entries on the page and one row either side are asked for,
at most `LOADERS` downloads at a time, through `nbtui.media.ImageFetcher` (its disk cache,
never the token) and decoded in a thread. At most `THUMBNAILS_KEPT` decoded thumbnails stay
in memory, or a page and its look-ahead if a huge terminal shows more (least recently used
dropped; ~7 KB each as half-blocks, ~110 KB with Kitty/Sixel, where the tile draws a
160-pixel PNG: under 2 MB and 30 MB); one dropped and shown again comes from the disk cache.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tui.formatting import STATE_STYLES, STATE_SYMBOLS, short_id
from nbtui.tui.keys import GALLERY_BINDINGS
from nbtui.tui.widgets.preview import (
    DecodedImage,
    decode,
    fit_cells,
    graphics_widget,
)

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from nbtui.media import ImageFetcher

__all__ = [
    "GALLERY_PIXELS",
    "LOADERS",
    "THUMBNAILS_KEPT",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "GalleryEntry",
    "GalleryScreen",
    "GalleryTile",
    "Thumbnail",
    "ThumbnailCache",
]

#: Columns and rows one tile takes, its one-cell gaps included.
TILE_WIDTH: Final = 20
TILE_HEIGHT: Final = 10
#: The picture's part of a tile (the rest: the caption, the gaps).
_IMAGE_COLS: Final = TILE_WIDTH - 1
_IMAGE_ROWS: Final = TILE_HEIGHT - 2
#: Decoded thumbnails kept in memory at most (see the module docstring for their size).
THUMBNAILS_KEPT: Final = 256
#: Half-block thumbnails are shrunk to this many pixels a side (a tile shows 19x16).
GALLERY_PIXELS: Final = 48
#: Downloads (or cache reads and decodes) at a time.
LOADERS: Final = 3
#: Rows loaded ahead of the page, above and below it.
_LOOK_AHEAD_ROWS: Final = 1
#: Seconds the keys rest before a page they scrolled to loads its thumbnails.
_LOAD_DELAY: Final = 0.12


class GalleryEntry(NamedTuple):
    """One image of one task, as the gallery shows it (`prompt` is terminal-safe already)."""

    task_id: str
    url: str
    #: Which of the task's images (from 0), and how many it has.
    image_index: int
    image_count: int
    state: TaskState
    prompt: str


@dataclass(frozen=True)
class Thumbnail:
    """A decoded thumbnail and its picture as a tile draws it, made once while loading."""

    image: DecodedImage
    #: The half-block lines of the picture, centred in the tile's picture area (none when
    #: a Kitty/Sixel widget draws `image.data` instead).
    lines: tuple[Strip, ...]


class ThumbnailCache:
    """Thumbnails by entry position; past `cap`, the least recently used are dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._items: OrderedDict[int, Thumbnail] = OrderedDict()
        #: How many were dropped to stay under the cap.
        self.evicted = 0

    def get(self, key: int) -> Thumbnail | None:
        thumbnail = self._items.get(key)
        if thumbnail is not None:
            self._items.move_to_end(key)
        return thumbnail

    def put(self, key: int, thumbnail: Thumbnail) -> None:
        self._items[key] = thumbnail
        self._items.move_to_end(key)
        while len(self._items) > self.cap:
            self._items.popitem(last=False)
            self.evicted += 1

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


def _thumbnail(data: bytes, for_graphics: bool) -> Thumbnail:
    """Blocking (a thread): decode, shrink and draw what a tile needs. Raises ValueError."""
    from PIL import Image

    decoded = decode(data)
    thumb = decoded.thumbnail
    if for_graphics:
        # The graphics widget draws encoded bytes: a small PNG, not the full download.
        out = io.BytesIO()
        thumb.save(out, format="PNG")
        return Thumbnail(DecodedImage(thumb, decoded.width, decoded.height, out.getvalue()), ())
    small = thumb.copy()
    small.thumbnail((GALLERY_PIXELS, GALLERY_PIXELS), Image.Resampling.BOX)
    image = DecodedImage(small, decoded.width, decoded.height, b"")
    return Thumbnail(image, _half_block_lines(small))


def _half_block_lines(image: PILImage) -> tuple[Strip, ...]:
    """The picture as `▀` cells (the top pixel's colour over the bottom's), centred in the
    tile's picture area. Drawn here, once: paging through the grid then only hands tiles
    ready lines; neighbouring cells of one colour pair are one segment, so a repaint (every
    tile of a page on a row scroll) has fewer to carry to the terminal."""
    from PIL import Image

    cols, rows = fit_cells(image.width, image.height, _IMAGE_COLS, _IMAGE_ROWS)
    if cols <= 0 or rows <= 0:
        return ()
    scaled = image.convert("RGB").resize((cols, rows * 2), Image.Resampling.BOX)
    pixels: Any = scaled.load()
    styles: dict[tuple[object, object], Style] = {}
    left = (_IMAGE_COLS - cols) // 2
    right = _IMAGE_COLS - cols - left
    lines = []
    for row in range(rows):
        segments = [Segment(" " * left)] if left else []
        for col in range(cols):
            pair = (pixels[col, row * 2], pixels[col, row * 2 + 1])
            style = styles.get(pair)
            if style is None:
                top, bottom = pair
                style = styles[pair] = Style.from_color(
                    Color.from_rgb(*top[:3]), Color.from_rgb(*bottom[:3])
                )
            segments.append(Segment("▀", style))
        if right:
            segments.append(Segment(" " * right))
        lines.append(Strip(Segment.simplify(segments), _IMAGE_COLS))
    return tuple(lines)


class _Line(Widget):
    """One line of text that changes without a layout pass (the info line)."""

    DEFAULT_CSS = "_Line { width: 100%; height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def set_text(self, text: Text) -> None:
        self._text = text
        self.refresh()

    def render(self) -> Text:
        return self._text


class _DrawnTiles:
    """The lines of the tiles last drawn, by what they show (least recently used dropped).

    Scrolling by a row moves every entry to another tile of the pool; without these, each
    tile would draw again the lines its neighbour drew a key ago."""

    def __init__(self, cap: int = 4 * 64) -> None:
        self.cap = cap
        self._items: OrderedDict[object, list[Strip]] = OrderedDict()

    def get(self, key: object) -> list[Strip] | None:
        lines = self._items.get(key)
        if lines is not None:
            self._items.move_to_end(key)
        return lines

    def put(self, key: object, lines: list[Strip]) -> None:
        self._items[key] = lines
        self._items.move_to_end(key)
        while len(self._items) > self.cap:
            self._items.popitem(last=False)


class GalleryTile(Widget):
    """One cell of the grid: a picture (or why there is none) over a one-line caption.

    One widget drawing its own lines from ready-made strips: re-binding a page repaints
    eighteen of these, not a tree of containers. With Kitty/Sixel the picture is a child
    widget over the first rows instead.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tile--caption", "tile--message"}
    DEFAULT_CSS = f"""
    GalleryTile {{ width: {TILE_WIDTH - 1}; height: {TILE_HEIGHT - 1}; margin: 0 0 1 1; }}
    GalleryTile > .tile--caption {{ color: $text-muted; }}
    GalleryTile > .tile--message {{ color: $text-muted; }}
    GalleryTile.-cursor {{ background: $block-cursor-background 25%; }}
    GalleryTile.-cursor > .tile--caption {{
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }}
    GalleryTile.-blank {{ visibility: hidden; }}
    """

    def __init__(self, drawn: _DrawnTiles | None = None) -> None:
        """`drawn`: the lines tiles drew, shared by the pool (a row scrolled to another
        tile is not drawn again)."""
        super().__init__()
        self._drawn = drawn if drawn is not None else _DrawnTiles()
        self.index = -1
        self._shown: tuple[object, ...] | None = None
        self._lines: Sequence[Strip] = ()
        self._message: Text | None = None
        self._entry: GalleryEntry | None = None
        self._has_view = False
        self._rendered: list[Strip] | None = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rendered = None

    def show(
        self, index: int, entry: GalleryEntry | None, thumbnail: Thumbnail | None, problem: str
    ) -> None:
        """Show `entry` (None: an empty cell past the last image); unchanged, nothing redraws."""
        self.index = index
        key = (index, entry, id(thumbnail) if thumbnail is not None else None, problem)
        if key == self._shown:
            return
        self._shown = key
        self.set_class(entry is None, "-blank")
        if entry is None:
            return
        self._entry = entry
        self._lines = ()
        self._message = None
        if self._has_view:
            self._has_view = False
            self.remove_children()
        graphics = graphics_widget()
        if thumbnail is not None and graphics is not None:
            image = thumbnail.image
            view = graphics(io.BytesIO(image.data))
            cols, rows = fit_cells(image.width, image.height, _IMAGE_COLS, _IMAGE_ROWS)
            view.styles.width = cols
            view.styles.height = rows
            self._has_view = True
            self.mount(view)
        elif thumbnail is not None:
            self._lines = thumbnail.lines
        elif problem:
            self._message = Text(f"could not load: {problem}", style="italic")
        else:
            self._message = Text("loading…", style="dim")
        self._rendered = None
        self.refresh()  # the same size: a repaint, no layout

    def _render_all(self) -> list[Strip]:
        """The tile's lines in its current style (made once per change, not once a line)."""
        base = self.rich_style
        lines: Sequence[Strip] = self._lines
        if self._message is not None:
            console = self.app.console
            options = console.options.update(width=_IMAGE_COLS, justify="center")
            style = self.get_component_rich_style("tile--message")
            rendered = console.render_lines(self._message, options, style=style, pad=True)
            lines = [Strip(line, _IMAGE_COLS) for line in rendered[:_IMAGE_ROWS]]
        top = (_IMAGE_ROWS - len(lines)) // 2
        picture = [
            lines[row - top] if 0 <= row - top < len(lines) else Strip.blank(_IMAGE_COLS)
            for row in range(_IMAGE_ROWS)
        ]
        caption_style = self.get_component_rich_style("tile--caption")
        console = self.app.console
        caption_lines = console.render_lines(
            # Made here, not when bound: a tile whose lines were drawn before never needs it.
            _caption(self._entry) if self._entry is not None else Text(),
            console.options.update(width=_IMAGE_COLS),
            style=caption_style,
        )
        caption = Strip(caption_lines[0], _IMAGE_COLS).adjust_cell_length(
            _IMAGE_COLS, caption_style
        )
        return [strip.apply_style(base) for strip in (*picture, caption)]

    def render_line(self, y: int) -> Strip:
        if self._rendered is None:
            shown = self._shown
            # What the lines depend on: the entry, its picture or problem, the highlight
            # and the theme (the tile's own styles come from those).
            key = (shown, self.has_class("-cursor"), self.app.theme) if shown else None
            rendered = self._drawn.get(key) if key is not None else None
            if rendered is None:
                rendered = self._render_all()
                if key is not None:
                    self._drawn.put(key, rendered)
            self._rendered = rendered
        rendered = self._rendered
        return rendered[y] if 0 <= y < len(rendered) else Strip.blank(_IMAGE_COLS)


def _caption(entry: GalleryEntry) -> Text:
    """`1a2b3c4d ✔ a cat in…` (or `2/4` for a task's second of four images before the prompt)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(short_id(entry.task_id))
    text.append(" ")
    text.append(STATE_SYMBOLS.get(entry.state, "?"), style=STATE_STYLES.get(entry.state, ""))
    if entry.image_count > 1:
        text.append(f" {entry.image_index + 1}/{entry.image_count}")
    if entry.prompt:
        text.append(" " + one_line(entry.prompt[: TILE_WIDTH * 2]))
    # Cut to the tile here, with an ellipsis, rather than wrapped out of its one line.
    text.truncate(TILE_WIDTH - 1, overflow="ellipsis")
    return text


class _Grid(Vertical):
    """Rows of tiles; tells the screen when its size changed (it re-plans the pool)."""

    DEFAULT_CSS = """
    _Grid { height: 1fr; width: 100%; }
    _Grid > Horizontal { height: auto; width: 100%; }
    """

    def __init__(self, resized: Callable[[], Awaitable[None]]) -> None:
        super().__init__(id="gallery-grid")
        self._resized = resized

    async def on_resize(self, event: events.Resize) -> None:
        await self._resized()


class GalleryScreen(Screen["GalleryEntry | None"]):
    """The grid of thumbnails; dismisses with the chosen entry (enter) or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = list(GALLERY_BINDINGS)
    DEFAULT_CSS = """
    GalleryScreen { layout: vertical; }
    GalleryScreen > #gallery-title { height: 1; padding: 0 1; background: $panel; }
    GalleryScreen > #gallery-empty { height: 1fr; padding: 1 2; }
    GalleryScreen > #gallery-info { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(
        self,
        entries: Sequence[GalleryEntry],
        *,
        tasks_shown: int,
        fetcher: Callable[[], ImageFetcher],
        filter_text: str = "",
    ) -> None:
        """`tasks_shown`: how many tasks the list showed (the title says what was searched)."""
        super().__init__()
        self.entries = list(entries)
        self.tasks_shown = tasks_shown
        self.filter_text = filter_text
        #: The screen's downloader, borrowed (its owner closes it).
        self._fetcher = fetcher
        #: Where the cursor is, and the first entry row on the page.
        self.cursor = 0
        self.top = 0
        self.columns = 1
        self.rows = 1
        self.thumbnails = ThumbnailCache(THUMBNAILS_KEPT)
        #: Why an entry has no picture (kept: a failure is not asked for again).
        self.problems: dict[int, str] = {}
        self._loading: set[int] = set()
        self._wanted: list[int] = []
        self._loaders = 0
        #: A page moved by keys waits for them to rest before it loads (see `_want_soon`).
        self._want_timer: Timer | None = None
        self._tiles: list[GalleryTile] = []
        self._drawn = _DrawnTiles()
        self._grid = _Grid(self._resized)
        self._info = _Line(id="gallery-info")

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="gallery-title")
        if self.entries:
            yield self._grid
        else:
            yield Static(self._empty_text(), id="gallery-empty")
        yield self._info
        yield Footer()

    def _title(self) -> Text:
        images = len(self.entries)
        tasks = len({entry.task_id for entry in self.entries})
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Gallery", style="bold")
        text.append(
            f"  {images} image{'s' if images != 1 else ''} from {tasks} "
            f"task{'s' if tasks != 1 else ''}",
        )
        if self.filter_text:
            text.append(f"  (filter: {one_line(self.filter_text)})", style="dim")
        return text

    def _empty_text(self) -> Text:
        shown = self.tasks_shown
        where = f"the {shown} task{'s' if shown != 1 else ''} the list shows"
        if shown == 0:
            where = "the list: it shows no tasks"
        return Text.assemble(
            (f"No result images among {where}.", "bold"),
            "\n\nFinished tasks with images appear here. Escape goes back to the list.",
        )

    def on_mount(self) -> None:
        self._show_info()

    async def _resized(self) -> None:
        """The grid's size changed: as many tiles as fit, then show the cursor's page."""
        size = self._grid.content_region
        columns = max(1, size.width // TILE_WIDTH)
        rows = max(1, size.height // TILE_HEIGHT)
        if (columns, rows) == (self.columns, self.rows) and self._tiles:
            return
        self.columns, self.rows = columns, rows
        # Never fewer than a page and its look-ahead: loading one must not evict another.
        self.thumbnails.cap = max(THUMBNAILS_KEPT, (rows + 2 * _LOOK_AHEAD_ROWS) * columns)
        await self._grid.remove_children()
        self._drawn.cap = 4 * columns * rows
        self._tiles = [GalleryTile(self._drawn) for _ in range(columns * rows)]
        lines = [
            Horizontal(*self._tiles[row * columns : (row + 1) * columns]) for row in range(rows)
        ]
        await self._grid.mount_all(lines)
        self._scroll_to_cursor(force=True)

    # -- moving --------------------------------------------------------------------------

    def action_move(self, rows: int, columns: int) -> None:
        self._move_to(self.cursor + rows * self.columns + columns)

    def action_page(self, pages: int) -> None:
        self._move_to(self.cursor + pages * self.rows * self.columns)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.entries) - 1)

    def action_choose(self) -> None:
        self.dismiss(self.entries[self.cursor] if self.entries else None)

    def action_close(self) -> None:
        self.dismiss(None)

    def _move_to(self, index: int) -> None:
        if not self.entries:
            return
        index = min(max(0, index), len(self.entries) - 1)
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        if not self._scroll_to_cursor():
            # Same page: only the highlight moves.
            self._tile_for(old, cursor=False)
            self._tile_for(index, cursor=True)
        self._show_info()

    def _scroll_to_cursor(self, *, force: bool = False) -> bool:
        """Move the page so the cursor is on it; True when the pool was re-bound."""
        row = self.cursor // self.columns
        top = self.top
        if row < top:
            top = row
        elif row >= top + self.rows:
            top = row - self.rows + 1
        last_top = max(0, (len(self.entries) - 1) // self.columns - self.rows + 1)
        top = min(top, last_top)
        if top == self.top and not force:
            return False
        self.top = top
        self._bind_all()
        self._want_soon()
        return True

    # -- drawing -------------------------------------------------------------------------

    def _first_shown(self) -> int:
        return self.top * self.columns

    def _bind(self, tile: GalleryTile, index: int) -> None:
        entry = self.entries[index] if 0 <= index < len(self.entries) else None
        image = self.thumbnails.get(index) if entry is not None else None
        tile.show(index, entry, image, self.problems.get(index, ""))
        tile.set_class(entry is not None and index == self.cursor, "-cursor")

    def _bind_all(self) -> None:
        first = self._first_shown()
        for offset, tile in enumerate(self._tiles):
            self._bind(tile, first + offset)

    def _tile_for(self, index: int, *, cursor: bool | None = None) -> None:
        """Re-show the tile of `index` if it is on the page (its picture, or its highlight)."""
        offset = index - self._first_shown()
        if not 0 <= offset < len(self._tiles):
            return
        tile = self._tiles[offset]
        if cursor is None:
            self._bind(tile, index)
        else:
            tile.set_class(cursor, "-cursor")

    def _show_info(self) -> None:
        if not self.entries:
            self._info.set_text(Text("escape closes", style="dim"))
            return
        entry = self.entries[self.cursor]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{self.cursor + 1}/{len(self.entries)}  ", style="dim")
        text.append(short_id(entry.task_id), style="bold")
        text.append("  ")
        text.append(
            f"{STATE_SYMBOLS.get(entry.state, '?')} {entry.state.value}",
            style=STATE_STYLES.get(entry.state, ""),
        )
        text.append(f"  image {entry.image_index + 1} of {entry.image_count}")
        thumbnail = self.thumbnails.get(self.cursor)
        if thumbnail is not None:
            image = thumbnail.image
            text.append(f"  {image.width}x{image.height}", style="dim")
        if entry.prompt:
            text.append("  " + one_line(entry.prompt))
        self._info.set_text(text)

    # -- loading -------------------------------------------------------------------------

    @property
    def fetching(self) -> bool:
        """Thumbnails are being fetched or wait to be (tests and scenes wait for the end)."""
        return self._loaders > 0 or self._want_timer is not None

    def _want_soon(self) -> None:
        """Load the page once the keys have rested `_LOAD_DELAY`: a held arrow key scrolls
        through rows nobody looks at, and decoding their thumbnails would only make each
        key wait for the loaders (the page shows its captions meanwhile)."""
        if self._want_timer is not None:
            self._want_timer.reset()
            return
        self._want_timer = self.set_timer(_LOAD_DELAY, self._want_rested, name="gallery-load")

    def _want_rested(self) -> None:
        self._want_timer = None
        self._want()

    def _want(self) -> None:
        """Ask for the page's thumbnails first, then a row either side; start loaders."""
        count = len(self.entries)
        first = self._first_shown()
        end = min(count, first + self.rows * self.columns)
        ahead = _LOOK_AHEAD_ROWS * self.columns
        order = [
            *range(first, end),
            *range(end, min(count, end + ahead)),
            *range(max(0, first - ahead), first),
        ]
        self._wanted = [
            index
            for index in order
            if index not in self.thumbnails
            and index not in self.problems
            and index not in self._loading
        ]
        while self._loaders < LOADERS and self._loaders < len(self._wanted):
            self._loaders += 1
            self.run_worker(
                self._load_wanted(),
                group="gallery-load",
                description="load gallery thumbnails",
                exit_on_error=False,
            )

    async def _load_wanted(self) -> None:
        try:
            while self._wanted:
                index = self._wanted.pop(0)
                if index in self.thumbnails or index in self.problems or index in self._loading:
                    continue
                self._loading.add(index)
                try:
                    await self._load(index)
                finally:
                    self._loading.discard(index)
                self._tile_for(index)
                if index == self.cursor:
                    self._show_info()
        finally:
            self._loaders -= 1

    async def _load(self, index: int) -> None:
        from nbtui.media import MediaError

        for_graphics = graphics_widget() is not None
        try:
            fetched = await self._fetcher().fetch(self.entries[index].url)
            thumbnail = await asyncio.to_thread(_thumbnail, fetched.data, for_graphics)
        except (MediaError, ValueError) as exc:
            self.problems[index] = one_line(exc)
            return
        self.thumbnails.put(index, thumbnail)
