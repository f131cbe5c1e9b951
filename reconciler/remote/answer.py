"""LaunchDarkly's answers and what can be wrong with them.

An ``Answer`` is a response read whole. This module turns one into what the client returns or
raises: the JSON object (``decode``), the fields the reconciler relies on, typed as the
OpenAPI excerpt says (``check_flag``, ``check_link``, ``check_list``), and an error status as
an ``ApiError`` (``api_error``). An answer that is not JSON or lacks a field is a
``TransportError``; for a POST whose status says it may have been done (2xx, 5xx) it is an
``OutcomeUnknownError``. Every message is passed through the caller's ``scrub``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.errors import ApiError, OutcomeUnknownError, TransportError

Scrub = Callable[[str], str]
Fault = Callable[[str], TransportError]

_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}


@dataclass(frozen=True)
class Answer:
    """A response read whole; ``throttled_until`` is when a 429'd route may go again."""

    status: int
    headers: httpx.Headers
    content: bytes
    throttled_until: float | None


def fault(method: str, where: str, answer: Answer | int, scrub: Scrub) -> Fault:
    """A maker of located errors about an unusable answer.

    For a POST that may have been done (2xx, 5xx) the error is ``OutcomeUnknownError``.
    """
    status = answer if isinstance(answer, int) else answer.status
    unknown = method == "POST" and (200 <= status < 300 or status >= 500)

    def make(what: str) -> TransportError:
        message = scrub(f"{where}: {status}: {what}")
        if unknown:
            return OutcomeUnknownError(
                f"{message}; the create may have taken effect (look before sending it again)"
            )
        return TransportError(message)

    return make


def decode(answer: Answer, where: str, method: str, scrub: Scrub, *, error: bool = False) -> Any:
    """The answer's JSON object; with ``error``, one that is a LaunchDarkly error body."""
    make = fault(method, where, answer, scrub)
    ctype = answer.headers.get("Content-Type", "")
    media = ctype.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise make(f"the answer is not JSON (content type {ctype or 'missing'!r})")
    try:
        data = json.loads(answer.content, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # RecursionError: nested too deeply
        raise make(f"the answer is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise make(f"the answer is a JSON {type(data).__name__}, not an object")
    if error and not isinstance(data.get("message"), str):
        raise make("not a LaunchDarkly error body (no message); is the base URL right?")
    return data


def api_error(answer: Answer, where: str, method: str, scrub: Scrub) -> ApiError:
    """The error an answer's status (3xx, 4xx, 5xx) means, with LaunchDarkly's message."""
    status = answer.status
    path = where.split(" ", 1)[1]
    if 300 <= status < 400:
        location = answer.headers.get("Location", "?")
        message = f"redirected to {location}; redirects are not followed (is the base URL right?)"
        return ApiError(status, "redirect", scrub(message), method=method, path=path)
    code = _ERROR_CODES.get(status, "server_error" if status >= 500 else f"http_{status}")
    message = ""
    try:
        data = json.loads(answer.content)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("code"), str) and data["code"]:
            code = scrub(data["code"])[:100]
        if isinstance(data.get("message"), str):
            message = data["message"]
    if not message:
        ctype = answer.headers.get("Content-Type") or "no content type"
        message = f"no LaunchDarkly error message ({ctype}, {len(answer.content)} bytes)"
    # Scrubbed before it is cut short: a cut through an echoed token would leave a piece.
    message = " ".join(scrub(message).split())[:500]
    return ApiError(status, code, message, method=method, path=path)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- the answers' shapes: the fields the reconciler relies on, typed as the OpenAPI excerpt says

_FIELD_TYPES: dict[type, str] = {
    str: "key name kind _id _deepLink _key title description",
    int: "_version creationDate _createdAt",
    bool: "temporary archived",
    list: "items variations tags",
    dict: "_links _timestamp",
}
_TYPE_OF = {name: kind for kind, names in _FIELD_TYPES.items() for name in names.split()}
# Each answer's shape: its required fields, then the others typed if present.
_LIST_SHAPE = ("items", "_links")
_FLAG_SHAPE = ("key variations", "name kind _version creationDate temporary tags archived _links")
_LINK_SHAPE = ("_id _deepLink", "_key _createdAt _timestamp _links title description")


def _check_fields(obj: Any, make: Fault, at: str, shape: tuple[str, str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise make(f"{at} is not a JSON object")
    required, typed = (names.split() for names in shape)
    for name in (*required, *typed):
        kind = _TYPE_OF[name]
        if name not in obj:
            if name in required:
                raise make(f"{at} lacks the required field {name!r}")
            continue
        value = obj[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise make(f"{at}.{name} is {type(value).__name__}, expected {kind.__name__}")
    return obj


def check_list(data: dict[str, Any], make: Fault) -> list[Any]:
    """The ``items`` of a list answer."""
    _check_fields(data, make, "the answer", _LIST_SHAPE)
    items: list[Any] = data["items"]
    return items


def check_flag(
    obj: Any, make: Fault, at: str = "the flag", *, key: object = None
) -> dict[str, Any]:
    """A ``FeatureFlag`` with the fields we rely on, and the key asked for if one was."""
    flag = _check_fields(obj, make, at, _FLAG_SHAPE)
    for i, variation in enumerate(flag["variations"]):
        if not isinstance(variation, dict) or "value" not in variation:
            raise make(f"{at}.variations[{i}] is not a variation (no 'value')")
    if isinstance(key, str) and flag["key"] != key:
        raise make(f"{at} has key {flag['key']!r}, expected {key!r}")
    return flag


def check_link(
    obj: Any, make: Fault, at: str = "the link", *, key: object = None
) -> dict[str, Any]:
    """A ``FlagLinkRep`` with the fields we rely on, and the key asked for if one was."""
    link = _check_fields(obj, make, at, _LINK_SHAPE)
    if isinstance(key, str) and link.get("_key", key) != key:
        raise make(f"{at} has key {link['_key']!r}, expected {key!r}")
    return link
