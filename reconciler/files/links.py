"""A flag's links: keys unique on the flag, whether written or derived, and their specs."""

from __future__ import annotations

from reconciler.files.declared import Declared
from reconciler.model import Finding, LinkSpec, derive_link_key


def link_specs(flag: Declared, findings: list[Finding]) -> tuple[LinkSpec, ...] | None:
    """The specs of the flag's links; None, with findings, if two share a key."""
    specs: list[LinkSpec] = []
    used: dict[str, int] = {}
    ok = True
    links = flag.data.get("links", [])
    where = flag.doc.locate_items(flag.path("links")) if links else []
    for i, link in enumerate(links):
        derived = "key" not in link
        key = derive_link_key(link) if derived else link["key"]
        if key in used:
            first = flag.at("links", used[key])
            if derived:
                message = (
                    f"this link points where link {used[key]} does (at {first}); "
                    "give one of them an explicit key"
                )
            else:
                message = (
                    f"link key {key!r} is used twice on flag {flag.data['key']!r} "
                    f"(first at {first})"
                )
            findings.append(flag.finding(flag.path("links", i), message))
            ok = False
            continue
        used[key] = i
        fields = {"key": key, **{k: v for k, v in link.items() if k != "key"}}
        specs.append(LinkSpec(flag.project, flag.data["key"], key, fields, where[i], derived))
    return tuple(specs) if ok else None
