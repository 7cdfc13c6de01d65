"""The token: environment first, then the keyring; clear failures; never shown."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator

import keyring
import keyring.backend
import keyring.core
import keyring.errors
import pytest
from keyring.backends import fail, null

from nbtui.credentials import (
    SERVICE,
    CredentialError,
    TokenInfo,
    clear_token,
    mask_token,
    resolve_token,
    save_token,
    token_status,
    validate_token,
)
from tests.keyrings.hostile_keyring import ForgetfulKeyring
from tests.keyrings.memory import MemoryKeyring

TOKEN = "sk-test-0123456789abcdefwxyz"  # ends in "wxyz"
OTHER = "sk-other-9876543210zyxw4321"  # ends in "4321"
ENV = "ACEDATACLOUD_API_TOKEN"


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A backend failing the way a locked or vanished Secret Service does."""

    priority = 1

    def __init__(self, exc: Exception) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's __init__ is untyped
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.exc

    def delete_password(self, service: str, username: str) -> None:
        raise self.exc


@pytest.fixture
def use_backend() -> Iterator[Callable[[keyring.backend.KeyringBackend], None]]:
    """Swap in another backend for one test, putting the isolated one back afterwards."""
    previous = keyring.get_keyring()

    def install(backend: keyring.backend.KeyringBackend) -> None:
        keyring.set_keyring(backend)

    yield install
    keyring.set_keyring(previous)


# -- order and status ---------------------------------------------------------------------------


def test_nothing_anywhere_says_how_to_set_one() -> None:
    info = resolve_token("default", env={})
    assert info.token is None and info.source == "none" and not info.found
    assert info.detail == (
        "no token: set one with `nbtui token set` or export ACEDATACLOUD_API_TOKEN"
    )
    assert token_status("default", env={}) == info.detail


def test_keyring_entry_per_profile(memory_keyring: MemoryKeyring) -> None:
    save_token(TOKEN)
    save_token(OTHER, profile="work")
    assert memory_keyring.entries == {(SERVICE, "default"): TOKEN, (SERVICE, "work"): OTHER}
    info = resolve_token("default", env={})
    assert (info.token, info.source) == (TOKEN, "keyring")
    assert resolve_token("work", env={}).token == OTHER
    status = token_status("work", env={})
    assert status.startswith("from the OS keyring (") and "MemoryKeyring" in status
    assert status.endswith(") for profile work (…4321)")


def test_environment_variable_wins_over_the_keyring() -> None:
    save_token(OTHER)
    info = resolve_token("default", env={ENV: f"  {TOKEN}\n"})
    assert (info.token, info.source) == (TOKEN, "env")
    assert info.detail == "from the environment variable ACEDATACLOUD_API_TOKEN (…wxyz)"


def test_the_real_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    assert resolve_token().source == "env"
    monkeypatch.setenv(ENV, "   ")  # set but blank: as if unset
    save_token(OTHER)
    assert resolve_token().token == OTHER


def test_a_broken_environment_variable_is_explained_not_silently_skipped() -> None:
    save_token(OTHER)
    info = resolve_token("default", env={ENV: "two words"})
    assert info.token is None and info.source == "none"
    assert ENV in info.detail and "whitespace" in info.detail
    assert "two words" not in info.detail


def test_an_unusable_keyring_entry_is_explained(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(SERVICE, "default")] = "bad\x1btoken-from-elsewhere"
    info = resolve_token("default", env={})
    assert info.token is None and "unusable" in info.detail and "token set" in info.detail
    assert "token-from-elsewhere" not in info.detail


# -- set and clear ------------------------------------------------------------------------------


def test_save_strips_the_pasted_newline(memory_keyring: MemoryKeyring) -> None:
    save_token(f"\t{TOKEN}\r\n")
    assert memory_keyring.entries[(SERVICE, "default")] == TOKEN


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty"),
        ("  \n", "empty"),
        ("abc def", "whitespace"),
        ("abc\tdef", "whitespace"),
        ("abc\x00def", "control"),
        ("abc\x1b[31mdef", "control"),
        ("abc\u200bdef", "invisible"),
        ("tökén", "non-ASCII"),
        ("x" * 5000, "characters long"),
    ],
)
def test_invalid_tokens_are_refused_without_echoing_them(
    value: str, words: str, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(CredentialError, match=words) as info:
        save_token(value)
    assert memory_keyring.entries == {}
    if value.strip():
        assert value.strip() not in str(info.value)


def test_validate_token_returns_the_clean_token() -> None:
    assert validate_token(f" {TOKEN}\n") == TOKEN


def test_clear_removes_only_that_profile(memory_keyring: MemoryKeyring) -> None:
    save_token(TOKEN)
    save_token(OTHER, profile="work")
    assert clear_token() is True
    assert clear_token() is False
    assert memory_keyring.entries == {(SERVICE, "work"): OTHER}
    assert resolve_token("default", env={}).source == "none"


# -- no keyring at all --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_no_backend_points_at_the_environment_variable(
    backend: type[keyring.backend.KeyringBackend],
    use_backend: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    """None found (`fail`), or one chosen to keep nothing (`null`): only the variable helps."""
    use_backend(backend())
    info = resolve_token("default", env={})
    assert info.source == "none" and ENV in info.detail
    assert info.keyring_problem == "no OS keyring is available on this system"
    with pytest.raises(CredentialError) as saved:
        save_token(TOKEN)
    assert ENV in str(saved.value) and "no OS keyring" in str(saved.value)
    assert TOKEN not in str(saved.value)
    with pytest.raises(CredentialError, match=ENV):
        clear_token()
    # The environment still works without any keyring.
    assert resolve_token("default", env={ENV: TOKEN}).source == "env"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (keyring.errors.KeyringLocked("locked"), "locked"),
        (keyring.errors.InitError("Failed to unlock the collection!"), "could not be opened"),
        (keyring.errors.NoKeyringError("none"), "no OS keyring"),
        (RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown"), "DBus"),
    ],
)
def test_failing_backends_give_a_clear_error(
    exc: Exception, words: str, use_backend: Callable[[keyring.backend.KeyringBackend], None]
) -> None:
    use_backend(BrokenKeyring(exc))
    info = resolve_token("default", env={})
    assert info.source == "none" and words in info.detail and ENV in info.detail
    with pytest.raises(CredentialError, match=words) as saved:
        save_token(TOKEN)
    assert ENV in str(saved.value)
    with pytest.raises(CredentialError, match=words):
        clear_token()


def test_a_backend_that_drops_the_token_is_caught(
    use_backend: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    use_backend(ForgetfulKeyring())
    with pytest.raises(CredentialError, match="did not keep the token") as info:
        save_token(TOKEN)
    assert ENV in str(info.value)


def test_nothing_is_written_to_disk_when_the_keyring_fails(
    use_backend: Callable[[keyring.backend.KeyringBackend], None],
    isolated_environment: object,
    tmp_path: object,
) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    before = {p for p in root.rglob("*")}
    use_backend(fail.Keyring())
    with pytest.raises(CredentialError):
        save_token(TOKEN)
    after = {p for p in root.rglob("*")}
    assert after == before


# -- never shown --------------------------------------------------------------------------------


def test_repr_and_str_never_show_the_token() -> None:
    info = resolve_token("default", env={ENV: TOKEN})
    for text in (repr(info), str(info), f"{info}", repr([info])):
        assert TOKEN not in text and TOKEN[:-4] not in text
    assert "<hidden>" in repr(info)
    assert "token=None" in repr(TokenInfo(None, "none", "no token"))


def test_mask_token_shows_at_most_the_last_four() -> None:
    assert mask_token(TOKEN) == "••••wxyz"
    assert mask_token("short") == "••••"  # a short token would be half shown
    assert mask_token(None) == "(none)" and mask_token("") == "(none)"


def test_status_never_shows_more_than_four_characters(memory_keyring: MemoryKeyring) -> None:
    save_token(TOKEN)
    for env in ({}, {ENV: TOKEN}):
        status = token_status("default", env=env)
        assert TOKEN[-5:] not in status and TOKEN[-4:] in status


# -- a real Secret Service (inside dbus-run-session; see .ci/run) ---------------------------------


@pytest.fixture
def secret_service() -> Iterator[keyring.backend.KeyringBackend]:
    """The real Secret Service backend, or a clean skip saying why it is not there.

    CI sets NBTUI_REQUIRE_SECRET_SERVICE=1 so that a broken setup fails instead of skipping.
    """
    from keyring.backends import SecretService

    unavailable = pytest.fail if os.environ.get("NBTUI_REQUIRE_SECRET_SERVICE") else pytest.skip
    backend = SecretService.Keyring()
    try:
        backend.priority  # noqa: B018 (raises when the service cannot be used)
    except Exception as exc:
        unavailable(f"no Secret Service available: {exc}")
    previous = keyring.get_keyring()
    # Detect afresh: earlier tests in the same run pinned the in-memory backend.
    keyring.core.init_backend()
    chosen = keyring.get_keyring()
    # With the test suite's own backend importable, keyring may pick a chain led by the
    # Secret Service; its first member is what reads and writes go to.
    first = (getattr(chosen, "backends", None) or [chosen])[0]
    if not isinstance(first, SecretService.Keyring):
        keyring.set_keyring(previous)
        unavailable(f"the default keyring is {type(chosen).__module__}, not the Secret Service")
    keyring.set_keyring(first)
    yield first
    keyring.set_keyring(previous)


@pytest.fixture
def profile() -> Iterator[str]:
    """A profile of its own, so a developer's real keyring entries are never touched."""
    name = f"nbtui-test-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(CredentialError):
        clear_token(name)


@pytest.mark.secret_service
def test_secret_service_round_trip(
    secret_service: keyring.backend.KeyringBackend, profile: str
) -> None:
    save_token(TOKEN, profile=profile)
    info = resolve_token(profile, env={})
    assert (info.token, info.source) == (TOKEN, "keyring")
    assert info.detail == (f"from the OS keyring (Secret Service) for profile {profile} (…wxyz)")
    assert secret_service.get_password(SERVICE, profile) == TOKEN
    save_token(OTHER, profile=profile)  # overwrite, not a second entry
    assert resolve_token(profile, env={}).token == OTHER
    assert clear_token(profile) is True
    assert clear_token(profile) is False
    assert resolve_token(profile, env={}).source == "none"


@pytest.mark.secret_service
@pytest.mark.skipif(shutil.which("secret-tool") is None, reason="secret-tool not installed")
def test_secret_tool_sees_what_nbtui_stored(
    secret_service: keyring.backend.KeyringBackend, profile: str
) -> None:
    save_token(TOKEN, profile=profile)
    found = subprocess.run(
        ["secret-tool", "lookup", "service", SERVICE, "username", profile],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == TOKEN
    clear_token(profile)
    gone = subprocess.run(
        ["secret-tool", "lookup", "service", SERVICE, "username", profile],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert gone.stdout == ""


@pytest.mark.secret_service
def test_environment_still_wins_over_the_secret_service(
    secret_service: keyring.backend.KeyringBackend, profile: str
) -> None:
    save_token(OTHER, profile=profile)
    info = resolve_token(profile, env={ENV: TOKEN})
    assert (info.token, info.source) == (TOKEN, "env")


# -- a keyring that never answers, or quotes the secret ----------------------------------------


def test_a_keyring_that_never_answers_is_given_up_on() -> None:
    from tests.keyrings.hostile_keyring import blocking_keyring

    with blocking_keyring() as backend:
        info = resolve_token("default", env={}, timeout=0.2)
        assert backend.entered.is_set()  # the call really reached the backend
        assert info.token is None and info.source == "none"
        assert "did not answer within 0.2 s" in info.detail and ENV in info.detail
        assert info.keyring_problem is not None
        # The first call is still stuck: the next ones fail at once instead of stacking up.
        again = resolve_token("default", env={}, timeout=30)
        assert "did not answer" in again.detail
        with pytest.raises(CredentialError, match="did not answer"):
            save_token(TOKEN, timeout=30)
        with pytest.raises(CredentialError, match="did not answer"):
            clear_token(timeout=30)
        assert token_status("default", env={}, timeout=30) == again.detail
    # Once the keyring answers again, it is used again.
    save_token(TOKEN)
    assert resolve_token("default", env={}).token == TOKEN


def test_the_keyring_timeout_comes_from_the_environment() -> None:
    from nbtui.credentials import DEFAULT_KEYRING_TIMEOUT, keyring_timeout

    assert keyring_timeout({}) == DEFAULT_KEYRING_TIMEOUT
    assert keyring_timeout({"NBTUI_KEYRING_TIMEOUT": "2.5"}) == 2.5
    for bad in ("", "soon", "0", "-1", "nan", "inf"):
        assert keyring_timeout({"NBTUI_KEYRING_TIMEOUT": bad}) == DEFAULT_KEYRING_TIMEOUT


def test_a_backend_quoting_the_password_never_shows_it(
    use_backend: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    from tests.keyrings.hostile_keyring import LeakyKeyring

    use_backend(LeakyKeyring())
    with pytest.raises(CredentialError) as saved:
        save_token(TOKEN + "\n")
    error = saved.value
    assert "refused to store password" in str(error)  # the backend's words are kept...
    assert TOKEN not in str(error) and "••••wxyz" in str(error)  # ...without the password
    # Nothing chained to the error (which a traceback or a log would print) holds it either.
    assert error.__cause__ is None and error.__suppress_context__
    # Reading: the backend quotes the stored password in its error text.
    info = resolve_token("default", env={})
    assert "cannot decrypt entry" in info.detail
    assert TOKEN not in info.detail and TOKEN not in repr(info)


def test_scrub_secrets_masks_every_given_and_known_token() -> None:
    from nbtui.credentials import scrub_secrets

    text = f"bad {OTHER} and {OTHER} again"
    assert scrub_secrets(text, OTHER) == "bad ••••4321 and ••••4321 again"
    assert scrub_secrets("nothing secret", OTHER) == "nothing secret"
