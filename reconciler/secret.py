"""Keeping the access token out of every output.

The token is registered once, when it is read from the environment; ``scrub`` then
replaces it (and any other registered secret) in any text before that text is shown,
logged or written to a file. Error messages built from server responses pass through
``scrub`` because a server may echo what it was sent.
"""

from __future__ import annotations

import logging
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


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs every registered secret from a record.

    The message is formatted here (arguments included) and scrubbed, and so are the
    exception and stack texts, so that no handler behind the filter can print a secret.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def token_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The access token from the environment (registered as a secret), or None."""
    env = os.environ if environ is None else environ
    for name in TOKEN_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            register(value)
            return value
    return None
