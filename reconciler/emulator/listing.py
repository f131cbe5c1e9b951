"""Listing flags: the query parameters of ``GET /api/v2/flags/{projectKey}`` and paging.

Supported: ``limit`` (1-100, default 20), ``offset``, ``tag`` (repeatable: all must match),
``archived`` (deprecated boolean), ``sort`` (``creationDate``, ``key``, ``name``, ``-`` for
descending) and ``filter``, a comma-separated list of ``field:value`` with the fields ``state``
(live, deprecated, archived), ``archived`` (true/false), ``query`` (case-insensitive substring of
key or name), ``tags`` (``a+b``: all of them), ``type`` (temporary, permanent),
``maintainerId`` and ``maintainerTeamKey``. Other filter fields, and bad values, are 400s.
``env`` (one environment key) puts that environment's configuration in each item, without its
targets, rules and prerequisites unless ``summary=0``; without it, items have no
``environments``. ``expand`` and ``compare`` are accepted and ignored.

As in LaunchDarkly, archived flags are hidden unless asked for, and then only they are listed.
Without ``sort``, flags come in creation order, which is stable across pages.
The page's ``_links`` has ``self`` always, ``first`` and ``prev`` when the page is not the first,
``next`` and ``last`` when it is not the last; hrefs are relative, with the query included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode

from reconciler.emulator.representation import ENVIRONMENTS, flags_path, link, served
from reconciler.emulator.responses import invalid, not_found

DEFAULT_LIMIT = 20
# UNCONFIRMED: the spec gives no largest page; 100 is what LaunchDarkly's own tools ask for.
# Strict, as API-NOTES asks: a larger limit is a 400 here, though the real API may clamp it.
MAX_LIMIT = 100
MAX_DIGITS = 15

Flag = Mapping[str, Any]
Predicate = Callable[[Flag], bool]
SORT_FIELDS = ("creationDate", "key", "name")


def page(project: str, flags: Sequence[Flag], query: Mapping[str, list[str]]) -> dict[str, Any]:
    """The ``FeatureFlags`` body for one page of ``flags`` as selected by ``query``."""
    limit = _int_param(query, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = _int_param(query, "offset", 0, low=0, high=None)
    keys = environment_keys(query)
    summary = _one(query, "summary")
    lists = summary is not None and not _bool_text("summary", summary)
    predicates = _predicates(query)
    selected = [f for f in flags if all(p(f) for p in predicates)]
    for field, descending in reversed(_sort(query)):  # stable sorts: last key first
        selected.sort(key=itemgetter(field), reverse=descending)
    total = len(selected)
    links = {"self": link(_href(project, query, limit, offset))}
    if offset > 0:
        links["first"] = link(_href(project, query, limit, 0))
        links["prev"] = link(_href(project, query, limit, max(0, offset - limit)))
    if offset + limit < total:
        links["next"] = link(_href(project, query, limit, offset + limit))
        links["last"] = link(_href(project, query, limit, (total - 1) // limit * limit))
    items = [served(f, keys, lists=lists) for f in selected[offset : offset + limit]]
    return {"items": items, "_links": links, "totalCount": total}


def environment_keys(query: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The environment ``env`` names (a list or a flag's), or none.

    UNCONFIRMED: how LaunchDarkly answers an unknown environment key; the strict choice is a
    404 (both operations declare one), not a silently empty ``environments``. The spec says a
    flag's ``env`` may name several environments without saying how; here it names one.
    """
    key = _one(query, "env")
    if not key:
        return ()
    if key not in ENVIRONMENTS:
        known = " and ".join(ENVIRONMENTS)
        raise not_found(f"env: unknown environment key {key!r} (the emulator's are {known})")
    return (key,)


def _href(project: str, query: Mapping[str, list[str]], limit: int, offset: int) -> str:
    params = [(k, v) for k, values in query.items() if k not in ("limit", "offset") for v in values]
    params += [("limit", str(limit)), ("offset", str(offset))]
    return f"{flags_path(project)}?{urlencode(params)}"


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise invalid(f"{name}: given more than once")
    return values[0]


def _int_param(
    query: Mapping[str, list[str]], name: str, default: int, *, low: int, high: int | None
) -> int:
    text = _one(query, name)
    if text is None:
        return default
    # Plain ASCII digits only: int() would also take " 5", "+5", "5_0" and other scripts' digits.
    if not (text.isascii() and text.isdigit()):
        raise invalid(f"{name}: {text!r} is not a non-negative integer")
    if len(text) > MAX_DIGITS:  # int() refuses thousands of digits; nothing needs 16
        raise invalid(f"{name}: {text[:MAX_DIGITS]}... is too large")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"{name}: {value} must be {bound}")
    return value


def _bool_text(name: str, text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise invalid(f"{name}: {text!r} is not true or false")


def _predicates(query: Mapping[str, list[str]]) -> list[Predicate]:
    predicates: list[Predicate] = []
    state = "live"
    archived_param = _one(query, "archived")
    if archived_param is not None and _bool_text("archived", archived_param):
        state = "archived"
    for tag in query.get("tag", []):
        predicates.append(_has_tags([tag]))
    for raw in query.get("filter", []):
        for item in (i for i in raw.split(",") if i.strip()):
            field, sep, value = item.strip().partition(":")
            if not sep:
                raise invalid(f"filter: {item!r} is not field:value")
            if field == "state":
                if value not in ("live", "deprecated", "archived"):
                    raise invalid(
                        f"filter: state must be live, deprecated or archived, not {value!r}"
                    )
                state = value
            elif field == "archived":
                state = "archived" if _bool_text("filter: archived", value) else "live"
            elif field == "query":
                predicates.append(_matches(value.lower()))
            elif field == "tags":
                # '+' separates tags; an unencoded '+' arrives as a space.
                wanted = [t for t in value.replace(" ", "+").split("+") if t]
                predicates.append(_has_tags(wanted))
            elif field == "type":
                if value not in ("temporary", "permanent"):
                    raise invalid(f"filter: type must be temporary or permanent, not {value!r}")
                predicates.append(_equals("temporary", value == "temporary"))
            elif field in ("maintainerId", "maintainerTeamKey"):
                predicates.append(_equals(field, value))
            else:
                raise invalid(f"filter: the emulator does not support filtering on {field!r}")
    if state == "archived":
        predicates.append(lambda f: f["archived"] is True)
    elif state == "deprecated":
        predicates.append(lambda f: f.get("deprecated") is True and not f["archived"])
    else:
        predicates.append(lambda f: not f["archived"])
    return predicates


def _has_tags(tags: Sequence[str]) -> Predicate:
    return lambda f: all(t in f["tags"] for t in tags)


def _matches(needle: str) -> Predicate:
    return lambda f: needle in f["key"].lower() or needle in f["name"].lower()


def _equals(field: str, value: object) -> Predicate:
    return lambda f: f.get(field) == value


def _sort(query: Mapping[str, list[str]]) -> list[tuple[str, bool]]:
    text = _one(query, "sort")
    if not text:
        return []
    result = []
    for item in text.split(","):
        descending = item.startswith("-")
        field = item.lstrip("-")
        if field not in SORT_FIELDS:
            raise invalid(f"sort: the emulator sorts by {', '.join(SORT_FIELDS)}, not {field!r}")
        result.append((field, descending))
    return result
