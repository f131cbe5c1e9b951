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
    """``url`` as ``scheme://host[:port]``, if safe: https, or plain http to a loopback host.

    The base URL names the instance alone: the client adds the API's paths, so a path
    (``https://app.launchdarkly.com/api/v2``) would only double them.
    """
    example = "e.g. https://app.launchdarkly.com"
    if not url.strip():
        raise ConfigError(f"the base URL (--base-url, LAUNCHDARKLY_BASE_URL) is empty; {example}")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - validates the port
    except ValueError as e:
        shown = "" if "@" in url else f" {url!r}"  # it may hold credentials
        raise ConfigError(f"base URL{shown} is not a valid URL ({e}); {example}") from e
    if parts.username is not None or parts.password is not None:
        raise ConfigError(  # and do not echo them
            "the base URL must not contain credentials; pass the token via "
            f"{secret.TOKEN_ENV_VARS[0]}"
        )
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http") or not host:
        raise ConfigError(f"base URL {url!r} is not an https:// URL ({example})")
    if parts.query or parts.fragment or url.strip().endswith(("?", "#")):
        raise ConfigError(f"base URL {url!r} must not have a query or fragment; {example}")
    if parts.path.strip("/"):
        raise ConfigError(
            f"base URL {url!r} must not have a path ({parts.path}): give the instance alone, "
            f"{example}; the API's paths (/api/v2/...) are added to it"
        )
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"base URL {url!r}: plain http:// is allowed only for loopback hosts "
            "(localhost, 127.0.0.0/8, ::1); use https://"
        )
    return f"{scheme}://{parts.netloc.lower()}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
