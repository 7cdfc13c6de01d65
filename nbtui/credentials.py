"""The API token's life: read from the environment or the OS keyring, saved, cleared, described.

Order: `ACEDATACLOUD_API_TOKEN` first (scripts, CI, servers without a keyring), then the OS
keyring (service `nbtui`, one entry per profile, the profile name as the user name). The token
is never taken from a command-line argument and never written to a plain file: where no
keyring backend exists the messages point at the environment variable instead.

Nothing here ever puts the token into a message, a repr or an exception: at most its last four
characters, to tell two tokens apart. Backends' own error texts can quote the secret (one
quotes the password it was given): every such text is scrubbed of every token this process
has seen before it is shown.

Every keyring call runs in a daemon thread and is waited for at most `keyring_timeout()`
seconds: a locked keyring waiting on an unlock prompt never returns, and neither the app nor
the CLI may hang on it (a daemon thread, not a pool thread: pools are joined at exit).
"""

from __future__ import annotations

import math
import os
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from nbtui.config import ENV_TOKEN

if TYPE_CHECKING:
    import keyring.backend

# `keyring` is imported where it is used: with the token in the environment (the usual case
# on servers and in CI) it is never needed, and importing it and picking a backend takes
# ~50-90 ms.

__all__ = [
    "DEFAULT_KEYRING_TIMEOUT",
    "ENV_KEYRING_TIMEOUT",
    "SERVICE",
    "CredentialError",
    "KeyringTimeoutError",
    "TokenInfo",
    "backend_name",
    "clear_token",
    "keyring_timeout",
    "mask_token",
    "resolve_token",
    "save_token",
    "scrub_secrets",
    "token_status",
    "validate_token",
]

SERVICE = "nbtui"
#: Longer than any real token; guards against pasting a whole file by mistake.
MAX_TOKEN_LENGTH = 4096
_MASK = "••••"
#: Tokens shorter than this show no characters at all when masked.
_MIN_SHOWN_LENGTH = 12

Source = Literal["env", "keyring", "none"]

#: Seconds nbtui waits for the OS keyring before going on without it.
DEFAULT_KEYRING_TIMEOUT = 10.0
#: Overrides that wait (e.g. longer, to type an unlock password; shorter in tests).
ENV_KEYRING_TIMEOUT = "NBTUI_KEYRING_TIMEOUT"
_T = TypeVar("_T")

_WAY_OUT_SENTENCE = f"Export {ENV_TOKEN}=<your token> instead (nbtui reads it first)."


class CredentialError(Exception):
    """The token cannot be stored, read or used; the message says what to do instead."""


class KeyringTimeoutError(Exception):
    """The keyring did not answer in time (its call goes on in a daemon thread)."""


def keyring_timeout(env: Mapping[str, str] | None = None) -> float:
    """How long to wait for the keyring: `$NBTUI_KEYRING_TIMEOUT` seconds, else the default."""
    env = os.environ if env is None else env
    try:
        value = float(env.get(ENV_KEYRING_TIMEOUT, ""))
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT
    return value if math.isfinite(value) and value > 0 else DEFAULT_KEYRING_TIMEOUT


#: A keyring call that has not returned yet: the next call fails at once instead of stacking
#: another stuck thread behind it.
_stuck: threading.Thread | None = None
_stuck_lock = threading.Lock()


def _call_keyring(function: Callable[[], _T], timeout: float) -> _T:
    """`function()` in a daemon thread; its result, its error, or KeyringTimeoutError."""
    global _stuck
    with _stuck_lock:
        if _stuck is not None and _stuck.is_alive():
            raise KeyringTimeoutError("an earlier call has not returned")
        _stuck = None
    done = threading.Event()
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed to the waiting caller
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, name="nbtui-keyring", daemon=True)
    thread.start()
    if not done.wait(timeout):
        with _stuck_lock:
            _stuck = thread
        raise KeyringTimeoutError
    if failure:
        raise failure[0]
    return outcome[0]


#: Every token this process has read or been given: scrubbed from any backend error text.
_seen_secrets: set[str] = set()


def _remember_secret(secret: str | None) -> None:
    if secret and len(secret.strip()) >= 4:  # a shorter string is no secret, and too common
        _seen_secrets.add(secret)
        _seen_secrets.add(secret.strip())


def scrub_secrets(text: str, *secrets: str | None) -> str:
    """`text` with every known token (and `secrets`) replaced by its mask."""
    _remember_secret(os.environ.get(ENV_TOKEN))
    known = _seen_secrets | {secret for secret in secrets if secret and len(secret) >= 4}
    for secret in sorted(known, key=len, reverse=True):  # longest first: no partial leftovers
        if secret in text:
            text = text.replace(secret, mask_token(secret))
    return text


@dataclass(frozen=True)
class TokenInfo:
    """The token nbtui will use, where it came from, and a sentence saying so."""

    token: str | None = field(repr=False)
    source: Source
    detail: str
    #: Why the keyring could not be read, when that is why there is no token.
    keyring_problem: str | None = None
    #: Where the token comes from, without a single character of it (the token screen).
    origin: str = ""

    def __repr__(self) -> str:
        shown = "None" if self.token is None else "<hidden>"
        return f"TokenInfo(source={self.source!r}, token={shown}, detail={self.detail!r})"

    def __str__(self) -> str:
        return self.detail

    @property
    def found(self) -> bool:
        return self.token is not None


def mask_token(token: str | None) -> str:
    """`••••abcd`: enough to tell tokens apart, never enough to use one."""
    if not token:
        return "(none)"
    if len(token) < _MIN_SHOWN_LENGTH:
        return _MASK
    return _MASK + token[-4:]


def _tail(token: str) -> str:
    return f"…{token[-4:]}" if len(token) >= _MIN_SHOWN_LENGTH else "…"


def validate_token(token: str) -> str:
    """The token stripped of surrounding whitespace (a pasted newline); refuse anything that
    cannot be a bearer token. Messages never include the token."""
    cleaned = token.strip()
    if not cleaned:
        raise CredentialError("The token is empty.")
    if len(cleaned) > MAX_TOKEN_LENGTH:
        raise CredentialError(
            f"The token is {len(cleaned)} characters long; that is not a token "
            f"(at most {MAX_TOKEN_LENGTH})."
        )
    for char in cleaned:
        if char.isspace():
            raise CredentialError("The token contains whitespace; paste only the token itself.")
        if unicodedata.category(char).startswith("C"):
            raise CredentialError(
                "The token contains control or invisible characters; paste only the token itself."
            )
        if not char.isascii():
            raise CredentialError(
                "The token contains non-ASCII characters; paste only the token itself."
            )
    return cleaned


def backend_name(backend: keyring.backend.KeyringBackend | None = None) -> str:
    """A human name for the keyring backend in use ("Secret Service", "macOS Keychain"...)."""
    import keyring

    backend = keyring.get_keyring() if backend is None else backend
    chained = getattr(backend, "backends", None)
    if type(backend).__module__ == "keyring.backends.chainer" and chained:
        backend = chained[0]  # the chain reads and writes its highest-priority member first
    module = type(backend).__module__
    known = {
        "keyring.backends.SecretService": "Secret Service",
        "keyring.backends.macOS": "macOS Keychain",
        "keyring.backends.Windows": "Windows Credential Locker",
        "keyring.backends.kwallet": "KWallet",
        "keyring.backends.libsecret": "libsecret",
    }
    if module in known:
        return known[module]
    name = getattr(type(backend), "name", None)
    return str(name) if name else type(backend).__name__


def _no_backend(backend: keyring.backend.KeyringBackend) -> bool:
    """No keyring to keep a token: none found (`fail`), or one chosen to keep nothing
    (`null`, e.g. PYTHON_KEYRING_BACKEND on a server), where `token set` could only fail."""
    from keyring.backends import fail, null

    return isinstance(backend, fail.Keyring | null.Keyring)


def _explain(exc: BaseException, *secrets: str | None, timeout: float | None = None) -> str:
    """Why the keyring failed, in words; a backend's own text is scrubbed of the secrets."""
    import keyring.errors

    if isinstance(exc, KeyringTimeoutError):
        waited = f" within {timeout:g} s" if timeout is not None and not exc.args else ""
        return (
            f"the OS keyring did not answer{waited} (it may be waiting to be unlocked; "
            f"{ENV_KEYRING_TIMEOUT} sets how long nbtui waits)"
        )
    if isinstance(exc, keyring.errors.NoKeyringError):
        return "no OS keyring is available on this system"
    if isinstance(exc, keyring.errors.KeyringLocked):
        return "the OS keyring is locked"
    if isinstance(exc, keyring.errors.InitError):
        return f"the OS keyring could not be opened ({scrub_secrets(str(exc), *secrets)})"
    text = scrub_secrets(str(exc).strip(), *secrets)
    return f"the OS keyring failed ({type(exc).__name__}{': ' + text if text else ''})"


def _keyring_failure(
    action: str, exc: BaseException, *secrets: str | None, timeout: float
) -> CredentialError:
    problem = _explain(exc, *secrets, timeout=timeout)
    return CredentialError(f"Cannot {action}: {problem}. {_WAY_OUT_SENTENCE}")


def _read_keyring(profile: str) -> str | None:
    import keyring
    import keyring.errors

    backend = keyring.get_keyring()
    if _no_backend(backend):
        raise keyring.errors.NoKeyringError("no backend")
    stored = backend.get_password(SERVICE, profile)
    _remember_secret(stored)
    return stored


def resolve_token(
    profile: str = "default",
    env: Mapping[str, str] | None = None,
    *,
    timeout: float | None = None,
) -> TokenInfo:
    """The token to use: the environment variable, else the keyring entry of `profile`.

    Never raises, and never waits on the keyring longer than `timeout` (default:
    `keyring_timeout()`): a broken variable or an unavailable, failing or silent keyring
    gives source "none" and a detail that says why and what to do.
    """
    env = os.environ if env is None else env
    timeout = keyring_timeout(env) if timeout is None else timeout
    from_env = env.get(ENV_TOKEN)
    _remember_secret(from_env)
    if from_env is not None and from_env.strip():
        try:
            token = validate_token(from_env)
        except CredentialError as exc:
            detail = f"no usable token: {ENV_TOKEN} is set but unusable ({exc})"
            return TokenInfo(None, "none", detail, origin=detail)
        origin = f"from the environment variable {ENV_TOKEN}"
        return TokenInfo(token, "env", f"{origin} ({_tail(token)})", origin=origin)
    try:
        stored = _call_keyring(lambda: _read_keyring(profile), timeout)
    except Exception as exc:  # any backend failure (D-Bus, locked, none): explain, don't crash
        problem = _explain(exc, timeout=timeout)
        detail = f"no token: {problem}; set it in the environment: export {ENV_TOKEN}=<your token>"
        return TokenInfo(None, "none", detail, keyring_problem=problem, origin=detail)
    if stored is None:
        detail = f"no token: set one with `nbtui token set` or export {ENV_TOKEN}"
        return TokenInfo(None, "none", detail, origin=detail)
    try:
        token = validate_token(stored)
    except CredentialError as exc:
        detail = (
            f"no usable token: the OS keyring entry for profile {profile} is unusable ({exc}); "
            "set it again with `nbtui token set`"
        )
        return TokenInfo(None, "none", detail, origin=detail)
    origin = f"from the OS keyring ({backend_name()}) for profile {profile}"
    return TokenInfo(token, "keyring", f"{origin} ({_tail(token)})", origin=origin)


def save_token(token: str, profile: str = "default", *, timeout: float | None = None) -> None:
    """Store the token in the OS keyring for `profile`, and check that it was really kept."""
    cleaned = validate_token(token)
    _remember_secret(cleaned)
    timeout = keyring_timeout() if timeout is None else timeout
    import keyring
    import keyring.errors

    def store() -> tuple[keyring.backend.KeyringBackend, str | None]:
        backend = keyring.get_keyring()
        if _no_backend(backend):
            raise keyring.errors.NoKeyringError("no backend")
        backend.set_password(SERVICE, profile, cleaned)
        return backend, backend.get_password(SERVICE, profile)

    try:
        backend, kept = _call_keyring(store, timeout)
    except Exception as exc:  # any backend failure: one clear message
        # Not chained (`from None`): the backend's own text may quote the token.
        raise _keyring_failure(
            "store the token in the OS keyring", exc, cleaned, token, timeout=timeout
        ) from None
    if kept != cleaned:
        raise CredentialError(
            f"The keyring backend ({backend_name(backend)}) did not keep the token. "
            + _WAY_OUT_SENTENCE
        )


def clear_token(profile: str = "default", *, timeout: float | None = None) -> bool:
    """Remove the keyring entry of `profile`; False if there was none."""
    timeout = keyring_timeout() if timeout is None else timeout
    import keyring
    import keyring.errors

    def remove() -> bool:
        backend = keyring.get_keyring()
        if _no_backend(backend):
            raise keyring.errors.NoKeyringError("no backend")
        stored = backend.get_password(SERVICE, profile)
        _remember_secret(stored)
        if stored is None:
            return False
        backend.delete_password(SERVICE, profile)
        return True

    try:
        return _call_keyring(remove, timeout)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # any backend failure: one clear message
        raise _keyring_failure(
            "remove the token from the OS keyring", exc, timeout=timeout
        ) from None


def token_status(
    profile: str = "default", env: Mapping[str, str] | None = None, *, timeout: float | None = None
) -> str:
    """Where the token comes from, in words; at most its last four characters."""
    return resolve_token(profile, env, timeout=timeout).detail
