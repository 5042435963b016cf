"""One imported DeploymentSet's spec: the release and content most of its devices have, and
overrides with the fewest values (a JSON merge patch, or a file where a patch cannot say it);
its selector is in `selector`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from reconciler.manifests.merge import merge_patch
from reconciler.plan.adopt.files import Files
from reconciler.plan.adopt.read import Imported, Key


def set_spec(
    name: str, members: list[Imported], files: Files
) -> tuple[dict[str, Any], list[Imported], list[Imported]]:
    """The spec (without selector) of set `name` over `members`, the members it holds, and
    those whose content no override can say (they go to a set of their own)."""
    release = Counter(m.release for m in members).most_common(1)[0][0]
    shared = set.intersection(*(set(m.configs) for m in members))
    spec: dict[str, Any] = {"release": release}
    configs: dict[str, Any] = {}
    left: set[str] = set()
    # A device may be named by one override only: its release and every slot that differs
    # from the set's content go in one override, shared by the devices that differ alike.
    entries: dict[str, dict[Key, Any]] = {m.name: {} for m in members}
    for key in sorted(shared):
        counts = Counter(m.configs[key].ident for m in members)
        top = counts.most_common(1)[0][0]
        base = next(m.configs[key] for m in members if m.configs[key].ident == top)
        _add(configs, key, {"file": "../" + files.path(key, base, name)})
        for m in members:
            have = m.configs[key]
            if have.ident == top:
                continue
            if base.is_object and have.is_object:
                patch = diff(base.value, have.value)
                if merge_patch(base.value, patch) != have.value:
                    left.add(m.name)  # a null value: no merge patch can set it
                    continue
                entries[m.name][key] = {"values": patch}
            else:  # a file replaces content that is not an object (or with one that is not)
                entries[m.name][key] = {"file": "../" + files.path(key, have, f"{name}-{key[0]}")}
    for m in members:
        for key in sorted(set(m.configs) - shared):
            entries[m.name][key] = {"file": "../" + files.path(key, m.configs[key], f"{name}-{key[0]}")}
    groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for m in members:
        if m.name in left:
            continue
        override: dict[str, Any] = {}
        if m.release != release:
            override["release"] = m.release
        if entries[m.name]:
            one: dict[str, Any] = {}
            for key, entry in sorted(entries[m.name].items()):
                _add(one, key, dict(entry))
            override["configs"] = one
        if override:
            groups.setdefault(json.dumps(override, sort_keys=True), (override, []))[1].append(m.name)
    overrides = [
        {"devices": sorted(devs), **override}
        for override, devs in sorted(groups.values(), key=lambda g: (-len(g[1]), sorted(g[1])[0]))
    ]
    if configs:
        spec["configs"] = configs
    if overrides:
        spec["overrides"] = overrides
    kept = [m for m in members if m.name not in left]
    return spec, kept, [m for m in members if m.name in left]


def _add(configs: dict[str, Any], key: Key, entry: dict[str, Any]) -> None:
    slug, slot = key
    if slot != "default":
        entry = {"slot": slot, **entry}
    if slug not in configs:
        configs[slug] = entry
    elif isinstance(configs[slug], list):
        configs[slug].append(entry)
    else:
        configs[slug] = [configs[slug], entry]


def diff(base: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """The smallest JSON merge patch (RFC 7386) turning `base` into `want`."""
    out: dict[str, Any] = {}
    for k in base.keys() - want.keys():
        out[k] = None
    for k, v in want.items():
        if k not in base:
            out[k] = v
        elif base[k] != v or type(base[k]) is not type(v):
            out[k] = diff(base[k], v) if isinstance(base[k], dict) and isinstance(v, dict) else v
    return out
