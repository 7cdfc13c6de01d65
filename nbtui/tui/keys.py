"""Every key of the app in one place: the App's own keys, the main screen's, how the help
screen groups them, and the rows the help screen and the command palette show.

To add a key: add a `Binding` with an `id` (users remap keys by id in the config file) to
`APP_BINDINGS` (app-wide) or `MAIN_BINDINGS` (the task list and its panes), the `action_`
method on the App or on `MainScreen`, and its help group to `HELP_GROUPS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import _character_to_key

from nbtui.tui.widgets.task_list import TaskList

__all__ = [
    "APP_BINDINGS",
    "FOOTER_PRIORITY",
    "GALLERY_BINDINGS",
    "HELP_GROUPS",
    "MAIN_BINDINGS",
    "RESERVED_KEYS",
    "USER_COMMANDS_GROUP",
    "HelpEntry",
    "footer_actions",
    "help_entries",
    "normal_key",
    "taken_keys",
]

#: The App's keys: they work whatever screen is shown (except inside a dialog).
APP_BINDINGS: tuple[Binding, ...] = (
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
    Binding("t", "token", "Token", show=False, id="app.token"),
)

MAIN_BINDINGS: tuple[Binding, ...] = (
    Binding("tab", "next_pane", "Next pane", show=False, id="app.next_pane"),
    Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="app.prev_pane"),
    Binding("slash", "filter", "Filter", id="app.filter", key_display="/"),
    Binding("escape", "back_out", "Back / clear filter", show=False, id="app.back"),
    Binding("s", "sort", "Sort", show=False, id="app.sort"),
    Binding("a", "add", "Add", id="app.add"),
    Binding("d", "untrack", "Untrack", id="app.untrack"),
    Binding("r", "refresh_selected", "Refresh", id="app.refresh"),
    Binding("R", "refresh_all", "Refresh all", show=False, id="app.refresh_all"),
    Binding("p", "pause", "Pause/resume", id="app.pause"),
    Binding("plus,equals_sign", "slower", "Longer interval", show=False, id="app.slower"),
    Binding("minus", "faster", "Shorter interval", show=False, id="app.faster"),
    Binding("o", "open_image", "Open image", id="app.open"),
    Binding("y", "copy_id", "Copy id", show=False, id="app.copy_id"),
    Binding("Y", "copy_url", "Copy image URL", show=False, id="app.copy_url"),
    Binding("v", "toggle_json", "JSON tree/text", show=False, id="app.json_mode"),
    Binding("c", "copy_json_value", "Copy JSON value", show=False, id="app.copy_value"),
    Binding("C", "copy_json", "Copy whole JSON", show=False, id="app.copy_json"),
    Binding("f", "show_full", "Show a long value in full", show=False, id="app.full"),
    Binding("n", "new_task", "New task", id="app.new"),
    Binding("S", "save_images", "Save images", show=False, id="app.save"),
    Binding("i", "toggle_preview", "Image preview on/off", show=False, id="app.preview"),
    Binding("I", "import_recent", "Import recent tasks", show=False, id="app.import"),
    # Export (issue 14): the tasks the list shows, to a CSV or JSON file.
    Binding("X", "export", "Export the marked or listed tasks", show=False, id="app.export"),
    # Balance and prices (issue 15): off unless [platform] host is set; the key says how.
    Binding(
        "dollar_sign",
        "balance",
        "Balance (on with [platform] host in config)",
        show=False,
        id="app.balance",
        key_display="$",
    ),
    # Your own commands ([commands] in the config): the output of their recent runs.
    Binding("O", "command_log", "Command output", show=False, id="app.command_log"),
    # Saved views ([views] in the config): 1-9 switch to the 1st-9th view (the same key again
    # leaves it), 0 shows all tasks again, V saves the filter and sort as a view.
    *(
        Binding(str(n), f"view({n})", f"Saved view {n}", show=False, id=f"app.view_{n}")
        for n in range(1, 10)
    ),
    Binding("0", "all_tasks", "All tasks (leave the view)", show=False, id="app.view_all"),
    Binding("V", "save_view", "Save the filter and sort as a view", show=False, id="app.save_view"),
    # Marks and labels (issue 14): d, r, S, o and L act on the marked tasks when any are.
    Binding("space", "toggle_mark", "Mark or unmark", show=False, id="app.mark"),
    Binding("asterisk", "mark_shown", "Mark every task shown", show=False, id="app.mark_all"),
    Binding("U", "clear_marks", "Clear marks (or escape)", show=False, id="app.unmark_all"),
    Binding("L", "labels", "Labels", show=False, id="app.labels"),
    # -- the gallery: `b` (board of thumbnails; g and G already move the list) opens it.
    Binding("b", "gallery", "Image gallery", show=False, id="app.gallery"),
    # Re-run and edit from a result (issue 15): the form filled in from the selected task,
    # and back to the task a new one came from.
    Binding("x", "rerun", "Re-run the task (form filled in)", show=False, id="app.rerun"),
    Binding("E", "edit_result", "Edit a result image", show=False, id="app.edit_result"),
    Binding("u", "go_to_parent", "Go to the task it came from", show=False, id="app.parent"),
)

# -- the gallery's own keys (nbtui/tui/screens/gallery.py), shown in the help's "Gallery" group.
GALLERY_BINDINGS: tuple[Binding, ...] = (
    Binding("left,h", "move(0, -1)", "Previous image", show=False, id="gallery.left"),
    Binding("right,l", "move(0, 1)", "Next image", show=False, id="gallery.right"),
    Binding("up,k", "move(-1, 0)", "Image above", show=False, id="gallery.up"),
    Binding("down,j", "move(1, 0)", "Image below", show=False, id="gallery.down"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="gallery.page_up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="gallery.page_down"),
    Binding("home,g", "first", "First image", show=False, id="gallery.first"),
    Binding("end,G", "last", "Last image", show=False, id="gallery.last"),
    Binding("enter", "choose", "Select its task", id="gallery.choose"),
    Binding("escape", "close", "Close the gallery", id="gallery.close"),
)

#: The help group of the user's own commands (`[commands]` in the config) and their log.
USER_COMMANDS_GROUP = "Your commands"
#: Keys kept free for features that bind them on the fly: digits pick a saved view, space
#: marks a task. A user's command may not take them.
RESERVED_KEYS: Mapping[str, str] = {
    **{str(digit): "saved views (1-9)" for digit in range(1, 10)},
    "space": "marking tasks",
}
# Small terminals: which footer keys stay when the row is too narrow for all of them.
#: Footer keys by binding id, most useful first: the footer drops whole keys from the end
#: (a key shown in the footer but not listed here is dropped before any listed one).
FOOTER_PRIORITY: tuple[str, ...] = (
    "app.quit",
    "app.help",
    "app.filter",
    "app.new",
    "app.add",
    "app.untrack",
    "app.open",
    "app.refresh",
    "app.pause",
)


def footer_actions() -> list[str]:
    """The actions of `FOOTER_PRIORITY`, in its order (the footer knows keys by action)."""
    by_id = {binding.id: binding.action for binding in (*APP_BINDINGS, *MAIN_BINDINGS)}
    return [by_id[binding_id] for binding_id in FOOTER_PRIORITY]


#: Groups for the help screen, by binding id.
HELP_GROUPS: Mapping[str, str] = {
    "list": "Move",
    "app.next_pane": "Move",
    "app.prev_pane": "Move",
    "app.back": "Move",
    "app.filter": "List",
    "app.sort": "List",
    "app.add": "Tasks",
    "app.untrack": "Tasks",
    "app.refresh": "Tasks",
    "app.refresh_all": "Tasks",
    "app.open": "Tasks",
    "app.copy_id": "Tasks",
    "app.copy_url": "Tasks",
    "app.json_mode": "Record",
    "app.copy_value": "Record",
    "app.copy_json": "Record",
    "app.full": "Record",
    "app.pause": "Refresh",
    "app.slower": "Refresh",
    "app.faster": "Refresh",
    "app.token": "App",
    "app.new": "Tasks",
    "app.save": "Tasks",
    "app.preview": "Record",
    "app.import": "Tasks",
    "app.export": "List",
    "app.balance": "App",
    **{f"app.view_{n}": "Views" for n in range(1, 10)},
    "app.view_all": "Views",
    "app.save_view": "Views",
    "app.mark": "Marks",
    "app.mark_all": "Marks",
    "app.unmark_all": "Marks",
    "app.labels": "Marks",
    "app.rerun": "Tasks",
    "app.edit_result": "Tasks",
    "app.parent": "Move",
    "app.help": "App",
    "app.quit": "App",
    "app.command_log": USER_COMMANDS_GROUP,
    "app.gallery": "Tasks",
    "gallery": "Gallery",
}
_GROUP_ORDER = (
    "Move",
    "List",
    "Views",
    "Tasks",
    "Marks",
    "Record",
    "Refresh",
    "Gallery",
    USER_COMMANDS_GROUP,
    "App",
)
#: The number keys of the saved views: one help row while none is remapped.
_VIEW_IDS = tuple(f"app.view_{n}" for n in range(1, 10))
_SHOWN_KEYS = {
    "question_mark": "?",
    "slash": "/",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "dollar_sign": "$",
    "asterisk": "*",
}


@dataclass(frozen=True)
class HelpEntry:
    """One row of the help screen; `action` (empty for cursor keys) is what the palette runs,
    on the App when `app_wide`, else on the main screen."""

    group: str
    description: str
    keys: str
    action: str
    app_wide: bool = False


def help_entries(keymap: Mapping[str, str], extra: Sequence[HelpEntry] = ()) -> list[HelpEntry]:
    """Every binding (with remapped keys), grouped, for the help screen and the palette;
    `extra`: rows for keys bound at run time (the user's own commands)."""
    list_bindings = [binding for binding in TaskList.BINDINGS if isinstance(binding, Binding)]
    bindings = [
        *list_bindings,
        Binding("enter", "select", "Focus the detail"),
        # In the order they were declared in when all were the App's (the help keeps it).
        *APP_BINDINGS[:2],
        *MAIN_BINDINGS,
        *APP_BINDINGS[2:],
        *GALLERY_BINDINGS,
    ]
    entries: list[HelpEntry] = []
    views_folded = not any(view_id in keymap for view_id in _VIEW_IDS)
    for binding in bindings:
        binding_id = binding.id or ""
        if views_folded and binding_id in _VIEW_IDS:
            if binding_id == _VIEW_IDS[0]:
                # The palette lists the views by name ("View: failed") instead.
                text = "Switch to saved view 1-9 (its key again: all tasks)"
                entries.append(HelpEntry("Views", text, "1-9", ""))
            continue
        keys = keymap.get(binding_id, binding.key) if binding_id else binding.key
        shown = ", ".join(_SHOWN_KEYS.get(key.strip(), key.strip()) for key in keys.split(","))
        group = HELP_GROUPS.get(binding_id) or HELP_GROUPS.get(binding_id.split(".")[0], "Move")
        action = binding.action if binding_id.startswith("app.") else ""
        app_wide = binding in APP_BINDINGS
        entries.append(HelpEntry(group, binding.description, shown, action, app_wide))
    entries.append(HelpEntry("App", "Command palette", "ctrl+p", ""))
    entries.extend(extra)
    entries.sort(key=lambda entry: _GROUP_ORDER.index(entry.group))
    return entries


def normal_key(key: str) -> str:
    """A key as Textual matches it: `?` is `question_mark`, `ctrl+u` stays `ctrl+u`."""
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key


def taken_keys(keymap: Mapping[str, str]) -> dict[str, str]:
    """Every key nbtui itself uses, with what it does: the bindings' own keys, the keys the
    user's `[keymap]` gives them, Textual's (the palette, quit, focus) and the reserved ones.

    A binding's own key counts even when `[keymap]` moves it: Textual drops every binding of
    a key it remaps, so a command bound to it would vanish.
    """
    from textual.app import App
    from textual.screen import Screen

    by_id: dict[str, str] = {}
    taken: dict[str, str] = {}
    own = [binding for binding in TaskList.BINDINGS if isinstance(binding, Binding)]
    textual = [b for b in (*App.BINDINGS, *Screen.BINDINGS) if isinstance(b, Binding)]
    for binding in (*own, *APP_BINDINGS, *MAIN_BINDINGS, *textual):
        what = binding.description or binding.action
        if binding.id:
            by_id[binding.id] = what
        for key in binding.key.split(","):
            taken.setdefault(normal_key(key), what)
    taken.setdefault("enter", "Focus the detail")
    taken.setdefault(normal_key(App.COMMAND_PALETTE_BINDING), "Command palette")
    for binding_id, keys in keymap.items():
        for key in keys.split(","):
            taken.setdefault(normal_key(key), f"{by_id.get(binding_id, binding_id)} ([keymap])")
    for key, what in RESERVED_KEYS.items():
        taken.setdefault(key, what)
    return taken
