"""`token set|status|clear`: the API token in the OS keyring (never taken as an argument,
never printed)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from nbtui.cli.env import settings_from
from nbtui.cli.output import EXIT_OK, UsageError, say, say_warning
from nbtui.config import ENV_TOKEN

__all__ = ["cmd_token"]


def cmd_token(args: argparse.Namespace) -> int:
    from nbtui.credentials import (
        CredentialError,
        clear_token,
        mask_token,
        save_token,
        token_status,
        validate_token,
    )

    if getattr(args, "demo", False):
        raise UsageError("--demo needs no token; `nbtui token` manages your real one")
    settings = settings_from(args)
    profile = settings.profile
    action = args.what
    if action == "status":
        say(sys.stdout, token_status(profile, os.environ))
        return EXIT_OK
    if action == "clear":
        if clear_token(profile):
            say(sys.stdout, f"Removed the stored token for profile {profile!r}.")
        else:
            say(sys.stdout, f"No token was stored for profile {profile!r}.")
        if os.environ.get(ENV_TOKEN):
            say_warning(f"${ENV_TOKEN} is set and still provides a token")
        return EXIT_OK
    # set
    if sys.stdin.isatty():
        token = getpass.getpass("API token (input hidden): ")
    else:
        token = sys.stdin.readline()
    try:
        token = validate_token(token)
    except CredentialError as exc:
        raise UsageError(
            f"{str(exc).rstrip('.')} (type it at the prompt or pipe one line)"
        ) from None
    save_token(token, profile)
    say(sys.stdout, f"Token {mask_token(token)} saved in the keyring for profile {profile!r}.")
    if os.environ.get(ENV_TOKEN):
        say_warning(f"${ENV_TOKEN} is set and takes precedence over the keyring")
    return EXIT_OK
