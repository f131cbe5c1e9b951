"""Prerequisites across files: each names a declared flag of the same project and one of
its variations, none twice, and no flag depends on itself through a cycle (of
prerequisites, of clones, or of both: a clone's declared source is created first too)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.files.declared import Declared
from reconciler.files.variations import value_identity
from reconciler.model import Finding, PrerequisiteSpec, canonical_json

FlagKey = tuple[str, str]  # (project, flag key)


def prerequisite_specs(
    flag: Declared, flags: Mapping[FlagKey, Declared], findings: list[Finding]
) -> tuple[PrerequisiteSpec, ...] | None:
    """The specs of the flag's prerequisites; None, with findings, if one is unusable."""
    specs: list[PrerequisiteSpec] = []
    ok = True
    named: set[str] = set()
    for i, prereq in enumerate(flag.data.get("initialPrerequisites", [])):
        path = flag.path("initialPrerequisites", i)
        key = prereq["key"]
        target = flags.get((flag.project, key))
        if key in named:
            findings.append(
                flag.finding([*path, "key"], f"{key!r} is named twice as a prerequisite")
            )
            ok = False
            continue
        named.add(key)
        if target is None:
            elsewhere = sorted(p for p, k in flags if k == key)
            hint = (
                f" (it is declared in project {elsewhere[0]!r}; "
                "a prerequisite must be in the same project)"
                if elsewhere
                else ""
            )
            findings.append(
                flag.finding(
                    [*path, "key"],
                    f"no flag {key!r} is declared in project {flag.project!r}{hint}",
                )
            )
            ok = False
            continue
        if target.values is None:
            if target.checked and isinstance(target.data.get("clone"), str):
                findings.append(
                    flag.finding(
                        [*path, "key"],
                        f"flag {key!r} is a clone of a flag whose variations are not declared "
                        "in the files; it cannot be named as a prerequisite",
                    )
                )
            ok = False  # otherwise the target's own findings say what to fix
            continue
        index = _variation_index(flag, path, prereq, target.values, findings)
        if index is None:
            ok = False
            continue
        specs.append(PrerequisiteSpec(key, index, flag.doc.locate(path)))
    return tuple(specs) if ok else None


def _variation_index(
    flag: Declared,
    path: list[Any],
    prereq: dict[str, Any],
    values: list[Any],
    findings: list[Finding],
) -> int | None:
    target_key = prereq["key"]
    if "variationIndex" in prereq:
        index: int = prereq["variationIndex"]
        if index < len(values):
            return index
        findings.append(
            flag.finding(
                [*path, "variationIndex"],
                f"{index} is out of range: flag {target_key!r} has {len(values)} variations",
            )
        )
        return None
    wanted = value_identity(prereq["variationValue"])
    for i, value in enumerate(values):
        if value_identity(value) == wanted:
            return i
    shown = ", ".join(canonical_json(v) for v in values)
    findings.append(
        flag.finding(
            [*path, "variationValue"],
            f"flag {target_key!r} has no variation with this value (its values: {shown})",
        )
    )
    return None


def cycles(flags: Mapping[FlagKey, Declared], findings: list[Finding]) -> set[FlagKey]:
    """Report each cycle of prerequisites and clones once; the flags on a cycle."""
    graph = {k: [(k[0], key) for key, _ in _edges(f)] for k, f in flags.items() if f.checked}
    state: dict[FlagKey, int] = {}  # 1 on the stack, 2 done
    on_cycle: set[FlagKey] = set()
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[FlagKey, Iterable[FlagKey]]] = [(start, iter(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(iter(children), None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if child not in graph:
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child) :]
                on_cycle.update(cycle)
                findings.append(_cycle_finding(cycle, flags))
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph[child])))
    return on_cycle


def _edges(flag: Declared) -> list[tuple[str, list[Any]]]:
    """The keys a flag depends on, each with the path (below the flag) that names it:
    its prerequisites first, then the flag it is a clone of."""
    edges: list[tuple[str, list[Any]]] = [
        (p["key"], ["initialPrerequisites", i, "key"])
        for i, p in enumerate(flag.data.get("initialPrerequisites", []))
    ]
    if isinstance(flag.data.get("clone"), str):
        edges.append((flag.data["clone"], ["clone"]))
    return edges


def _cycle_finding(cycle: list[FlagKey], flags: Mapping[FlagKey, Declared]) -> Finding:
    """A cycle, told at the first of its flags in the files, read from that flag on,
    pointing at the prerequisite (or clone) that leads into the rest of the cycle."""
    first = min(range(len(cycle)), key=lambda i: flags[cycle[i]].at())
    cycle = cycle[first:] + cycle[:first]
    steps = [
        next(p for k, p in _edges(flags[node]) if k == cycle[(i + 1) % len(cycle)][1])
        for i, node in enumerate(cycle)
    ]
    flag = flags[cycle[0]]
    following = cycle[1 % len(cycle)][1]
    names = " -> ".join(k[1] for k in [*cycle, cycle[0]])
    if all(step[0] != "clone" for step in steps):
        message = (
            f"flag {following!r} cannot be its own prerequisite"
            if len(cycle) == 1
            else f"prerequisites form a cycle: {names}"
        )
    elif len(cycle) == 1:
        message = "a flag cannot be a clone of itself"
    else:
        kinds = "clones" if all(s[0] == "clone" for s in steps) else "clones and prerequisites"
        others = "; ".join(f"{k[1]!r} is at {flags[k].at()}" for k in cycle[1:])
        message = f"{kinds} form a cycle: {names} ({others})"
    return flag.finding(flag.path(*steps[0]), message)
