"""Keeping the access token out of every output.

The token is registered once, when it is read from the environment; ``scrub`` then
replaces it (and any other registered secret) in any text before that text is shown,
logged or written to a file. Error messages built from server responses pass through
``scrub`` because a server may echo what it was sent.
"""

from __future__ import annotations

import os

TOKEN_ENV_VARS = ("LAUNCHDARKLY_ACCESS_TOKEN", "LD_ACCESS_TOKEN")
REDACTED = "[REDACTED]"

_secrets: set[str] = set()


def register(secret: str) -> None:
    """Remember a secret so that ``scrub`` removes it from text."""
    if len(secret) >= 4:
        _secrets.add(secret)


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``[REDACTED]``."""
    for s in _secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text


def token_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The access token from the environment (registered as a secret), or None."""
    env = os.environ if environ is None else environ
    for name in TOKEN_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            register(value)
            return value
    return None
