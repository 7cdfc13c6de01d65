"""Fixtures for the CLI tests; running `nbtui` in-process or as a subprocess: tests/helpers.py.

Every run gets the isolated environment of tests/conftest.py (temporary data dir, config path,
in-memory keyring) plus whatever token and base URL the test asks for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CliRunner


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    return CliRunner(capsys)


@pytest.fixture
def config_file(isolated_environment: Path) -> Path:
    """The config file nbtui reads in these tests (NBTUI_CONFIG points here)."""
    return Path(os.environ["NBTUI_CONFIG"])


@pytest.fixture
def fast_failures(config_file: Path) -> Path:
    """Few attempts and a short timeout, so failing paths end quickly."""
    config_file.write_text("max_attempts = 2\ntimeout = 1.0\n", encoding="utf-8")
    return config_file
