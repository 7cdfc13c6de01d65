"""An in-memory keyring, so no test ever reads or writes a real one.

Installed for every test by tests/conftest.py, and in child processes by name:
`PYTHON_KEYRING_BACKEND=tests.keyrings.memory.MemoryKeyring` (this module imports only
keyring, so a child process pays nothing for it).
"""

from __future__ import annotations

import keyring.backend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An isolated keyring backend: entries live in this object only."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's own __init__ is untyped
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("no such entry")
        del self.entries[(service, username)]
