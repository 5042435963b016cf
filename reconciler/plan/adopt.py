"""`reconcile import`: a live fleet -> the files of a project whose first plan is empty. Pure:
takes a LiveState, returns file paths and their text; the command layer writes them.

What is read back must plan as `noop`: each imported device's release is its current one and
its content is its current target deployment's, written so the planner's canonical form of the
file equals the live instance's. Content identical across devices is one file; per-device
differences are overrides with the fewest values (a JSON merge patch from the set's content, or
a shared file where a patch cannot say it). Devices that cannot be imported (no agent, no
deployment, content that cannot be read back) are listed as YAML comments.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from reconciler.manifests.merge import merge_patch
from reconciler.model.live import LiveDevice, LiveState
from reconciler.plan import content as C

SetPer = Literal["group", "release"]
SETS_DIR = "deploymentsets"
CONFIGS_DIR = "configs"
NOT_IMPORTED = f"{SETS_DIR}/not-imported.yaml"
_NAME = re.compile(r"[^a-z0-9]+")
_EXT = {"json": "json", "jsonc": "json", "yaml": "yaml"}

Key = tuple[str, str]  # (config type slug, slot key)


@dataclass(frozen=True)
class Content:
    """One slot's content as it will be written: parsed (json/yaml) or text, and the key
    that tells identical content apart (the canonical text)."""

    fmt: str  # json | yaml | text (the file's format)
    value: Any
    ident: str

    @property
    def is_object(self) -> bool:
        return self.fmt != "text" and isinstance(self.value, dict)


@dataclass(frozen=True)
class Imported:
    """One device as it will be written: its release and the content of each slot."""

    name: str
    group: str | None  # group id
    release: str  # version
    configs: Mapping[Key, Content]


@dataclass
class Result:
    files: dict[str, str] = field(default_factory=dict)  # project-relative path -> text
    sets: list[str] = field(default_factory=list)
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (device, why)
    secrets: list[str] = field(default_factory=list)  # files holding secret-named fields


def select_devices(
    live: LiveState, groups: Sequence[str] = (), devices: Sequence[str] = ()
) -> list[LiveDevice]:
    """The devices `--group` (with subgroups) and `--device` name; every device when neither."""
    if not groups and not devices:
        return sorted(live.devices.values(), key=lambda d: d.name)
    wanted: set[str] = set()
    for name in groups:
        g = live.group_by_name(name)
        if g is not None:
            wanted |= _below(live, g.id)
    return sorted(
        (d for d in live.devices.values() if d.name in devices or (d.group_id in wanted)),
        key=lambda d: d.name,
    )


def _below(live: LiveState, gid: str) -> set[str]:
    out, stack = set(), [gid]
    while stack:
        x = stack.pop()
        if x not in out:
            out.add(x)
            stack += [g.id for g in live.groups.values() if g.parent_id == x]
    return out


def read_device(live: LiveState, dev: LiveDevice) -> Imported | str:
    """The device's release and content, or why it cannot be imported."""
    if dev.status in ("inactive", "activating"):
        return f"never enrolled (status {dev.status}): no agent"
    if dev.status == "archived":
        return "archived"
    target = live.target_deployment(dev)
    if target is None:
        return "no deployment"
    release_id = dev.current_release_id or target.release_id
    if target.release_id != release_id:
        return "a deployment of another release is on its way to it (plan again once it lands)"
    release = live.releases.get(release_id)
    if release is None or not release.version:
        return f"its release {release_id} could not be read"
    configs: dict[Key, Content] = {}
    for iid in target.instance_ids:
        inst = live.instances.get(iid)
        if inst is None or inst.data is None:
            return f"the content of config instance {iid} could not be read"
        ctype = live.config_types.get(inst.config_type_id)
        schema = live.schemas.get(inst.config_schema_id)
        slug = ctype.slug if ctype else (schema.config_type_slug if schema else "")
        if not slug:
            return f"config instance {iid} names an unknown config type"
        fmt = inst.format or (schema.instance_format if schema else "text")
        got = _content(inst.data, fmt)
        if got is None:
            return f"{slug}: its {fmt} content does not parse, so no file can say it exactly"
        configs[(slug, inst.slot_key)] = got
    return Imported(dev.name, dev.group_id, release.version, configs)


@functools.lru_cache(maxsize=4096)
def _content(data: str, fmt: str) -> Content | None:
    # Cached: ten thousand devices usually share a handful of distinct instances.
    if fmt in ("json", "jsonc", "yaml"):
        value = C.parse(data, fmt)
        if value is data and isinstance(value, str) and not _is_string_doc(data, fmt):
            return None  # unparseable: a file in this format cannot hold it
        ext = _EXT[fmt]
        return Content(ext, value, C.canonical(value, "json" if ext == "json" else "yaml"))
    return Content("text", data, data)


def _is_string_doc(data: str, fmt: str) -> bool:
    try:
        return isinstance(json.loads(data) if fmt != "yaml" else yaml.safe_load(data), str)
    except (ValueError, yaml.YAMLError):
        return False


# --- generation --------------------------------------------------------------------------------


def generate(
    live: LiveState,
    devices: Iterable[LiveDevice],
    *,
    set_per: SetPer = "group",
    by_name: bool = False,
    secret: Any = None,
) -> Result:
    """The project files for `devices`. `by_name`: selectors list device names (an import
    narrowed by --device) instead of claiming whole groups. `secret(slug, value)` says whether
    a content holds a secret field (so the summary can warn which files do)."""
    result = Result()
    files = _Files(result)
    buckets: dict[tuple[str, str], list[Imported]] = {}
    group_names = {g.id: g.name for g in live.groups.values()}
    for dev in devices:
        got = read_device(live, dev)
        if isinstance(got, str):
            result.skipped.append((dev.name, got))
            continue
        gname = group_names.get(got.group or "", "")
        buckets.setdefault((gname, got.release if set_per == "release" else ""), []).append(got)
    names = _Names()
    sets: list[tuple[str, str, dict[str, Any], list[Imported]]] = []
    for (gname, release), members in sorted(buckets.items()):
        base = f"{gname or 'ungrouped'}-{release}" if release else (gname or "ungrouped")
        rest = members
        while rest:
            name = names.take(base)
            spec, kept, rest = _set_spec(name, rest, files)
            sets.append((name, gname, spec, kept))
    for name, gname, spec, members in sets:
        selector = _selector(live, gname, members, by_name or not gname)
        body: dict[str, Any] = {"apiVersion": "reconciler/v1", "kind": "DeploymentSet"}
        body["metadata"] = {"name": name}
        body["spec"] = {"selector": selector, **spec}
        header = f"# Imported from the live fleet: {len(members)} device(s).\n"
        result.files[f"{SETS_DIR}/{name}.yaml"] = header + _dump(body)
        result.sets.append(name)
        result.imported += len(members)
    if result.skipped:
        lines = ["# Devices `reconcile import` left out (in no DeploymentSet), and why:"]
        lines += [f"#   {_quote(n)}: {_quote_text(why)}" for n, why in sorted(result.skipped)]
        result.files[NOT_IMPORTED] = "\n".join(lines) + "\n"
    if secret is not None:
        result.secrets = sorted(p for p, (slug, value) in files.values.items() if secret(slug, value))
    return result


def _set_spec(
    name: str, members: list[Imported], files: _Files
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


def _selector(live: LiveState, gname: str, members: list[Imported], by_name: bool) -> dict[str, Any]:
    """The group (children excluded: they have sets of their own) minus every device of it
    this set does not hold; or the device names."""
    mine = sorted(m.name for m in members)
    if by_name:
        return {"devices": mine}
    group = live.group_by_name(gname)
    assert group is not None
    children = sorted(g.name for g in live.groups.values() if g.parent_id == group.id)
    inside = {d.name for d in live.devices.values() if d.group_id == group.id}
    others = sorted(inside - set(mine))
    selector: dict[str, Any] = {"groups": [gname]}
    exclude: dict[str, Any] = {}
    if children:
        exclude["groups"] = children
    if others:
        if len(others) > len(mine):  # most of the group is elsewhere: name this set's devices
            return {"devices": mine}
        exclude["devices"] = others
    if exclude:
        selector["exclude"] = exclude
    return selector


class _Names:
    """DeploymentSet names: lower-case letters, digits and '-', at most 63, unique."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, raw: str) -> str:
        base = _NAME.sub("-", raw.lower()).strip("-")[:55] or "set"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}-{n}"
        self.taken.add(name)
        return name


class _Files:
    """Config files, one per distinct content per config type and slot."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.by_ident: dict[tuple[Key, str], str] = {}
        self.values: dict[str, tuple[str, Any]] = {}

    def path(self, key: Key, content: Content, owner: str) -> str:
        known = self.by_ident.get((key, content.ident))
        if known is not None:
            return known
        slug, slot = key
        folder = _NAME.sub("-", slug.lower()).strip("-") or "config"
        if slot != "default":
            folder += "." + (_NAME.sub("-", slot.lower()).strip("-") or "slot")
        ext = {"json": "json", "yaml": "yaml"}.get(content.fmt, "txt")
        stem = _NAME.sub("-", owner).strip("-") or "content"
        rel = f"{CONFIGS_DIR}/{folder}/{stem}.{ext}"
        if rel in self.result.files:
            digest = hashlib.sha256(content.ident.encode()).hexdigest()[:8]
            rel = f"{CONFIGS_DIR}/{folder}/{stem}-{digest}.{ext}"
        self.by_ident[(key, content.ident)] = rel
        self.result.files[rel] = _file_text(content)
        self.values[rel] = (slug, content.value)
        return rel


def _file_text(content: Content) -> str:
    if content.fmt == "json":
        return C.canonical(content.value, "json")
    if content.fmt == "yaml":
        return C.canonical(content.value, "yaml")
    return str(content.value)


def _dump(doc: Any) -> str:
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100))


def _quote(name: str) -> str:
    """A name on one comment line: hostile names (newlines, control characters) stay inside."""
    return json.dumps(name, ensure_ascii=True)


def _quote_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)[1:-1]
