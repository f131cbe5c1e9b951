"""The ready-made policies of the README (tests/data/policies/ready-made.yaml).

Each rule is run alone against a flag that complies and one that violates it, so a
rule a team copies is known to say what its message says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.engine import REASON

pytest.importorskip("cel", reason=REASON)  # before the imports that need it

from reconciler.files.loader import load_text
from reconciler.model import Location
from reconciler.policy.catalog import compile_policies
from reconciler.policy.evaluation import evaluate
from reconciler.policy.policy import Policy, policies_from_document
from reconciler.policy.subject import FlagSubject

RULES = Path(__file__).parent.parent / "data" / "policies" / "ready-made.yaml"


def ready_made() -> dict[str, Policy]:
    doc = load_text(RULES.read_text(encoding="utf-8"), "ld-reconciler.yaml")
    return {p.name: p for p in policies_from_document(doc)}


def flag(**fields: Any) -> FlagSubject:
    data = {"key": "a-flag", "name": "A flag", **fields}
    return FlagSubject("web-app", "flags/web.yaml", data, Location("flags/web.yaml", 3, 5))


TICKET = [{"deepLink": "https://jira.example.com/browse/WEB-1"}]
CASES = {
    "kebab-case-keys": (flag(key="checkout-v2"), flag(key="Checkout_V2")),
    "temporary-needs-ticket": (flag(links=TICKET), flag(links=[{"deepLink": "https://x.org/"}])),
    "maintainer-required": (flag(maintainerTeamKey="web"), flag()),
    "description-required": (flag(description="New checkout"), flag(description="")),
    "tag-vocabulary": (flag(tags=["web", "managed"]), flag(tags=["web", "misc"])),
    "server-only-stays-on-the-server": (
        flag(tags=["server-only"]),
        flag(
            tags=["server-only"],
            clientSideAvailability={"usingEnvironmentId": True, "usingMobileKey": False},
        ),
    ),
}


def test_every_ready_made_rule_compiles_and_is_tested() -> None:
    policies = ready_made()
    assert compile_policies(list(policies.values())).findings == ()
    assert set(policies) == {*CASES, "temporary-flag-cap"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_ready_made_flag_rule_passes_a_complying_flag_and_flags_a_violating_one(
    name: str,
) -> None:
    policy = ready_made()[name]
    catalog = compile_policies([policy])
    complying, violating = CASES[name]
    assert evaluate(catalog, [complying]) == []
    [finding] = evaluate(catalog, [violating])
    assert finding.message == f"policy {name}: {policy.message}"
    assert finding.severity == policy.severity


def test_a_permanent_flag_needs_no_ticket() -> None:
    catalog = compile_policies([ready_made()["temporary-needs-ticket"]])
    assert evaluate(catalog, [flag(temporary=False)]) == []


def test_the_temporary_flag_cap_allows_200_and_refuses_201() -> None:
    catalog = compile_policies([ready_made()["temporary-flag-cap"]])
    flags = [flag(key=f"f-{i}") for i in range(201)]
    assert evaluate(catalog, [*flags[:200], flag(key="kept", temporary=False)]) == []
    assert [f.message for f in evaluate(catalog, flags)] == [
        "policy temporary-flag-cap: at most 200 temporary flags per project "
        "(project web-app, 201 flags)"
    ]


def test_the_readme_offers_exactly_the_tested_rules() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Policies\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    tested = RULES.read_text(encoding="utf-8").splitlines(keepends=True)
    assert block == "".join(line for line in tested if not line.startswith("#"))
