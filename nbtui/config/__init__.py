"""Settings: defaults < TOML file in the user config dir < environment < command-line flags.

The file may hold `[profiles.NAME]` tables for users with more than one token or base URL;
the selected profile's values override the top-level ones. Validation errors name the bad
key and value so a typo in the file is easy to find.

The parts: `paths` (where the files are), `rules` (the checks every setting names and the
errors they raise), `platform`, `commands` and `views` (one table of the file each), and
`settings` (`Settings`, `load_settings`).
"""

from __future__ import annotations

from nbtui.config.commands import (
    DEFAULT_COMMAND_TIMEOUT,
    Placeholder,
    TemplateArg,
    UserCommand,
    UserCommands,
)
from nbtui.config.paths import (
    APP_NAME,
    ENV_BASE_URL,
    ENV_CONFIG,
    ENV_DATA_DIR,
    ENV_POLL_INTERVAL,
    ENV_PROFILE,
    ENV_TOKEN,
    config_file_path,
    default_cache_dir,
    default_data_dir,
)
from nbtui.config.platform import PlatformSettings
from nbtui.config.rules import ConfigError, InvalidSettings, Problem, Rule
from nbtui.config.settings import (
    DEFAULT_BASE_URL,
    MIN_POLL_INTERVAL,
    Settings,
    config_warnings,
    load_settings,
)
from nbtui.config.views import LIST_COLUMNS, MAX_VIEW_NAME, VIEW_SORT_KEYS, View, check_view_name

__all__ = [
    "APP_NAME",
    "DEFAULT_BASE_URL",
    "DEFAULT_COMMAND_TIMEOUT",
    "ENV_BASE_URL",
    "ENV_CONFIG",
    "ENV_DATA_DIR",
    "ENV_POLL_INTERVAL",
    "ENV_PROFILE",
    "ENV_TOKEN",
    "LIST_COLUMNS",
    "MAX_VIEW_NAME",
    "MIN_POLL_INTERVAL",
    "VIEW_SORT_KEYS",
    "ConfigError",
    "InvalidSettings",
    "Placeholder",
    "PlatformSettings",
    "Problem",
    "Rule",
    "Settings",
    "TemplateArg",
    "UserCommand",
    "UserCommands",
    "View",
    "check_view_name",
    "config_file_path",
    "config_warnings",
    "default_cache_dir",
    "default_data_dir",
    "load_settings",
]
