"""Running `nbtui` for real: as a subprocess, or in-process through `main()`.

Every run gets the isolated environment of tests/conftest.py (temporary data dir, config path,
in-memory keyring) plus whatever token and base URL the test asks for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbtui.cli import main

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sim-token"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def run_nbtui(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> Run:
    """`python -m nbtui ARGS` in a fresh process (cwd: the repo, so `tests` imports)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.pop("COLUMNS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nbtui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    return CliRunner(capsys)


class CliRunner:
    """`main([...])` in-process, with its stdout and stderr captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> Run:
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)


@pytest.fixture
def config_file(isolated_environment: Path) -> Path:
    """The config file nbtui reads in these tests (NBTUI_CONFIG points here)."""
    path = Path(os.environ["NBTUI_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def fast_failures(config_file: Path) -> Path:
    """Few attempts and a short timeout, so failing paths end quickly."""
    config_file.write_text("max_attempts = 2\ntimeout = 1.0\n", encoding="utf-8")
    return config_file
