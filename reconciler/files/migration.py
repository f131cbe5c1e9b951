"""Migration flags: their stages, and the rules for ``purpose`` and ``migrationSettings``."""

from __future__ import annotations

from reconciler.files.declared import Declared
from reconciler.model import Finding

# The variation values LaunchDarkly gives a migration flag, per stage count, so that a
# prerequisite can name a stage by value. The six are the SDKs' stage names in order;
# which subset 2 and 4 stages use is the reading of LaunchDarkly's documentation that
# the emulator also follows (reconciler/emulator/representation.py).
MIGRATION_STAGES: dict[int, tuple[str, ...]] = {
    2: ("off", "complete"),
    4: ("off", "shadow", "live", "complete"),
    6: ("off", "dualwrite", "shadow", "live", "rampdown", "complete"),
}


def check_migration(flag: Declared, findings: list[Finding]) -> bool:
    """Whether the flag's migration fields are consistent; findings for what is not."""
    data = flag.data
    settings = data.get("migrationSettings")
    if "purpose" in data and data["purpose"] != "migration":
        return False  # an unknown purpose is the schema's finding; what it needs is unknown
    if "purpose" not in data:
        if "migrationSettings" in data:
            findings.append(
                flag.finding(
                    flag.path("migrationSettings"),
                    "migrationSettings is only for migration flags; add purpose: migration",
                    key=True,
                )
            )
            return False
        return True
    ok = True
    for name in ("variations", "defaults"):
        if name in data:
            findings.append(
                flag.finding(
                    flag.path(name),
                    f"a migration flag has no {name}: LaunchDarkly makes one variation per stage",
                    key=True,
                )
            )
            ok = False
    if "migrationSettings" not in data:
        findings.append(
            flag.finding(
                flag.path("purpose"),
                "a migration flag needs migrationSettings with stageCount 2, 4 or 6",
            )
        )
        return False
    if not isinstance(settings, dict) or type(settings.get("stageCount")) is not int:
        return False  # the schema's finding
    stages = settings["stageCount"]
    if stages not in MIGRATION_STAGES:
        return False  # the schema's finding
    if stages == 6 and "contextKind" not in settings:
        findings.append(
            flag.finding(
                flag.path("migrationSettings"),
                "a 6-stage migration needs contextKind (the context kind whose data moves)",
            )
        )
        ok = False
    if stages != 6 and "contextKind" in settings:
        findings.append(
            flag.finding(
                flag.path("migrationSettings", "contextKind"),
                f"contextKind is only for 6-stage migrations; this one has {stages} stages",
                key=True,
            )
        )
        ok = False
    return ok
