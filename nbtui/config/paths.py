"""Where nbtui keeps its files, and the environment variables that point elsewhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "nbtui"

ENV_TOKEN = "ACEDATACLOUD_API_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_BASE_URL = "ACEDATACLOUD_API_BASE_URL"
ENV_DATA_DIR = "NBTUI_DATA_DIR"
ENV_CONFIG = "NBTUI_CONFIG"
ENV_PROFILE = "NBTUI_PROFILE"
ENV_POLL_INTERVAL = "NBTUI_POLL_INTERVAL"


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
