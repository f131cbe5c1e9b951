"""LaunchDarkly's base URL: checked and normalised before anything is sent to it.

Kept apart from ``client`` so that an offline plan, which only names its target,
does not import httpx.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from reconciler import secret
from reconciler.errors import ConfigError


def normalise_base_url(url: str) -> str:
    """``url`` without a trailing slash, if safe: https, or plain http to a loopback host."""
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None:
        raise ConfigError(  # and do not echo them
            "the base URL must not contain credentials; pass the token via "
            f"{secret.TOKEN_ENV_VARS[0]}"
        )
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http") or not host:
        raise ConfigError(
            f"base URL {url!r} is not an https:// URL (e.g. https://app.launchdarkly.com)"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL {url!r} must not have a query or fragment")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as e:
        raise ConfigError(f"base URL {url!r}: {e}") from e
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"base URL {url!r}: plain http:// is allowed only for loopback hosts "
            "(localhost, 127.0.0.0/8, ::1); use https://"
        )
    return f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
