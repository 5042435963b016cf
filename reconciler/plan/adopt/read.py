"""One live device as `reconcile import` will write it: its current release and the content of
each slot (parsed, with the canonical text that tells identical content apart), or why it
cannot be imported."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.model.live import LiveDevice, LiveState
from reconciler.plan import content as C

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
