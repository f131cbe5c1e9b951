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
    if not isinstance(links, list):
        return None  # the schema's finding
    where = flag.doc.locate_items(flag.path("links")) if links else []
    for i, link in enumerate(links):
        key = _link_key(link)
        if key is None:
            ok = False  # the schema's finding: a link that names no target, or not a link
            continue
        derived = "key" not in link
        if key in used:
            first = flag.at("links", used[key])
            if derived:
                message = (
                    f"this link points where link {used[key]} does (at {first}); "
                    "give one of them an explicit key"
                )
            else:
                message = f"link key {key!r} is used twice on {_flag_name(flag)} (first at {first})"
            findings.append(flag.finding(flag.path("links", i), message))
            ok = False
            continue
        used[key] = i
        fields = {"key": key, **{k: v for k, v in link.items() if k != "key"}}
        specs.append(LinkSpec(flag.project, flag.data["key"], key, fields, where[i], derived))
    return tuple(specs) if ok else None


def _link_key(link: object) -> str | None:
    """The link's key, written or derived; None if the link's shape gives none."""
    if not isinstance(link, dict):
        return None
    if "key" in link:
        key = link["key"]
        return key if isinstance(key, str) else None
    if "integrationKey" in link or "metadata" in link or isinstance(link.get("deepLink"), str):
        return derive_link_key(link)
    return None


def _flag_name(flag: Declared) -> str:
    key = flag.data.get("key")
    return f"flag {key!r}" if isinstance(key, str) else "this flag"
