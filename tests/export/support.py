"""Helpers of the export tests: the real CLI, in this process or a child, and a seeded emulator.

``Cli`` runs ``ld-reconciler`` as a user does, through ``reconciler.cli.main`` (the console
script's entry point), in the test's directory, with every LaunchDarkly-related variable of the
host removed. ``seed_shop`` fills an emulator with flags of every kind the format can declare,
and ``add_unexpressible`` adds, through the emulator's data file, what it cannot: flags no create
can make (a holdout, mixed variation types, a key the schema refuses) and a flag naming one of
them as a prerequisite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import DEV_TOKEN, Emulator
from support.cli import Result, run_child, run_main

PROJECT = "shop"
LIST_FLAGS = "GET /api/v2/flags/{projectKey}"
GET_FLAG = "GET /api/v2/flags/{projectKey}/{featureFlagKey}"
LIST_LINKS = "GET /api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"
LINK_TIMESTAMP = 1_700_000_000_000  # a link associated before it was created


class Cli:
    """Runs ``ld-reconciler`` in ``cwd``; ``live`` points it at an emulator with its token."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        return run_main(self.cwd, args, env)

    def live(self, emu: Emulator, *args: str) -> Result:
        env = {"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN}
        return self(*args, "--base-url", emu.base_url, env=env)

    def child(self, emu: Emulator, *args: str) -> Result:
        """The same, in a child process (``python -m reconciler``)."""
        env = {"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN}
        return run_child(self.cwd, [*args, "--base-url", emu.base_url], env)


def seed_shop(emu: Emulator) -> None:
    """Flags of every kind a flag file declares, created as the API creates them."""
    create = emu.create_flag
    emu.add_project(PROJECT)
    create(PROJECT, {"key": "dark-mode", "name": "Dark mode"})
    checkout = create(
        PROJECT,
        {
            "key": "new-checkout",
            "name": "New checkout",
            "description": "One-page checkout.",
            "temporary": False,
            "tags": ["payments", "checkout"],
            "maintainerTeamKey": "payments",
            "clientSideAvailability": {"usingEnvironmentId": True, "usingMobileKey": False},
            "variations": [{"value": True, "name": "On"}, {"value": False, "name": "Off"}],
            "defaults": {"onVariation": 1, "offVariation": 1},
            "customProperties": {
                "jira.issues": {"name": "Jira issues", "value": ["PAY-1", "PAY-2"]},
                "a.owner": {"name": "Owner", "value": ["payments"]},
            },
        },
    )
    emu.create_link(
        PROJECT,
        "new-checkout",
        {
            "key": "pay-1",
            "deepLink": "https://jira.example.com/browse/PAY-1",
            "title": "PAY-1: Checkout epic",
            "description": "The epic",
            "timestamp": LINK_TIMESTAMP,
        },
    )
    emu.create_link(PROJECT, "new-checkout", {"deepLink": "https://docs.example.com/no-key"})
    emu.create_link(
        PROJECT,
        "new-checkout",
        {"key": "jira-pay-2", "integrationKey": "jira",
         "metadata": {"projectKey": "PAY", "issueKey": "PAY-2"}},
    )  # fmt: skip
    create(
        PROJECT,
        {
            "key": "banner-text",
            "name": "Banner text",
            "tags": ["Checkout"],
            "maintainerId": "569f183514f4432160000007",
            "variations": [
                {"value": "", "name": "Hidden", "description": "No banner"},
                {"value": "Sale!\nUp to 50% off", "name": "Sale"},
                {"value": "1e3"},
            ],
            "defaults": {"onVariation": 1, "offVariation": 0},
        },
    )
    create(
        PROJECT,
        {"key": "retry-limit", "name": "Retry limit", "tags": ["payments"],
         "variations": [{"value": 0}, {"value": 1.5}, {"value": 3}]},
    )  # fmt: skip
    create(
        PROJECT,
        {
            "key": "layout-config",
            "name": "Layout config",
            "tags": ["ui"],
            "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": True},
            "variations": [{"value": {"columns": 2, "dense": False}}, {"value": [1, "two"]}],
            "defaults": {"onVariation": 0, "offVariation": 0},
        },
    )
    for stages, key in (
        (2, "sessions-migration"),
        (4, "search-migration"),
        (6, "orders-migration"),
    ):
        settings: dict[str, Any] = {"stageCount": stages}
        if stages == 6:
            settings["contextKind"] = "account"
        create(
            PROJECT,
            {"key": key, "name": key.replace("-", " ").capitalize(), "tags": ["migration"],
             "purpose": "migration", "migrationSettings": settings},
        )  # fmt: skip
    create(
        PROJECT,
        {
            "key": "express-checkout",
            "name": "Express checkout",
            "tags": ["checkout"],
            "initialPrerequisites": [
                {"key": "new-checkout", "variationId": checkout["variations"][0]["_id"]},
                {"key": "dark-mode", "variationId": _variation_id(emu, "dark-mode", 1)},
            ],
        },
    )
    create(
        PROJECT, {"key": "old-banner", "name": "Old banner", "tags": ["checkout"]}, archived=True
    )


def _variation_id(emu: Emulator, key: str, index: int) -> str:
    flag = next(f for f in emu.flags(PROJECT) if f["key"] == key)
    return str(flag["variations"][index]["_id"])


def add_unexpressible(data_file: Path) -> None:
    """Add flags no create can make to an emulator data file (see the module docstring)."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    flags: list[dict[str, Any]] = data["projects"][PROJECT]["flags"]
    template = next(f for f in flags if f["key"] == "dark-mode")

    def like(key: str, **fields: Any) -> dict[str, Any]:
        flag = json.loads(json.dumps(template))
        flag.update(key=key, name=key, **fields)
        flags.append(flag)
        return flag

    like("holdout-q3", _purpose="holdout")
    like("mixed-values", variations=[{"_id": "m0", "value": 1}, {"_id": "m1", "value": "one"}])
    like("weird~key")
    gated = like("gated")
    for config in gated["environments"].values():  # as a create naming mixed-values' m0 sets it
        config["prerequisites"] = [{"key": "mixed-values", "variation": 0}]
        config["_summary"]["prerequisites"] = 1
    data_file.write_text(json.dumps(data), encoding="utf-8")
