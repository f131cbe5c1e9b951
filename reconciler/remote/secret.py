"""Keeping the access token out of every output.

The token is registered once, when it is read from the environment; ``scrub`` then
replaces it (and any other registered secret) in any text before that text is shown,
logged or written to a file. Error messages built from server responses pass through
``scrub`` because a server may echo what it was sent, and not always as it was sent: a
secret is also scrubbed URL-encoded (a ``Location`` header), JSON-escaped (an error body)
and ``repr``-escaped (httpcore's ``-vv`` log of header bytes).
"""

from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import quote, quote_plus

TOKEN_ENV_VARS = ("LAUNCHDARKLY_ACCESS_TOKEN", "LD_ACCESS_TOKEN")
REDACTED = "[REDACTED]"

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(secret: str) -> None:
    """Remember a secret, in every form it may be echoed in, so that ``scrub`` removes it."""
    global _pattern
    if len(secret) >= 4:
        _secrets.update(forms(secret))
        # Longest first: where one form holds another, the whole of it goes.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(map(re.escape, alternatives)))


def forms(secret: str) -> set[str]:
    """``secret`` as sent, URL-encoded and JSON-escaped; and each of those as ``repr``
    writes it (a debug log of header bytes shows a header holding any of them so)."""
    in_json = json.dumps(secret)[1:-1]
    echoed = {
        secret,
        quote(secret, safe=""),
        quote(secret),  # "/" left as it is
        quote_plus(secret),
        in_json,
        in_json.replace("/", "\\/"),  # JSON may escape "/" too
        # Go's encoding/json (LaunchDarkly's API) escapes <, > and & for HTML.
        in_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),
    }
    logged = {repr(form.encode("utf-8", "surrogateescape"))[2:-1] for form in echoed}
    return echoed | logged | {repr(form)[1:-1] for form in echoed}


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``[REDACTED]``."""
    if _pattern is None:
        return text
    return _pattern.sub(REDACTED, text)


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
