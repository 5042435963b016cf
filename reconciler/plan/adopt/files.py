"""What an import writes: its result (path -> text), the config files (one per distinct content
per config type and slot), DeploymentSet names, and YAML and comment text."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.plan import content as C
from reconciler.plan.adopt.read import Content, Key

CONFIGS_DIR = "configs"


_NAME = re.compile(r"[^a-z0-9]+")


@dataclass
class Result:
    files: dict[str, str] = field(default_factory=dict)  # project-relative path -> text
    sets: list[str] = field(default_factory=list)
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (device, why)
    secrets: list[str] = field(default_factory=list)  # files holding secret-named fields


class Names:
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


class Files:
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


def dump(doc: Any) -> str:
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100))


def quote(name: str) -> str:
    """A name on one comment line: hostile names (newlines, control characters) stay inside."""
    return json.dumps(name, ensure_ascii=True)


def quote_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)[1:-1]
