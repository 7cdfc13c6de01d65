"""Keyring backends that misbehave the way real ones do, for in-process and subprocess tests.

Select one in-process with `keyring.set_keyring(BlockingKeyring())`, or in a child process
with `PYTHONPATH=tests/keyrings PYTHON_KEYRING_BACKEND=hostile_keyring.BlockingKeyring`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import ClassVar

import keyring.backend
import keyring.errors


class BlockingKeyring(keyring.backend.KeyringBackend):
    """Every call waits on `release` (a locked keyring waiting on an unlock prompt).

    Nothing sets `release` in a child process: its calls never return. In-process tests set
    it when they are done, so no thread is left waiting.
    """

    priority = 1
    release: ClassVar[threading.Event] = threading.Event()
    #: Calls that have started waiting (tests wait for the first before going on).
    entered: ClassVar[threading.Event] = threading.Event()

    def _block(self) -> None:
        self.entered.set()
        self.release.wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._block()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._block()

    def delete_password(self, service: str, username: str) -> None:
        self._block()


class LeakyKeyring(keyring.backend.KeyringBackend):
    """Fails with the password quoted in its error text, as one real backend does."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's __init__ is untyped
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        stored = self.entries.get((service, username))
        if stored is not None:
            raise keyring.errors.KeyringError(f"cannot decrypt entry {username}={stored!r}")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password
        raise keyring.errors.PasswordSetError(
            f"refused to store password {password!r} for {service}/{username}"
        )

    def delete_password(self, service: str, username: str) -> None:
        stored = self.entries.pop((service, username), "")
        raise keyring.errors.PasswordDeleteError(f"cannot delete {stored}")


class ForgetfulKeyring(keyring.backend.KeyringBackend):
    """Accepts every password without error and keeps none (a misconfigured store)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's __init__ is untyped

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        return None

    def delete_password(self, service: str, username: str) -> None:
        return None


@contextlib.contextmanager
def blocking_keyring() -> Iterator[type[BlockingKeyring]]:
    """Install a BlockingKeyring for the block; release its waiting calls afterwards.

    The keyring in use before is put back, and nbtui's stuck call (a daemon thread) is
    waited for, so the next test starts with a keyring that answers.
    """
    from nbtui import credentials

    previous = keyring.get_keyring()
    BlockingKeyring.release.clear()
    BlockingKeyring.entered.clear()
    keyring.set_keyring(BlockingKeyring())  # type: ignore[no-untyped-call]
    try:
        yield BlockingKeyring
    finally:
        BlockingKeyring.release.set()
        keyring.set_keyring(previous)
        stuck = credentials._stuck
        if stuck is not None:
            stuck.join(5)
