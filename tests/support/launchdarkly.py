"""LaunchDarkly's answers as the client tests fake them: a flag as the API returns it."""

from __future__ import annotations

from typing import Any

TARGET = "https://app.launchdarkly.com"
"""LaunchDarkly's own API: the target the ledger records for it."""


def flag_json(project: str, key: str, **extra: Any) -> dict[str, Any]:
    """A flag as LaunchDarkly returns it: every field the reconciler relies on, and ``extra``."""
    return {
        "key": key,
        "name": key,
        "kind": "boolean",
        "_version": 1,
        "creationDate": 1_700_000_000_000,
        "variations": [{"_id": f"{key}-on", "value": True}, {"_id": f"{key}-off", "value": False}],
        "temporary": True,
        "tags": [],
        "archived": False,
        "customProperties": {},
        "experiments": {"baselineIdx": 0, "items": []},
        "_links": {
            "parent": {"href": f"/api/v2/flags/{project}", "type": "application/json"},
            "self": {"href": f"/api/v2/flags/{project}/{key}", "type": "application/json"},
        },
        **extra,
    }
