"""Pre-populating the emulator from a seed file (``--seed-file``, JSON or YAML).

Format::

    projects:
      web-app:                       # a project; its value may be empty (null or {})
        flags:                       # created in this order, each exactly as a POST would be
          - key: checkout-redesign   # any FeatureFlagBody fields: name, key, variations, ...
            name: Checkout redesign
            archived: true           # seed only: store the flag archived
            links:                   # seed only: flagLinkPost bodies for this flag
              - key: pay-1234
                deepLink: https://jira.example.com/browse/PAY-1234
                title: PAY-1234
          - key: new-checkout-ui
            name: New checkout UI
            initialPrerequisites:
              - key: checkout-redesign
                variation: 0         # seed only: a variation index instead of a variationId
          - key: new-checkout-ui-copy
            name: New checkout UI, copy
            clone: new-checkout-ui   # seed only: ?clone=, a copy of an earlier flag
      empty-project: {}

``projects`` may also be a list of project keys. Every flag and link is validated as the API
validates a create; a mistake stops the emulator with the file and the item at fault, and
nothing of the seed reaches ``--data`` (``Store.batch``). A flag whose key already exists (e.g.
restored from ``--data``) is skipped with its links, so restarting with the same seed file and
data file is harmless.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.emulator import clone, validation
from reconciler.emulator.responses import ApiProblem
from reconciler.emulator.store import Store
from reconciler.errors import InputError

SEED_ONLY_FIELDS = ("archived", "links", "clone")


def load(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The seed file as {project key: [flag entry, ...]}."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read the seed file: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: the seed file is not UTF-8 text ({e.reason} at byte {e.start})"
        ) from e
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # json and yaml both raise subclasses of their own base errors
        raise InputError(f"{path}: the seed file is not valid JSON or YAML: {e}") from e
    if not isinstance(data, dict) or "projects" not in data:
        raise InputError(f"{path}: a seed file is a mapping with a 'projects' key")
    projects = data["projects"]
    if isinstance(projects, list):
        entries: list[tuple[object, object]] = [(p, None) for p in projects]
    elif isinstance(projects, dict):
        entries = list(projects.items())
    else:
        raise InputError(
            f"{path}: 'projects' must map project keys to their flags, or list project keys"
        )
    result: dict[str, list[dict[str, Any]]] = {}
    for key, value in entries:
        if not isinstance(key, str) or not validation.KEY_PATTERN.fullmatch(key):
            raise InputError(f"{path}: projects: {key!r} is not a valid project key")
        value = value or {}
        flags = value.get("flags", []) if isinstance(value, dict) else None
        if not isinstance(flags, list) or not all(isinstance(f, dict) for f in flags):
            raise InputError(f"{path}: projects.{key}.flags must be a list of flag mappings")
        result[key] = flags
    return result


def apply(store: Store, path: Path, seed: dict[str, list[dict[str, Any]]]) -> None:
    """Create the seed's projects, flags and links in ``store``."""
    for project, flags in seed.items():
        store.add_project(project)
        existing = {f["key"] for f in store.all_flags(project)}
        for i, entry in enumerate(flags):
            where = f"{path}: projects.{project}.flags[{i}]"
            if entry.get("key") in existing:
                continue
            try:
                _create(store, project, entry)
            except ApiProblem as problem:
                raise InputError(f"{where}: {problem.message}") from None


def _create(store: Store, project: str, entry: dict[str, Any]) -> None:
    body = {k: v for k, v in entry.items() if k not in SEED_ONLY_FIELDS}
    body["initialPrerequisites"] = _resolve_prerequisites(store, project, body)
    archived = entry.get("archived", False)
    if not isinstance(archived, bool):
        raise ApiProblem(400, "invalid_request", "archived: must be a boolean")
    links = entry.get("links", [])
    if not isinstance(links, list):
        raise ApiProblem(400, "invalid_request", "links: must be a list of flag links")
    link_specs = []
    for j, link in enumerate(links):
        try:
            link_specs.append(validation.link_body(link))
        except ApiProblem as problem:
            problem.message = f"links[{j}].{problem.message}"
            raise
    source = entry.get("clone")
    if source is None:
        flag = store.create_flag(project, validation.flag_body(body), archived=archived)
    elif not isinstance(source, str) or not source:
        raise ApiProblem(400, "invalid_request", "clone: must be the key of a flag to copy")
    else:
        copy = clone.clone_body(body, source)
        flag = store.clone_flag(project, source, copy, archived=archived)
    for j, spec in enumerate(link_specs):
        try:
            store.create_link(project, flag["key"], spec)
        except ApiProblem as problem:
            problem.message = f"links[{j}]: {problem.message}"
            raise


def _resolve_prerequisites(store: Store, project: str, body: dict[str, Any]) -> object:
    """Seed files may name a prerequisite's variation by index (``variation: 0``)."""
    prerequisites = body.get("initialPrerequisites")
    if not isinstance(prerequisites, list):
        return prerequisites
    resolved: list[object] = []
    flags = {f["key"]: f for f in store.all_flags(project)}
    for i, item in enumerate(prerequisites):
        if isinstance(item, dict) and "variation" in item and "variationId" not in item:
            target = flags.get(item.get("key"))
            index = item["variation"]
            if target is None:
                raise ApiProblem(
                    400, "invalid_request", f"initialPrerequisites[{i}].key: unknown flag"
                )
            if not isinstance(index, int) or not 0 <= index < len(target["variations"]):
                raise ApiProblem(
                    400,
                    "invalid_request",
                    f"initialPrerequisites[{i}].variation: not an index of {target['key']!r}",
                )
            item = {"key": item["key"], "variationId": target["variations"][index]["_id"]}
        resolved.append(item)
    return resolved
