"""LaunchDarkly's base URL: checked and normalised before anything is sent to it.

Kept apart from ``client`` so that an offline plan, which only names its target,
does not import httpx.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from reconciler.errors import ConfigError
from reconciler.remote import secret


def normalise_base_url(url: str) -> str:
    """``url`` as ``scheme://host[:port][/prefix]``, if safe: https, or plain http to a
    loopback host.

    The client adds the API's paths (``/api/v2/...``), so a base URL that already ends in
    ``/api/v2`` would double them; any other path is kept, for a gateway that serves
    LaunchDarkly under a prefix (even one named ``/api``).
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
    path = parts.path.rstrip("/")
    if re.search(r"/api/v2$", path, re.IGNORECASE):
        raise ConfigError(
            f"base URL {url!r} must not end in the API's own path ({parts.path}): give the "
            f"instance, {example}; the API's paths (/api/v2/...) are added to it"
        )
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"base URL {url!r}: plain http:// is allowed only for loopback hosts "
            "(localhost, 127.0.0.0/8, ::1); use https://"
        )
    return f"{scheme}://{parts.netloc.lower()}{path}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
